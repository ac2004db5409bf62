package actors

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/govalues/decimal"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/synapse-trading/synapse/portfolio"
	"github.com/synapse-trading/synapse/streams"
)

// rig is a desk on a real Hollywood engine and a real embedded log, stepped by the
// backtest clock, trading on the paper exchange.
type rig struct {
	t        *testing.T
	log      *streams.Log
	graph    *Graph
	desk     *Desk
	inFlight atomic.Int64
	clock    *Clock
	mu       sync.Mutex
	views    map[string]AgentView
	risk     RiskView
}

func testAgent(name string) AgentConfig {
	return AgentConfig{Name: name, Capital: "10000", Models: []string{"ensemble"}, BuyAbove: 0.6, SellBelow: 0.4,
		PositionFraction: "0.5", Cooldown: "0s", MaxDrawdown: "0.5",
		Risk: RiskConfig{MaxOrderNotional: "100000", MaxPositionNotional: "100000", MaxOpenOrders: 4, PriceBand: "0.05", OrdersPerMinute: 10}}
}

func newRig(t *testing.T, log *streams.Log, configs ...AgentConfig) *rig {
	t.Helper()
	return newRigWith(t, log, map[string]func(portfolio.Report) (portfolio.Venue, error){
		"paper": func(report portfolio.Report) (portfolio.Venue, error) {
			return portfolio.NewPaper(portfolio.PaperOptions{}, report), nil
		},
	}, configs...)
}

func newRigWith(t *testing.T, log *streams.Log, venues map[string]func(portfolio.Report) (portfolio.Venue, error), configs ...AgentConfig) *rig {
	t.Helper()
	r := &rig{t: t, log: log, views: map[string]AgentView{}}
	var agents []*Agent
	for _, c := range configs {
		a, err := ParseAgent(c)
		if err != nil {
			t.Fatal(err)
		}
		agents = append(agents, a)
	}
	g, err := NewGraph(SymbolOptions{InFlight: &r.inFlight})
	if err != nil {
		t.Fatal(err)
	}
	r.graph = g
	d, err := NewDesk(g.Engine, DeskOptions{Agents: agents, Log: log.JS, InFlight: &r.inFlight, Observe: r.observe, Venues: venues})
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	r.desk = d
	g.SubscribeFeatures(d.FeatureSubscribers()...)
	g.SubscribeMarket(d.MarketSubscribers()...)
	r.clock = NewClock(g, &r.inFlight)
	r.settle()
	return r
}

func (r *rig) observe(topic string, v any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	switch x := v.(type) {
	case AgentView:
		r.views[x.Name] = x
	case RiskView:
		r.risk = x
	}
}

func (r *rig) settle() {
	r.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := r.clock.Settle(ctx); err != nil {
		r.t.Fatalf("the graph did not settle: %v (in flight %d)", err, r.inFlight.Load())
	}
}

// stop stops the actors, which then show their final state.
func (r *rig) stop() {
	r.graph.Stop()
	r.desk.Stop()
}

func (r *rig) view(name string) AgentView {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.views[name]
}

// klines reads a bundled day of BTCUSDT 1m klines.
func klines(t *testing.T, n int) []*streams.Kline {
	return firstKlines(t, "BTCUSDT-1m-2022-09-05.csv.gz", n)
}

func signal(k *streams.Kline, p float64) *streams.Signal {
	return &streams.Signal{Model: "ensemble", Version: "1", Venue: k.Venue, Symbol: k.Symbol, FeatureTime: k.OpenTime,
		Prediction: map[string]float64{"probability": p}, Confidence: 0.9}
}

// orderLog reads the order events on the log.
func orderLog(t *testing.T, log *streams.Log) []*streams.OrderEvent {
	t.Helper()
	var out []*streams.OrderEvent
	ctx := context.Background()
	cons, err := log.JS.OrderedConsumer(ctx, streams.StreamOrders, jetstream.OrderedConsumerConfig{})
	if err != nil {
		t.Fatal(err)
	}
	for {
		batch, err := cons.Fetch(256, jetstream.FetchMaxWait(300*time.Millisecond))
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for msg := range batch.Messages() {
			n++
			ev, err := streams.Decode(msg.Subject(), msg.Headers(), msg.Data())
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, ev.(*streams.OrderEvent))
		}
		if n == 0 {
			return out
		}
	}
}

func TestAgentTradesSignalsThroughTheRiskGateToThePaperExchange(t *testing.T) {
	log := openLog(t)
	r := newRig(t, log, testAgent("ATLAS"))
	ks := klines(t, 120)
	ctx := context.Background()
	for i, k := range ks {
		if err := r.clock.Feed(ctx, k); err != nil {
			t.Fatal(err)
		}
		switch i {
		case 30:
			r.desk.Signal(signal(k, 0.9)) // buy half the equity
		case 31:
			r.desk.Signal(signal(k, 0.95)) // already long: nothing more
		case 60:
			r.desk.Signal(signal(k, 0.1)) // flat
		}
		r.settle()
	}
	r.stop()

	events := orderLog(t, log)
	var types []streams.OrderEventType
	var buys, sells int
	acc := portfolio.NewAccount("ATLAS", decimal.MustParse("10000"))
	for _, ev := range events {
		types = append(types, ev.Type)
		if ev.Type == streams.OrderFill {
			if err := acc.Fill(ev); err != nil {
				t.Fatal(err)
			}
			if ev.Side == streams.Buy {
				buys++
			} else {
				sells++
			}
			if ev.Time <= ks[30].CloseTime {
				t.Fatalf("a fill at %d, before the candle after the decision", ev.Time)
			}
		}
	}
	if buys == 0 || sells == 0 {
		t.Fatalf("order events %v: want a buy and a sell filled", types)
	}
	intents := 0
	for _, ty := range types {
		if ty == streams.OrderIntent {
			intents++
		}
	}
	if intents != 2 {
		t.Fatalf("%d intents, want 2 (buy, then flatten): %v", intents, types)
	}
	v := r.view("ATLAS")
	if !v.Positions[0].Qty.IsZero() {
		t.Fatalf("position %s after the flat signal", v.Positions[0].Qty)
	}
	if err := v.Totals.Identity(); err != nil {
		t.Fatal(err)
	}
	// The agent's ledger is exactly the one folded from the log.
	want := acc.Totals()
	if v.Totals.Cash.Cmp(want.Cash) != 0 || v.Totals.Realized.Cmp(want.Realized) != 0 || v.Totals.Fees.Cmp(want.Fees) != 0 {
		t.Fatalf("agent totals %+v, log says %+v", v.Totals, want)
	}
	if v.Fills != int64(buys+sells) || v.Intents != 2 {
		t.Fatalf("view counts %+v", v)
	}
}

// A candidate model in shadow publishes signals that no agent acts on, however strong.
func TestAgentsIgnoreShadowSignals(t *testing.T) {
	log := openLog(t)
	r := newRig(t, log, testAgent("ATLAS"))
	ks := klines(t, 40)
	ctx := context.Background()
	for i, k := range ks {
		if err := r.clock.Feed(ctx, k); err != nil {
			t.Fatal(err)
		}
		if i >= 30 {
			s := signal(k, 0.99)
			s.Shadow = true
			r.desk.Signal(s)
		}
		r.settle()
	}
	r.stop()
	if v := r.view("ATLAS"); v.Signals != 0 || v.Intents != 0 || len(orderLog(t, log)) != 0 {
		t.Fatalf("the agent acted on shadow signals: %+v", v)
	}
}

// An agent's ledger holds one currency: with its capital in USD it does not trade a symbol
// quoted in BTC, says so once, and trades it when its quote is BTC (with a minimum order
// in BTC, not 10 of them).
func TestAgentTradesOnlyItsQuoteAsset(t *testing.T) {
	usd, btc := testAgent("ATLAS"), testAgent("NOVA")
	btc.Quote, btc.Capital = "btc", "1" // its orders, ~0.5 BTC, are above the default min_notional in BTC
	log := openLog(t)
	r := newRig(t, log, usd, btc)
	ks := klines(t, 60)
	ctx := context.Background()
	for i, k := range ks {
		k.Symbol = "ETHBTC" // the prices do not matter here, the currency does
		if err := r.clock.Feed(ctx, k); err != nil {
			t.Fatal(err)
		}
		if i >= 30 && i < 33 {
			r.desk.Signal(signal(k, 0.9))
		}
		r.settle()
	}
	r.stop()
	if v := r.view("ATLAS"); v.Signals != 0 || v.Intents != 0 {
		t.Fatalf("the USD agent acted on ETHBTC: %+v", v)
	}
	if v := r.view("NOVA"); v.Intents != 1 || len(v.Positions) != 1 || v.Positions[0].Symbol != "ETHBTC" {
		t.Fatalf("the BTC agent: %d intents, positions %+v", v.Intents, v.Positions)
	}
	n, last := r.desk.Problems()
	if n != 1 || !contains(last, "ETHBTC is quoted in BTC and the agent's capital in USD") || !contains(last, "quote: BTC") {
		t.Fatalf("problems %d, last %q: want the USD agent to say once why it does not trade ETHBTC", n, last)
	}
	for _, tt := range []struct {
		quote, symbol string
		ok            bool
	}{{"USD", "BTCUSDT", true}, {"USD", "BTCFDUSD", true}, {"USD", "ETHBTC", false}, {"USD", "XBTUSD", true},
		{"BTC", "ETHBTC", true}, {"BTC", "ETHUSDT", false}, {"USDT", "BTCUSDC", false}} {
		c := testAgent("X")
		c.Quote = tt.quote
		a, err := ParseAgent(c)
		if err != nil {
			t.Fatal(err)
		}
		if ok, _ := a.QuotedIn(tt.symbol); ok != tt.ok {
			t.Errorf("quote %s, %s: %v, want %v", tt.quote, tt.symbol, ok, tt.ok)
		}
	}
}

func TestRiskGateRejectsWithTheReason(t *testing.T) {
	cfg := testAgent("ORION")
	cfg.Risk.MaxOrderNotional = "100" // far below half the equity
	log := openLog(t)
	r := newRig(t, log, cfg)
	ks := klines(t, 40)
	ctx := context.Background()
	for i, k := range ks {
		if err := r.clock.Feed(ctx, k); err != nil {
			t.Fatal(err)
		}
		if i == 30 {
			r.desk.Signal(signal(k, 0.9))
		}
		r.settle()
	}
	r.stop()
	events := orderLog(t, log)
	if len(events) != 2 || events[0].Type != streams.OrderIntent || events[1].Type != streams.OrderRejected {
		t.Fatalf("events %+v: want an intent and its rejection", events)
	}
	if want := "risk: max_order_notional: "; len(events[1].Reason) < len(want) || events[1].Reason[:len(want)] != want {
		t.Fatalf("reason %q", events[1].Reason)
	}
	if r.risk.Rejected["max_order_notional"] != 1 || r.view("ORION").Rejected != 1 {
		t.Fatalf("risk view %+v, agent %+v", r.risk, r.view("ORION"))
	}
}

func TestGateChecks(t *testing.T) {
	a, err := ParseAgent(testAgent("NOVA"))
	if err != nil {
		t.Fatal(err)
	}
	a.limits.MaxOpenOrders, a.limits.OrdersPerMinute = 1, 2
	g := NewGate([]*Agent{a}, 3)
	order := func(id, side, qty string, t int64) *portfolio.Order {
		o, err := portfolio.NewOrder(&streams.OrderEvent{Type: streams.OrderIntent, ClientOrderID: id, Agent: "NOVA", Venue: "binance",
			Symbol: "BTCUSDT", Side: streams.Side(side), OrderType: streams.Market, Qty: decimal.MustParse(qty), Time: t})
		if err != nil {
			panic(err)
		}
		return o
	}
	ref := decimal.MustParse("20000")
	if c, _ := g.Check(order("a", "BUY", "0.1", 1000), ref); c != "price_band" {
		t.Fatalf("without a market price: %q", c)
	}
	g.Price(&streams.Trade{Venue: "binance", Symbol: "BTCUSDT", Price: decimal.MustParse("20000"), Qty: decimal.One, Time: 1000})
	if c, _ := g.Check(order("a", "BUY", "0.1", 1000), decimal.MustParse("25000")); c != "price_band" {
		t.Fatalf("reference 25%% off: %q", c)
	}
	if c, why := g.Check(order("a", "BUY", "0.1", 1000), ref); c != "" {
		t.Fatalf("a good order: %s %s", c, why)
	}
	if c, _ := g.Check(order("a", "BUY", "10", 1000), ref); c != "max_order_notional" {
		t.Fatalf("200k notional: %q", c)
	}
	first := order("a", "BUY", "0.1", 1000)
	first.Status = portfolio.StatusSubmitted
	g.Passed(first)
	if c, _ := g.Check(order("a", "BUY", "0.1", 1000), ref); c != "duplicate" {
		t.Fatalf("the same client order ID again: %q", c)
	}
	if c, _ := g.Check(order("b", "BUY", "0.1", 2000), ref); c != "max_open_orders" {
		t.Fatalf("second open order with a limit of 1: %q", c)
	}
	fill := first.Event(streams.OrderFill, 3000)
	fill.TradeID, fill.FillQty, fill.FillPrice = "1", decimal.MustParse("0.1"), ref
	g.Report(fill)
	if len(g.orders) != 0 {
		t.Fatal("a filled order is still open at the gate")
	}
	g.Passed(order("c", "SELL", "0.05", 4000)) // two orders in the last minute now
	if c, _ := g.Check(order("d", "SELL", "0.01", 5000), ref); c != "rate" {
		t.Fatalf("third order in a minute with a budget of 2: %q", c)
	}
	if c, _ := g.Check(order("d", "SELL", "0.01", 70_000), ref); c == "rate" {
		t.Fatal("the rate window did not slide")
	}
	g.states["NOVA"] = streams.AgentReducing
	if c, _ := g.Check(order("e", "BUY", "0.01", 70_000), ref); c != "agent_state" {
		t.Fatalf("a buy while REDUCING a long: %q", c)
	}
	if c, why := g.Check(order("e", "SELL", "0.05", 70_000), ref); c != "" {
		t.Fatalf("a sell that shrinks the long while REDUCING: %s %s", c, why)
	}
	g.killSwitch = true
	if c, _ := g.Check(order("e", "SELL", "0.05", 70_000), ref); c != "kill_switch" {
		t.Fatalf("kill switch: %q", c)
	}
}

func TestParseAgentNamesTheBadField(t *testing.T) {
	builtin, err := BuiltinAgents()
	if err != nil || len(builtin) != 3 {
		t.Fatalf("built-in agents: %v %d", err, len(builtin))
	}
	for _, c := range builtin {
		if _, err := ParseAgent(c); err != nil {
			t.Fatal(err)
		}
	}
	for field, mutate := range map[string]func(*AgentConfig){
		"capital":        func(c *AgentConfig) { c.Capital = "-5" },
		"cooldown":       func(c *AgentConfig) { c.Cooldown = "soon" },
		"buy_above":      func(c *AgentConfig) { c.BuyAbove = 0.3 },
		"execution":      func(c *AgentConfig) { c.Execution = "margin" },
		"name":           func(c *AgentConfig) { c.Name = "risk" },
		"symbols":        func(c *AgentConfig) { c.Symbols = []string{"btc usdt"} },
		"price_band":     func(c *AgentConfig) { c.Risk.PriceBand = "x" },
		"min_confidence": func(c *AgentConfig) { c.MinConfidence = 2 },
		"quote":          func(c *AgentConfig) { c.Quote = "US DOLLAR" },
	} {
		c := testAgent("X")
		mutate(&c)
		_, err := ParseAgent(c)
		if err == nil || !contains(err.Error(), field) {
			t.Errorf("%s: %v", field, err)
		}
	}
	merged := MergeAgents(builtin, []AgentConfig{testAgent("atlas"), testAgent("VEGA")})
	if len(merged) != 4 || merged[0].BuyAbove != 0.6 {
		t.Fatalf("merge: %+v", merged)
	}
}

func contains(s, sub string) bool {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return true
		}
	}
	return false
}

// TestRestartRebuildsAndReconcilesAtEachStep leaves an order at each step of its lifecycle
// on the log, as an engine that crashed there would, then starts a desk on that log and lets
// the market move on: the order ends where it must, filled exactly once.
func TestRestartRebuildsAndReconcilesAtEachStep(t *testing.T) {
	ks := klines(t, 40)
	steps := []streams.OrderEventType{streams.OrderIntent, streams.OrderSubmitted, streams.OrderAccepted, streams.OrderFill}
	for n := 1; n <= len(steps); n++ {
		t.Run(string(steps[n-1]), func(t *testing.T) {
			log := openLog(t)
			ctx := context.Background()
			// The crashed engine's events: an order of 0.2 BTC decided on candle 20.
			o, err := portfolio.NewOrder(&streams.OrderEvent{Type: streams.OrderIntent, ClientOrderID: streams.ClientOrderID("ATLAS", ks[0].Venue, "BTCUSDT", "crash"),
				Agent: "ATLAS", Venue: ks[0].Venue, Symbol: "BTCUSDT", Side: streams.Buy, OrderType: streams.Market, Qty: decimal.MustParse("0.2"),
				Time: ks[20].CloseTime + 1})
			if err != nil {
				t.Fatal(err)
			}
			for _, step := range steps[:n] {
				ev := o.Event(step, ks[20].CloseTime+1)
				if step == streams.OrderFill {
					ev.TradeID, ev.FillQty, ev.FillPrice, ev.Fee = "paper-before-crash", decimal.MustParse("0.05"), ks[21].Open, decimal.MustParse("0.2")
					ev.CumQty = ev.FillQty
				}
				if step == streams.OrderAccepted {
					ev.VenueOrderID = "paper-1"
				}
				if _, err := o.Apply(ev); err != nil {
					t.Fatal(err)
				}
				if err := log.Publish(ctx, ev); err != nil {
					t.Fatal(err)
				}
			}
			if err := log.Flush(ctx); err != nil {
				t.Fatal(err)
			}
			r := newRig(t, log, testAgent("ATLAS"))
			for _, k := range ks[21:] {
				if err := r.clock.Feed(ctx, k); err != nil {
					t.Fatal(err)
				}
			}
			r.settle()
			r.stop()
			var final *portfolio.Order
			acc := portfolio.NewAccount("ATLAS", decimal.MustParse("10000"))
			for _, ev := range orderLog(t, log) {
				if final == nil {
					final, _ = portfolio.NewOrder(ev)
					continue
				}
				applied, err := final.Apply(ev)
				if err != nil {
					t.Fatalf("%s after a restart: %v", ev.Type, err)
				}
				if applied && ev.Type == streams.OrderFill {
					if err := acc.Fill(ev); err != nil {
						t.Fatal(err)
					}
				}
			}
			v := r.view("ATLAS")
			if n == 1 { // never got past the risk gate: expired, never sent late
				if final.Status != portfolio.StatusExpired || !final.Filled.IsZero() || len(v.Positions) != 0 {
					t.Fatalf("order %s filled %s, positions %v", final.Status, final.Filled, v.Positions)
				}
				return
			}
			if final.Status != portfolio.StatusFilled || final.Filled.Cmp(decimal.MustParse("0.2")) != 0 {
				t.Fatalf("order %s with %s filled, want filled 0.2", final.Status, final.Filled)
			}
			if v.Positions[0].Qty.Cmp(decimal.MustParse("0.2")) != 0 || v.Totals.Cash.Cmp(acc.Totals().Cash) != 0 {
				t.Fatalf("agent position %s cash %s; the log says cash %s", v.Positions[0].Qty, v.Totals.Cash, acc.Totals().Cash)
			}
			if err := v.Totals.Identity(); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestCommandsActOnceAcrossRestarts halts and resumes an agent by commands on the CMD
// stream, turns the kill switch on, then restarts: the rebuilt desk does not act on the
// commands again, and is in the state they left.
func TestCommandsActOnceAcrossRestarts(t *testing.T) {
	log := openLog(t)
	ctx := context.Background()
	cmds := []*streams.Command{}
	for _, c := range []struct{ name, args string }{
		{"agents.halt", `{"agent":"ATLAS"}`}, {"agents.resume", `{"agent":"atlas"}`}, {"agents.halt", `{"agent":"ORION"}`},
		{"killswitch.on", `{"reason":"test"}`}, {"killswitch.off", `{}`},
	} {
		cmd, err := streams.NewCommand(c.name, json.RawMessage(c.args), "test")
		if err != nil {
			t.Fatal(err)
		}
		cmds = append(cmds, cmd)
	}
	apply := func(r *rig, upTo int) {
		cctx, cancel := context.WithCancel(ctx)
		done := make(chan struct{})
		applied := 0
		go func() {
			defer close(done)
			_ = streams.ConsumeCommands(cctx, log.JS, func(c streams.SequencedCommand) error {
				applied++
				if applied == upTo {
					defer cancel()
				}
				return r.desk.Apply(c)
			}, func(c streams.SequencedCommand, err error) { t.Errorf("%s: %v", c.Name, err) })
		}()
		<-done
		r.settle()
	}
	for _, c := range cmds[:4] {
		if err := log.Publish(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	r := newRig(t, log, testAgent("ATLAS"), testAgent("ORION"))
	apply(r, 4)
	r.stop()
	if s := r.view("ATLAS").State; s != streams.AgentHalted { // resumed, then the kill switch
		t.Fatalf("ATLAS %s", s)
	}
	if !r.risk.KillSwitch {
		t.Fatal("kill switch off after killswitch.on")
	}
	states := func() int { return len(portfolioEvents[streams.Event](t, log)) }
	before := states() // halt, resume (ATLAS), halt (ORION), kill switch, HALTED (ATLAS; ORION already)
	if before != 5 {
		t.Fatalf("%d events on PF, want 5", before)
	}
	if err := log.Publish(ctx, cmds[4]); err != nil { // killswitch.off arrives while it is down
		t.Fatal(err)
	}
	r2 := newRig(t, log, testAgent("ATLAS"), testAgent("ORION"))
	apply(r2, 5)
	r2.stop()
	if after := states(); after != before+1 {
		t.Fatalf("%d events on PF after the restart, want %d: old commands acted again", after, before+1)
	}
	if r2.risk.KillSwitch || r2.view("ATLAS").State != streams.AgentHalted || r2.view("ORION").State != streams.AgentHalted {
		t.Fatalf("after restart: kill switch %v, ATLAS %s, ORION %s", r2.risk.KillSwitch, r2.view("ATLAS").State, r2.view("ORION").State)
	}
}

// A bot submits orders by NATS request through the same risk gate: a good order is
// submitted and fills, a retry with the same key is the same order and is not sent twice,
// and bad requests are rejected with the reason.
func TestBotOrdersByRequest(t *testing.T) {
	log := openLog(t)
	r := newRig(t, log, testAgent("ATLAS"))
	ks := klines(t, 30)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	for _, k := range ks[:20] {
		if err := r.clock.Feed(ctx, k); err != nil {
			t.Fatal(err)
		}
	}
	r.settle()
	served := make(chan error, 1)
	go func() { served <- r.desk.ServeBots(ctx, log.Conn, func() int64 { return ks[19].CloseTime + 1 }) }()
	ask := func(subject, body string) BotReply {
		t.Helper()
		var reply BotReply
		var err error
		for range 50 { // until the subscription is up
			var m *nats.Msg
			if m, err = log.Conn.Request(subject, []byte(body), time.Second); err == nil {
				if err := json.Unmarshal(m.Data, &reply); err != nil {
					t.Fatal(err)
				}
				return reply
			}
			time.Sleep(20 * time.Millisecond)
		}
		t.Fatalf("%s: %v", subject, err)
		return reply
	}
	order := fmt.Sprintf(`{"agent":"atlas","venue":%q,"symbol":"BTCUSDT","side":"BUY","type":"MARKET","qty":"0.01000","key":"bot-1"}`, ks[0].Venue)
	first := ask(SubjectSubmitOrder, order)
	if first.Status != "submitted" || first.ClientOrderID == "" {
		t.Fatalf("first request: %+v", first)
	}
	// A retry (a reply lost on the way) is told its order went, and nothing new goes on the
	// log: no second intent, no rejection of a live order.
	again := ask(SubjectSubmitOrder, order)
	if again.Status != "submitted" || again.ClientOrderID != first.ClientOrderID || !strings.Contains(again.Reason, "retry") {
		t.Fatalf("the retry: %+v", again)
	}
	for body, want := range map[string]string{
		`{"agent":"VEGA","venue":"binance","symbol":"BTCUSDT","side":"BUY","qty":"1","key":"x"}`:         "no agent",
		`{"agent":"ATLAS","venue":"binance","symbol":"BTCUSDT","side":"BUY","qty":"1"}`:                  "key",
		`{"agent":"ATLAS","venue":"binance","symbol":"BTCUSDT","side":"BUY","qty":"1","key":"a\u001bb"}`: "key: has the control character",
		`{"agent":"ATLAS","venue":"binance","symbol":"BTCUSDT","side":"HOLD","qty":"1","key":"y"}`:       "side",
		`{"agent":"ATLAS","venue":"binance","symbol":"BTCUSDT","side":"BUY","qty":"1000","key":"z"}`:     "risk:",
		`not json`: "bad request",
		`{"agent":"ATLAS","venue":"kraken","symbol":"BTCUSDT","side":"BUY","qty":"0.01","key":"k"}`:           "no market kraken:BTCUSDT",
		`{"agent":"ATLAS","venue":"binance","symbol":"BTCUSDT","side":"BUY","qty":"0.00000001","key":"dust"}`: "min_notional",
	} {
		body = strings.Replace(body, `"venue":"binance"`, fmt.Sprintf(`"venue":%q`, ks[0].Venue), 1) // the klines' market
		if got := ask(SubjectSubmitOrder, body); got.Status != "rejected" || !strings.Contains(got.Reason, want) {
			t.Errorf("%s: %+v, want a rejection naming %q", body, got, want)
		}
	}
	if got := ask(SubjectCancelOrder, `{"client_order_id":"syn-none"}`); got.Status != "rejected" {
		t.Errorf("cancel of an unknown order: %+v", got)
	}
	for _, k := range ks[20:] {
		if err := r.clock.Feed(ctx, k); err != nil {
			t.Fatal(err)
		}
	}
	r.settle()
	cancel()
	if err := <-served; err != nil {
		t.Fatal(err)
	}
	r.stop()
	fills := 0
	steps := map[streams.OrderEventType]int{}
	for _, ev := range orderLog(t, log) {
		if ev.ClientOrderID == first.ClientOrderID {
			steps[ev.Type]++
		}
		if ev.Type == streams.OrderFill && ev.ClientOrderID == first.ClientOrderID {
			fills++
		}
		if ev.Type == streams.OrderIntent && ev.ClientOrderID == first.ClientOrderID && ev.Source != "bot" {
			t.Errorf("a bot's intent without source bot: %+v", ev)
		}
		if ev.Venue == "kraken" {
			t.Errorf("an order for a market the engine does not have went on the log: %+v", ev)
		}
	}
	if steps[streams.OrderIntent] != 1 || steps[streams.OrderSubmitted] != 1 || steps[streams.OrderRejected] != 0 {
		t.Errorf("the bot's order on the log, by step: %v; want one intent, one submission, no rejection", steps)
	}
	if fills != 1 || r.view("ATLAS").Positions[0].Qty.Cmp(decimal.MustParse("0.01")) != 0 {
		t.Fatalf("%d fills of the bot's order, ATLAS holds %v", fills, r.view("ATLAS").Positions)
	}
}

// An agent whose drawdown reaches its limit halts: the state change is on the log with the
// reason, its open orders are canceled, and it sends nothing more.
func TestDrawdownHaltsTheAgent(t *testing.T) {
	cfg := testAgent("NOVA")
	cfg.MaxDrawdown = "0.0005" // 0.05%: a few dollars on half the equity in BTC
	log := openLog(t)
	r := newRig(t, log, cfg)
	ks := klines(t, 400)
	ctx := context.Background()
	for i, k := range ks {
		if err := r.clock.Feed(ctx, k); err != nil {
			t.Fatal(err)
		}
		if i >= 30 { // keeps asking to be long; once halted it must not
			r.desk.Signal(signal(k, 0.9))
		}
		r.settle()
	}
	r.stop()
	v := r.view("NOVA")
	if v.State != streams.AgentHalted || !strings.Contains(v.Reason, "max drawdown") {
		t.Fatalf("NOVA %s: %s (max drawdown seen %s)", v.State, v.Reason, v.MaxDrawdown)
	}
	var halted int64
	for _, a := range portfolioEvents[*streams.AgentEvent](t, log) {
		if a.Agent == "NOVA" && a.State == streams.AgentHalted {
			halted = a.Time
		}
	}
	if halted == 0 {
		t.Fatal("no HALTED event on pf.nova.state")
	}
	for _, ev := range orderLog(t, log) {
		if ev.Type == streams.OrderIntent && ev.Time > halted {
			t.Fatalf("an intent at %d after the halt at %d", ev.Time, halted)
		}
	}
}

// TestRestartKeepsThePeak trades on real klines until the agent's marks have lifted its
// equity to a peak between its fills, stops, and starts a desk on the same log that replays
// the same market data, as the graph does after a restart: the agent's totals (peak and
// drawdown included) equal the ones before, to the last digit: when it ended flat, when it
// still held its position (whose marks then must not make a peak of the prices of then and
// the position of now), and when a halt and a resume measured its drawdown afresh.
func TestRestartKeepsThePeak(t *testing.T) {
	for name, c := range map[string]struct{ exit, halt int }{"flat": {200, -1}, "holding": {-1, -1}, "resumed after a halt": {-1, 150}} {
		t.Run(name, func(t *testing.T) {
			log := openLog(t)
			ks := klines(t, 300)
			if c.halt >= 0 { // the engine stops right after the resume
				ks = ks[:c.halt+1]
			}
			ctx := context.Background()
			type shown struct {
				agent AgentView
				risk  RiskView
			}
			run := func(signals bool) shown {
				r := newRig(t, log, testAgent("ATLAS"))
				r.log = log
				for i, k := range ks {
					if err := r.clock.Feed(ctx, k); err != nil {
						t.Fatal(err)
					}
					if signals && i == 30 {
						r.desk.Signal(signal(k, 0.9))
					}
					if signals && i == c.exit {
						r.desk.Signal(signal(k, 0.1))
					}
					r.settle()
					if signals && i == c.halt {
						for _, cmd := range []string{"agents.halt", "agents.resume"} {
							if _, err := r.command(cmd, `{"agent":"ATLAS"}`); err != nil {
								t.Fatal(err)
							}
						}
					}
				}
				r.stop()
				r.mu.Lock()
				defer r.mu.Unlock()
				return shown{r.views["ATLAS"], r.risk}
			}
			before := run(true)
			peaks := len(portfolioEvents[*streams.Peak](t, log)) // ATLAS's: the only agent
			if peaks == 0 || before.agent.Totals.Peak.Cmp(decimal.MustParse("10000")) == 0 {
				t.Fatalf("peak %s, %d peaks on the log: the run was meant to move the peak off the capital", before.agent.Totals.Peak, peaks)
			}
			after := run(false)
			if fmt.Sprintf("%+v", after.agent.Totals) != fmt.Sprintf("%+v", before.agent.Totals) {
				t.Fatalf("after a restart:\n got %+v\nwant %+v", after.agent.Totals, before.agent.Totals)
			}
			// What the agent and the gate show is rebuilt too: their counts, the last order,
			// the equity curve (the deepest drawdown from the hourly snapshots).
			b, a := before.agent, after.agent
			if a.Intents != b.Intents || a.Fills != b.Fills || a.Rejected != b.Rejected || b.Intents == 0 ||
				fmt.Sprint(a.LastOrder) != fmt.Sprint(b.LastOrder) || fmt.Sprint(a.Curve) != fmt.Sprint(b.Curve) || len(b.Curve) == 0 {
				t.Errorf("the agent after a restart: intents %d fills %d rejected %d, last %v, curve %v\nbefore: intents %d fills %d rejected %d, last %v, curve %v",
					a.Intents, a.Fills, a.Rejected, a.LastOrder, a.Curve, b.Intents, b.Fills, b.Rejected, b.LastOrder, b.Curve)
			}
			if after.risk.Passed != before.risk.Passed || fmt.Sprint(after.risk.Rejected) != fmt.Sprint(before.risk.Rejected) || before.risk.Passed == 0 {
				t.Errorf("the gate after a restart: %+v, before %+v", after.risk, before.risk)
			}
		})
	}
}

// portfolioEvents reads the events of type E on the PF stream, in log order.
func portfolioEvents[E streams.Event](t *testing.T, log *streams.Log) []E {
	t.Helper()
	var out []E
	err := streams.ReadAll(context.Background(), log.JS, streams.StreamPortfolio, func(_ uint64, ev streams.Event) {
		if e, ok := ev.(E); ok {
			out = append(out, e)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// command puts a command on the CMD stream, as the gateway does, and has the desk apply it.
func (r *rig) command(name, args string) (streams.SequencedCommand, error) {
	r.t.Helper()
	cmd, err := streams.NewCommand(name, json.RawMessage(args), "trader")
	if err != nil {
		r.t.Fatal(err)
	}
	msg, err := streams.Encode(cmd)
	if err != nil {
		r.t.Fatal(err)
	}
	ack, err := r.log.JS.PublishMsg(context.Background(), msg)
	if err != nil {
		r.t.Fatal(err)
	}
	sc := streams.SequencedCommand{Seq: ack.Sequence, Command: cmd}
	err = r.desk.Apply(sc)
	r.settle()
	return sc, err
}

// TestCapitalMovesRebuildExactly rebalances three agents while they hold positions, trades on,
// sweeps their profits, trades again, and restarts the desk on the same log: the moves are on
// the log before the ledgers change (market time, the command's sequence, the fills booked
// before them), a rebalance sums to zero, and the rebuilt ledgers equal the ones that lived,
// to the last digit. Applying the commands again after the restart moves nothing.
func TestCapitalMovesRebuildExactly(t *testing.T) {
	log := openLog(t)
	configs := []AgentConfig{testAgent("ATLAS"), testAgent("ORION"), testAgent("NOVA")}
	configs[0].PositionFraction, configs[1].PositionFraction, configs[2].PositionFraction = "0.3", "0.5", "0.9"
	r := newRig(t, log, configs...)
	r.log = log
	ks := klines(t, 100)
	// BTC rises about 0.4% from candle 41 to 69 (the round trip pays 0.24% in fees and
	// slippage), then falls from 85 to 95.
	if up, _ := ks[69].Close.Sub(ks[41].Close); up.Cmp(decimal.MustParse("70")) < 0 || ks[95].Close.Cmp(ks[85].Close) >= 0 {
		t.Fatalf("the recording is not the one this test was written for: %s → %s, %s → %s", ks[41].Close, ks[69].Close, ks[85].Close, ks[95].Close)
	}
	ctx := context.Background()
	var rebalance, distribute streams.SequencedCommand
	for i, k := range ks {
		if err := r.clock.Feed(ctx, k); err != nil {
			t.Fatal(err)
		}
		var err error
		switch i {
		case 41, 85:
			r.desk.Signal(signal(k, 0.9))
		case 69, 95:
			r.desk.Signal(signal(k, 0.1))
		case 50: // NOVA holds a third of the equity, the moderate profile wants a fifth
			rebalance, err = r.command("portfolio.rebalance", `{"profile":"moderate","threshold":"0.05"}`)
		case 80: // flat and in profit: every profit above the capital goes
			distribute, err = r.command("portfolio.distribute", `{"keep":"0"}`)
		}
		if err != nil {
			t.Fatal(err)
		}
		r.settle()
	}
	r.stop()
	if n, last := r.desk.Problems(); n != 0 {
		t.Fatalf("%d problems, the last: %s", n, last)
	}

	moves := portfolioEvents[*streams.CapitalMove](t, log)
	var sum decimal.Decimal
	swept := map[string]bool{}
	for _, m := range moves {
		switch m.Cause {
		case rebalance.CommandID:
			sum, _ = sum.Add(m.Amount)
			if m.Type != streams.MoveRebalance || m.CommandSeq != rebalance.Seq || m.Time != ks[50].OpenTime+60_000 || m.AfterFills != 1 {
				t.Errorf("rebalance move %+v: want seq %d, market time %d, after the agent's one fill", m, rebalance.Seq, ks[50].OpenTime+60_000)
			}
		case distribute.CommandID:
			swept[m.Agent] = true
			if m.Type != streams.MoveDistribution || !m.Amount.IsNeg() || m.CommandSeq != distribute.Seq || m.Time != ks[80].OpenTime+60_000 || m.AfterFills != 2 ||
				m.HighWater.Cmp(m.Equity) != 0 {
				t.Errorf("distribution %+v: want a sweep of seq %d at market time %d after two fills, leaving the mark at the equity", m, distribute.Seq, ks[80].OpenTime+60_000)
			}
		default:
			t.Errorf("a move of no command: %+v", m)
		}
		if !strings.HasPrefix(m.Reason, m.Cause[:strings.LastIndex(m.Cause, ".")]+" by trader: ") {
			t.Errorf("reason %q", m.Reason)
		}
	}
	if len(moves) < 4 || !sum.IsZero() || len(swept) != 3 {
		t.Fatalf("moves %+v: want a rebalance summing to 0 and a sweep from each of the three agents", moves)
	}
	before := map[string]portfolio.Totals{}
	for _, c := range configs {
		v := r.view(c.Name)
		if err := v.Totals.Identity(); err != nil {
			t.Fatal(err)
		}
		before[c.Name] = v.Totals
		var moved decimal.Decimal
		for _, m := range moves {
			if m.Agent == c.Name {
				moved, _ = moved.Add(m.Amount)
			}
		}
		if want, _ := decimal.MustParse("10000").Add(moved); v.Totals.Capital.Cmp(want) != 0 || v.Fills != 4 {
			t.Errorf("%s: capital %s after moves of %s; %d fills", c.Name, v.Totals.Capital, moved, v.Fills)
		}
	}

	// A restart rebuilds the ledgers from ORD and PF: the same numbers, scale included. The
	// log holds no marks: a flat position keeps its last fill price as its mark until the
	// market data replayed after a restart marks it again (only the scale of its zero value
	// could tell), as the last candle does here.
	r2 := newRig(t, log, configs...)
	r2.log = log
	if err := r2.clock.Feed(ctx, ks[len(ks)-1]); err != nil {
		t.Fatal(err)
	}
	r2.settle()
	same := func(when string) {
		t.Helper()
		for _, c := range configs { // their final state, shown as the actors stopped
			got, want := r2.view(c.Name).Totals, before[c.Name]
			if fmt.Sprintf("%+v", got) != fmt.Sprintf("%+v", want) {
				t.Errorf("%s %s:\n got %+v\nwant %+v", c.Name, when, got, want)
			}
		}
	}
	// The commands on the CMD stream are applied again from the first: they acted already.
	for _, sc := range []streams.SequencedCommand{rebalance, distribute} {
		if err := r2.desk.Apply(sc); err != nil {
			t.Fatal(err)
		}
	}
	r2.settle()
	r2.stop()
	if n := len(portfolioEvents[*streams.CapitalMove](t, log)); n != len(moves) {
		t.Fatalf("%d capital moves after applying the commands again, want %d", n, len(moves))
	}
	if n, last := r2.desk.Problems(); n != 0 {
		t.Fatalf("%d problems rebuilding, the last: %s", n, last)
	}
	same("after the restart")
}

// A capital command that cannot act is refused with the reason, counted, and moves nothing:
// an unknown profile, one with an agent the engine does not run, a bad keep, and a move one
// agent's ledger cannot take (every move is checked before any applies).
func TestCapitalCommandsRefused(t *testing.T) {
	log := openLog(t)
	r := newRig(t, log, testAgent("ATLAS"), testAgent("ORION"))
	r.log = log
	for _, c := range []struct{ name, args, says string }{
		{"portfolio.rebalance", `{"profile":"yolo"}`, "no profile"},
		{"portfolio.rebalance", `{}`, "which this engine does not run"}, // moderate shares with NOVA
		{"portfolio.rebalance", `{"profile":"moderate","threshold":"x"}`, "threshold"},
		{"portfolio.distribute", `{}`, "keep"},
		{"portfolio.distribute", `{"keep":"-1"}`, "keep"},
	} {
		_, err := r.command(c.name, c.args)
		if !errors.Is(err, ErrCommand) || !strings.Contains(err.Error(), c.says) {
			t.Errorf("%s %s: %v, want ErrCommand saying %q", c.name, c.args, err, c.says)
		}
	}
	if n, _ := r.desk.Problems(); n != 5 {
		t.Errorf("%d problems counted, want 5", n)
	}
	huge, _ := decimal.MustParse("9999999999999999999").Sub(decimal.One)
	held := map[string]portfolio.Totals{
		"ATLAS": {Capital: decimal.MustParse("10000"), Cash: decimal.MustParse("10000"), Equity: decimal.MustParse("10000")},
		"ORION": {Capital: huge, Cash: huge, Equity: huge},
	}
	cmd := streams.SequencedCommand{Seq: 99, Command: &streams.Command{Name: "portfolio.rebalance", CommandID: "portfolio.rebalance.x"}}
	err := r.desk.move(cmd, []streams.CapitalMove{
		{Agent: "ATLAS", Amount: decimal.MustParse("-5"), Type: streams.MoveRebalance, Cause: cmd.CommandID},
		{Agent: "ORION", Amount: decimal.MustParse("5"), Type: streams.MoveRebalance, Cause: cmd.CommandID},
	}, held)
	r.settle()
	r.stop()
	if err == nil || !strings.Contains(err.Error(), "nothing moved") {
		t.Fatalf("a move ORION's ledger cannot hold: %v", err)
	}
	if moves := portfolioEvents[*streams.CapitalMove](t, log); len(moves) != 0 {
		t.Fatalf("moves on the log after refusals: %+v", moves)
	}
	if c := r.view("ATLAS").Totals.Capital; c.Cmp(decimal.MustParse("10000")) != 0 {
		t.Fatalf("ATLAS's capital %s: the refused rebalance moved it", c)
	}
}

// Capital does not move between ledgers in different currencies: a rebalance across agents
// whose quote assets differ is refused, naming them.
func TestRebalanceRefusesMixedCurrencies(t *testing.T) {
	log := openLog(t)
	nova := testAgent("NOVA")
	nova.Quote, nova.Capital = "BTC", "1"
	r := newRig(t, log, testAgent("ATLAS"), testAgent("ORION"), nova)
	r.log = log
	_, err := r.command("portfolio.rebalance", `{"profile":"moderate","threshold":"0.01"}`)
	r.settle()
	r.stop()
	if !errors.Is(err, ErrCommand) || !strings.Contains(err.Error(), "different assets (ATLAS: USD, NOVA: BTC)") {
		t.Fatalf("rebalance across USD and BTC: %v", err)
	}
	if moves := portfolioEvents[*streams.CapitalMove](t, log); len(moves) != 0 {
		t.Fatalf("moves on the log: %+v", moves)
	}
}

// TestRebuildReplaysCapitalMovesBetweenFills writes a log by hand: fills and capital moves of
// two agents, the moves recorded with the equity the agents had marked and the fills their
// ledgers had booked. A desk started on it replays each move between the same two fills as
// it lived, and takes its peak from the move or from the peak the agent recorded after it:
// the ledgers equal those folded in that order, to the last digit. A resend of a move is not
// a second one, a rebalance on the log in part is reported, and the commands the moves came
// from do not act again.
func TestRebuildReplaysCapitalMovesBetweenFills(t *testing.T) {
	log := openLog(t)
	ctx := context.Background()
	ks := klines(t, 30)
	dec := decimal.MustParse
	seq := 0
	fill := func(agent string, side streams.Side, qty, price, fee string, at int64) *streams.OrderEvent {
		seq++
		o, err := portfolio.NewOrder(&streams.OrderEvent{Type: streams.OrderIntent, ClientOrderID: streams.ClientOrderID(agent, ks[0].Venue, "BTCUSDT", fmt.Sprint(seq)),
			Agent: agent, Venue: ks[0].Venue, Symbol: "BTCUSDT", Side: side, OrderType: streams.Market, Qty: dec(qty), Time: at})
		if err != nil {
			t.Fatal(err)
		}
		var f *streams.OrderEvent
		for _, step := range []streams.OrderEventType{streams.OrderIntent, streams.OrderSubmitted, streams.OrderAccepted, streams.OrderFill} {
			ev := o.Event(step, at)
			if step == streams.OrderFill {
				ev.TradeID, ev.FillQty, ev.FillPrice, ev.Fee, ev.CumQty = fmt.Sprint("t", seq), dec(qty), dec(price), dec(fee), dec(qty)
				f = ev
			}
			if _, err := o.Apply(ev); err != nil {
				t.Fatal(err)
			}
			if err := log.Publish(ctx, ev); err != nil {
				t.Fatal(err)
			}
		}
		return f
	}
	move := func(agent, amount string, typ streams.MoveType, cause string, equity string, fills int, at int64) *streams.CapitalMove {
		m := &streams.CapitalMove{Agent: agent, Amount: dec(amount), Type: typ, HighWater: dec(equity), Cause: cause, CommandSeq: 7,
			Equity: dec(equity), AfterFills: fills, Time: at}
		if err := log.Publish(ctx, m); err != nil {
			t.Fatal(err)
		}
		return m
	}
	t0 := ks[0].OpenTime
	atlas, orion := portfolio.NewAccount("ATLAS", dec("10000")), portfolio.NewAccount("ORION", dec("10000"))
	book := func(acc *portfolio.Account, f *streams.OrderEvent) {
		peak := acc.Peak
		if err := acc.Fill(f); err != nil {
			t.Fatal(err)
		}
		if acc.Peak.Cmp(peak) > 0 { // as the agent does: a new peak goes on the log
			if err := log.Publish(ctx, &streams.Peak{Agent: acc.Agent, Peak: acc.Peak, Time: f.Time}); err != nil {
				t.Fatal(err)
			}
		}
	}
	moved := func(acc *portfolio.Account, m *streams.CapitalMove) {
		if err := acc.Move(m.Amount); err != nil {
			t.Fatal(err)
		}
		acc.Peak = m.Equity // the equity at the agent's marks then
	}
	// ATLAS: buy, a rebalance in, sell at a profit, a distribution, then a round trip that
	// lifts its equity past the distribution's: its peak comes from that last fill.
	book(atlas, fill("ATLAS", streams.Buy, "0.1", "20000", "2", t0+60_000))
	book(orion, fill("ORION", streams.Buy, "0.1", "20000", "2", t0+60_000))
	// ORION's move comes while it marks BTC at 20100, above its fill: its peak is 10508
	moved(orion, move("ORION", "500", streams.MoveRebalance, "portfolio.rebalance.a", "10508", 1, t0+120_000))
	moved(atlas, move("ATLAS", "-500", streams.MoveRebalance, "portfolio.rebalance.a", "9498", 1, t0+120_000))
	book(atlas, fill("ATLAS", streams.Sell, "0.1", "21000", "2.1", t0+180_000))
	d := move("ATLAS", "-50", streams.MoveDistribution, "portfolio.distribute.b", "9545.9", 2, t0+240_000)
	moved(atlas, d)
	// the same move again, past the dedup window: not a second one
	msg, err := streams.Encode(d)
	if err != nil {
		t.Fatal(err)
	}
	msg.Header.Set(nats.MsgIdHdr, "resent."+d.ID())
	if err := log.PublishMsg(ctx, msg); err != nil {
		t.Fatal(err)
	}
	book(atlas, fill("ATLAS", streams.Buy, "0.05", "20500", "1.025", t0+300_000))
	book(atlas, fill("ATLAS", streams.Sell, "0.05", "22000", "1.1", t0+360_000))
	// NOVA's half of a rebalance never reached the log: the other half is reported
	move("NOVA", "250", streams.MoveRebalance, "portfolio.rebalance.c", "10250", 0, t0+400_000)
	if err := log.Flush(ctx); err != nil {
		t.Fatal(err)
	}

	r := newRig(t, log, testAgent("ATLAS"), testAgent("ORION"), testAgent("NOVA"))
	r.log = log
	if n, last := r.desk.Problems(); n != 1 || !strings.Contains(last, "portfolio.rebalance.c is on the log only in part") {
		t.Errorf("%d problems, the last %q: want the half-recorded rebalance reported", n, last)
	}
	if _, err := r.command("portfolio.distribute", `{"keep":"0"}`); err != nil { // CMD sequence 1, below the moves' 7
		t.Fatal(err)
	}
	r.stop()
	for name, acc := range map[string]*portfolio.Account{"ATLAS": atlas, "ORION": orion} {
		got, want := r.view(name).Totals, acc.Totals()
		if fmt.Sprintf("%+v", got) != fmt.Sprintf("%+v", want) {
			t.Errorf("%s rebuilt:\n got %+v\nwant %+v", name, got, want)
		}
	}
	if p := atlas.Totals().Peak; p.Cmp(dec("9545.9")) <= 0 {
		t.Fatalf("ATLAS's peak %s: the last round trip was meant to lift it past the distribution's equity", p)
	}
	if p := orion.Totals().Peak; p.Cmp(dec("10508")) != 0 {
		t.Fatalf("ORION's peak %s, want the move's 10508", p)
	}
	if n := len(portfolioEvents[*streams.CapitalMove](t, log)); n != 5 {
		t.Fatalf("%d capital moves on the log, want the 5 written: a command the log's moves came after acted again", n)
	}
}

// A capital command on the log from before the desk started is not applied: it decided on
// the ledgers of then (it acted, moved nothing or came as the engine stopped); one sent after
// the start acts.
func TestCapitalCommandsFromBeforeTheStartDoNotAct(t *testing.T) {
	log := openLog(t)
	cmd, err := streams.NewCommand("portfolio.rebalance", json.RawMessage(`{}`), "trader")
	if err != nil {
		t.Fatal(err)
	}
	msg, err := streams.Encode(cmd)
	if err != nil {
		t.Fatal(err)
	}
	ack, err := log.JS.PublishMsg(context.Background(), msg)
	if err != nil {
		t.Fatal(err)
	}
	r := newRig(t, log, testAgent("ATLAS"), testAgent("ORION"), testAgent("NOVA"))
	r.log = log
	if err := r.desk.Apply(streams.SequencedCommand{Seq: ack.Sequence, Command: cmd}); err != nil {
		t.Fatal(err)
	}
	r.settle()
	if moves := portfolioEvents[*streams.CapitalMove](t, log); len(moves) != 0 {
		t.Fatalf("a rebalance from before the start moved capital: %+v", moves)
	}
	if _, err := r.command("portfolio.rebalance", `{}`); err != nil {
		t.Fatal(err)
	}
	r.stop()
	// equal equity, the moderate profile: NOVA gives 4000, ATLAS and ORION get 2000 each
	moves := portfolioEvents[*streams.CapitalMove](t, log)
	want := map[string]string{"ATLAS": "2000", "NOVA": "-4000", "ORION": "2000"}
	if len(moves) != 3 {
		t.Fatalf("moves %+v, want 3", moves)
	}
	for _, m := range moves {
		cash, _ := decimal.MustParse("10000").Add(m.Amount)
		if m.Amount.Cmp(decimal.MustParse(want[m.Agent])) != 0 || r.view(m.Agent).Totals.Cash.Cmp(cash) != 0 {
			t.Errorf("%s moved %s (cash %s), want %s", m.Agent, m.Amount, r.view(m.Agent).Totals.Cash, want[m.Agent])
		}
	}
}

// An agent's hourly equity snapshot carries the marks of its open positions, as of the mark
// that took it: the read models value positions at them (a position's last fill is hours
// old on a quiet agent).
func TestEquitySnapshotsMarkOpenPositions(t *testing.T) {
	log := openLog(t)
	r := newRig(t, log, testAgent("ATLAS"))
	ks := klines(t, 125)
	ctx := context.Background()
	for i, k := range ks {
		if err := r.clock.Feed(ctx, k); err != nil {
			t.Fatal(err)
		}
		if i == 30 {
			r.desk.Signal(signal(k, 0.9)) // buy, and hold
		}
		r.settle()
	}
	r.stop()
	var fill *streams.OrderEvent
	for _, ev := range orderLog(t, log) {
		if ev.Type == streams.OrderFill {
			fill = ev
		}
	}
	if fill == nil {
		t.Fatal("no fill")
	}
	var marked int
	for _, s := range portfolioEvents[*streams.EquitySnapshot](t, log) {
		if s.MarkTime < s.Time || s.MarkTime >= s.Time+3_600_000 {
			t.Fatalf("snapshot of %d marked at %d, not within its hour", s.Time, s.MarkTime)
		}
		if s.Time < fill.Time {
			if len(s.Marks) != 0 {
				t.Fatalf("snapshot of %d, before the fill, marks %+v", s.Time, s.Marks)
			}
			continue
		}
		// the close of the candle whose close marked the account
		i := slices.IndexFunc(ks, func(k *streams.Kline) bool { return k.CloseTime+1 == s.MarkTime })
		if len(s.Marks) != 1 || i < 0 || s.Marks[0] != (streams.Mark{Venue: fill.Venue, Symbol: fill.Symbol, Price: ks[i].Close}) {
			t.Fatalf("snapshot of %d marks %+v at %d, want the close of the candle ending then", s.Time, s.Marks, s.MarkTime)
		}
		marked++
	}
	if marked != 2 {
		t.Fatalf("%d snapshots marked the position, want 2 (hours 1 and 2)", marked)
	}
}

// An engine killed between a rebalance's moves left only some on the log: capital that was
// never there. Every move carries its decision's plan, and the next start makes the missing
// ones: the moves sum to zero again, the agents' capital to what it was, and a second restart
// moves nothing more.
func TestRestartCompletesAnInterruptedRebalance(t *testing.T) {
	log := openLog(t)
	configs := []AgentConfig{testAgent("ATLAS"), testAgent("ORION"), testAgent("NOVA")}
	ks := klines(t, 5)
	ctx := context.Background()
	feed := func(r *rig) {
		for _, k := range ks {
			if err := r.clock.Feed(ctx, k); err != nil {
				t.Fatal(err)
			}
		}
		r.settle()
	}
	r := newRig(t, log, configs...)
	r.log = log
	feed(r)
	rebalance, err := r.command("portfolio.rebalance", `{"profile":"moderate","threshold":"0.01"}`)
	if err != nil {
		t.Fatal(err)
	}
	r.stop()
	// The kill: every move of the rebalance but the first is lost.
	stream, err := log.JS.Stream(ctx, streams.StreamPortfolio)
	if err != nil {
		t.Fatal(err)
	}
	var seqs []uint64
	err = streams.ReadAll(ctx, log.JS, streams.StreamPortfolio, func(seq uint64, ev streams.Event) {
		if m, ok := ev.(*streams.CapitalMove); ok && m.Cause == rebalance.CommandID {
			seqs = append(seqs, seq)
		}
	})
	if err != nil || len(seqs) < 2 {
		t.Fatalf("the rebalance made %d moves (%v): the test needs two or more", len(seqs), err)
	}
	for _, seq := range seqs[1:] {
		if err := stream.DeleteMsg(ctx, seq); err != nil {
			t.Fatal(err)
		}
	}
	// Moves that never reached the log left no ID in its deduplication window either.
	// Two updates: nats-server re-arms its purge timer before it takes a new window, so the
	// first purge may run with the old one (a day) and wait as long; the next takes the first's.
	cfg := stream.CachedInfo().Config
	for _, window := range []time.Duration{time.Second, 100 * time.Millisecond} {
		cfg.Duplicates = window
		if _, err := log.JS.UpdateStream(ctx, cfg); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(2500 * time.Millisecond)
	capital := func(r *rig) (sum decimal.Decimal, each string) {
		for _, c := range configs {
			tot := r.view(c.Name).Totals
			sum, _ = sum.Add(tot.Capital)
			each += c.Name + " " + tot.Capital.String() + " "
		}
		return sum, each
	}
	r2 := newRig(t, log, configs...)
	feed(r2)
	r2.stop()
	if sum, each := capital(r2); sum.Cmp(decimal.MustParse("30000")) != 0 {
		n, last := r2.desk.Problems()
		t.Fatalf("after the restart the agents' capital sums to %s (%s), want 30000 (%d problems, the last: %s)", sum, each, n, last)
	}
	var moved decimal.Decimal
	n := 0
	for _, m := range portfolioEvents[*streams.CapitalMove](t, log) {
		if m.Cause == rebalance.CommandID {
			moved, _ = moved.Add(m.Amount)
			n++
		}
	}
	if n != len(seqs) || !moved.IsZero() {
		t.Fatalf("the rebalance's moves on the log after the restart: %d summing to %s, want %d summing to 0", n, moved, len(seqs))
	}
	if n, last := r2.desk.Problems(); n != 0 {
		t.Fatalf("%d problems, the last: %s", n, last)
	}
	_, before := capital(r2)
	r3 := newRig(t, log, configs...)
	feed(r3)
	r3.stop()
	if _, after := capital(r3); after != before {
		t.Fatalf("a second restart: %s, want %s", after, before)
	}
	if moves := portfolioEvents[*streams.CapitalMove](t, log); len(moves) != len(seqs) {
		t.Fatalf("%d moves on the log after a second restart, want %d", len(moves), len(seqs))
	}
}

// A message of ORD that does not decode (a damaged store, a newer schema) is not passed over
// in silence by the rebuild: it is a problem, named.
func TestRebuildCountsWhatDoesNotDecode(t *testing.T) {
	log := openLog(t)
	if _, err := log.JS.Publish(context.Background(), "ord.atlas.binance.btcusdt.intent", []byte("{not json")); err != nil {
		t.Fatal(err)
	}
	r := newRig(t, log, testAgent("ATLAS"))
	r.stop()
	if n, last := r.desk.Problems(); n != 1 || !strings.Contains(last, "does not decode") {
		t.Fatalf("%d problems, the last: %s", n, last)
	}
}
