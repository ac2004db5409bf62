package benchmarks

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
	"github.com/govalues/decimal"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/synapse-trading/synapse/actors"
	"github.com/synapse-trading/synapse/inference"
	"github.com/synapse-trading/synapse/portfolio"
	"github.com/synapse-trading/synapse/streams"
	"github.com/synapse-trading/synapse/streams/synthetic"
)

// TickToOrderOptions configure the tick-to-order scenario.
type TickToOrderOptions struct {
	// Rate is the ticks per second the open-loop scheduler publishes (default 10,000).
	Rate float64
	// Duration is how long the load runs (default 10 s); the persistence floor then runs as
	// long again at the same rate.
	Duration time.Duration
	// Symbols (default 8) and TradesPerMinute (default 25 per symbol and market minute): a
	// candle of each symbol closes about every Symbols × TradesPerMinute ticks (200), so
	// Rate / TradesPerMinute candles close a second (400) and the models warm up (about 35
	// candles a symbol) within the first second.
	Symbols         int
	TradesPerMinute float64
	// Seed of the synthetic generator (default 1).
	Seed uint64
	// MaxLag: a tick whose turn comes later than this after its scheduled time is dropped
	// and counted instead of sent (default 100 ms), so that a stalled engine shows as drops
	// rather than turning the open loop into a closed one.
	MaxLag time.Duration
	// Library is ONNX Runtime's shared library; "" finds it as inference.LibraryPath does.
	Library string
	// NATSURL, when set, measures a running engine that uses this NATS server (its
	// --nats-url) instead of one started here: the ticks go on its log under new symbols
	// (BN<run>S<i>USDT, market time from now), the latency is timed to its agents' intents
	// as a subscriber sees them, and the floor publishes on a scratch stream it then deletes.
	// The engine's agents must trade every symbol (benchmarks/engine.yaml has such agents).
	NATSURL string
}

// TickToOrder measures the latency from a market tick to the order intent it caused being
// acknowledged on the log, under a fixed open-loop load of synthetic trades. The path is
// the whole engine of `synapse run`: the tick's publish on the log, the graph's log
// consumer, the symbol actor (candle, roll-ups, indicators), the three models through the
// batcher and ONNX Runtime, the ensemble, the agents and the intent's synchronous publish.
// Tick i is due at start + i/Rate and latency counts from then (coordinated omission
// corrected). The clock of a candle starts at the tick that closes it (its symbol's first
// trade of the next minute) and stops when an intent timed at that close is acknowledged.
// The baseline is the persistence floor: a publish of an equivalent intent, timed to its ack, on
// the same log at the same rate, timed the same way.
func TickToOrder(ctx context.Context, opts TickToOrderOptions) (Result, error) {
	tickToOrderDefaults(&opts)
	n := int(opts.Rate * opts.Duration.Seconds())
	probe := newTickProbe()
	var load, floor loadRun
	var err error
	if opts.NATSURL != "" {
		load, floor, err = tickToOrderRemote(ctx, opts, n, probe)
	} else {
		load, floor, err = tickToOrderHere(ctx, opts, n, probe)
	}
	if err != nil {
		return Result{}, err
	}

	fig, base := LatencyOf(probe.toIntent), LatencyOf(floor.latency)
	if fig.Count == 0 {
		if opts.NATSURL != "" {
			return Result{}, fmt.Errorf("tick-to-order: no intent was measured in %s (%d candles closed): the engine at %s made no intent on this run's symbols; start it with agents that trade every symbol, e.g. --config benchmarks/engine.yaml, and with its models", opts.Duration, probe.closed, streams.Redacted(opts.NATSURL))
		}
		return Result{}, fmt.Errorf("tick-to-order: no intent was measured in %s (%d candles closed): the bench agents never acted", opts.Duration, probe.closed)
	}
	feature, signal, intent := LatencyOf(probe.stages[0]), LatencyOf(probe.stages[1]), LatencyOf(probe.stages[2])
	extra := map[string]float64{
		"intents measured":                float64(fig.Count),
		"intents not matched to a candle": float64(probe.unmatched),
		"candles closed":                  float64(probe.closed),
		"candles with an intent":          float64(probe.acted),
		"ticks sent":                      float64(load.sent),
		"ticks dropped (scheduler late)":  float64(load.dropped),
		"achieved rate, ticks/s":          load.rate(),
		"scheduler lag p99 µs":            LatencyOf(load.lag).P99,
		"stage 1 p50 µs, tick → 1m feature (log, consumer, symbol actor)":           feature.P50,
		"stage 1 p99 µs, tick → 1m feature (log, consumer, symbol actor)":           feature.P99,
		"stage 2 p50 µs, feature → ensemble signal (3 models, batcher, ORT)":        signal.P50,
		"stage 2 p99 µs, feature → ensemble signal (3 models, batcher, ORT)":        signal.P99,
		"stage 3 p50 µs, signal → intent acknowledged (agent, synchronous publish)": intent.P50,
		"stage 3 p99 µs, signal → intent acknowledged (agent, synchronous publish)": intent.P99,
		"floor p50 µs":                   base.P50,
		"floor publishes":                float64(floor.sent),
		"floor dropped (scheduler late)": float64(floor.dropped),
		"floor scheduler lag p99 µs":     LatencyOf(floor.lag).P99,
		"desk problems":                  float64(load.problems),
	}
	return Result{
		Scenario: "tick-to-order", Time: time.Now().UTC(),
		Figure:   Measure{Name: fmt.Sprintf("tick → intent on the log, p99, %s ticks/s open loop", human(opts.Rate)), Value: fig.P99, Unit: "µs"},
		Baseline: Measure{Name: "publish of an intent to its ack, same log, same rate, p99", Value: base.P99, Unit: "µs"},
		Ratio:    fig.P99 / base.P99,
		Goal:     "p99 ≤ 1 ms, p50 ≤ 150 µs",
		Met:      fig.P99 <= 1000 && fig.P50 <= 150,
		Latency:  fig,
		Extra:    extra,
		Machine:  ThisMachine(),
	}, nil
}

// tickToOrderHere runs the load on an engine started here, then the persistence floor on
// its log.
func tickToOrderHere(ctx context.Context, opts TickToOrderOptions, n int, probe *tickProbe) (load, floor loadRun, err error) {
	if err := inference.InitRuntime(opts.Library); err != nil {
		return load, floor, err
	}
	ticks, err := syntheticTrades(opts, n, nil, time.Time{})
	if err != nil {
		return load, floor, err
	}
	l, closeLog, err := freshLog(ctx)
	if err != nil {
		return load, floor, err
	}
	defer closeLog()
	if load, err = runTickToOrder(ctx, l, ticks, opts, probe, nil); err != nil {
		return load, floor, err
	}
	floor, err = persistFloor(ctx, l, n, opts, "")
	return load, floor, err
}

// tickToOrderDefaults fills in what opts leaves zero.
func tickToOrderDefaults(opts *TickToOrderOptions) {
	if opts.Rate <= 0 {
		opts.Rate = 10_000
	}
	if opts.Duration <= 0 {
		opts.Duration = 10 * time.Second
	}
	if opts.Symbols <= 0 {
		opts.Symbols = 8
	}
	if opts.TradesPerMinute <= 0 {
		opts.TradesPerMinute = 25
	}
	if opts.Seed == 0 {
		opts.Seed = 1
	}
	if opts.MaxLag <= 0 {
		opts.MaxLag = 100 * time.Millisecond
	}
}

// syntheticTrades generates n seeded synthetic trades (the generator's klines are left out:
// the symbol actors build the candles from the trades, as from a live trade stream).
// symbols nil names them as synthetic.SymbolNames does; a zero start keeps the generator's.
func syntheticTrades(opts TickToOrderOptions, n int, symbols []string, start time.Time) ([]*streams.Trade, error) {
	so := synthetic.DefaultOptions()
	so.Symbols, so.Seed, so.TradesPerMinute = synthetic.SymbolNames(opts.Symbols), opts.Seed, opts.TradesPerMinute
	if symbols != nil {
		so.Symbols = symbols
	}
	if !start.IsZero() {
		so.Start = start
	}
	so.MeanLots = 10_000 // about 10 units a trade: the paper venue fills a bench order in a trade or two
	gen, err := synthetic.New(so)
	if err != nil {
		return nil, err
	}
	out := make([]*streams.Trade, 0, n)
	for len(out) < n {
		ev, err := gen.Next()
		if err != nil {
			return nil, err
		}
		if t, ok := ev.(*streams.Trade); ok {
			out = append(out, t)
		}
	}
	return out, nil
}

// benchAgents trade as often as agents of this engine do: each goes long when the ensemble's
// probability is at or above its threshold and flat below it, with no cooldown and limits
// that never bind. The probability moves slowly from candle to candle (its lag-1
// autocorrelation is about 0.94 on the synthetic data), so an agent acts only when it
// crosses the threshold; four thresholds at about the 20th, 40th, 60th and 80th percentiles
// of the ensemble's probability on the default synthetic data make about a third of the
// candles cause an intent.
func benchAgents() ([]*actors.Agent, error) {
	var out []*actors.Agent
	for i, at := range []float64{0.375, 0.39, 0.405, 0.42} {
		a, err := actors.ParseAgent(actors.AgentConfig{
			Name: fmt.Sprintf("BENCH%d", i+1), Capital: "10000", Execution: "paper", Models: []string{inference.EnsembleName},
			BuyAbove: at, SellBelow: at - 0.0001, PositionFraction: "0.1", Cooldown: "0s", MaxDrawdown: "0.9",
			Risk: actors.RiskConfig{MaxOrderNotional: "1000000", MaxPositionNotional: "1000000", MaxOpenOrders: 1000,
				PriceBand: "0.5", OrdersPerMinute: 1_000_000},
		})
		if err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, nil
}

// loadRun is what the open-loop scheduler did.
type loadRun struct {
	sent, dropped int
	elapsed       time.Duration           // from the first due time to the last send
	lag           *hdrhistogram.Histogram // send time − due time
	latency       *hdrhistogram.Histogram // the persistence floor's latencies
	problems      int64
}

func (r loadRun) rate() float64 { return float64(r.sent) / r.elapsed.Seconds() }

// openLoop calls send for i = 0..n-1 at start + i/rate, never waiting for a send to be
// answered before the next is due: a send that is late delays the next only as long as it
// runs, and a tick whose turn comes more than maxLag late is dropped. Between sends it
// sleeps on a pacer (a timerfd on Linux, tens of microseconds late at most when the machine
// is idle). It used to spin, yielding to other goroutines, which took most of a core of the
// two the engine under test has.
func openLoop(ctx context.Context, n int, rate float64, maxLag time.Duration, send func(i int, due time.Time) error) (loadRun, error) {
	r := loadRun{lag: newHistogram()}
	pace, err := newPacer()
	if err != nil {
		return r, err
	}
	defer pace.close()
	start := time.Now()
	for i := range n {
		due := start.Add(time.Duration(float64(i) / rate * float64(time.Second)))
		if err := pace.wait(due); err != nil {
			return r, err
		}
		now := time.Now()
		if now.Sub(due) > maxLag {
			r.dropped++
			continue
		}
		if err := ctx.Err(); err != nil {
			return r, err
		}
		record(r.lag, now.Sub(due))
		if err := send(i, due); err != nil {
			return r, err
		}
		r.sent++
	}
	r.elapsed = time.Since(start)
	return r, nil
}

// uiHooks connect the engine to the UI's hub, as `synapse run` does: observe receives the
// actors' state, the symbol actors' at most every observeEvery.
type uiHooks struct {
	observe      func(topic string, state any)
	observeEvery time.Duration
}

// runTickToOrder wires the engine as `synapse run` does, feeds it the ticks and stops it.
// ui, when not nil, shows the actors' state to the UI's hub.
func runTickToOrder(ctx context.Context, l *streams.Log, ticks []*streams.Trade, opts TickToOrderOptions, probe *tickProbe, ui *uiHooks) (loadRun, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	logger := slog.New(slog.DiscardHandler)
	agents, err := benchAgents()
	if err != nil {
		return loadRun{}, err
	}
	var desk *actors.Desk // set before any signal is published
	publish := func(ev streams.Event) {
		_ = l.Publish(ctx, ev) // derived events go on the log, as in `synapse run`
		switch e := ev.(type) {
		case *streams.Feature:
			probe.feature(e)
		case *streams.Signal:
			probe.signal(e)
			desk.Signal(e)
		}
	}
	var observe func(string, any)
	var observeEvery time.Duration
	if ui != nil {
		observe, observeEvery = ui.observe, ui.observeEvery
	}
	graph, err := actors.NewGraph(actors.SymbolOptions{Publish: publish, Log: l.JS, Logger: logger, Observe: observe, ObserveEvery: observeEvery})
	if err != nil {
		return loadRun{}, err
	}
	records, err := l.Recorder() // as `synapse run` does: the intents' acks on a connection of their own
	if err != nil {
		return loadRun{}, err
	}
	desk, err = actors.NewDesk(graph.Engine, actors.DeskOptions{Agents: agents, Log: records, Logger: logger, Observe: observe,
		VenueOrdersPerMinute: 1_000_000, Recorded: probe.recorded,
		Venues: map[string]func(portfolio.Report) (portfolio.Venue, error){
			"paper": func(report portfolio.Report) (portfolio.Venue, error) {
				// Whole trades, so that an order fills at the next trade or two.
				return portfolio.NewPaper(portfolio.PaperOptions{Participation: decimal.One}, report), nil
			},
		}})
	if err != nil {
		return loadRun{}, err
	}
	if err := desk.Start(ctx); err != nil {
		return loadRun{}, err
	}
	batcher, err := inference.NewBatcher(graph.Engine, inference.BatcherOptions{Logger: logger})
	if err != nil {
		return loadRun{}, err
	}
	models := inference.NewRegistry(inference.RegistryOptions{Engine: graph.Engine, Batcher: batcher, Publish: publish, Observe: observe, Logger: logger})
	subscribers, err := models.Start()
	if err != nil {
		return loadRun{}, err
	}
	// The order of `synapse run`: the agents first, then the market taps, then the models.
	graph.SubscribeFeatures(desk.FeatureSubscribers()...)
	graph.SubscribeMarket(desk.MarketSubscribers()...)
	graph.SubscribeFeatures(subscribers...)
	consumed := make(chan error, 1)
	go func() { consumed <- graph.ConsumeLog(ctx, l.JS) }()

	load, err := sendTicks(ctx, l, ticks, opts, probe)
	if err != nil {
		return load, err
	}
	// Let the last ticks through (the consumer fetches in batches, up to 200 ms apart).
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if graph.Stats().Routed >= int64(load.sent) && graph.Idle() {
			break
		}
	}
	time.Sleep(250 * time.Millisecond)
	cancel()
	err = <-consumed
	graph.Stop()
	models.Stop()
	batcher.Stop()
	desk.Stop()
	load.problems, _ = desk.Problems()
	return load, err
}

// sendTicks publishes the ticks on the log at the scenario's rate, open loop, and tells the
// probe which tick closes which candle.
func sendTicks(ctx context.Context, l *streams.Log, ticks []*streams.Trade, opts TickToOrderOptions, probe *tickProbe) (loadRun, error) {
	minute := map[string]int64{} // open minute of the newest tick sent, per symbol
	return openLoop(ctx, len(ticks), opts.Rate, opts.MaxLag, func(i int, due time.Time) error {
		t := ticks[i]
		m := t.Time - t.Time%60_000
		if last, ok := minute[t.Symbol]; ok && m > last {
			probe.closing(t.Symbol, last, due) // this tick closes the candle that opened at last
		}
		minute[t.Symbol] = max(m, minute[t.Symbol])
		return l.Publish(ctx, t)
	})
}

// persistFloor publishes an intent like an agent's at the scenario's rate on the same log,
// and times each from its scheduled time to its ack. The scheduler does not wait for an ack
// before the next publish is due (an agent's publish waits, but the agents publish side by
// side): a publisher that waited would fall behind its schedule whenever one ack took
// longer than the interval, and every later publish would count that delay. subject, when
// not "", replaces the intent's subject (a scratch stream's).
func persistFloor(ctx context.Context, l *streams.Log, n int, opts TickToOrderOptions, subject string) (loadRun, error) {
	h := newHistogram()
	symbols := synthetic.SymbolNames(opts.Symbols)
	qty := decimal.MustNew(123456, 6)
	type sent struct {
		ack jetstream.PubAckFuture
		due time.Time
	}
	sents := make(chan sent, 8192)
	acked := make(chan error, 1)
	go func() { // the acks come back in publish order
		var first error
		for p := range sents {
			select {
			case <-p.ack.Ok():
				record(h, time.Since(p.due))
			case err := <-p.ack.Err():
				if first == nil {
					first = fmt.Errorf("persistence floor: %w", err)
				}
			}
		}
		acked <- first
	}()
	r, err := openLoop(ctx, n, opts.Rate, opts.MaxLag, func(i int, due time.Time) error {
		symbol := symbols[i%len(symbols)]
		ev := &streams.OrderEvent{Type: streams.OrderIntent, ClientOrderID: streams.ClientOrderID("FLOOR", "synthetic", symbol, strconv.Itoa(i)),
			Agent: "FLOOR", Venue: "synthetic", Symbol: symbol, Side: streams.Buy, OrderType: streams.Market, Qty: qty,
			Reason: "ensemble 1 p=0.5123 (long at ≥ 0.5100, flat at ≤ 0.5099) confidence=0.9000", Time: int64(i) * 60_000}
		msg, err := streams.Encode(ev)
		if err != nil {
			return err
		}
		if subject != "" {
			msg.Subject = subject
		}
		ack, err := l.JS.PublishMsgAsync(msg)
		if err != nil {
			return fmt.Errorf("persistence floor: %w", err)
		}
		sents <- sent{ack, due}
		return nil
	})
	close(sents)
	if aerr := <-acked; err == nil {
		err = aerr
	}
	r.latency = h
	return r, err
}

// tickProbe times candles from their closing tick to the intents made of them, and the
// stages between: the 1m feature leaving the symbol actor and the ensemble's signal leaving
// the ensemble. Its methods are called from the actors' goroutines.
type tickProbe struct {
	mu       sync.Mutex
	candles  map[candleKey]*candleTimes
	toIntent *hdrhistogram.Histogram
	// stages of the intents measured: tick → feature, feature → signal, signal → intent
	stages                   [3]*hdrhistogram.Histogram
	closed, acted, unmatched int64
}

type candleKey struct {
	symbol string
	open   int64 // open time of the candle, epoch ms
}

type candleTimes struct {
	due, feature, signal time.Time // due: the scheduled time of the tick that closed the candle
	acted                bool
}

func newTickProbe() *tickProbe {
	return &tickProbe{candles: map[candleKey]*candleTimes{}, toIntent: newHistogram(),
		stages: [3]*hdrhistogram.Histogram{newHistogram(), newHistogram(), newHistogram()}}
}

// merge adds q's latencies to p's.
func (p *tickProbe) merge(q *tickProbe) {
	p.toIntent.Merge(q.toIntent)
	for i := range p.stages {
		p.stages[i].Merge(q.stages[i])
	}
}

// closing notes that the tick due at due closes symbol's candle that opened at open.
func (p *tickProbe) closing(symbol string, open int64, due time.Time) {
	p.mu.Lock()
	p.candles[candleKey{symbol, open}] = &candleTimes{due: due}
	p.closed++
	p.mu.Unlock()
}

func (p *tickProbe) feature(f *streams.Feature) {
	if f.Interval == "1m" {
		p.stamp(candleKey{f.Symbol, f.OpenTime}, func(c *candleTimes) *time.Time { return &c.feature })
	}
}

func (p *tickProbe) signal(s *streams.Signal) {
	if s.Model == inference.EnsembleName && !s.Shadow {
		p.stamp(candleKey{s.Symbol, s.FeatureTime}, func(c *candleTimes) *time.Time { return &c.signal })
	}
}

func (p *tickProbe) stamp(k candleKey, field func(*candleTimes) *time.Time) {
	now := time.Now()
	p.mu.Lock()
	defer p.mu.Unlock()
	if c := p.candles[k]; c != nil && field(c).IsZero() {
		*field(c) = now
	}
}

// recorded is the desk's Recorded hook: an intent is timed from the closing tick of the
// candle it was decided at (its Time is the candle's close).
func (p *tickProbe) recorded(ev streams.Event) {
	now := time.Now()
	o, ok := ev.(*streams.OrderEvent)
	if !ok || o.Type != streams.OrderIntent {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	c := p.candles[candleKey{o.Symbol, o.Time - 60_000}]
	if c == nil {
		p.unmatched++
		return
	}
	record(p.toIntent, now.Sub(c.due))
	if !c.feature.IsZero() && !c.signal.IsZero() {
		record(p.stages[0], c.feature.Sub(c.due))
		record(p.stages[1], c.signal.Sub(c.feature))
		record(p.stages[2], now.Sub(c.signal))
	}
	if !c.acted {
		c.acted = true
		p.acted++
	}
}

func newHistogram() *hdrhistogram.Histogram { return hdrhistogram.New(1, int64(time.Minute), 3) }

// record adds d to h (in ns), clamped to h's range.
func record(h *hdrhistogram.Histogram, d time.Duration) {
	_ = h.RecordValue(min(max(int64(d), 1), h.HighestTrackableValue()))
}
