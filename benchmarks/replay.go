package benchmarks

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/anthdm/hollywood/actor"

	"github.com/synapse-trading/synapse/actors"
	"github.com/synapse-trading/synapse/streams"
)

// ReplayOptions configure the replay scenario.
type ReplayOptions struct {
	// Klines is how many 1m klines to push through the symbol actors (default 1,000,000):
	// the bundled real series are copied onto as many symbols as that takes.
	Klines int
	// Batch is the klines per MarketData message (default 512).
	Batch int
	// NATSURL, when set, measures a running engine through its NATS server instead: the
	// klines go on its log (renamed to symbols of this run) as fast as it takes them, and the
	// figure is klines/s from the first publish to the 1m feature of every symbol's last
	// kline coming back from the engine; the baseline is raw PublishAsync of the same
	// messages into a scratch stream on the same server.
	NATSURL string
}

// copySeries copies the real series onto symbols <prefix><SYMBOL><i> until there are klines
// of them, and returns the copies and their count.
func copySeries(series [][]*streams.Kline, klines int, prefix string) ([][]*streams.Kline, int) {
	var symbols [][]*streams.Kline
	total := 0
	for i := 0; total < klines; i++ {
		src := series[i%len(series)]
		n := min(len(src), klines-total)
		cp := make([]*streams.Kline, n)
		for j := range cp {
			k := *src[j]
			k.Symbol = fmt.Sprintf("%s%s%d", prefix, k.Symbol, i)
			cp[j] = &k
		}
		symbols = append(symbols, cp)
		total += n
	}
	return symbols, total
}

// Replay measures klines/s through the symbol actors with every indicator, roll-up and
// feature, against the raw Hollywood send rate of as many messages to no-op actors.
func Replay(ctx context.Context, opts ReplayOptions) (Result, error) {
	if opts.Klines <= 0 {
		opts.Klines = 1_000_000
	}
	if opts.Batch <= 0 {
		opts.Batch = 512
	}
	series, err := klineSeries()
	if err != nil {
		return Result{}, err
	}
	if opts.NATSURL != "" {
		return replayRemote(ctx, opts, series)
	}
	symbols, total := copySeries(series, opts.Klines, "")
	// Interleave them in batches, as a merged replay would deliver them.
	var batches [][]actors.Sequenced
	for off := 0; ; off += opts.Batch {
		more := false
		for _, s := range symbols {
			if off >= len(s) {
				continue
			}
			more = true
			end := min(off+opts.Batch, len(s))
			b := make([]actors.Sequenced, 0, end-off)
			for _, k := range s[off:end] {
				b = append(b, actors.Sequenced{Event: k})
			}
			batches = append(batches, b)
		}
		if !more {
			break
		}
	}

	baseline := rawSendRate(total, len(symbols))

	// Every feature is built and handed on, as it is for the model tier; only the log write is
	// left out (the ingest scenario measures that).
	var features atomic.Int64
	g, err := actors.NewGraph(actors.SymbolOptions{Publish: func(streams.Event) { features.Add(1) }})
	if err != nil {
		return Result{}, err
	}
	defer g.Stop()
	start := time.Now()
	for _, b := range batches {
		if err := g.Dispatch(ctx, b); err != nil {
			return Result{}, err
		}
	}
	if err := g.Drain(ctx); err != nil {
		return Result{}, err
	}
	elapsed := time.Since(start)
	rate := float64(total) / elapsed.Seconds()
	return Result{
		Scenario: "replay", Time: time.Now().UTC(),
		Figure:   Measure{Name: "klines through symbol actors, all indicators", Value: rate, Unit: "klines/s"},
		Baseline: Measure{Name: "raw Hollywood send", Value: baseline, Unit: "msgs/s"},
		Ratio:    rate / baseline,
		Goal:     "≥ 1,000,000 klines/s", Met: rate >= 1e6,
		Extra:   map[string]float64{"klines": float64(total), "symbols": float64(len(symbols)), "features emitted": float64(features.Load())},
		Machine: ThisMachine(),
	}, nil
}

// rawSendRate sends n empty messages, round-robin, to `actors` Hollywood actors that only
// count them, and returns messages/s from the first send to the last receive.
func rawSendRate(n, actorCount int) float64 {
	e, _ := actor.NewEngine(actor.NewEngineConfig())
	var wg sync.WaitGroup
	wg.Add(actorCount)
	per := n / actorCount
	pids := make([]*actor.PID, actorCount)
	for i := range pids {
		want := per
		if i < n%actorCount {
			want++
		}
		got := 0
		pids[i] = e.SpawnFunc(func(c *actor.Context) {
			if _, ok := c.Message().(struct{}); ok {
				got++
				if got == want {
					wg.Done()
				}
			}
		}, "raw", actor.WithID(fmt.Sprint(i)))
	}
	start := time.Now()
	for i := 0; i < n; i++ {
		e.Send(pids[i%actorCount], struct{}{})
	}
	wg.Wait()
	rate := float64(n) / time.Since(start).Seconds()
	for _, p := range pids {
		<-e.Poison(p).Done()
	}
	return rate
}
