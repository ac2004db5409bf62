package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/govalues/decimal"

	"github.com/synapse-trading/synapse/actors"
	"github.com/synapse-trading/synapse/portfolio"
	"github.com/synapse-trading/synapse/streams"
	"github.com/synapse-trading/synapse/web"
)

func TestPortfolioQueries(t *testing.T) {
	m := portfolio.NewMemory()
	dec := decimal.MustParse
	var seq uint64
	apply := func(stream string, ev streams.Event) {
		seq++
		if err := m.Apply(stream, seq, ev); err != nil {
			t.Fatal(err)
		}
	}
	in := &streams.OrderEvent{Type: streams.OrderIntent, ClientOrderID: "c1", Agent: "ATLAS", Venue: "binance", Symbol: "BTCUSDT", Side: streams.Buy,
		OrderType: streams.Market, Qty: dec("0.5"), Time: 1000}
	apply(streams.StreamOrders, in)
	f := *in
	f.Type, f.TradeID, f.FillQty, f.FillPrice, f.Fee, f.Time = streams.OrderFill, "t1", dec("0.5"), dec("60000"), dec("3"), 1100
	apply(streams.StreamOrders, &f)
	eq := []string{"10000", "10100", "10050", "10200", "10150"}
	for _, agent := range []string{"ATLAS", "NOVA", "ORION"} {
		scale := map[string]string{"ATLAS": "1", "ORION": "0.5", "NOVA": "0.2"}[agent]
		for i, e := range eq {
			v, _ := dec(e).Mul(dec(scale))
			apply(streams.StreamPortfolio, &streams.EquitySnapshot{Agent: agent, Time: int64(i) * 3600000, Capital: dec("10000"), Equity: v, Cash: v})
		}
	}
	// a rebalance after the last snapshots: ATLAS gives ORION 1000
	for agent, amount := range map[string]string{"ATLAS": "-1000", "ORION": "1000"} {
		apply(streams.StreamPortfolio, &streams.CapitalMove{Agent: agent, Amount: dec(amount), Type: streams.MoveRebalance, Cause: "portfolio.rebalance.1",
			Equity: dec("1"), Time: 5 * 3600000})
	}
	gw := web.New(web.NewHub(), web.Options{Open: true})
	handlePortfolioQueries(gw, m, PortfolioQueryOptions{})
	srv := httptest.NewServer(gw.Handler())
	defer srv.Close()
	get := func(path string) (int, string) {
		r, err := http.Get(srv.URL + "/api/v1/queries/" + path)
		if err != nil {
			t.Fatal(err)
		}
		defer r.Body.Close()
		b, _ := io.ReadAll(r.Body)
		return r.StatusCode, string(b)
	}
	for _, path := range []string{"positions", "positions?agent=ATLAS", "positions?agent=NOBODY", "order_list", "order_list?status=open&limit=5", "fills?agent=ATLAS",
		"equity?agent=NOVA&since=3600000&until=10800000", "equity", "allocation", "allocation?profile=Conservative&threshold=0.01",
		"montecarlo?agent=ATLAS&paths=100&horizon=3&goal=10300&seed=9", "summary", "capital_moves", "capital_moves?agent=ORION&since=1&until=99999999"} {
		code, body := get(path)
		if code != 200 {
			t.Errorf("%s: %d %s", path, code, body)
		}
		var v any
		if err := json.Unmarshal([]byte(body), &v); err != nil {
			t.Errorf("%s: %v", path, err)
		}
		if len(body) > 600 {
			body = body[:600] + "..."
		}
		t.Logf("%s → %s", path, body)
	}
	for path, param := range map[string]string{"order_list?limit=-1": "limit", "order_list?limit=0": "limit", "fills?limit=0": "limit", "order_list?limit=x": "limit", "order_list?status=done": "status",
		"order_list?agnet=ATLAS": "agnet", "fills?offset=-2": "offset", "fills?since=5&until=1": "until", "equity?since=-1": "since",
		"allocation?profile=yolo": "profile", "allocation?threshold=2": "threshold", "montecarlo": "agent", "montecarlo?agent=ATLAS&paths=10001": "paths",
		"montecarlo?agent=ATLAS&horizon=0": "horizon", "montecarlo?agent=ATLAS&goal=-1": "goal", "montecarlo?agent=ATLAS&seed=-1": "seed",
		"montecarlo?agent=VEGA": "agent", "summary?x=1": "x", "positions?agent=A&agent=B": "agent", "capital_moves?since=-1": "since",
		"capital_moves?since=9&until=2": "until", "capital_moves?amount=1": "amount", "allocation?threshold=0.1111111111111111111111": "threshold"} {
		code, body := get(path)
		if code != 400 || !strings.Contains(body, `"field":"`+param+`"`) {
			t.Errorf("%s: %d %s, want 400 naming %s as its field", path, code, body, param)
		}
		t.Logf("%s → %d %s", path, code, strings.TrimSpace(body))
	}

	// One projection runs at a time: a small one waits while the biggest runs (seconds of a
	// core), and runs once it has gone (its client left).
	heavy, leave := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		req, _ := http.NewRequestWithContext(heavy, "GET", srv.URL+"/api/v1/queries/montecarlo?agent=ATLAS&paths=10000&horizon=10000", nil)
		r, err := http.DefaultClient.Do(req)
		if err == nil {
			r.Body.Close()
		}
		done <- err
	}()
	time.Sleep(200 * time.Millisecond)
	small := func(wait time.Duration) error {
		ctx, cancel := context.WithTimeout(context.Background(), wait)
		defer cancel()
		req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL+"/api/v1/queries/montecarlo?agent=ATLAS&paths=10&horizon=3", nil)
		r, err := http.DefaultClient.Do(req)
		if err != nil {
			return err
		}
		r.Body.Close()
		if r.StatusCode != 200 {
			return fmt.Errorf("status %d", r.StatusCode)
		}
		return nil
	}
	if err := small(300 * time.Millisecond); err == nil {
		t.Error("a projection ran beside the biggest one")
	}
	leave()
	if err := <-done; err == nil {
		t.Error("the biggest projection ended within 200 ms")
	}
	if err := small(10 * time.Second); err != nil {
		t.Errorf("a projection after the biggest one left: %v", err)
	}
}

// The summary shows the moves after the last snapshots in each agent's latest and sums the
// agents into a total with its own drawdown; the allocation weighs the equity after them.
func TestPortfolioSummaryShowsCapitalMoves(t *testing.T) {
	m := portfolio.NewMemory()
	dec := decimal.MustParse
	var seq uint64
	apply := func(ev streams.Event) {
		seq++
		if err := m.Apply(streams.StreamPortfolio, seq, ev); err != nil {
			t.Fatal(err)
		}
	}
	for i, e := range []string{"10000", "10400", "10200"} {
		apply(&streams.EquitySnapshot{Agent: "ATLAS", Time: int64(i) * 3600000, Capital: dec("10000"), Equity: dec(e), Cash: dec(e)})
		apply(&streams.EquitySnapshot{Agent: "ORION", Time: int64(i) * 3600000, Capital: dec("10000"), Equity: dec("10000"), Cash: dec("10000")})
	}
	apply(&streams.CapitalMove{Agent: "ATLAS", Amount: dec("-200"), Type: streams.MoveDistribution, HighWater: dec("10000"), Cause: "portfolio.distribute.1",
		Equity: dec("10000"), Time: 3 * 3600000})
	gw := web.New(web.NewHub(), web.Options{Open: true})
	handlePortfolioQueries(gw, m, PortfolioQueryOptions{})
	srv := httptest.NewServer(gw.Handler())
	defer srv.Close()
	var sum struct {
		Agents []portfolio.AgentSummary
		Total  portfolio.Total
	}
	r, err := http.Get(srv.URL + "/api/v1/queries/summary")
	if err != nil {
		t.Fatal(err)
	}
	defer r.Body.Close()
	if err := json.NewDecoder(r.Body).Decode(&sum); err != nil {
		t.Fatal(err)
	}
	atlas := sum.Agents[0].Latest
	if atlas.Equity.Cmp(dec("10000")) != 0 || atlas.Capital.Cmp(dec("9800")) != 0 || sum.Agents[0].HighWater.Cmp(dec("10000")) != 0 {
		t.Errorf("ATLAS %+v, want equity 10000 and capital 9800 after the sweep of 200", sum.Agents[0])
	}
	// the curve: 20000, 20400 (the peak), 20200; the sweep is not a loss
	tot := sum.Total
	if tot.Equity.Cmp(dec("20000")) != 0 || tot.Moved.Cmp(dec("-200")) != 0 || tot.Peak.Cmp(dec("20400")) != 0 || tot.Last.Cmp(dec("20200")) != 0 ||
		tot.Drawdown.String() != "0.009804" {
		t.Errorf("total %+v, want equity 20000, moved −200, drawdown (20400 − 20200) / 20400", tot)
	}
}

// portfolio.rebalance names a profile the engine knows, whose agents it runs, and goes on the
// log with the profile and threshold it will use; portfolio.distribute needs keep. Bad input
// is a 400 naming the field, and nothing reaches the log.
func TestPortfolioCommandsAreChecked(t *testing.T) {
	var submitted []*streams.Command
	gw := web.New(web.NewHub(), web.Options{Open: true, Submit: func(_ context.Context, c *streams.Command) (uint64, error) {
		submitted = append(submitted, c)
		return uint64(len(submitted)), nil
	}})
	var agents []*actors.Agent
	for _, name := range []string{"ATLAS", "ORION", "NOVA"} {
		a, err := actors.ParseAgent(actors.AgentConfig{Name: name, BuyAbove: 0.6, SellBelow: 0.4})
		if err != nil {
			t.Fatal(err)
		}
		agents = append(agents, a)
	}
	custom := portfolio.Profile{Name: "duo", Targets: []portfolio.Target{{Agent: "ATLAS", Weight: decimal.MustParse("0.5")}, {Agent: "VEGA", Weight: decimal.MustParse("0.5")}}}
	checkPortfolioCommands(gw, agents, PortfolioQueryOptions{Profiles: append(portfolio.DefaultProfiles(), custom)})
	srv := httptest.NewServer(gw.Handler())
	defer srv.Close()
	post := func(name, body string) (int, map[string]any) {
		r, err := http.Post(srv.URL+"/api/v1/commands/"+name, "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer r.Body.Close()
		var v map[string]any
		_ = json.NewDecoder(r.Body).Decode(&v)
		return r.StatusCode, v
	}
	for _, c := range []struct{ name, body, field string }{
		{"portfolio.rebalance", `{"profile":"yolo"}`, "profile"},
		{"portfolio.rebalance", `{"profile":"duo"}`, "profile"}, // VEGA is not run here
		{"portfolio.rebalance", `{"threshold":"1.01"}`, "threshold"},
		{"portfolio.rebalance", `{"threshold":"0.05","all":true}`, "all"},
		{"portfolio.rebalance", `{"profile":""}`, "profile"}, // given empty: not the engine's profile in silence
		{"portfolio.rebalance", `{"threshold":""}`, "threshold"},
		{"portfolio.distribute", `{"keep":"x"}`, "keep"},
		{"portfolio.distribute", ``, "keep"},
	} {
		if code, v := post(c.name, c.body); code != 400 || v["field"] != c.field {
			t.Errorf("%s %s: %d %v, want 400 naming %s", c.name, c.body, code, v, c.field)
		}
	}
	if len(submitted) != 0 {
		t.Fatalf("%d bad commands reached the log", len(submitted))
	}
	for body, args := range map[string]string{
		``: `{"profile":"moderate","threshold":"0.05"}`,
		`{"profile":"Aggressive","threshold":"0.1"}`:     `{"profile":"aggressive","threshold":"0.1"}`,
		`{"profile":"conservative","threshold":"0.000"}`: `{"profile":"conservative","threshold":"0.000"}`,
	} {
		submitted = nil
		if code, v := post("portfolio.rebalance", body); code != 202 || len(submitted) != 1 || string(submitted[0].Args) != args {
			t.Errorf("rebalance %s: %d %v, submitted %v; want args %s", body, code, v, submitted, args)
		}
	}
	submitted = nil
	if code, _ := post("portfolio.distribute", `{"keep":"0.05"}`); code != 202 || len(submitted) != 1 || string(submitted[0].Args) != `{"keep":"0.05"}` {
		t.Errorf("distribute: %d, submitted %v", code, submitted)
	}
}

// `synapse run` takes portfolio.rebalance and portfolio.distribute over HTTP: the desk moves
// capital between the agents' ledgers (three agents of 10000 each, the moderate profile: NOVA
// gives 4000, ATLAS and ORION get 2000 each), the read model shows it, and a restart on the
// same data dir rebuilds the same capital without moving it again.
func TestRunMovesCapital(t *testing.T) {
	dir := t.TempDir()
	args := []string{"--data-dir", dir, "--speed", "3000", "--no-models", "--replay", recDir + "ETHUSDT-1m-2022-08-14.csv.gz"}
	addr, stop := runEngine(t, args...)
	post := func(name, body string) int { return postCommand(t, addr, name, body) }
	var sum struct {
		Agents []portfolio.AgentSummary
		Total  portfolio.Total
	}
	checkFor(t, 60*time.Second, func() error { // every agent has marked its equity
		if err := getJSON(addr, "/api/v1/queries/summary", &sum); err != nil {
			return err
		}
		if len(sum.Agents) != 3 || sum.Total.Time == 0 || sum.Agents[0].Latest.Time == 0 || sum.Agents[1].Latest.Time == 0 || sum.Agents[2].Latest.Time == 0 {
			return fmt.Errorf("summary %+v", sum)
		}
		return nil
	})
	if code := post("portfolio.rebalance", `{"profile":"yolo"}`); code != http.StatusBadRequest {
		t.Fatalf("rebalance to an unknown profile: %d", code)
	}
	if code := post("portfolio.rebalance", `{}`); code != http.StatusAccepted {
		t.Fatalf("rebalance: %d", code)
	}
	if code := post("portfolio.distribute", `{"keep":"0"}`); code != http.StatusAccepted { // no profit yet: nothing to sweep
		t.Fatalf("distribute: %d", code)
	}
	want := map[string]string{"ATLAS": "2000", "NOVA": "-4000", "ORION": "2000"}
	moved := func(addr string) error {
		var moves []streams.CapitalMove
		if err := getJSON(addr, "/api/v1/queries/capital_moves", &moves); err != nil {
			return err
		}
		if len(moves) != 3 {
			return fmt.Errorf("capital moves %+v", moves)
		}
		for _, m := range moves {
			if m.Amount.Cmp(decimal.MustParse(want[m.Agent])) != 0 || m.Type != streams.MoveRebalance || m.CommandSeq != 1 {
				return fmt.Errorf("move %+v, want %s", m, want[m.Agent])
			}
		}
		if err := getJSON(addr, "/api/v1/queries/summary", &sum); err != nil {
			return err
		}
		for _, a := range sum.Agents {
			capital, _ := decimal.MustParse("10000").Add(decimal.MustParse(want[a.Agent]))
			if a.Moved.Cmp(decimal.MustParse(want[a.Agent])) != 0 || a.Latest.Capital.Cmp(capital) != 0 {
				return fmt.Errorf("%s: moved %s, capital %s", a.Agent, a.Moved, a.Latest.Capital)
			}
		}
		if !sum.Total.Moved.IsZero() || sum.Total.Capital.Cmp(decimal.MustParse("30000")) != 0 {
			return fmt.Errorf("total %+v", sum.Total)
		}
		var agents []actors.AgentView
		if err := getJSON(addr, "/api/v1/queries/agents", &agents); err != nil {
			return err
		}
		for _, a := range agents {
			capital, _ := decimal.MustParse("10000").Add(decimal.MustParse(want[a.Name]))
			if a.Totals.Capital.Cmp(capital) != 0 {
				return fmt.Errorf("%s's ledger: capital %s", a.Name, a.Totals.Capital)
			}
		}
		return nil
	}
	checkFor(t, 10*time.Second, func() error { return moved(addr) })
	stop()
	addr, stop = runEngine(t, args...)
	checkFor(t, 30*time.Second, func() error { return moved(addr) })
	time.Sleep(200 * time.Millisecond) // the commands on the log are applied again (and skipped) meanwhile
	if err := moved(addr); err != nil {
		t.Fatalf("after the restart: %v", err)
	}
	stop()
	code, out, _ := synapse(t, "tail", "pf.*.capital", "--data-dir", dir)
	if code != 0 || strings.Count(out, `"type":"rebalance"`) != 3 {
		t.Fatalf("capital moves on the log after a restart: exit %d, %s", code, out)
	}
}

// The portfolio topic is the summary query's answer, set when the read model changed it and
// only then: the Portfolio page follows it instead of asking.
func TestPortfolioTopicFollowsTheSummary(t *testing.T) {
	m := portfolio.NewMemory()
	hub := web.NewHub()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { publishPortfolio(ctx, hub, m, 10*time.Millisecond, slog.Default()); close(done) }()
	defer func() { cancel(); <-done }()
	topic := func() (string, uint64) {
		_, version := hub.Latest()
		raw, _ := hub.Get("portfolio")
		return string(raw), version
	}
	summary := func() string {
		s, err := portfolioSummary(ctx, m)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := json.Marshal(s)
		return string(b)
	}
	waitTopic := func(want string) {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for got, _ := topic(); got != want; got, _ = topic() {
			if time.Now().After(deadline) {
				t.Fatalf("portfolio topic %s, want %s", got, want)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	waitTopic(summary()) // at once, before any event: no agent yet
	_, before := topic()
	time.Sleep(50 * time.Millisecond)
	if _, after := topic(); after != before {
		t.Fatalf("an unchanged summary set again (hub version %d → %d)", before, after)
	}
	if err := m.Apply(streams.StreamPortfolio, 1, &streams.EquitySnapshot{Agent: "ATLAS", Time: 3600000,
		Capital: decimal.MustParse("10000"), Equity: decimal.MustParse("10100"), Cash: decimal.MustParse("10100")}); err != nil {
		t.Fatal(err)
	}
	waitTopic(summary())
	if got, _ := topic(); !strings.Contains(got, `"agent":"ATLAS"`) || !strings.Contains(got, `"10100"`) {
		t.Fatalf("portfolio topic %s: want ATLAS's snapshot", got)
	}
}
