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
)

func cmdBench(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("bench", stderr)
	asJSON := fs.Bool("json", false, "print the results as JSON")
	klines := fs.Int("klines", 0, "replay: klines to push through the symbol actors (default 1,000,000); backtest: klines to replay (default 40,000; 80,640 is both bundled months)")
	rate := fs.Float64("rate", 0, "tick-to-order: ticks per second, open loop (default 10,000)")
	duration := fs.Duration("duration", 0, "tick-to-order: how long the load runs, and then the persistence floor as long again (default 10s)")
	events := fs.Int("events", 0, "ingest: events to ingest (default 300,000)")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile to this file")
	memProfile := fs.String("memprofile", "", "write a heap profile to this file at the end")
	scenarios := map[string]func() (benchmarks.Result, error){}
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: synapse bench SCENARIO|all [--json]\n\nscenarios: replay, ingest, inference, tick-to-order, backtest (see benchmarks/README.md)")
		fs.PrintDefaults()
	}
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	scenarios["replay"] = func() (benchmarks.Result, error) {
		return benchmarks.Replay(ctx, benchmarks.ReplayOptions{Klines: *klines})
	}
	scenarios["ingest"] = func() (benchmarks.Result, error) {
		return benchmarks.Ingest(ctx, benchmarks.IngestOptions{Events: *events})
	}
	scenarios["tick-to-order"] = func() (benchmarks.Result, error) {
		return benchmarks.TickToOrder(ctx, benchmarks.TickToOrderOptions{Rate: *rate, Duration: *duration})
	}
	scenarios["backtest"] = func() (benchmarks.Result, error) {
		return benchmarks.Backtest(ctx, benchmarks.BacktestOptions{Klines: *klines})
	}
	scenarios["projection"] = func() (benchmarks.Result, error) {
		return benchmarks.Projection(ctx, benchmarks.ProjectionOptions{})
	}
	scenarios["inference"] = func() (benchmarks.Result, error) {
		return benchmarks.Inference(ctx, benchmarks.InferenceOptions{})
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
	run := []string{pos[0]}
	if pos[0] == "all" {
		run = names
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
