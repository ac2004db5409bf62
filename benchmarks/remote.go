package benchmarks

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/synapse-trading/synapse/streams"
)

// A running engine is measured through its NATS server (its --nats-url): the scenario
// publishes market data on the engine's log under symbols of its own and watches what the
// engine derives from them, as any bot subscribed to the log would. Baselines that would
// leave records in the engine's streams (the persistence floor) use a scratch stream that
// is deleted afterwards.

// openRemote connects to a running engine's NATS server.
func openRemote(ctx context.Context, url string) (*streams.Log, error) {
	l, err := streams.Open(ctx, streams.Options{URL: url, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		return nil, fmt.Errorf("the engine's NATS server: %w", err)
	}
	return l, nil
}

// runSymbols names n symbols no earlier run used: BN<run>S<i>USDT, run from the clock, so
// that a run's events are never taken for duplicates of an earlier run's.
func runSymbols(n int) (run string, symbols []string) {
	run = strings.ToUpper(strconv.FormatInt(time.Now().UnixNano()/1e6, 36))
	for i := range n {
		symbols = append(symbols, fmt.Sprintf("BN%sS%dUSDT", run, i+1))
	}
	return run, symbols
}

// tickToOrderRemote runs the load against the running engine at opts.NATSURL (remoteLoad),
// then the persistence floor on a scratch stream of the same server.
func tickToOrderRemote(ctx context.Context, opts TickToOrderOptions, n int, probe *tickProbe) (load, floor loadRun, err error) {
	l, err := openRemote(ctx, opts.NATSURL)
	if err != nil {
		return load, floor, err
	}
	defer l.Close()
	run, symbols := runSymbols(opts.Symbols)
	if load, err = remoteLoad(ctx, l, opts, n, probe, symbols); err != nil {
		return load, floor, err
	}
	name, subject := "BENCH_FLOOR_"+run, "bench.floor."+strings.ToLower(run)
	if _, err := l.JS.CreateStream(ctx, jetstream.StreamConfig{Name: name, Subjects: []string{subject + ".>"},
		Storage: jetstream.FileStorage, Duplicates: 10 * time.Minute}); err != nil {
		return load, floor, fmt.Errorf("the floor's scratch stream %s: %w", name, err)
	}
	defer func() { _ = l.JS.DeleteStream(context.WithoutCancel(ctx), name) }()
	floor, err = persistFloor(ctx, l, n, opts, subject+".intent")
	return load, floor, err
}

// remoteLoad sends n ticks on symbols to the running engine's log at l, feeding the probe
// from subscriptions to the engine's features, the ensemble's signals and its agents'
// intents on those symbols, and waits for the last intents.
func remoteLoad(ctx context.Context, l *streams.Log, opts TickToOrderOptions, n int, probe *tickProbe, symbols []string) (loadRun, error) {
	ours := map[string]bool{}
	for _, s := range symbols {
		ours[s] = true
	}
	// Market time starts now, so that the engine's clock (the newest event time) moves on.
	ticks, err := syntheticTrades(opts, n, symbols, time.Now().UTC())
	if err != nil {
		return loadRun{}, err
	}
	watch := func(subject string, fn func(streams.Event)) (*nats.Subscription, error) {
		return l.Conn.Subscribe(subject, func(m *nats.Msg) {
			if ev, err := streams.Decode(m.Subject, m.Header, m.Data); err == nil {
				fn(ev)
			}
		})
	}
	intents := make(chan struct{}, 1)
	for subject, fn := range map[string]func(streams.Event){
		"feat.*.*.1m": func(ev streams.Event) {
			if f, ok := ev.(*streams.Feature); ok && ours[f.Symbol] {
				probe.feature(f)
			}
		},
		"sig.*.*.*": func(ev streams.Event) {
			if s, ok := ev.(*streams.Signal); ok && ours[s.Symbol] {
				probe.signal(s)
			}
		},
		"ord.*.*.*.intent": func(ev streams.Event) {
			if o, ok := ev.(*streams.OrderEvent); ok && ours[o.Symbol] {
				probe.recorded(o)
				select {
				case intents <- struct{}{}:
				default:
				}
			}
		},
	} {
		sub, err := watch(subject, fn)
		if err != nil {
			return loadRun{}, err
		}
		defer sub.Unsubscribe()
	}
	if err := l.Conn.Flush(); err != nil { // the subscriptions are in place before the load
		return loadRun{}, err
	}
	load, err := sendTicks(ctx, l, ticks, opts, probe)
	if err != nil {
		return load, err
	}
	if err := l.Flush(ctx); err != nil {
		return load, err
	}
	// The last intents: wait until none came for a second (at most 10 s).
	for deadline := time.After(10 * time.Second); ; {
		select {
		case <-intents:
			continue
		case <-time.After(time.Second):
		case <-deadline:
		case <-ctx.Done():
			return load, ctx.Err()
		}
		return load, nil
	}
}

// ingestRemote measures one round against the running engine at url: raw PublishAsync with
// and without the headers into a scratch stream with the market-data stream's settings, then
// durable ingest into the engine's log. The events are renamed to symbols of this round, so
// that none is a duplicate of an earlier round's or run's.
func ingestRemote(ctx context.Context, url string, events []streams.Event) (raw, bare, durable float64, err error) {
	l, err := openRemote(ctx, url)
	if err != nil {
		return 0, 0, 0, err
	}
	defer l.Close()
	run := strings.ToUpper(strconv.FormatInt(time.Now().UnixNano(), 36))
	ours := make([]streams.Event, len(events))
	for i, ev := range events {
		_, symbol := ev.Key()
		ours[i] = streams.WithSymbol(ev, "BN"+run+symbol)
	}
	var md streams.Stream
	for _, s := range streams.Catalog() {
		if s.Name == streams.StreamMarketData {
			md = s
		}
	}
	for _, m := range []struct {
		rate    *float64
		headers bool
	}{{&raw, true}, {&bare, false}} {
		name, prefix := "BENCH_RAW_"+run, "bench.raw."+strings.ToLower(run)+"."
		if _, err := l.JS.CreateStream(ctx, jetstream.StreamConfig{Name: name, Subjects: []string{prefix + ">"},
			Storage: md.Storage, Duplicates: md.Duplicates}); err != nil {
			return 0, 0, 0, fmt.Errorf("the baseline's scratch stream %s: %w", name, err)
		}
		*m.rate, err = rawPublish(ctx, l, ours, m.headers, prefix)
		_ = l.JS.DeleteStream(context.WithoutCancel(ctx), name)
		if err != nil {
			return 0, 0, 0, err
		}
	}
	durable, err = durableIngest(ctx, l, ours)
	return raw, bare, durable, err
}

// fanoutRemote runs the tick-to-order load against the running engine with clients
// websocket clients on its gateway, each subscribed to the state of the run's symbols (the
// engine's symbol actors show their state every 250 ms by default; the gateway sends at
// most one frame per 100 ms).
func fanoutRemote(ctx context.Context, tto TickToOrderOptions, n int, opts FanoutOptions, clients int) (*tickProbe, *fanout, error) {
	l, err := openRemote(ctx, tto.NATSURL)
	if err != nil {
		return nil, nil, err
	}
	defer l.Close()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	run, symbols := runSymbols(tto.Symbols)
	fan := &fanout{memName: "gateway memory per client, KiB (the engine's heap and stacks, from its /metrics)"}
	wait := func() {}
	if clients > 0 {
		base := "ws" + strings.TrimPrefix(strings.TrimSuffix(opts.HTTPURL, "/"), "http")
		before, err := engineMemory(ctx, opts.HTTPURL, opts.Token)
		if err != nil {
			return nil, nil, err
		}
		wait, err = connectClients(ctx, base, opts.Token, clients, func(int) string { return "symbol/synthetic/BN" + run }, fan)
		if err != nil {
			cancel()
			wait()
			return nil, nil, err
		}
		time.Sleep(time.Second) // the first frames, with every topic's state, have gone out
		after, err := engineMemory(ctx, opts.HTTPURL, opts.Token)
		if err != nil {
			return nil, nil, err
		}
		fan.memPerClient = (after - before) / float64(clients)
	}
	return fan.during(func() error { cancel(); wait(); return nil }, func(probe *tickProbe) (loadRun, error) {
		return remoteLoad(ctx, l, tto, n, probe, symbols)
	})
}

// engineMemory reads the heap and goroutine stacks in use from the engine's /metrics.
func engineMemory(ctx context.Context, httpURL, token string) (float64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimSuffix(httpURL, "/")+"/metrics", nil)
	if err != nil {
		return 0, fmt.Errorf("--http-url: %w", err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, fmt.Errorf("the engine's /metrics: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("the engine's /metrics answered %s (a token with the viewer role: --token or $SYNAPSE_TOKEN)", resp.Status)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		return 0, fmt.Errorf("the engine's /metrics: %w", err)
	}
	var total float64
	for _, name := range []string{"go_memstats_heap_inuse_bytes", "go_memstats_stack_inuse_bytes"} {
		f, ok := families[name]
		if !ok || len(f.GetMetric()) == 0 {
			return 0, fmt.Errorf("the engine's /metrics has no %s (an engine older than this bench?)", name)
		}
		total += f.GetMetric()[0].GetGauge().GetValue()
	}
	return total, nil
}

// replayRemote puts copies of the real kline series on the running engine's log and times
// them until the engine has published the 1m feature of every symbol's last kline.
func replayRemote(ctx context.Context, opts ReplayOptions, series [][]*streams.Kline) (Result, error) {
	l, err := openRemote(ctx, opts.NATSURL)
	if err != nil {
		return Result{}, err
	}
	defer l.Close()
	run := strings.ToUpper(strconv.FormatInt(time.Now().UnixNano()/1e6, 36))
	symbols, total := copySeries(series, opts.Klines, "BN"+run)
	var events []streams.Event
	last := map[string]int64{}                 // symbol → open time of its last kline
	for off := 0; len(events) < total; off++ { // interleaved, as a merged replay delivers them
		for _, s := range symbols {
			if off < len(s) {
				events = append(events, s[off])
				last[s[off].Symbol] = s[off].OpenTime
			}
		}
	}

	name, prefix := "BENCH_RAW_"+run, "bench.raw."+strings.ToLower(run)+"."
	if _, err := l.JS.CreateStream(ctx, jetstream.StreamConfig{Name: name, Subjects: []string{prefix + ">"},
		Storage: jetstream.FileStorage, Duplicates: time.Hour}); err != nil {
		return Result{}, fmt.Errorf("the baseline's scratch stream %s: %w", name, err)
	}
	baseline, err := rawPublish(ctx, l, events, true, prefix)
	_ = l.JS.DeleteStream(context.WithoutCancel(ctx), name)
	if err != nil {
		return Result{}, err
	}

	done := make(chan struct{})
	var mu sync.Mutex
	features, waiting := 0, len(last)
	sub, err := l.Conn.Subscribe("feat.*.*.1m", func(m *nats.Msg) {
		ev, err := streams.Decode(m.Subject, m.Header, m.Data)
		f, ok := ev.(*streams.Feature)
		if err != nil || !ok {
			return
		}
		mu.Lock()
		defer mu.Unlock()
		open, ours := last[f.Symbol]
		if !ours {
			return
		}
		features++
		if f.OpenTime == open {
			if waiting--; waiting == 0 {
				close(done)
			}
		}
	})
	if err != nil {
		return Result{}, err
	}
	defer sub.Unsubscribe()
	if err := l.Conn.Flush(); err != nil {
		return Result{}, err
	}
	start := time.Now()
	for _, ev := range events {
		if err := l.Publish(ctx, ev); err != nil {
			return Result{}, err
		}
	}
	if err := l.Flush(ctx); err != nil {
		return Result{}, err
	}
	limit := time.Minute + time.Duration(total/10_000)*time.Second
	select {
	case <-done:
	case <-time.After(limit):
		mu.Lock()
		defer mu.Unlock()
		return Result{}, fmt.Errorf("replay: after %s the engine had published the last 1m feature of %d of %d symbols (%d features of this run); is it following its log with the symbol actors?",
			limit, len(last)-waiting, len(last), features)
	case <-ctx.Done():
		return Result{}, ctx.Err()
	}
	rate := float64(total) / time.Since(start).Seconds()
	mu.Lock()
	defer mu.Unlock()
	return Result{
		Scenario: "replay", Time: time.Now().UTC(),
		Figure:   Measure{Name: "klines on the engine's log until their features are back", Value: rate, Unit: "klines/s"},
		Baseline: Measure{Name: "raw PublishAsync of the same messages, same server", Value: baseline, Unit: "msgs/s"},
		Ratio:    rate / baseline,
		Goal:     "≥ 1,000,000 klines/s (in process; through a server the publish is the ceiling)", Met: rate >= 1e6,
		Extra:   map[string]float64{"klines": float64(total), "symbols": float64(len(symbols)), "1m features back": float64(features)},
		Machine: ThisMachine(),
	}, nil
}
