package benchmarks

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/synapse-trading/synapse/streams"
)

// IngestOptions configure the ingest scenario.
type IngestOptions struct {
	// Events is how many market-data events to ingest (default 300,000): the bundled real
	// recordings, repeated on renamed symbols until there are enough.
	Events int
	// Rounds alternates baseline and figure this many times and keeps the best of each
	// (default 2), so a slow first run (cold page cache) does not decide the ratio.
	Rounds int
	// NATSURL, when set, ingests into a running engine's log through its NATS server (the
	// events renamed to symbols of this run, which the engine then follows), and the raw
	// baseline publishes the same messages into a scratch stream with the market-data
	// stream's settings on the same server, deleted afterwards.
	NATSURL string
}

// Ingest measures durable ingest (encode, deduplicating Nats-Msg-Id, PublishAsync into the
// JetStream file store, every ack awaited) against raw PublishAsync of the identical
// messages, already encoded, into an identical fresh store, in the same run. It also measures
// raw PublishAsync without the Nats-Msg-Id and schema headers, to show what deduplication
// itself costs inside nats-server.
func Ingest(ctx context.Context, opts IngestOptions) (Result, error) {
	if opts.Events <= 0 {
		opts.Events = 300_000
	}
	if opts.Rounds <= 0 {
		opts.Rounds = 2
	}
	src, err := loadRecordings("")
	if err != nil {
		return Result{}, err
	}
	events := make([]streams.Event, 0, opts.Events)
	for copyN := 0; len(events) < opts.Events; copyN++ {
		for _, ev := range src {
			if len(events) == opts.Events {
				break
			}
			events = append(events, renamed(ev, copyN))
		}
	}
	var best, bestRaw, bestBare float64
	for r := 0; r < opts.Rounds; r++ {
		var raw, bare, fig float64
		if opts.NATSURL != "" {
			raw, bare, fig, err = ingestRemote(ctx, opts.NATSURL, events)
		} else {
			raw, bare, fig, err = ingestHere(ctx, events)
		}
		if err != nil {
			return Result{}, err
		}
		bestRaw, bestBare, best = max(bestRaw, raw), max(bestBare, bare), max(best, fig)
	}
	ratio := best / bestRaw
	return Result{
		Scenario: "ingest", Time: time.Now().UTC(),
		Figure:   Measure{Name: "durable ingest (encode + dedup ID + file store)", Value: best, Unit: "events/s"},
		Baseline: Measure{Name: "raw PublishAsync of the same messages", Value: bestRaw, Unit: "msgs/s"},
		Ratio:    ratio, Goal: "≥ 80% of raw PublishAsync", Met: ratio >= 0.8,
		Extra: map[string]float64{"events": float64(len(events)),
			"raw PublishAsync without dedup headers, msgs/s": bestBare,
			"ingest / raw without dedup headers":             best / bestBare},
		Machine: ThisMachine(),
	}, nil
}

// freshLog opens an embedded log on a new temporary store; close removes it.
func freshLog(ctx context.Context) (l *streams.Log, close func(), err error) {
	dir, err := os.MkdirTemp("", "synapse-bench-")
	if err != nil {
		return nil, nil, err
	}
	l, err = streams.Open(ctx, streams.Options{DataDir: dir})
	if err != nil {
		os.RemoveAll(dir)
		return nil, nil, err
	}
	return l, func() { l.Close(); os.RemoveAll(dir) }, nil
}

// ingestHere measures one round on fresh embedded logs: raw PublishAsync with and without
// the headers, then durable ingest.
func ingestHere(ctx context.Context, events []streams.Event) (raw, bare, durable float64, err error) {
	for _, m := range []struct {
		rate    *float64
		measure func(*streams.Log) (float64, error)
	}{
		{&raw, func(l *streams.Log) (float64, error) { return rawPublish(ctx, l, events, true, "") }},
		{&bare, func(l *streams.Log) (float64, error) { return rawPublish(ctx, l, events, false, "") }},
		{&durable, func(l *streams.Log) (float64, error) { return durableIngest(ctx, l, events) }},
	} {
		l, closeLog, err := freshLog(ctx)
		if err != nil {
			return 0, 0, 0, err
		}
		*m.rate, err = m.measure(l)
		closeLog()
		if err != nil {
			return 0, 0, 0, err
		}
	}
	return raw, bare, durable, nil
}

// durableIngest publishes events on l as a feed does and waits for every ack.
func durableIngest(ctx context.Context, l *streams.Log, events []streams.Event) (float64, error) {
	before := l.Stats()
	start := time.Now()
	for _, ev := range events {
		if err := l.Publish(ctx, ev); err != nil {
			return 0, err
		}
	}
	if err := l.Flush(ctx); err != nil {
		return 0, err
	}
	rate := float64(len(events)) / time.Since(start).Seconds()
	if st := l.Stats(); st.Duplicates > before.Duplicates || st.Failed > before.Failed {
		return 0, fmt.Errorf("ingest benchmark: %d duplicates, %d failures (events must be unique)", st.Duplicates-before.Duplicates, st.Failed-before.Failed)
	}
	return rate, nil
}

// rawPublish publishes the events, encoded beforehand, with PublishAsync on l; withHeaders
// keeps the Nats-Msg-Id and schema headers; prefix, when not "", is put before each subject
// (a scratch stream's).
func rawPublish(ctx context.Context, l *streams.Log, events []streams.Event, withHeaders bool, prefix string) (float64, error) {
	msgs := make([]*nats.Msg, len(events))
	for i, ev := range events {
		m, err := streams.Encode(ev)
		if err != nil {
			return 0, err
		}
		if !withHeaders {
			m = &nats.Msg{Subject: m.Subject, Data: m.Data}
		}
		m.Subject = prefix + m.Subject
		msgs[i] = m
	}
	start := time.Now()
	for _, m := range msgs {
		if err := l.PublishMsg(ctx, m); err != nil {
			return 0, err
		}
	}
	if err := l.Flush(ctx); err != nil {
		return 0, err
	}
	return float64(len(msgs)) / time.Since(start).Seconds(), nil
}

// renamed returns ev on symbol <symbol><n> (n = 0 keeps it), so copies have distinct IDs.
func renamed(ev streams.Event, n int) streams.Event {
	if n == 0 {
		return ev
	}
	_, symbol := ev.Key()
	return streams.WithSymbol(ev, fmt.Sprint(symbol, n))
}
