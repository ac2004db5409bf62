package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"runtime/pprof"
	"sort"
	"strings"

	"github.com/synapse-trading/synapse/benchmarks"
	"github.com/synapse-trading/synapse/inference"
)

func cmdBench(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("bench", stderr)
	asJSON := fs.Bool("json", false, "print the results as JSON")
	klines := fs.Int("klines", 0, "replay: klines to push through the symbol actors (default 1,000,000); backtest: klines to replay (default 40,000; 80,640 is both bundled months)")
	rate := fs.Float64("rate", 0, "tick-to-order, fanout: ticks per second, open loop (default 10,000); projection: order events per second of the lag phase (default 10,000)")
	duration := fs.Duration("duration", 0, "tick-to-order, fanout: how long the load runs, and then the baseline as long again (default 10s); projection: the lag phase (default 5s)")
	symbols := fs.Int("symbols", 0, "tick-to-order, fanout: synthetic symbols (default 8)")
	clients := fs.Int("clients", 0, "fanout: websocket clients (default 1,000)")
	httpURL := fs.String("http-url", "", "fanout: the running engine's UI address, e.g. http://127.0.0.1:8080 (with --nats-url)")
	token := fs.String("token", os.Getenv("SYNAPSE_TOKEN"), "fanout with --http-url: an API token of the engine (viewer role; default $SYNAPSE_TOKEN)")
	natsURL := fs.String("nats-url", "", "measure a running engine through its NATS server (the URL it was started with, --nats-url) instead of one started here; see benchmarks/README.md")
	events := fs.Int("events", 0, "ingest: events to ingest (default 300,000); recovery: events on the log at the kill (default 1,000,000)")
	ortLib := fs.String("onnxruntime-lib", "", "inference: ONNX Runtime's libonnxruntime.so.1 (default: $SYNAPSE_ONNXRUNTIME_LIB, else .cache/onnxruntime)")
	ep := fs.String("inference-ep", "cpu", "inference: execution provider, cpu or cuda (no fallback: an unavailable CUDA provider fails the scenario)")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile to this file")
	memProfile := fs.String("memprofile", "", "write a heap profile to this file at the end")
	scenarios := map[string]func() (benchmarks.Result, error){}
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: synapse bench SCENARIO|all [--json]\n\nscenarios: replay, ingest, inference, tick-to-order, backtest, projection, fanout, recovery (see benchmarks/README.md)")
		fs.PrintDefaults()
	}
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if err := inference.CheckProvider(*ep); err != nil {
		return fmt.Errorf("%w: --inference-ep: %v", errUsage, err)
	}
	// Zero takes a scenario's default; a negative count, rate or duration is a mistake.
	for _, f := range []struct {
		name string
		neg  bool
	}{{"klines", *klines < 0}, {"rate", *rate < 0}, {"duration", *duration < 0}, {"symbols", *symbols < 0}, {"clients", *clients < 0}, {"events", *events < 0}} {
		if f.neg {
			return fmt.Errorf("%w: --%s must not be negative (0 or leave it out for the default)", errUsage, f.name)
		}
	}
	progress := func(format string, args ...any) {
		if !*asJSON {
			fmt.Fprintf(stderr, "  "+format+"\n", args...)
		}
	}
	scenarios["replay"] = func() (benchmarks.Result, error) {
		return benchmarks.Replay(ctx, benchmarks.ReplayOptions{Klines: *klines, NATSURL: *natsURL})
	}
	scenarios["ingest"] = func() (benchmarks.Result, error) {
		return benchmarks.Ingest(ctx, benchmarks.IngestOptions{Events: *events, NATSURL: *natsURL})
	}
	scenarios["tick-to-order"] = func() (benchmarks.Result, error) {
		return benchmarks.TickToOrder(ctx, benchmarks.TickToOrderOptions{Rate: *rate, Duration: *duration, Symbols: *symbols, NATSURL: *natsURL})
	}
	scenarios["fanout"] = func() (benchmarks.Result, error) {
		return benchmarks.Fanout(ctx, benchmarks.FanoutOptions{Clients: *clients, HTTPURL: *httpURL, Token: *token,
			TickToOrder: benchmarks.TickToOrderOptions{Rate: *rate, Duration: *duration, Symbols: *symbols, NATSURL: *natsURL}})
	}
	scenarios["backtest"] = func() (benchmarks.Result, error) {
		return benchmarks.Backtest(ctx, benchmarks.BacktestOptions{Klines: *klines})
	}
	scenarios["recovery"] = func() (benchmarks.Result, error) {
		return benchmarks.Recovery(ctx, benchmarks.RecoveryOptions{Events: *events, Symbols: *symbols, Progress: progress})
	}
	scenarios["projection"] = func() (benchmarks.Result, error) {
		return benchmarks.Projection(ctx, benchmarks.ProjectionOptions{Rate: *rate, Duration: *duration})
	}
	scenarios["inference"] = func() (benchmarks.Result, error) {
		return benchmarks.Inference(ctx, benchmarks.InferenceOptions{Library: *ortLib, Provider: *ep})
	}
	names := make([]string, 0, len(scenarios))
	for n := range scenarios {
		names = append(names, n)
	}
	sort.Strings(names)
	if len(pos) != 1 {
		fs.Usage()
		return fmt.Errorf("%w: name one scenario (%s) or all", errUsage, strings.Join(names, ", "))
	}
	// What has no form against a running engine, and where a load tester looks instead.
	inProcess := map[string]string{
		"backtest":   "a backtest is an engine of its own on a simulated clock",
		"inference":  "the batcher serves the models inside the engine and has no network interface; read synapse_batcher_* on the engine's /metrics",
		"projection": "it measures a projector on a log and a database it fills itself; read synapse_projection_* on the engine's /metrics",
		"recovery":   "it kills the engine it measures; to time yours, kill it, start it and poll GET /readyz, which answers 503 \"catching up with the log…\" until the graph has replayed the log",
	}
	if *httpURL == "" {
		inProcess["fanout"] = "it needs the engine's HTTP address too: --http-url"
	}
	run := []string{pos[0]}
	if pos[0] == "all" {
		run = nil
		for _, n := range names {
			if why, ok := inProcess[n]; ok && *natsURL != "" {
				fmt.Fprintf(stderr, "skipping %s against a running engine: %s\n", n, why)
				continue
			}
			run = append(run, n)
		}
	} else if why, ok := inProcess[pos[0]]; ok && *natsURL != "" {
		return fmt.Errorf("%w: %s runs only against an engine it starts itself (drop --nats-url): %s", errUsage, pos[0], why)
	} else if pos[0] == "list" {
		fmt.Fprintln(stdout, strings.Join(names, "\n"))
		return nil
	} else if _, ok := scenarios[pos[0]]; !ok {
		return fmt.Errorf("%w: unknown scenario %q (have %s)", errUsage, pos[0], strings.Join(names, ", "))
	}
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	var results []benchmarks.Result
	for _, name := range run {
		if !*asJSON {
			fmt.Fprintf(stderr, "running %s…\n", name)
		}
		r, err := scenarios[name]()
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		results = append(results, r)
	}
	if *memProfile != "" {
		f, err := os.Create(*memProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.WriteHeapProfile(f); err != nil {
			return err
		}
	}
	if *asJSON {
		return benchmarks.PrintJSON(stdout, results...)
	}
	benchmarks.Print(stdout, results...)
	return nil
}
