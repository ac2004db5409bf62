package benchmarks

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/synapse-trading/synapse/actors"
	"github.com/synapse-trading/synapse/streams"
	"github.com/synapse-trading/synapse/streams/synthetic"
)

// RecoveryOptions configure the recovery scenario.
type RecoveryOptions struct {
	// Events is how many market-data events the log holds when the engine is killed
	// (default 1,000,000).
	Events int
	// Symbols is how many synthetic symbols they are spread over (default 8).
	Symbols int
	// Seed of the synthetic generator (default 1).
	Seed uint64
	// Progress, when not nil, is told what the scenario is doing.
	Progress func(format string, args ...any)
}

// Recovery measures a restart after a crash. A live engine (the log and the graph of symbol
// actors of `synapse run`, publishing its features on the log) ingests Events synthetic
// market events and follows them; when it has caught up, its state (every symbol's last
// feature per interval and the count of features) is taken and the engine is killed: its
// context is canceled and the NATS server shut down with no drain and no flush. The restart
// opens the same store and starts a new graph; it is ready when the graph has applied every
// event on the log, which is when `synapse run` answers /readyz. The state after the restart
// must equal the state before the kill, which is the state of a clean replay of the log.
// The baseline is the raw read of the same store: open it and fetch every message with an
// ordered consumer, nothing decoded.
func Recovery(ctx context.Context, opts RecoveryOptions) (Result, error) {
	if opts.Events <= 0 {
		opts.Events = 1_000_000
	}
	if opts.Symbols <= 0 {
		opts.Symbols = 8
	}
	if opts.Seed == 0 {
		opts.Seed = 1
	}
	if opts.Progress == nil {
		opts.Progress = func(string, ...any) {}
	}
	dir, err := os.MkdirTemp("", "synapse-bench-recovery-")
	if err != nil {
		return Result{}, err
	}
	defer os.RemoveAll(dir)

	opts.Progress("recovery: ingesting %d events into a live engine", opts.Events)
	before, head, err := liveThenKill(ctx, dir, opts)
	if err != nil {
		return Result{}, err
	}
	opts.Progress("recovery: engine killed at seq %d; restarting", head)
	start := time.Now()
	l, err := streams.Open(ctx, streams.Options{DataDir: dir})
	if err != nil {
		return Result{}, err
	}
	opened := time.Since(start)
	after, err := followToHead(ctx, l, head)
	ready := time.Since(start)
	l.Close()
	if err != nil {
		return Result{}, fmt.Errorf("restart: %w", err)
	}
	opts.Progress("recovery: ready in %s; reading the store raw for the baseline", ready.Round(time.Millisecond))
	raw, err := rawRead(ctx, dir, head)
	if err != nil {
		return Result{}, fmt.Errorf("raw read: %w", err)
	}
	equal := before.equal(after)
	if !equal {
		return Result{}, fmt.Errorf("recovery: the state after the restart differs from the state before the kill (%d vs %d features, %d vs %d keys)",
			before.features, after.features, len(before.last), len(after.last))
	}
	return Result{
		Scenario: "recovery", Time: time.Now().UTC(),
		Figure:   Measure{Name: fmt.Sprintf("restart to ready with %d events on the log (state equal: %v)", head, equal), Value: ready.Seconds(), Unit: "s"},
		Baseline: Measure{Name: "open the same store and read every message raw", Value: raw.Seconds(), Unit: "s"},
		Ratio:    ready.Seconds() / raw.Seconds(),
		Goal:     "ready ≤ 3 s, state equal to clean replay",
		Met:      ready <= 3*time.Second && equal,
		Extra: map[string]float64{
			"events on the log":                 float64(head),
			"store open and stream recovery, s": opened.Seconds(),
			"events/s through the graph":        float64(head) / (ready - opened).Seconds(),
			"features compared":                 float64(after.features),
			"symbol × interval states compared": float64(len(after.last)),
		},
		Machine: ThisMachine(),
	}, nil
}

// engineState is what the symbol actors derived: the number of features and the last
// feature of each symbol and interval, as encoded on the log.
type engineState struct {
	mu       sync.Mutex
	features int
	last     map[string][]byte
}

func (s *engineState) publish(ev streams.Event) {
	f, ok := ev.(*streams.Feature)
	if !ok {
		return
	}
	data, err := json.Marshal(f)
	if err != nil {
		return
	}
	s.mu.Lock()
	s.features++
	s.last[f.Venue+"/"+f.Symbol+"/"+f.Interval] = data
	s.mu.Unlock()
}

func (s *engineState) equal(o *engineState) bool {
	return s.features == o.features && maps.EqualFunc(s.last, o.last, bytes.Equal)
}

// recordingGraph is the graph of `synapse run` on l (its features published on the log),
// recording what it derives.
func recordingGraph(ctx context.Context, l *streams.Log) (*actors.Graph, *engineState, error) {
	state := &engineState{last: map[string][]byte{}}
	graph, err := actors.NewGraph(actors.SymbolOptions{Log: l.JS, Logger: slog.New(slog.DiscardHandler),
		Publish: func(ev streams.Event) { _ = l.Publish(ctx, ev); state.publish(ev) }})
	return graph, state, err
}

// liveThenKill runs the live engine on a new log in dir: it ingests the events while the
// graph follows them, waits until the graph has caught up, takes its state and kills it.
func liveThenKill(ctx context.Context, dir string, opts RecoveryOptions) (*engineState, uint64, error) {
	l, err := streams.Open(ctx, streams.Options{DataDir: dir})
	if err != nil {
		return nil, 0, err
	}
	defer l.Close() // the kill: the server stops with no drain of the graph
	so := synthetic.DefaultOptions()
	so.Symbols, so.Seed = synthetic.SymbolNames(opts.Symbols), opts.Seed
	gen, err := synthetic.New(so)
	if err != nil {
		return nil, 0, err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	graph, state, err := recordingGraph(ctx, l)
	if err != nil {
		return nil, 0, err
	}
	go func() { _ = graph.ConsumeLog(ctx, l.JS) }()
	for i := range opts.Events {
		ev, err := gen.Next()
		if err != nil {
			return nil, 0, err
		}
		if err := l.Publish(ctx, ev); err != nil {
			return nil, 0, fmt.Errorf("event %d: %w", i, err)
		}
		if (i+1)%250_000 == 0 {
			opts.Progress("recovery: %d of %d events ingested", i+1, opts.Events)
		}
	}
	if err := l.Flush(ctx); err != nil {
		return nil, 0, err
	}
	head, err := streams.LastSeq(ctx, l.JS, streams.StreamMarketData)
	if err != nil {
		return nil, 0, err
	}
	if err := waitCaughtUp(ctx, graph, head, time.Duration(opts.Events/1000)*time.Second); err != nil {
		return nil, 0, fmt.Errorf("live engine: %w", err)
	}
	if err := l.Flush(ctx); err != nil { // the features it published are on the log
		return nil, 0, err
	}
	state.mu.Lock()
	defer state.mu.Unlock()
	return &engineState{features: state.features, last: maps.Clone(state.last)}, head, nil
}

// followToHead starts a graph on l and returns its state once it has applied every event up
// to head.
func followToHead(ctx context.Context, l *streams.Log, head uint64) (*engineState, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	graph, state, err := recordingGraph(ctx, l)
	if err != nil {
		return nil, err
	}
	defer graph.Stop()
	consumed := make(chan error, 1)
	go func() { consumed <- graph.ConsumeLog(ctx, l.JS) }()
	if err := waitCaughtUp(ctx, graph, head, time.Minute); err != nil {
		return nil, err
	}
	if err := l.Flush(ctx); err != nil {
		return nil, err
	}
	cancel()
	<-consumed
	return state, nil
}

// waitCaughtUp waits until graph has routed the event at head and every symbol actor has
// applied what it was sent.
func waitCaughtUp(ctx context.Context, graph *actors.Graph, head uint64, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for !graph.CaughtUp(head) {
		if time.Now().After(deadline) {
			return fmt.Errorf("not caught up after %s: the graph is at seq %d of %d", limit, graph.Stats().LastSeq, head)
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		time.Sleep(time.Millisecond)
	}
	return nil
}

// rawRead opens the store in dir and fetches every message of the MD stream up to head with
// an ordered consumer, decoding nothing.
func rawRead(ctx context.Context, dir string, head uint64) (time.Duration, error) {
	start := time.Now()
	l, err := streams.Open(ctx, streams.Options{DataDir: dir})
	if err != nil {
		return 0, err
	}
	defer l.Close()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var last uint64
	err = streams.Follow(ctx, l.JS, streams.StreamMarketData, jetstream.OrderedConsumerConfig{}, 512, func(msgs []jetstream.Msg) error {
		meta, err := msgs[len(msgs)-1].Metadata()
		if err != nil {
			return err
		}
		if last = meta.Sequence.Stream; last >= head {
			cancel()
		}
		return nil
	})
	if last < head {
		return 0, fmt.Errorf("read up to seq %d of %d: %v", last, head, err)
	}
	return time.Since(start), nil
}
