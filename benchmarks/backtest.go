package benchmarks

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/synapse-trading/synapse/actors"
	"github.com/synapse-trading/synapse/inference"
	"github.com/synapse-trading/synapse/portfolio"
	"github.com/synapse-trading/synapse/streams"
)

// BacktestOptions configure the backtest scenario.
type BacktestOptions struct {
	// Klines is how many of the bundled AVAXUSDT and LINKUSDT February 2026 klines, merged in
	// time order, are replayed (default 40,000: the first two weeks of both; 80,640 is both
	// whole months).
	Klines int
	// Library is ONNX Runtime's shared library; "" finds it as inference.LibraryPath does.
	Library string
}

// Backtest measures klines/s through the whole graph as `synapse backtest` wires it: the
// simulated clock (actors.Clock) stepping on the InFlight counter, the symbol actors, the
// three models through the batcher and ONNX Runtime, the ensemble, the three built-in
// agents, the risk gate and the paper venue, every order event recorded on a fresh log. The
// baseline is the same replay through the symbol actors alone with the same clock stepping
// (no models, no agents), so the ratio is what the models and agents cost. Each is run
// twice, alternately, keeping the faster run of each; the two full runs must end with the
// same equity for every agent (Extra "deterministic", 1 or 0).
func Backtest(ctx context.Context, opts BacktestOptions) (Result, error) {
	if opts.Klines <= 0 {
		opts.Klines = 40_000
	}
	if err := inference.InitRuntime(opts.Library); err != nil {
		return Result{}, err
	}
	events, err := loadRecordings("-1m-2026-02.csv") // AVAXUSDT and LINKUSDT, the same minutes
	if err != nil {
		return Result{}, err
	}
	if opts.Klines < len(events) {
		events = events[:opts.Klines]
	}
	var runs [2]backtestRun
	var base float64
	for i := range runs {
		b, err := runBacktest(ctx, events, false)
		if err != nil {
			return Result{}, err
		}
		base = max(base, b.rate)
		if runs[i], err = runBacktest(ctx, events, true); err != nil {
			return Result{}, err
		}
	}
	best := runs[0]
	if runs[1].rate > best.rate {
		best = runs[1]
	}
	deterministic := 0.0
	if slices.Equal(runs[0].equity, runs[1].equity) {
		deterministic = 1
	}
	return Result{
		Scenario: "backtest", Time: time.Now().UTC(),
		Figure:   Measure{Name: "klines through the whole graph: clock, symbols, 3 models + ensemble, 3 agents, risk, paper venue", Value: best.rate, Unit: "klines/s"},
		Baseline: Measure{Name: "the same replay through the symbol actors alone, same clock", Value: base, Unit: "klines/s"},
		Ratio:    best.rate / base,
		Goal:     "report (met: two runs agree)",
		Met:      deterministic == 1,
		Extra: map[string]float64{"klines": float64(len(events)), "clock steps": float64(best.steps),
			"orders (intents)": float64(best.orders[streams.OrderIntent]), "fills": float64(best.orders[streams.OrderFill]),
			"rejected": float64(best.orders[streams.OrderRejected]), "deterministic": deterministic,
			"desk problems": float64(best.problems)},
		Machine: ThisMachine(),
	}, nil
}

// backtestRun is what one replay measured.
type backtestRun struct {
	rate     float64 // klines/s
	steps    int64
	orders   map[streams.OrderEventType]int64
	equity   []string // each agent's final equity, in the agents' order
	problems int64
}

// runBacktest replays events through a fresh graph, the model tier and the desk when full,
// as cmd/synapse/backtest.go wires them, and times the replay alone.
func runBacktest(ctx context.Context, events []streams.Event, full bool) (backtestRun, error) {
	logger := slog.New(slog.DiscardHandler)
	var inFlight atomic.Int64
	graph, err := actors.NewGraph(actors.SymbolOptions{Logger: logger, InFlight: &inFlight})
	if err != nil {
		return backtestRun{}, err
	}
	var (
		res    = backtestRun{orders: map[streams.OrderEventType]int64{}}
		mu     sync.Mutex
		views  = map[string]actors.AgentView{}
		agents []*actors.Agent
		desk   *actors.Desk
		models *inference.Registry
		batch  *inference.Batcher
	)
	if full {
		l, closeLog, err := freshLog(ctx)
		if err != nil {
			return backtestRun{}, err
		}
		defer closeLog()
		if agents, err = builtinAgents(); err != nil {
			return backtestRun{}, err
		}
		publish := func(ev streams.Event) { // signals go to the agents; nothing else needs the log
			if sig, ok := ev.(*streams.Signal); ok {
				desk.Signal(sig)
			}
		}
		if batch, err = inference.NewBatcher(graph.Engine, inference.BatcherOptions{Logger: logger}); err != nil {
			return backtestRun{}, err
		}
		models = inference.NewRegistry(inference.RegistryOptions{Engine: graph.Engine, Batcher: batch, Publish: publish, Logger: logger,
			Deadline: 24 * time.Hour, InFlight: &inFlight})
		subscribers, err := models.Start()
		if err != nil {
			return backtestRun{}, err
		}
		desk, err = actors.NewDesk(graph.Engine, actors.DeskOptions{Agents: agents, Log: l.JS, Logger: logger, InFlight: &inFlight,
			Observe: func(_ string, v any) {
				if av, ok := v.(actors.AgentView); ok {
					mu.Lock()
					views[av.Name] = av
					mu.Unlock()
				}
			},
			Recorded: func(ev streams.Event) {
				if o, ok := ev.(*streams.OrderEvent); ok {
					mu.Lock()
					res.orders[o.Type]++
					mu.Unlock()
				}
			},
			Venues: map[string]func(portfolio.Report) (portfolio.Venue, error){
				"paper": func(report portfolio.Report) (portfolio.Venue, error) {
					return portfolio.NewPaper(portfolio.PaperOptions{}, report), nil
				},
			}})
		if err != nil {
			return backtestRun{}, err
		}
		if err := desk.Start(ctx); err != nil {
			return backtestRun{}, err
		}
		// The order of `synapse backtest`: the agents first, then the models, then the market taps.
		graph.SubscribeFeatures(desk.FeatureSubscribers()...)
		graph.SubscribeFeatures(subscribers...)
		graph.SubscribeMarket(desk.MarketSubscribers()...)
	}

	clock := actors.NewClock(graph, &inFlight)
	start := time.Now()
	for _, ev := range events {
		if err := clock.Feed(ctx, ev); err != nil {
			return backtestRun{}, err
		}
	}
	if err := clock.Flush(ctx); err != nil {
		return backtestRun{}, err
	}
	res.rate = float64(len(events)) / time.Since(start).Seconds()
	res.steps = clock.Steps()
	graph.Stop()
	if full {
		models.Stop()
		batch.Stop()
		desk.Stop() // the agents show their final state as they stop
		res.problems, _ = desk.Problems()
		mu.Lock()
		defer mu.Unlock()
		for _, a := range agents {
			res.equity = append(res.equity, views[a.Name].Totals.Equity.String())
		}
	}
	return res, nil
}

// builtinAgents are ATLAS, ORION and NOVA as `synapse backtest` runs them without a config.
func builtinAgents() ([]*actors.Agent, error) {
	configs, err := actors.BuiltinAgents()
	if err != nil {
		return nil, err
	}
	out := make([]*actors.Agent, 0, len(configs))
	for _, c := range configs {
		a, err := actors.ParseAgent(c)
		if err != nil {
			return nil, fmt.Errorf("built-in agents: %w", err)
		}
		a.Execution = "paper" // a backtest never trades live
		out = append(out, a)
	}
	return out, nil
}
