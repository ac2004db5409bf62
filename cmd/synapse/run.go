package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/synapse-trading/synapse/actors"
	"github.com/synapse-trading/synapse/inference"
	"github.com/synapse-trading/synapse/migrations"
	"github.com/synapse-trading/synapse/portfolio"
	"github.com/synapse-trading/synapse/portfolio/postgres"
	"github.com/synapse-trading/synapse/streams"
	"github.com/synapse-trading/synapse/streams/recordings"
	"github.com/synapse-trading/synapse/streams/replay"
	"github.com/synapse-trading/synapse/streams/synthetic"
	"github.com/synapse-trading/synapse/web"
)

func cmdRun(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("run", stderr)
	configPath := fs.String("config", "", "YAML config file (see README.md, Configuration)")
	dataDir := fs.String("data-dir", "", "JetStream store of the embedded NATS server (default ./data)")
	var files listFlag
	fs.Var(&files, "replay", "recorded market data to replay (kline CSVs, websocket captures; default: the bundled recordings)")
	symbol := fs.String("symbol", "", "with --replay: the symbol of every file, when the file names do not tell it")
	speed := fs.String("speed", "", "replay speed: 1 is real time, 60 is sixty times faster, max is as fast as possible (default 60)")
	live := fs.Bool("live", false, "stream live market data from Binance instead of replaying")
	var symbols listFlag
	fs.Var(&symbols, "symbols", "with --live: symbols to stream, e.g. BTCUSDT,ETHUSDT (default from the config: BTCUSDT,ETHUSDT)")
	synth := fs.Int("synthetic", 0, "generate seeded synthetic market data for this many symbols instead of replaying (load tests)")
	rate := fs.Float64("rate", 1000, "with --synthetic: events per second (0: as fast as possible)")
	seed := fs.Uint64("seed", 1, "with --synthetic: random seed (same seed, same events)")
	httpAddr := fs.String("http", "", "UI and API address (default 127.0.0.1:8080)")
	var origins listFlag
	fs.Var(&origins, "http-origin", "another origin whose pages may open the websocket, a host pattern such as dash.example.com or *.example.com (repeatable; replaces the config's http_origins)")
	natsListen := fs.String("nats-listen", "", "open a TCP listener for bots on HOST:PORT (needs SYNAPSE_NATS_READER_PASSWORD and SYNAPSE_NATS_TRADER_PASSWORD)")
	natsURL := fs.String("nats-url", "", "use an existing NATS server or cluster instead of the embedded one")
	databaseURL := fs.String("database-url", os.Getenv("SYNAPSE_DATABASE_URL"),
		"Postgres read model: migrate it, project the log into it and serve the queries from it (default $SYNAPSE_DATABASE_URL; none: in memory)")
	ortLib := fs.String("onnxruntime-lib", "", "the `PATH` of ONNX Runtime's libonnxruntime.so.1 (default: $SYNAPSE_ONNXRUNTIME_LIB, else .cache/onnxruntime from make onnxruntime)")
	ep := fs.String("inference-ep", "cpu", "execution provider for the models: cpu or cuda")
	epFallback := fs.Bool("inference-fallback", true, "with --inference-ep cuda: run on the CPU with a loud warning when CUDA is unavailable, instead of failing")
	noModels := fs.Bool("no-models", false, "run without the model tier (no ONNX Runtime needed)")
	noAuth := fs.Bool("no-auth", false, "serve the API and websocket without tokens (a local demo only)")
	testnet := fs.Bool("binance-testnet", false, "agents with execution: live trade on Binance's spot testnet (keys from SYNAPSE_BINANCE_API_KEY/SECRET)")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	files = append(files, pos...)
	cfg, err := loadConfig(*configPath)
	if err != nil {
		return err
	}
	override := func(dst *string, v string) {
		if v != "" {
			*dst = v
		}
	}
	override(&cfg.DataDir, *dataDir)
	override(&cfg.DatabaseURL, *databaseURL)
	override(&cfg.HTTP, *httpAddr)
	if len(origins) > 0 {
		cfg.HTTPOrigins = origins
	}
	if err := checkOrigins("http_origins (--http-origin)", cfg.HTTPOrigins); err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	override(&cfg.Speed, *speed)
	override(&cfg.NATS.Listen, *natsListen)
	override(&cfg.NATS.URL, *natsURL)
	if len(files) > 0 {
		cfg.Replay = files
	}
	if *live {
		cfg.Live.Enabled = true
	}
	if *testnet {
		cfg.Orders.Testnet = true
	}
	if len(symbols) > 0 {
		cfg.Live.Symbols = symbols
	}
	if err := checkSymbols("--symbol", *symbol); err != nil {
		return err
	}
	if err := inference.CheckProvider(*ep); err != nil {
		return fmt.Errorf("%w: --inference-ep: %v", errUsage, err)
	}
	if err := checkSymbols("--symbols (live.symbols)", cfg.Live.Symbols...); err != nil {
		return err
	}
	demo := len(cfg.Replay) == 0 && !cfg.Live.Enabled && *synth == 0
	if demo && len(cfg.Correlations) == 0 {
		cfg.Correlations = recordings.DemoCorrelations()
	}
	pairs, err := cfg.pairs()
	if err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	agents, err := cfg.agents()
	if err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	alloc, err := cfg.Portfolio.check()
	if err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	batching, deadline, err := cfg.Inference.batcher()
	if err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	sp, err := replay.ParseSpeed(cfg.Speed)
	if err != nil {
		return fmt.Errorf("%w: speed (--speed, or speed: in the config): %v", errUsage, err)
	}

	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	// Open everything that can fail on bad configuration before starting anything else.
	var onLog streams.Stored // what the log holds already, read once it is open
	var rp *replay.Replay
	var gen *synthetic.Generator
	if *synth > 0 {
		sopts := synthetic.DefaultOptions()
		sopts.Symbols, sopts.EventsPerSecond, sopts.Seed = synthetic.SymbolNames(*synth), *rate, *seed
		if gen, err = synthetic.New(sopts); err != nil {
			return fmt.Errorf("%w: %v", errUsage, err)
		}
	} else if !cfg.Live.Enabled {
		ropts := replay.Options{Speed: sp, MaxIdle: 2 * time.Second, Symbol: *symbol, Skip: func(ev streams.Event) bool { return onLog.Older(ev) }}
		if len(cfg.Replay) > 0 {
			rp, err = replay.Open(cfg.Replay, ropts)
		} else {
			rp, err = replay.OpenFS(recordings.FS(), recordings.Demo(), ropts)
		}
		if err != nil {
			return err
		}
		defer rp.Close()
	}
	if !*noModels {
		if err := inference.InitRuntime(*ortLib); err != nil {
			return fmt.Errorf("%w (or run with --no-models)", err)
		}
	}
	if host, _, err := net.SplitHostPort(cfg.HTTP); *noAuth && err == nil && !isLoopback(host) {
		fmt.Fprintf(stderr, "warning: --no-auth on %s: anyone who can reach this address can halt agents, flip the kill switch and deploy models; bind 127.0.0.1 or drop --no-auth\n", cfg.HTTP)
	}
	var tokens *web.TokenStore
	if !*noAuth {
		if err := os.MkdirAll(cfg.DataDir, 0o755); err != nil {
			return err
		}
		if tokens, err = web.OpenTokens(filepath.Join(cfg.DataDir, "tokens.json")); err != nil {
			return err
		}
	}
	log, err := streams.Open(ctx, streams.Options{DataDir: cfg.DataDir, Listen: cfg.NATS.Listen, URL: cfg.NATS.URL,
		Reader: cfg.NATS.Reader, Trader: cfg.NATS.Trader, Logger: logger})
	if err != nil {
		return err
	}
	defer log.Close()
	// After a restart, the replay puts on the log only what it lacks, and the graph derives
	// features and signals again (to rebuild the actors' state) without publishing twice
	// what the log has: the streams' deduplication windows last minutes, a restart may come
	// days later.
	if onLog, err = streams.ReadStored(ctx, log.JS, streams.StreamMarketData, streams.StreamFeatures, streams.StreamSignals); err != nil {
		return fmt.Errorf("reading what the log holds: %w", err)
	}
	metrics := prometheus.NewRegistry()
	// The Go runtime's and the process's own: memory, goroutines, GC pauses, CPU, open files.
	metrics.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	var consuming atomic.Bool  // the graph reads the log
	var caughtUp atomic.Bool   // and has applied what the log held at the start
	var cmdsDone atomic.Uint64 // the last command applied or refused (its CMD sequence)
	var catchingUp func() error
	hub := web.NewHub()
	hub.Events(0, "agent_events", "orders") // every agent state change and order event reaches the UI
	submit := func(ctx context.Context, cmd *streams.Command) (uint64, error) {
		msg, err := streams.Encode(cmd)
		if err != nil {
			return 0, err
		}
		ack, err := log.JS.PublishMsg(ctx, msg) // on the log before it acts; the ID deduplicates
		if err != nil {
			return 0, err
		}
		return ack.Sequence, nil
	}
	gw := web.New(hub, web.Options{Addr: cfg.HTTP, OriginPatterns: cfg.HTTPOrigins, Logger: logger, Open: *noAuth, Tokens: tokens, Registry: metrics,
		Submit: submit,
		Ready: func() error {
			if !log.Conn.IsConnected() {
				return fmt.Errorf("the log (NATS) is not connected")
			}
			if !consuming.Load() {
				return fmt.Errorf("the actor graph is not reading the log yet")
			}
			if !caughtUp.Load() {
				return catchingUp()
			}
			return nil
		},
	})
	if err := gw.Listen(); err != nil {
		return err
	}

	var publishErrs sync.Map
	var desk *actors.Desk // set before any signal is published
	signals := newEnsembleSignals(hub)
	publish := func(ev streams.Event) {
		if !onLog.Held(ev) { // else derived again after a restart: the log has it
			if err := log.Publish(ctx, ev); err != nil && ctx.Err() == nil {
				if _, seen := publishErrs.LoadOrStore(err.Error(), true); !seen {
					logger.Error("publishing a derived event", "subject", ev.Subject(), "err", err)
				}
			}
		}
		if sig, ok := ev.(*streams.Signal); ok && desk != nil {
			desk.Signal(sig) // on its way to the log; the agents act on it at once
			signals.record(sig)
		}
	}
	observe := func(topic string, state any) { _ = hub.Set(topic, state) }
	stages, err := actors.NewStages(metrics)
	if err != nil {
		return err
	}
	activity := actors.NewActivity() // the graph view's rates and loads of the actors without a bounded mailbox
	graph, err := actors.NewGraph(actors.SymbolOptions{
		Activity:          activity,
		Stages:            stages,
		Publish:           publish,
		Observe:           observe,
		Log:               log.JS,
		Logger:            logger,
		Pairs:             pairs,
		CorrelationPeriod: cfg.CorrelationPeriod,
	})
	if err != nil {
		return err
	}
	// After a restart the graph replays the log; the engine is ready once it has caught up.
	head, err := streams.LastSeq(ctx, log.JS, streams.StreamMarketData)
	if err != nil {
		return err
	}
	catchingUp = func() error {
		if graph.CaughtUp(head) {
			caughtUp.Store(true)
			return nil
		}
		if seq := graph.Stats().LastSeq; seq < head {
			return fmt.Errorf("catching up with the log: the actor graph has routed event %d of %d", seq, head)
		}
		return fmt.Errorf("catching up with the log: all %d events routed, the symbol actors are applying what is in their mailboxes", head)
	}
	if err := registerEngineMetrics(metrics, log, graph); err != nil {
		return err
	}
	// The desk awaits the log's ack of every order event: on a connection of its own, not
	// behind the acks of the feed's and the graph's asynchronous publishes (tick → intent
	// p50 −15 % at 10,000 ticks/s, the intent's own step −45 %).
	records, err := log.Recorder()
	if err != nil {
		return err
	}
	desk, err = actors.NewDesk(graph.Engine, actors.DeskOptions{Agents: agents, Log: records, Observe: observe, Logger: logger,
		Profile: alloc.profile, Threshold: alloc.threshold, Stages: stages, Activity: activity,
		Venues: venues(ctx, cfg, logger)})
	if err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	if err := desk.Start(ctx); err != nil {
		return err
	}
	// The agents first: a candle's close reaches an agent before any signal made from it.
	graph.SubscribeFeatures(desk.FeatureSubscribers()...)
	graph.SubscribeMarket(desk.MarketSubscribers()...)
	handleDeskQueries(gw, hub, desk, agents)
	checkAgentCommands(gw, agents)
	portfolioOpts := PortfolioQueryOptions{Profile: alloc.profile, Threshold: alloc.threshold}
	for _, a := range agents {
		portfolioOpts.Agents = append(portfolioOpts.Agents, a.Name)
	}
	checkPortfolioCommands(gw, agents, portfolioOpts)
	var readModel portfolio.ReadModel
	var projector *postgres.Projector
	readModelName := "in memory (--database-url for Postgres)"
	if cfg.DatabaseURL != "" {
		// A wrong URL or missing permissions stop the start here, with the fix in the error.
		if err := migrations.Apply(ctx, cfg.DatabaseURL); err != nil {
			return err
		}
		db, err := postgres.Open(ctx, cfg.DatabaseURL, postgres.DBOptions{})
		if err != nil {
			return err
		}
		defer db.Close()
		projector = postgres.NewProjector(db, log.JS, postgres.ProjectorOptions{Logger: logger})
		readModel = postgres.NewReadModel(db)
		if err := registerProjectionMetrics(metrics, projector); err != nil {
			return err
		}
		if pc, err := migrations.ParseURL(cfg.DatabaseURL); err == nil { // never print the password
			readModelName = fmt.Sprintf("Postgres %s@%s:%d/%s", pc.User, pc.Host, pc.Port, pc.Database)
		}
	} else {
		readModel = followReadModel(ctx, log.JS, logger)
	}
	handlePortfolioQueries(gw, readModel, portfolioOpts)
	go publishPortfolio(ctx, hub, readModel, time.Second, logger) // the Portfolio page's live figures
	var models *inference.Registry
	var batcher *inference.Batcher
	if !*noModels {
		batching.Registry, batching.Logger = metrics, logger
		batcher, err = inference.NewBatcher(graph.Engine, batching)
		if err != nil {
			return err
		}
		models = inference.NewRegistry(inference.RegistryOptions{Engine: graph.Engine, Batcher: batcher, Publish: publish, Observe: observe, Logger: logger, Deadline: deadline,
			Activity: activity,
			Session:  inference.SessionOptions{Provider: *ep, FallbackToCPU: *epFallback, Logger: logger}})
		subscribers, err := models.Start()
		if err != nil {
			return err
		}
		graph.SubscribeFeatures(subscribers...)
		gw.HandleCommand("models.deploy", web.RoleAdmin, deployArgs)
		for _, name := range []string{"models.promote", "models.retire_shadow"} {
			gw.HandleCommand(name, web.RoleAdmin, shadowArgs(models, func() { commandsSettled(ctx, log.JS, &cmdsDone) }))
		}
		handleModelsQuery(gw, hub, models, batcher)
	}
	health := &engineHealth{log: log, graph: graph, desk: desk, batcher: batcher, gateway: gw, hub: hub,
		restarts: actors.WatchRestarts(graph.Engine), stages: stages, window: newStageWindow(stages.Since, stagesWindow, time.Second),
		cmdsDone: &cmdsDone, readModel: readModel}
	if err := registerHealthMetrics(metrics, health); err != nil {
		return err
	}
	gw.HandleQuery("health", func(r *http.Request) (any, error) {
		if _, err := params(r); err != nil {
			return nil, err
		}
		if v, ok := hub.Get("health"); ok {
			return v, nil // the snapshot the Health page shows now
		}
		return nil, nil // null: none yet (the first comes within a second of the start)
	})
	// models.train runs (registered with the gateway's commands) train beside the engine.
	training := newTrainer(hub, logger, *ortLib, submit, func(ctx context.Context) error { return commandsApplied(ctx, log.JS, &cmdsDone) })
	handleTrainingQuery(gw, training, models)
	var feedFinished atomic.Bool
	engineState := func() EngineState {
		gs := graph.Stats()
		return EngineState{EventTime: gs.EventTime, FeedFinished: feedFinished.Load(), Log: log.Stats(), Graph: gs}
	}
	gw.HandleQuery("symbols", func(r *http.Request) (any, error) {
		if _, err := params(r); err != nil {
			return nil, err
		}
		return graph.Symbols(), nil
	})
	// The queries that read the log read on a connection of their own: on the shared one each
	// answer waits behind the feed (seconds under a flood).
	queries, err := log.Queries()
	if err != nil {
		return err
	}
	handleCandlesQuery(gw, graph, signals, queries)
	gw.HandleQuery("engine", func(r *http.Request) (any, error) {
		if _, err := params(r); err != nil {
			return nil, err
		}
		return engineState(), nil
	})
	var replayed atomic.Pointer[ReplayCounts] // what the replay did with its files, as it goes
	handleDatasetsQuery(gw, queries, hub, &replayed)
	gw.HandleQuery("state", func(r *http.Request) (any, error) {
		p, err := params(r, "topic")
		if err != nil {
			return nil, err
		}
		topic := p.Get("topic")
		if v, ok := hub.Get(topic); ok {
			return v, nil
		}
		return nil, badParam("topic", fmt.Sprintf("no state for topic %q (topics: %s; see README.md, The websocket)", topic, strings.Join(web.Topics, " ")))
	})

	var wg sync.WaitGroup
	errs := make(chan error, 9) // one per goroutine below, so none blocks at shutdown
	wg.Add(2)
	go func() { defer wg.Done(); errs <- gw.Serve(ctx) }()
	go func() { defer wg.Done(); consuming.Store(true); errs <- graph.ConsumeLog(ctx, log.JS) }()
	wg.Add(3)
	go func() {
		defer wg.Done()
		apply := desk.Apply
		if models != nil {
			apply = func(c streams.SequencedCommand) error {
				return errors.Join(models.Apply(c), desk.Apply(c))
			}
		}
		applyTrading := apply
		apply = func(c streams.SequencedCommand) error { return errors.Join(training.Apply(c), applyTrading(c)) }
		errs <- streams.ConsumeCommands(ctx, log.JS, func(c streams.SequencedCommand) error {
			defer cmdsDone.Store(c.Seq)
			return apply(c)
		}, func(c streams.SequencedCommand, err error) {
			cmdsDone.Store(c.Seq)
			logger.Error("command rejected", "command", c.Name, "seq", c.Seq, "err", err)
		})
	}()
	go func() {
		defer wg.Done()
		errs <- desk.ServeBots(ctx, log.Conn, func() int64 { return graph.Stats().EventTime })
	}()
	go func() { // the trader credential's commands, checked as a trader token's
		defer wg.Done()
		errs <- gw.ServeCommandRequests(ctx, log.Conn, cmp.Or(cfg.NATS.Trader.User, streams.DefaultTrader), web.RoleTrader)
	}()
	wg.Add(1)
	go func() { defer wg.Done(); errs <- training.Run(ctx) }() // one run at a time, never in an actor
	if projector != nil {
		wg.Add(1)
		go func() { defer wg.Done(); errs <- projector.Run(ctx) }()
	}
	// Scheduled capital moves go through the log like any command (issuer "schedule").
	if every := cfg.Portfolio.RebalanceEvery; every > 0 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			threshold := alloc.threshold.String()
			scheduleCommand(ctx, submit, "portfolio.rebalance", web.RebalanceArgs{Profile: &alloc.profile, Threshold: &threshold}, every, logger)
		}()
	}
	if every := cfg.Portfolio.DistributeEvery; every > 0 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			scheduleCommand(ctx, submit, "portfolio.distribute", web.DistributeArgs{Keep: alloc.keep.String()}, every, logger)
		}()
	}

	fmt.Fprintf(stdout, "synapse is running\n  UI:        http://%s\n  data dir:  %s\n  read model: %s\n", gw.Addr(), cfg.DataDir, readModelName)
	if tokens != nil {
		token, created, err := tokens.EnsureAdmin()
		if err != nil {
			return err
		}
		if created {
			fmt.Fprintf(stdout, "  admin token (shown once, kept hashed in %s):\n      %s\n  open http://%s/?token=%s\n  or send it: curl -H 'Authorization: Bearer %s' http://%s/api/v1/queries/engine\n",
				filepath.Join(cfg.DataDir, "tokens.json"), token, gw.Addr(), token, token, gw.Addr())
		} else {
			fmt.Fprintf(stdout, "  API tokens: %s (lost the admin token? stop synapse and delete that file)\n", filepath.Join(cfg.DataDir, "tokens.json"))
		}
	}
	if u := log.ClientURL(); u != "" {
		fmt.Fprintf(stdout, "  bots:      %s (reader/trader credentials from the environment or config)\n", u)
	}
	feedDone := make(chan struct{})
	go func() {
		defer close(feedDone)
		var err error
		switch {
		case gen != nil:
			fmt.Fprintf(stdout, "  synthetic: %d symbols at %g events/s\n", *synth, *rate)
			err = gen.Run(ctx, 0, func(ev streams.Event) error { return log.Publish(ctx, ev) })
			if errors.Is(err, context.Canceled) {
				err = nil
			}
		case cfg.Live.Enabled:
			err = runLive(ctx, cfg, log, logger)
		default:
			fmt.Fprintf(stdout, "  replaying: %d file(s) at speed %s\n", len(rp.Stats().Files), cfg.Speed)
			err = runReplay(ctx, rp, log, &replayed, logger)
		}
		if err != nil && ctx.Err() == nil {
			errs <- err
		}
		feedFinished.Store(err == nil && ctx.Err() == nil)
	}()
	go reportEngine(ctx, hub, engineState)
	feedName := "replay"
	switch {
	case gen != nil:
		feedName = "synthetic"
	case cfg.Live.Enabled:
		feedName = "binance live"
	}
	go publishTopology(ctx, topologySource{feed: feedName, log: log, graph: graph, hub: hub, batcher: batcher, pairs: pairs, agents: agents, health: health,
		activity: activity})

	select {
	case <-ctx.Done():
	case err = <-errs:
		cancel()
	}
	<-feedDone
	graph.Stop()
	if models != nil {
		models.Stop()
		batcher.Stop()
	}
	desk.Stop()
	wg.Wait()
	// What the actors published last (features) is acknowledged before the log closes.
	fctx, fcancel := context.WithTimeout(context.Background(), 5*time.Second)
	if ferr := log.Flush(fctx); ferr != nil {
		logger.Warn("flushing the log at shutdown", "err", ferr)
	}
	fcancel()
	if err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	fmt.Fprintln(stdout, "synapse stopped")
	return nil
}

// runReplay puts the replayed events on the log; the graph reads them back from it.
// Its counts go to replayed as it goes (the Replay is read on this goroutine only).
func runReplay(ctx context.Context, rp *replay.Replay, log *streams.Log, replayed *atomic.Pointer[ReplayCounts], logger *slog.Logger) error {
	start := time.Now()
	skipped := func(source string, why error) {
		logger.Warn("replay: the engine will skip this file's klines", "file", source, "why", why)
	}
	progress := func() { replayed.Store(replayCounts(rp.Stats(), false)) }
	progress()
	if _, err := putOnLog(ctx, rp, log, progress, skipped); err != nil {
		return err
	}
	if err := log.Flush(ctx); err != nil {
		return err
	}
	replayed.Store(replayCounts(rp.Stats(), true))
	st := rp.Stats().Total
	// already_on_the_log: events left out as the log holds them or later ones of their subject
	// (a restart goes on where the log ends; earlier data replays on its own in another --data-dir).
	logger.Info("replay finished; the engine keeps serving (Ctrl-C stops it)", "events", st.Records, "already_on_the_log", st.Stored, "took", time.Since(start).Round(time.Millisecond),
		"malformed", st.Malformed, "out_of_order", st.OutOfOrder, "duplicates", st.Duplicates, "other_streams", st.OtherStreams)
	return nil
}

// EngineState is the UI's "engine" topic.
type EngineState struct {
	EventTime    int64                `json:"event_time"`
	FeedFinished bool                 `json:"feed_finished"` // the replay reached its end
	Log          streams.PublishStats `json:"log"`
	Graph        actors.GraphStats    `json:"graph"`
}

func reportEngine(ctx context.Context, hub *web.Hub, state func() EngineState) {
	t := time.NewTicker(500 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			_ = hub.Set("engine", state())
		}
	}
}

// isLoopback reports whether host (from --http) is reachable from this machine only.
func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// shadowArgs checks a models.promote or models.retire_shadow as the gateway does, then that
// a version of the model runs in shadow once the commands before it are applied (settled):
// a promotion of nothing is a 400, not a 202 the registry then refuses in its log.
func shadowArgs(models *inference.Registry, settled func()) web.DecodeArgs {
	return func(body []byte) (any, error) {
		v, err := web.Args[web.ModelArgs]()(body)
		if err != nil {
			return nil, err
		}
		a := v.(*web.ModelArgs)
		settled()
		_, shadow := models.Deployed()
		for _, d := range shadow {
			if d.Model == a.Model {
				return v, nil
			}
		}
		return nil, &web.FieldError{Field: "model", Msg: fmt.Sprintf("no %s model runs in shadow: deploy one with {\"mode\":\"shadow\"} first", a.Model)}
	}
}

// commandsSettled waits (up to 5 s) until the commands on CMD when it was called are applied
// or refused (done holds the last one's sequence), so a check reads the state they made.
func commandsSettled(ctx context.Context, js jetstream.JetStream, done *atomic.Uint64) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	_ = commandsApplied(ctx, js, done)
}

// commandsApplied waits until the commands on CMD when it was called are applied or refused
// (done holds the last one's sequence); an error when ctx ends first.
func commandsApplied(ctx context.Context, js jetstream.JetStream, done *atomic.Uint64) error {
	head, err := streams.LastSeq(ctx, js, streams.StreamCommands)
	for err == nil && done.Load() < head {
		err = streams.Sleep(ctx, 5*time.Millisecond)
	}
	return err
}

// deployArgs checks a models.deploy as the gateway does, then the model itself, as the
// registry will: a card that does not describe its .onnx is a 400 naming the fix, not a 202
// for a deployment the engine then refuses in its log.
func deployArgs(body []byte) (any, error) {
	v, err := web.Args[web.DeployArgs]()(body)
	if err != nil {
		return nil, err
	}
	a := v.(*web.DeployArgs)
	card, _, err := inference.LoadDeployable(a.Dir, a.Model)
	switch {
	case err != nil:
		return nil, &web.FieldError{Field: "dir", Msg: err.Error()}
	case a.SHA256 != nil && *a.SHA256 != card.SHA256:
		return nil, &web.FieldError{Field: "sha256", Msg: fmt.Sprintf("the folder holds the model %s, not %s", card.SHA256, *a.SHA256)}
	}
	a.SHA256 = &card.SHA256 // the log pins the deployment to this model
	return v, nil
}
