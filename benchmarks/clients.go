package benchmarks

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"syscall"
	"time"
)

// clientProcessEnv marks the process the fanout scenario starts for its websocket clients
// and carries its brief (JSON). A binary that runs the scenario calls ClientProcess first
// thing in main (cmd/synapse) or TestMain (this package's tests).
const clientProcessEnv = "SYNAPSE_FANOUT_CLIENTS"

// clientBrief is what the client process is asked to do.
type clientBrief struct {
	URL     string   `json:"url"` // ws://host:port of the gateway
	Token   string   `json:"token,omitempty"`
	Clients int      `json:"clients"`
	Topics  []string `json:"topics"` // client i subscribes to Topics[i % len(Topics)]
}

// clientReport is what the client process says: one line once its clients are connected
// (Connected, Goroutines, Idle, Memory), one when they are done (the counters).
type clientReport struct {
	Error      string  `json:"error,omitempty"`
	Connected  int     `json:"connected"`
	Goroutines float64 `json:"goroutines_per_client"`
	Idle       bool    `json:"sched_idle"` // its threads run under SCHED_IDLE
	Frames     int64   `json:"frames"`     // after the first frames
	Bytes      int64   `json:"bytes"`
	Closed     int64   `json:"closed"`  // clients the gateway closed
	CPU        float64 `json:"cpu_s"`   // the process's CPU time (user and system)
	Memory     float64 `json:"mem_b"`   // its heap and stacks per client, after the first frames
	Elapsed    float64 `json:"elapsed"` // seconds from connected to done
}

// ClientProcess runs the fanout scenario's websocket clients when this process was started
// as their process (see startClients), and then exits; otherwise it returns at once.
func ClientProcess() {
	brief, ok := os.LookupEnv(clientProcessEnv)
	if !ok {
		return
	}
	out := json.NewEncoder(os.Stdout)
	if err := runClients(brief, os.Stdin, out); err != nil {
		_ = out.Encode(clientReport{Error: err.Error()})
		os.Exit(1)
	}
	os.Exit(0)
}

// runClients connects the brief's clients, reports, reads frames until stdin closes, and
// reports again.
func runClients(brief string, stdin io.Reader, out *json.Encoder) error {
	var b clientBrief
	if err := json.Unmarshal([]byte(brief), &b); err != nil {
		return fmt.Errorf("fanout client process: bad brief in %s: %w", clientProcessEnv, err)
	}
	if b.Clients <= 0 || len(b.Topics) == 0 {
		return fmt.Errorf("fanout client process: brief needs clients > 0 and a topic: %s", brief)
	}
	idle := schedIdle() == nil
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	before := heapAndStacks()
	fan := &fanout{}
	wait, err := connectClients(ctx, b.URL, b.Token, b.Clients, func(i int) string { return b.Topics[i%len(b.Topics)] }, fan)
	if err != nil {
		return err
	}
	time.Sleep(time.Second) // the first frames, with every topic's state, have come in
	mem := max(0, float64(heapAndStacks())-float64(before)) / float64(b.Clients)
	cpu0, start := cpuTime(), time.Now()
	frames0, bytes0 := fan.frames.Load(), fan.bytes.Load() // the first frames are not the load's
	if err := out.Encode(clientReport{Connected: fan.connected, Goroutines: fan.goroutinesPerClient, Idle: idle, Memory: mem}); err != nil {
		return err
	}
	_, _ = io.Copy(io.Discard, stdin) // the scenario closes it when its load is done
	cancel()
	wait()
	return out.Encode(clientReport{Frames: fan.frames.Load() - frames0, Bytes: fan.bytes.Load() - bytes0, Closed: fan.closed.Load(),
		CPU: (cpuTime() - cpu0).Seconds(), Elapsed: time.Since(start).Seconds()})
}

// startClients starts the client process with n clients of the gateway at base (ws://...),
// client i subscribed to topics[i % len(topics)], and returns once they are connected and
// have their first frames. The clients stand for browsers on other machines: their process
// runs under SCHED_IDLE, so that it takes the CPU the engine leaves idle rather than the
// engine's (on a 2-core VM it still moves the engine's latency: see benchmarks/README.md).
// stop ends the clients and fills fan with what they received after the first frames.
func startClients(ctx context.Context, base, token string, n int, topics []string, fan *fanout) (stop func() error, err error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("fanout: finding this binary to start the client process: %w", err)
	}
	brief, err := json.Marshal(clientBrief{URL: base, Token: token, Clients: n, Topics: topics})
	if err != nil {
		return nil, err
	}
	cmd := exec.CommandContext(ctx, exe)
	cmd.Env = append(os.Environ(), clientProcessEnv+"="+string(brief))
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("fanout: starting the client process: %w", err)
	}
	lines := bufio.NewScanner(stdout)
	report := func() (clientReport, error) {
		var r clientReport
		if !lines.Scan() {
			return r, fmt.Errorf("fanout: the client process ended without a report (%v)", cmd.Wait())
		}
		if err := json.Unmarshal(lines.Bytes(), &r); err != nil {
			return r, fmt.Errorf("fanout: the client process said %q: %w", lines.Text(), err)
		}
		if r.Error != "" {
			return r, errors.New(r.Error)
		}
		return r, nil
	}
	first, err := report()
	if err != nil {
		stdin.Close()
		_ = cmd.Wait()
		return nil, err
	}
	if !first.Idle {
		fmt.Fprintln(os.Stderr, "fanout: the client process could not switch to SCHED_IDLE; its clients compete with the engine for the CPU")
	}
	fan.connected, fan.goroutinesPerClient, fan.clientMemory = first.Connected, first.Goroutines, first.Memory
	return func() error {
		stdin.Close()
		last, err := report()
		if werr := cmd.Wait(); err == nil && werr != nil {
			err = fmt.Errorf("fanout: client process: %w", werr)
		}
		if err != nil {
			return err
		}
		fan.frames.Store(last.Frames)
		fan.bytes.Store(last.Bytes)
		fan.closed.Store(last.Closed)
		fan.clientCPU = last.CPU / last.Elapsed
		return nil
	}, nil
}

// schedIdle puts every thread of this process under SCHED_IDLE: the threads Go creates later
// are cloned from these and inherit it.
func schedIdle() error {
	if runtime.GOOS != "linux" {
		return errors.ErrUnsupported
	}
	tasks, err := os.ReadDir("/proc/self/task")
	if err != nil {
		return err
	}
	for _, t := range tasks {
		tid, err := strconv.Atoi(t.Name())
		if err != nil {
			continue
		}
		if err := setSchedIdle(tid); err != nil && !errors.Is(err, syscall.ESRCH) {
			return err
		}
	}
	return nil
}
