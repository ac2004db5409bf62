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
	"strings"
	"time"
)

// clientsEnv, when set in a process's environment, makes it the fanout scenario's websocket
// clients (ClientsMain) rather than what it was started as; it holds a clientsSpec as JSON.
const clientsEnv = "SYNAPSE_BENCH_CLIENTS"

// clientsSpec is what a clients process connects: N clients to URL (ws://host:port), client
// i subscribed to Topics[i % len(Topics)], with Token if any.
type clientsSpec struct {
	URL    string   `json:"url"`
	Token  string   `json:"token,omitempty"`
	N      int      `json:"n"`
	Topics []string `json:"topics"`
}

// clientsReport is what a clients process saw, from the moment all its clients were
// connected until it was told to stop.
type clientsReport struct {
	Frames  int64   `json:"frames"`
	Bytes   int64   `json:"bytes"`
	Closed  int64   `json:"closed"` // clients the gateway closed
	Seconds float64 `json:"seconds"`
}

// ClientsMain runs this process as the fanout scenario's websocket clients when it was
// started as such, and reports whether it was: `synapse` and the benchmarks' tests call it
// first thing. The clients connect, the process writes "connected" on stdout, counts the
// frames until its stdin closes, then writes a clientsReport as JSON and returns.
func ClientsMain() bool {
	raw := os.Getenv(clientsEnv)
	if raw == "" {
		return false
	}
	if err := runClients(raw, os.Stdin, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "fanout clients:", err)
		os.Exit(1)
	}
	return true
}

func runClients(raw string, stop io.Reader, out io.Writer) error {
	var spec clientsSpec
	if err := json.Unmarshal([]byte(raw), &spec); err != nil || spec.N <= 0 || len(spec.Topics) == 0 {
		return fmt.Errorf("%s=%q: want {\"url\":…,\"n\":…,\"topics\":[…]} (%v)", clientsEnv, raw, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	fan := &fanout{}
	wait, err := connectClients(ctx, spec.URL, spec.Token, spec.N, func(i int) string { return spec.Topics[i%len(spec.Topics)] }, fan)
	if err != nil {
		cancel()
		wait()
		return err
	}
	fan.frames.Store(0) // what came while the others connected is not the load's
	fan.bytes.Store(0)
	start := time.Now()
	fmt.Fprintln(out, "connected")
	_, _ = io.Copy(io.Discard, stop) // until the scenario closes stdin
	seconds := time.Since(start).Seconds()
	rep := clientsReport{Frames: fan.frames.Load(), Bytes: fan.bytes.Load(), Closed: fan.closed.Load(), Seconds: seconds}
	cancel()
	wait()
	return json.NewEncoder(out).Encode(rep)
}

// clientsProcess is a running clients process.
type clientsProcess struct {
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	stdout *bufio.Reader
	stderr *strings.Builder
}

// startClients starts this program again as a clients process (ClientsMain) and waits until
// its clients are connected. It runs at nice 10 where `nice` exists: the clients stand in for
// browsers on other machines, and on one machine the engine under test comes first.
func startClients(ctx context.Context, spec clientsSpec) (*clientsProcess, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	raw, err := json.Marshal(spec)
	if err != nil {
		return nil, err
	}
	name, args := exe, []string{}
	if nice, err := exec.LookPath("nice"); err == nil {
		name, args = nice, []string{"-n", "10", exe}
	}
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = append(os.Environ(), clientsEnv+"="+string(raw))
	p := &clientsProcess{cmd: cmd, stderr: &strings.Builder{}}
	cmd.Stderr = p.stderr
	if p.stdin, err = cmd.StdinPipe(); err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	p.stdout = bufio.NewReader(stdout)
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting the clients process: %w", err)
	}
	ready := make(chan error, 1)
	go func() {
		line, err := p.stdout.ReadString('\n')
		if err == nil && strings.TrimSpace(line) != "connected" {
			err = fmt.Errorf("said %q", line)
		}
		ready <- err
	}()
	select {
	case err = <-ready:
	case <-time.After(2 * time.Minute):
		err = errors.New("not connected after 2 minutes")
	}
	if err != nil {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		return nil, fmt.Errorf("the clients process: %v: %s", err, strings.TrimSpace(p.stderr.String()))
	}
	return p, nil
}

// stop tells the clients to disconnect and returns what they saw.
func (p *clientsProcess) stop() (clientsReport, error) {
	var rep clientsReport
	_ = p.stdin.Close()
	err := json.NewDecoder(p.stdout).Decode(&rep)
	if werr := p.cmd.Wait(); err == nil && werr != nil {
		err = werr
	}
	if err != nil {
		return rep, fmt.Errorf("the clients process: %v: %s", err, strings.TrimSpace(p.stderr.String()))
	}
	return rep, nil
}
