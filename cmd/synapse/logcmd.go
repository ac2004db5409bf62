package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/schollz/progressbar/v3"

	"github.com/synapse-trading/synapse/actors"
	"github.com/synapse-trading/synapse/streams"
	"github.com/synapse-trading/synapse/streams/replay"
)

// logFlags are the flags of every command that opens the log.
type logFlags struct {
	dataDir, natsURL string
}

func (l *logFlags) register(fs interface {
	StringVar(*string, string, string, string)
}) {
	fs.StringVar(&l.dataDir, "data-dir", "./data", "JetStream store of the embedded NATS server")
	fs.StringVar(&l.natsURL, "nats-url", "", "use this NATS server (e.g. a running engine's --nats-listen, nats://user:pass@127.0.0.1:4223) instead of the data dir")
}

func (l *logFlags) open(ctx context.Context, logger *slog.Logger) (*streams.Log, error) {
	return streams.Open(ctx, streams.Options{DataDir: l.dataDir, URL: l.natsURL, Logger: logger})
}

// mustHoldLog refuses a data dir that holds no log, for the commands that only read one:
// opening it would make an empty store there and print nothing, hiding a mistyped path.
func (l *logFlags) mustHoldLog() error {
	if l.natsURL != "" {
		return nil
	}
	if !streams.HoldsLog(l.dataDir) {
		return fmt.Errorf("no log in %s: point --data-dir at the engine's data dir (synapse run --data-dir, synapse ingest --data-dir), or --nats-url at a running engine", l.dataDir)
	}
	return nil
}

func cmdTail(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("tail", stderr)
	var lf logFlags
	lf.register(fs)
	from := fs.Uint64("from-seq", 0, "start at this stream sequence (default: the beginning)")
	follow := fs.Bool("follow", false, "keep printing new events until interrupted")
	limit := fs.Int("limit", 0, "stop after this many events (0: no limit)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: synapse tail SUBJECT [flags]   e.g. synapse tail 'md.binance.btcusdt.>' --from-seq 100")
		fs.PrintDefaults()
	}
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		fs.Usage()
		if len(pos) > 1 {
			return fmt.Errorf("%w: name one subject, not %d (%s): quote a subject with wildcards, e.g. 'md.>'", errUsage, len(pos), strings.Join(pos, " "))
		}
		return fmt.Errorf("%w: name one subject, e.g. 'md.>'", errUsage)
	}
	if *limit < 0 {
		return fmt.Errorf("%w: --limit %d: give a number of events, or 0 for no limit", errUsage, *limit)
	}
	if err := lf.mustHoldLog(); err != nil {
		return err
	}
	// Against a running engine, tail reads the streams as they are: a bot credential may
	// read them, not create or update them.
	l, err := streams.Open(ctx, streams.Options{DataDir: lf.dataDir, URL: lf.natsURL, Attach: true, Logger: quietLogger(stderr)})
	if err != nil {
		return err
	}
	defer l.Close()
	_, err = streams.Tail(ctx, l.JS, pos[0], streams.TailOptions{FromSeq: *from, Follow: *follow, Limit: *limit}, stdout)
	if errors.Is(err, context.Canceled) {
		return nil
	}
	return err
}

func cmdIngest(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("ingest", stderr)
	var lf logFlags
	lf.register(fs)
	var files listFlag
	fs.Var(&files, "data", "market data file(s) to load (also accepted as arguments)")
	quiet := fs.Bool("quiet", false, "no progress bar")
	symbol := fs.String("symbol", "", "symbol of every file, when the file names do not tell it (e.g. BTCUSDT)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: synapse ingest FILE... [flags]   loads kline CSVs and websocket captures into the log")
		fs.PrintDefaults()
	}
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	files = append(files, pos...)
	if len(files) == 0 {
		fs.Usage()
		return fmt.Errorf("%w: name at least one file", errUsage)
	}
	logger := quietLogger(stderr)
	if err := checkSymbols("--symbol", *symbol); err != nil {
		return err
	}
	// What the log holds already is left out: ingesting a file again, or a file that
	// overlaps one ingested before, adds only what is new, whenever it runs (the stream's
	// deduplication window lasts an hour).
	var onLog streams.Stored
	rp, err := replay.Open(files, replay.Options{Symbol: *symbol, Skip: func(ev streams.Event) bool { return onLog.Older(ev) }})
	if err != nil {
		return err
	}
	defer rp.Close()
	l, err := lf.open(ctx, logger)
	if err != nil {
		return err
	}
	defer l.Close()
	if onLog, err = streams.ReadStored(ctx, l.JS, streams.StreamMarketData); err != nil {
		return fmt.Errorf("reading what the log holds: %w", err)
	}

	bar := progressbar.NewOptions64(rp.Size(),
		progressbar.OptionSetWriter(stderr), progressbar.OptionSetDescription("ingesting"),
		progressbar.OptionShowBytes(true), progressbar.OptionThrottle(200*time.Millisecond),
		progressbar.OptionShowCount(), progressbar.OptionSetVisibility(!*quiet), progressbar.OptionClearOnFinish())
	start := time.Now()
	n, err := putOnLog(ctx, rp, l, func() { _ = bar.Set64(rp.Consumed()) }, func(source string, why error) {
		fmt.Fprintf(stderr, "warning: %s: %v (they go on the log; the engine will skip them)\n", source, why)
	})
	if ctx.Err() != nil { // interrupted: say what is on the log, and how to go on
		fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		_ = l.Flush(fctx)
		_ = bar.Exit()
		ps := l.Stats()
		return fmt.Errorf("interrupted after %d events: %d new on the log; run the same ingest again to go on (what the log holds is skipped)",
			n, ps.Published-ps.Duplicates)
	}
	if err != nil {
		return err
	}
	if err := l.Flush(ctx); err != nil {
		return err
	}
	_ = bar.Finish()
	st := rp.Stats()
	ps := l.Stats()
	fmt.Fprintf(stdout, "ingested %d events from %d file(s) in %s: %d new on the log, %d already there; skipped %d malformed, %d out of order, %d duplicate, %d of other streams\n",
		n+int(st.Total.Stored), len(files), time.Since(start).Round(time.Millisecond), ps.Published-ps.Duplicates, ps.Duplicates+st.Total.Stored,
		st.Total.Malformed, st.Total.OutOfOrder, st.Total.Duplicates, st.Total.OtherStreams)
	for _, f := range st.Files {
		for _, e := range f.LastErrors {
			fmt.Fprintf(stderr, "  %s\n", e)
		}
	}
	if n == 0 && st.Total.Stored == 0 { // as backtest and features: nothing ingested is not a success
		return fmt.Errorf("no market data in %s: nothing was put on the log (the lines above say why); give Binance kline CSVs or websocket captures",
			strings.Join(files, ", "))
	}
	return nil
}

// quietLogger logs warnings and errors only, as text on stderr.
func quietLogger(stderr io.Writer) *slog.Logger {
	return slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

// putOnLog publishes every record of rp to the log, calling progress every 4096 records and
// at least every second while records come (a slow replay), and returns how many it published. It does not wait for the acks (Log.Flush does). A kline the
// symbol actors will skip (not 1m) goes on the log as it is, and skipped is told once per
// file, with the reason.
func putOnLog(ctx context.Context, rp *replay.Replay, l *streams.Log, progress func(), skipped func(source string, why error)) (int, error) {
	n := 0
	warned := map[string]bool{}
	told := time.Now() // progress was last called
	for {
		rec, err := rp.Next(ctx)
		if errors.Is(err, io.EOF) {
			return n, nil
		}
		if err != nil {
			return n, err
		}
		if err := actors.CheckKline(rec.Event); err != nil && !warned[rec.Source] {
			warned[rec.Source] = true
			skipped(rec.Source, err)
		}
		if err := l.Publish(ctx, rec.Event); err != nil {
			return n, err
		}
		n++
		if progress != nil && (n%4096 == 0 || time.Since(told) >= time.Second) { // a slow replay too
			told = time.Now()
			progress()
		}
	}
}
