package main

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/renameio/v2"
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
	Schema string          `json:"schema"` // backtest/v1
	Inputs []BacktestInput `json:"inputs"`
	// From and To are the market times of the first and the last event replayed, epoch ms:
	// a kline's is its close time (open time + 59999), so with kline files From is 59999 ms
	// after the first candle's open time; an agent's curve[].time is the start of an hour.
	From   int64 `json:"from"`
	To     int64 `json:"to"`
	Events int64 `json:"events"` // events replayed into the actor graph
	// Skipped counts what the replay left out before the graph; Rejected the events the
	// symbol actors then could not apply (their own counts), per symbol that had any.
	Skipped  BacktestSkipped    `json:"skipped"`
	Rejected []BacktestRejected `json:"rejected"`
	// Gaps are the holes in each kline sequence replayed: the symbol actors' indicators and
	// the models run across them as if the candles were contiguous.
	Gaps   []BacktestGap   `json:"gaps"`
	Steps  int64           `json:"steps"` // times the simulated clock waited for the graph
	Models []ModelVersion  `json:"models"`
	Agents []BacktestAgent `json:"agents"`
	// Total sums the agents' totals. Its peak is the highest total equity at the start, at
	// the first mark of each hour (the agents' curves) and at the end; its drawdown is
	// (peak − equity) / peak, as an agent's.
	Total portfolio.Totals `json:"total"`
	// Identity is "ok" when, for every agent and in total, equity = capital + realized +
	// unrealized − fees holds exactly; otherwise it says where it does not.
	Identity string           `json:"identity"`
	Risk     actors.RiskView  `json:"risk"`
	Orders   map[string]int64 `json:"orders"` // order events on the log, by type
}

// BacktestSkipped counts the records of the input files that never reached the graph
// (replay.FileStats summed over the files).
type BacktestSkipped struct {
	Records    int64 `json:"records"`      // events the files gave
	Malformed  int64 `json:"malformed"`    // lines that could not be decoded (or read)
	OutOfOrder int64 `json:"out_of_order"` // events whose time or sequence went backwards
	Duplicates int64 `json:"duplicates"`   // events whose ID was already seen
	NonMarket  int64 `json:"non_market"`   // futures trades that are not order-book trades
	OpenKlines int64 `json:"open_klines"`  // kline frames of a candle still open
	// OtherStreams counts the frames of streams a backtest does not read (mark price,
	// liquidations, subscription replies, …), and a capture's kline frames of other
	// intervals than 1m: the symbol actors build 5m, 15m and 1h from the 1m candles.
	OtherStreams int64 `json:"other_streams"`
	// OtherTrades counts the trades of a second trade stream of a symbol (@aggTrade beside
	// @trade): its candles are built from the stream seen first.
	OtherTrades int64  `json:"other_trades"`
	LastError   string `json:"last_error,omitempty"` // the last malformed line, "file:line: problem"
}

// BacktestRejected counts the events one symbol's actor could not apply (actors.SymbolState's
// counts): a kline whose close time is not its open time + 59999, one a longer interval's
// roll-up cannot add up exactly, a depth update the book cannot apply, … The agents trade on
// none of them (a candle that only a longer interval could not take is still traded on).
type BacktestRejected struct {
	Venue       string `json:"venue"`
	Symbol      string `json:"symbol"`
	Events      int64  `json:"events"` // events the actor was given
	Malformed   int64  `json:"malformed"`
	OutOfOrder  int64  `json:"out_of_order"`
	Duplicates  int64  `json:"duplicates"`
	LastProblem string `json:"last_problem"`
}

func (r BacktestRejected) count() int64 { return r.Malformed + r.OutOfOrder + r.Duplicates }

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
	// The report replaces --out only once it is whole: an interrupted or failed backtest
	// leaves the file that was there.
	var w io.Writer = stdout
	var outFile *renameio.PendingFile
	if *out != "" {
		if outFile, err = renameio.NewPendingFile(*out, renameio.WithPermissions(0o644)); err != nil {
			return fmt.Errorf("--out %s: %w", *out, err)
		}
		defer outFile.Cleanup()
		w = outFile
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
	symbols := map[string]actors.SymbolState{} // each symbol actor's last state, by topic
	observe := func(topic string, v any) {
		mu.Lock()
		defer mu.Unlock()
		switch x := v.(type) {
		case actors.AgentView:
			views[x.Name] = x
		case actors.RiskView:
			risk = x
		case actors.SymbolState:
			symbols[topic] = x
		}
	}
	// A symbol actor shows its state as it stops, with its counts of the events it could not
	// apply: that one is all the report needs.
	graph, err := actors.NewGraph(actors.SymbolOptions{Logger: logger, InFlight: &inFlight, Observe: observe, ObserveEvery: time.Hour})
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
		progressbar.OptionThrottle(200*time.Millisecond), // no byte rate: the files are read ahead, the graph sets the pace
		progressbar.OptionSetVisibility(!*quiet), progressbar.OptionClearOnFinish())
	clock := actors.NewClock(graph, &inFlight)
	report := BacktestReport{Schema: "backtest/v1", Inputs: inputs}
	start := time.Now()
	var otherKlines int64 // a capture's kline frames of other intervals than 1m, left out
	for n := 0; ; n++ {
		rec, err := rp.Next(ctx)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return err
		}
		if err := actors.CheckKline(rec.Event); err != nil {
			if rec.Format == replay.FormatCapture { // as `synapse features` does; the engine's symbol actors skip them too
				otherKlines++
				continue
			}
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
	stats := rp.Stats()
	if report.Events == 0 {
		return noMarketData(files, stats, otherKlines)
	}
	stats.Total.OtherStreams += otherKlines
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
	var accepted bool
	report.Rejected, accepted = rejected(symbols)
	if !accepted {
		return noneAccepted(files, report.Rejected)
	}
	for _, r := range report.Rejected {
		fmt.Fprintf(stderr, "backtest: warning: the %s actor had problems with %d of its %d event(s) (%d malformed, %d out of order, %d duplicate); the last: %s\n",
			r.Symbol, r.count(), r.Events, r.Malformed, r.OutOfOrder, r.Duplicates, r.LastProblem)
	}

	report.Skipped = skippedOf(stats)
	for _, topic := range slices.Sorted(maps.Keys(symbols)) {
		if st := symbols[topic]; st.OtherTrades > 0 {
			report.Skipped.OtherTrades += st.OtherTrades
			fmt.Fprintf(stderr, "backtest: the input holds both @trade and @aggTrade of %s: its candles are built from the stream seen first, %d trades of the other left out\n", st.Symbol, st.OtherTrades)
		}
	}
	if report.Skipped.Malformed > 0 { // a truncated file loses its rest: say so, not only in the report
		fmt.Fprintf(stderr, "backtest: warning: skipped %d malformed line(s); the last: %s\n", report.Skipped.Malformed, report.Skipped.LastError)
	}
	report.Gaps = gapsOf(stats)
	for _, g := range report.Gaps {
		fmt.Fprintf(stderr, "backtest: warning: %s\n", g)
	}
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
	report.Total.Peak = totalPeak(agents, views)
	report.Total.Drawdown = portfolio.Drawdown(report.Total.Peak, report.Total.Equity)
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
	if err == nil && outFile != nil {
		err = outFile.CloseAtomicallyReplace()
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "backtest: %d events from %d file(s) in %s (%d clock steps); identity %s\n",
		report.Events, len(files), time.Since(start).Round(time.Millisecond), report.Steps, report.Identity)
	return nil
}

// noMarketData is the error of a backtest whose files held no event to trade on: a report of
// nothing would read as a strategy that never traded. otherKlines counts the captures' kline
// frames of other intervals than 1m, left out.
func noMarketData(files []string, st replay.Stats, otherKlines int64) error {
	t := st.Total
	err := fmt.Errorf("no market data in %s: %d malformed line(s), %d out-of-order and %d duplicate event(s), %d frame(s) of other streams skipped",
		strings.Join(files, ", "), t.Malformed, t.OutOfOrder, t.Duplicates, t.OtherStreams+otherKlines)
	if otherKlines > 0 {
		err = fmt.Errorf("%w, %d of them kline frames of other intervals than 1m: the symbol actors build the longer intervals from 1m candles; record @kline_1m (or @trade, @aggTrade)", err, otherKlines)
	}
	if last := skippedOf(st).LastError; last != "" {
		return fmt.Errorf("%w; the last: %s", err, last)
	}
	return err
}

// noneAccepted is the error of a backtest whose events the symbol actors all refused: no
// candle closed, so no agent could trade, and a report would read as a strategy that never did.
func noneAccepted(files []string, rejected []BacktestRejected) error {
	var n int64
	last := ""
	for _, r := range rejected {
		n += r.count()
		last = r.Symbol + ": " + r.LastProblem
	}
	return fmt.Errorf("no market data accepted from %s: the symbol actors refused all %d event(s); the last: %s; "+
		"give 1m klines as Binance Vision writes them (SYMBOL-1m-….csv, close_time = open_time + 59999) or a websocket capture",
		strings.Join(files, ", "), n, last)
}

// rejected lists the symbols whose actors could not apply events, sorted by venue and symbol,
// and reports whether any actor took an event (a 1m candle closed, or an event went through).
func rejected(states map[string]actors.SymbolState) ([]BacktestRejected, bool) {
	out := []BacktestRejected{}
	accepted := false
	for _, st := range states {
		r := BacktestRejected{Venue: st.Venue, Symbol: st.Symbol, Events: st.Events, Malformed: st.Malformed,
			OutOfOrder: st.OutOfOrder, Duplicates: st.Duplicates, LastProblem: strings.ReplaceAll(st.LastProblem, "\n", "; ")}
		accepted = accepted || st.Candle != nil || r.Events > r.count()
		if r.count() > 0 {
			out = append(out, r)
		}
	}
	slices.SortFunc(out, func(a, b BacktestRejected) int {
		return cmp.Or(strings.Compare(a.Venue, b.Venue), strings.Compare(a.Symbol, b.Symbol))
	})
	return out, accepted
}

// BacktestGap counts the holes in one kline sequence (replay.KeyStats).
type BacktestGap struct {
	Venue    string `json:"venue"`
	Symbol   string `json:"symbol"`
	Interval string `json:"interval"`
	Gaps     int64  `json:"gaps"`    // places where candles are missing
	Missing  int64  `json:"missing"` // candles missing
	// LargestFrom is the open time (epoch ms) of the first candle the largest gap lacks,
	// LargestMissing how many it lacks.
	LargestFrom    int64 `json:"largest_from"`
	LargestMissing int64 `json:"largest_missing"`
}

func (g BacktestGap) String() string {
	return fmt.Sprintf("%s %s klines have %d gap(s), %d candle(s) missing, the largest %d from %s: the indicators and models run across them as if the candles were contiguous",
		g.Symbol, g.Interval, g.Gaps, g.Missing, g.LargestMissing, time.UnixMilli(g.LargestFrom).UTC().Format("2006-01-02 15:04 UTC"))
}

// gapsOf lists the kline sequences of the replay that have gaps, sorted as replay sorts them.
func gapsOf(st replay.Stats) []BacktestGap {
	out := []BacktestGap{}
	for _, k := range st.Keys {
		if k.Gaps > 0 {
			out = append(out, BacktestGap{Venue: k.Key.Venue, Symbol: k.Key.Symbol, Interval: k.Key.Interval, Gaps: k.Gaps, Missing: k.Missing,
				LargestFrom: k.LargestGap, LargestMissing: k.LargestMissing})
		}
	}
	return out
}

// skippedOf is the report's view of the replay's counts. The last malformed line is named
// by the file's base name, as Inputs are: the report does not depend on where the files lie.
func skippedOf(st replay.Stats) BacktestSkipped {
	t := st.Total
	out := BacktestSkipped{Records: t.Records, Malformed: t.Malformed, OutOfOrder: t.OutOfOrder, Duplicates: t.Duplicates,
		NonMarket: t.NonMarket, OpenKlines: t.OpenKlines, OtherStreams: t.OtherStreams}
	for _, f := range st.Files {
		if n := len(f.LastErrors); n > 0 {
			out.LastError = filepath.Base(f.Source) + strings.TrimPrefix(f.LastErrors[n-1], f.Source)
		}
	}
	return out
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
	f, err := renameio.NewPendingFile(path, renameio.WithPermissions(0o644))
	if err != nil {
		return nil, err
	}
	defer f.Cleanup()
	if _, err := streams.Tail(ctx, log.JS, "ord.>", streams.TailOptions{}, f); err != nil {
		return nil, err
	}
	return out, f.CloseAtomicallyReplace()
}

// addTotals sums two totals but for their peak and drawdown: the total's peak is not the sum
// of the agents' peaks, which they reached at different times (see totalPeak).
func addTotals(a, b portfolio.Totals) portfolio.Totals {
	add := func(x, y decimal.Decimal) decimal.Decimal { s, _ := x.Add(y); return s }
	a.Capital, a.Cash, a.Equity = add(a.Capital, b.Capital), add(a.Cash, b.Cash), add(a.Equity, b.Equity)
	a.Exposure, a.Realized, a.Unrealized = add(a.Exposure, b.Exposure), add(a.Realized, b.Realized), add(a.Unrealized, b.Unrealized)
	a.Fees, a.Fills = add(a.Fees, b.Fees), a.Fills+b.Fills
	a.Peak, a.Drawdown = decimal.Decimal{}, decimal.Decimal{}
	return a
}

// totalPeak is the highest equity of the agents together, by the read model's own rule
// (portfolio.TotalCurve): at the start (their capital), at each point of their curves (the
// first mark of each hour) and at the end (their equity). The curves keep the last 840
// hours: a backtest longer than 35 days finds its peak among those, the start and the end.
func totalPeak(agents []*actors.Agent, views map[string]actors.AgentView) decimal.Decimal {
	var snaps []streams.EquitySnapshot
	for _, a := range agents {
		v := views[a.Name]
		c := v.Totals.Capital // a backtest moves no capital
		snaps = append(snaps, streams.EquitySnapshot{Agent: a.Name, Time: 0, Capital: c, Equity: c})
		for _, p := range v.Curve {
			snaps = append(snaps, streams.EquitySnapshot{Agent: a.Name, Time: p.Time, Capital: c, Equity: p.Equity})
		}
		snaps = append(snaps, streams.EquitySnapshot{Agent: a.Name, Time: math.MaxInt64, Capital: c, Equity: v.Totals.Equity})
	}
	_, peak, _ := portfolio.TotalCurve(snaps)
	return peak
}
