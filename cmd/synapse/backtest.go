package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/govalues/decimal"
	"github.com/schollz/progressbar/v3"

	"github.com/synapse-trading/synapse/actors"
	"github.com/synapse-trading/synapse/inference"
	"github.com/synapse-trading/synapse/portfolio"
	"github.com/synapse-trading/synapse/streams"
	"github.com/synapse-trading/synapse/streams/replay"
	"github.com/synapse-trading/synapse/web"
)

// BacktestReport is what `synapse backtest` writes. Everything in it is derived from the
// inputs in market time: the same files give the same bytes.
type BacktestReport struct {
	Schema  string           `json:"schema"` // backtest/v1
	Inputs  []BacktestInput  `json:"inputs"`
	From    int64            `json:"from"` // market time of the first event, epoch ms
	To      int64            `json:"to"`
	Events  int64            `json:"events"`
	Skipped replay.FileStats `json:"skipped"` // malformed, out-of-order and duplicate records
	Steps   int64            `json:"steps"`   // times the simulated clock waited for the graph
	Models  []ModelVersion   `json:"models"`
	Agents  []BacktestAgent  `json:"agents"`
	Total   portfolio.Totals `json:"total"`
	// Identity is "ok" when, for every agent and in total, equity = capital + realized +
	// unrealized − fees holds exactly; otherwise it says where it does not.
	Identity string           `json:"identity"`
	Risk     actors.RiskView  `json:"risk"`
	Orders   map[string]int64 `json:"orders"` // order events on the log, by type
}

// BacktestInput identifies an input file.
type BacktestInput struct {
	File   string `json:"file"`
	Bytes  int64  `json:"bytes"`
	SHA256 string `json:"sha256"`
}

// ModelVersion is a model the backtest ran.
type ModelVersion struct {
	Model   string `json:"model"`
	Version string `json:"version"`
}

// BacktestAgent is one agent's result.
type BacktestAgent struct {
	actors.AgentView
	Return   decimal.Decimal `json:"return"` // (equity − capital) / capital, 6 decimals
	Identity string          `json:"identity"`
}

func cmdBacktest(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("backtest", stderr)
	var files listFlag
	fs.Var(&files, "data", "market data file(s) to replay (kline CSVs, websocket captures; also accepted as arguments)")
	agentsFlag := fs.String("agents", "", "comma-separated agents to run (default: every configured agent)")
	format := fs.String("report", "json", "report format: json or html")
	out := fs.String("out", "", "write the report here (default: standard output)")
	configPath := fs.String("config", "", "YAML config file: agents and their limits (see README.md, Configuration)")
	symbol := fs.String("symbol", "", "the symbol of every file, when the file names do not tell it")
	ortLib := fs.String("onnxruntime-lib", "", "ONNX Runtime's libonnxruntime.so.1 (default: $SYNAPSE_ONNXRUNTIME_LIB, else .cache/onnxruntime)")
	quiet := fs.Bool("quiet", false, "no progress bar")
	ordersOut := fs.String("orders", "", "also write every order event of the run here, as JSON lines (synapse tail's format)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: synapse backtest --data FILE... [--agents ATLAS,NOVA] [--report json|html] [--out PATH]")
		fs.PrintDefaults()
	}
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	files = append(files, pos...)
	if len(files) == 0 {
		fs.Usage()
		return fmt.Errorf("%w: name at least one --data file", errUsage)
	}
	if *format != "json" && *format != "html" {
		return fmt.Errorf("%w: --report %q: json or html", errUsage, *format)
	}
	if err := checkSymbols("--symbol", *symbol); err != nil {
		return err
	}
	cfg, err := loadConfig(*configPath)
	if err != nil {
		return err
	}
	agents, err := cfg.agents()
	if err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	if agents, err = selectAgents(agents, *agentsFlag); err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	for _, a := range agents {
		a.Execution = "paper" // a backtest never trades live
	}
	inputs, err := describeInputs(files)
	if err != nil {
		return err
	}
	rp, err := replay.Open(files, replay.Options{Symbol: *symbol})
	if err != nil {
		return err
	}
	defer rp.Close()
	if err := inference.InitRuntime(*ortLib); err != nil {
		return err
	}
	var w io.Writer = stdout
	if *out != "" {
		f, err := os.Create(*out)
		if err != nil {
			return err
		}
		defer f.Close()
		w = f
	}

	logger := quietLogger(stderr)
	tmp, err := os.MkdirTemp("", "synapse-backtest-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	log, err := streams.Open(ctx, streams.Options{DataDir: tmp, Logger: logger})
	if err != nil {
		return err
	}
	defer log.Close()

	var inFlight atomic.Int64
	var desk *actors.Desk
	publish := func(ev streams.Event) { // signals go to the agents; nothing else needs the log
		if sig, ok := ev.(*streams.Signal); ok {
			desk.Signal(sig)
		}
	}
	var mu sync.Mutex
	views := map[string]actors.AgentView{}
	var risk actors.RiskView
	observe := func(topic string, v any) {
		mu.Lock()
		defer mu.Unlock()
		switch x := v.(type) {
		case actors.AgentView:
			views[x.Name] = x
		case actors.RiskView:
			risk = x
		}
	}
	graph, err := actors.NewGraph(actors.SymbolOptions{Logger: logger, InFlight: &inFlight})
	if err != nil {
		return err
	}
	batcher, err := inference.NewBatcher(graph.Engine, inference.BatcherOptions{Logger: logger})
	if err != nil {
		return err
	}
	models := inference.NewRegistry(inference.RegistryOptions{Engine: graph.Engine, Batcher: batcher, Publish: publish, Logger: logger,
		Deadline: 24 * time.Hour, InFlight: &inFlight})
	subscribers, err := models.Start()
	if err != nil {
		return err
	}
	desk, err = actors.NewDesk(graph.Engine, actors.DeskOptions{Agents: agents, Log: log.JS, Observe: observe, Logger: logger,
		InFlight: &inFlight, Venues: venues(ctx, cfg, logger)})
	if err != nil {
		return err
	}
	if err := desk.Start(ctx); err != nil {
		return err
	}
	// The agents first: a candle's close reaches an agent before any signal made from it.
	graph.SubscribeFeatures(desk.FeatureSubscribers()...)
	graph.SubscribeFeatures(subscribers...)
	graph.SubscribeMarket(desk.MarketSubscribers()...)

	bar := progressbar.NewOptions64(rp.Size(),
		progressbar.OptionSetWriter(stderr), progressbar.OptionSetDescription("backtest"),
		progressbar.OptionShowBytes(true), progressbar.OptionThrottle(200*time.Millisecond),
		progressbar.OptionSetVisibility(!*quiet), progressbar.OptionClearOnFinish())
	clock := actors.NewClock(graph, &inFlight)
	report := BacktestReport{Schema: "backtest/v1", Inputs: inputs}
	start := time.Now()
	for n := 0; ; n++ {
		rec, err := rp.Next(ctx)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return err
		}
		if err := actors.CheckKline(rec.Event); err != nil {
			return fmt.Errorf("%s line %d: %w", rec.Source, rec.Line, err)
		}
		if t := rec.Event.EventTime(); report.From == 0 || t < report.From {
			report.From = t
		}
		report.To = max(report.To, rec.Event.EventTime())
		if err := clock.Feed(ctx, rec.Event); err != nil {
			return err
		}
		report.Events++
		if n%4096 == 0 {
			_ = bar.Set64(rp.Consumed())
		}
	}
	if report.Events == 0 {
		return noMarketData(files, rp.Stats())
	}
	if err := clock.Flush(ctx); err != nil {
		return err
	}
	_ = bar.Finish()
	graph.Stop()
	models.Stop()
	batcher.Stop()
	desk.Stop() // the actors show their final state as they stop
	if n, last := desk.Problems(); n > 0 {
		fmt.Fprintf(stderr, "backtest: %d problem(s) while trading; the last: %s\n", n, last)
	}

	report.Skipped = rp.Stats().Total
	report.Skipped.Source, report.Skipped.LastErrors = "", nil
	report.Steps = clock.Steps()
	live, _ := models.Deployed()
	for _, d := range live {
		report.Models = append(report.Models, ModelVersion{Model: d.Model, Version: d.Version})
	}
	report.Models = append(report.Models, ModelVersion{Model: inference.EnsembleName, Version: inference.EnsembleVersion})
	report.Risk = risk
	report.Risk.LastReject = "" // which agent's rejection came last is a race, not a result
	if report.Orders, err = countOrders(ctx, log, *ordersOut); err != nil {
		return err
	}
	report.Identity = "ok"
	var problems []string
	for _, a := range agents {
		v := views[a.Name]
		ba := BacktestAgent{AgentView: v, Identity: "ok"}
		if err := v.Totals.Identity(); err != nil {
			ba.Identity = err.Error()
			problems = append(problems, a.Name+": "+err.Error())
		}
		if gain, err := v.Totals.Equity.Sub(v.Totals.Capital); err == nil && v.Totals.Capital.IsPos() {
			if r, err := gain.Quo(v.Totals.Capital); err == nil {
				ba.Return = r.Round(6)
			}
		}
		report.Agents = append(report.Agents, ba)
		report.Total = addTotals(report.Total, v.Totals)
	}
	if err := report.Total.Identity(); err != nil {
		problems = append(problems, "total: "+err.Error())
	}
	if len(problems) > 0 {
		report.Identity = strings.Join(problems, "; ")
	}
	data, err := json.MarshalIndent(report, "", "  ")
	if err != nil {
		return err
	}
	data = append(data, '\n')
	if *format == "html" {
		err = web.RenderBacktest(w, data)
	} else {
		_, err = w.Write(data)
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "backtest: %d events from %d file(s) in %s (%d clock steps); identity %s\n",
		report.Events, len(files), time.Since(start).Round(time.Millisecond), report.Steps, report.Identity)
	return nil
}

// noMarketData is the error of a backtest whose files held no event to trade on: a report of
// nothing would read as a strategy that never traded.
func noMarketData(files []string, st replay.Stats) error {
	t := st.Total
	err := fmt.Errorf("no market data in %s: %d malformed line(s), %d out-of-order and %d duplicate event(s), %d frame(s) of other streams skipped",
		strings.Join(files, ", "), t.Malformed, t.OutOfOrder, t.Duplicates, t.OtherStreams)
	for _, f := range st.Files {
		if n := len(f.LastErrors); n > 0 {
			return fmt.Errorf("%w; the last: %s", err, f.LastErrors[n-1])
		}
	}
	return err
}

// selectAgents keeps the agents named in list (comma-separated); "" keeps them all.
func selectAgents(all []*actors.Agent, list string) ([]*actors.Agent, error) {
	if strings.TrimSpace(list) == "" {
		return all, nil
	}
	var out []*actors.Agent
	for _, name := range strings.Split(list, ",") {
		name = strings.TrimSpace(name)
		i := slices.IndexFunc(all, func(a *actors.Agent) bool { return strings.EqualFold(a.Name, name) })
		if i < 0 {
			names := make([]string, len(all))
			for j, a := range all {
				names[j] = a.Name
			}
			return nil, fmt.Errorf("--agents: no agent %q (have %s)", name, strings.Join(names, ", "))
		}
		if !slices.Contains(out, all[i]) {
			out = append(out, all[i])
		}
	}
	return out, nil
}

// describeInputs hashes the input files, so a report says exactly what it ran on.
func describeInputs(files []string) ([]BacktestInput, error) {
	out := make([]BacktestInput, 0, len(files))
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		sum := sha256.Sum256(data)
		out = append(out, BacktestInput{File: filepath.Base(f), Bytes: int64(len(data)), SHA256: hex.EncodeToString(sum[:])})
	}
	return out, nil
}

// countOrders counts the order events on the log by type, and writes them to path, if set,
// as synapse tail's JSON lines.
func countOrders(ctx context.Context, log *streams.Log, path string) (map[string]int64, error) {
	out := map[string]int64{}
	err := streams.ReadAll(ctx, log.JS, streams.StreamOrders, func(_ uint64, ev streams.Event) {
		if o, ok := ev.(*streams.OrderEvent); ok {
			out[string(o.Type)]++
		}
	})
	if err != nil || path == "" {
		return out, err
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if _, err := streams.Tail(ctx, log.JS, "ord.>", streams.TailOptions{}, f); err != nil {
		f.Close()
		return nil, err
	}
	return out, f.Close()
}

func addTotals(a, b portfolio.Totals) portfolio.Totals {
	add := func(x, y decimal.Decimal) decimal.Decimal { s, _ := x.Add(y); return s }
	a.Capital, a.Cash, a.Equity = add(a.Capital, b.Capital), add(a.Cash, b.Cash), add(a.Equity, b.Equity)
	a.Exposure, a.Realized, a.Unrealized = add(a.Exposure, b.Exposure), add(a.Realized, b.Realized), add(a.Unrealized, b.Unrealized)
	a.Fees, a.Fills = add(a.Fees, b.Fees), a.Fills+b.Fills
	a.Peak, a.Drawdown = decimal.Decimal{}, decimal.Decimal{}
	return a
}
