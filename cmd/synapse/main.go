// Command synapse is the Synapse trading engine: one binary, one subcommand per job.
//
//	synapse run       [--config FILE] [--data-dir DIR] [--replay FILE...] [--speed X|max] [--live]
//	                  [--http ADDR] [--nats-listen ADDR] [--nats-url URL]
//	synapse ingest    FILE... [--data-dir DIR | --nats-url URL]
//	synapse tail      SUBJECT [--from-seq N] [--follow] [--limit N] [--data-dir DIR | --nats-url URL]
//	synapse features  --data FILE [--format csv|json]
//	synapse train     --data FILE... --model NAME --out DIR
//	synapse backtest  --data FILE... [--agents LIST] [--report json|html] [--out PATH]
//	synapse bench     SCENARIO [--json]
//	synapse migrate   --database-url URL
//
// This package holds flags, configuration and wiring only; the logic lives in streams,
// actors, inference, portfolio and web.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"syscall"

	"github.com/synapse-trading/synapse/benchmarks"
	"github.com/synapse-trading/synapse/streams"
)

const usage = `synapse — a real-time crypto trading engine

usage: synapse <command> [flags]

commands:
  run        run the engine: replay (default: bundled real Binance data) or --live, UI on http://127.0.0.1:8080
  ingest     load recorded market data files into the log without running the graph
  tail       print events from the log as JSON lines, e.g. synapse tail 'md.>'
  features   print the indicator features of a market data file (csv or json)
  train      train a model on market data and export it to ONNX with its model card
  backtest   run the agents on recorded data at full speed with the paper exchange; a deterministic report
  bench      run a benchmark scenario (synapse bench list)
  migrate    create or update the tables of the Postgres read model

'synapse <command> -h' shows a command's flags. See README.md.
`

// errUsage marks an error caused by wrong arguments: exit code 2.
var errUsage = errors.New("usage")

func main() {
	benchmarks.ClientProcess() // the fanout scenario's websocket clients run in a process of their own
	tuneGC()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// Garbage collection settings, unless GOGC or GOMEMLIMIT set them: the collector runs when the
// heap has grown by gcPercent since the last collection (Go's default is 100), and more
// often as the heap nears memoryLimit (a soft limit). At 100 the engine collected about three
// times a second at 10,000 ticks/s, and its tick → intent p99 rested on the cycles that
// overlapped a candle's close: three interleaved runs each of `synapse bench tick-to-order`
// gave p99 26.5, 35.1, 39.8 ms at 100 and 16.2, 9.2, 8.9 ms at 400, for a peak RSS of
// 240 MB → 519 MB.
const (
	gcPercent   = 400
	memoryLimit = 4 << 30
)

func tuneGC() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(gcPercent)
	}
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(memoryLimit)
	}
}

// command is a subcommand: it runs until done or until ctx ends (Ctrl-C).
type command func(ctx context.Context, args []string, stdout, stderr io.Writer) error

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprint(stdout, usage)
		return 0
	}
	commands := map[string]command{
		"run":      cmdRun,
		"ingest":   cmdIngest,
		"tail":     cmdTail,
		"features": cmdFeatures,
		"bench":    cmdBench,
		"train":    cmdTrain,
		"backtest": cmdBacktest,
		"migrate":  cmdMigrate,
	}
	cmd, ok := commands[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "synapse: unknown command %q\n\n%s", args[0], usage)
		return 2
	}
	if err := cmd(ctx, args[1:], stdout, stderr); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		fmt.Fprintf(stderr, "synapse %s: %v\n", args[0], err)
		if errors.Is(err, errUsage) {
			return 2
		}
		return 1
	}
	return 0
}

// newFlags returns a flag set whose errors go to stderr and are returned, not fatal.
func newFlags(name string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("synapse "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	return fs
}

// parse parses flags that may come before or after the positional arguments
// (synapse tail 'md.>' --from-seq 10), and returns the positional ones.
func parse(fs *flag.FlagSet, args []string) ([]string, error) {
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, err
			}
			return nil, fmt.Errorf("%w: %v", errUsage, err)
		}
		args = fs.Args()
		if len(args) == 0 {
			return positional, nil
		}
		if args[0] == "--" {
			return append(positional, args[1:]...), nil
		}
		positional = append(positional, args[0])
		args = args[1:]
	}
}

// listFlag collects a repeatable flag; each value may also be a comma-separated list.
type listFlag []string

func (l *listFlag) String() string { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error {
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			*l = append(*l, s)
		}
	}
	return nil
}

// checkSymbols rejects symbols that cannot be a subject token, naming the flag.
func checkSymbols(flagName string, symbols ...string) error {
	for _, s := range symbols {
		if s == "" {
			continue
		}
		if err := streams.CheckSymbol(s); err != nil {
			return fmt.Errorf("%w: %s: %v", errUsage, flagName, err)
		}
	}
	return nil
}
