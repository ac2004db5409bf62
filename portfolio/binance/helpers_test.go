package binance

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/govalues/decimal"

	"github.com/synapse-trading/synapse/portfolio"
	"github.com/synapse-trading/synapse/streams"
	"github.com/synapse-trading/synapse/streams/binance/binancetest"
)

// The keys the fake expects; TestKeysNeverLogged looks for them in every log line and error.
const (
	testKey    = "tk-5fN2pQ8vX1mZ7rL3"
	testSecret = "ts-9hJ4wK6yB2cD8eF0"
)

func dec(s string) decimal.Decimal { return decimal.MustParse(s) }

// checkFor polls cond until it holds or the deadline passes.
func checkFor(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("after %v: %s", within, what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// newFake starts a fake Binance with an account of 100000 USDT and 2 BTC, a 0.1% fee in
// the asset received, and BTCUSDT market orders filling at 50000 in 3 parts.
func newFake(t *testing.T) *binancetest.Server {
	t.Helper()
	srv := binancetest.NewServer(binancetest.Options{})
	t.Cleanup(srv.Close)
	srv.SetAccount(binancetest.Account{APIKey: testKey, SecretKey: testSecret, Commission: dec("0.001"),
		Balances: map[string]decimal.Decimal{"USDT": dec("100000"), "BTC": dec("2")}})
	srv.SetSymbol(binancetest.Symbol{Name: "BTCUSDT", Base: "BTC", Quote: "USDT", Price: dec("50000"), Parts: 3})
	return srv
}

// logBuffer is a log sink safe for the venue's goroutines.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// testOptions point a venue at the fake, with quick reconnects and a debug-level JSON log.
func testOptions(srv *binancetest.Server, logs *logBuffer) Options {
	return Options{
		BaseURL: srv.URL(), StreamURL: srv.WebSocketAPIURL(), APIKey: testKey, SecretKey: testSecret,
		MinBackoff: time.Millisecond, MaxBackoff: 20 * time.Millisecond,
		Logger: slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}
}

// engine stands in for the engine: it checks every report and folds it into its own copy
// of the order with Order.Apply, as the engine does, recording any transition it refuses.
type engine struct {
	mu     sync.Mutex
	events []*streams.OrderEvent
	orders map[string]*portfolio.Order
	errs   []error
}

func newEngine() *engine { return &engine{orders: map[string]*portfolio.Order{}} }

func (e *engine) report(ev *streams.OrderEvent) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.events = append(e.events, ev)
	if err := ev.Check(); err != nil {
		e.errs = append(e.errs, err)
	}
	if o := e.orders[ev.ClientOrderID]; o != nil {
		if _, err := o.Apply(ev); err != nil {
			e.errs = append(e.errs, err)
		}
	}
}

// order makes an order as the engine would (intent, submitted) and returns the engine's
// copy's ID and a separate copy to hand to the venue.
func (e *engine) order(t *testing.T, key string, side streams.Side, typ streams.OrderType, qty, price string) *portfolio.Order {
	t.Helper()
	intent := &streams.OrderEvent{Type: streams.OrderIntent, ClientOrderID: streams.ClientOrderID("alpha", Name, "BTCUSDT", key),
		Agent: "alpha", Venue: Name, Symbol: "BTCUSDT", Side: side, OrderType: typ, Qty: dec(qty), Time: time.Now().UnixMilli()}
	if typ == streams.Limit {
		intent.Price = dec(price)
	}
	mine, err := portfolio.NewOrder(intent)
	if err != nil {
		t.Fatal(err)
	}
	theirs, _ := portfolio.NewOrder(intent)
	for _, o := range []*portfolio.Order{mine, theirs} {
		if _, err := o.Apply(o.Event(streams.OrderSubmitted, intent.Time)); err != nil {
			t.Fatal(err)
		}
	}
	e.mu.Lock()
	e.orders[mine.ClientOrderID] = mine
	e.mu.Unlock()
	return theirs
}

// state returns the engine's view of an order: status, filled, fees, reason.
func (e *engine) state(id string) (portfolio.Status, decimal.Decimal, decimal.Decimal, string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	o := e.orders[id]
	return o.Status, o.Filled, o.Fees, o.Reason
}

// snapshot returns a copy of the engine's order for Reconcile (as the log would rebuild it).
func (e *engine) snapshot(t *testing.T, id string) *portfolio.Order {
	t.Helper()
	e.mu.Lock()
	defer e.mu.Unlock()
	o := e.orders[id]
	c, err := portfolio.NewOrder(&streams.OrderEvent{Type: streams.OrderIntent, ClientOrderID: o.ClientOrderID, Agent: o.Agent,
		Venue: o.Venue, Symbol: o.Symbol, Side: o.Side, OrderType: o.Type, Qty: o.Qty, Price: o.Price, Time: o.Created})
	if err != nil {
		t.Fatal(err)
	}
	for _, ev := range e.events {
		if ev.ClientOrderID == id {
			c.Apply(ev)
		}
	}
	if c.Status == portfolio.StatusIntent {
		c.Apply(c.Event(streams.OrderSubmitted, o.Created))
	}
	return c
}

// of returns the reports of one order of type typ (all types when typ is "").
func (e *engine) of(id string, typ streams.OrderEventType) []*streams.OrderEvent {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []*streams.OrderEvent
	for _, ev := range e.events {
		if ev.ClientOrderID == id && (typ == "" || ev.Type == typ) {
			out = append(out, ev)
		}
	}
	return out
}

// tradeCounts counts the fill reports of an order by trade ID.
func (e *engine) tradeCounts(id string) map[string]int {
	out := map[string]int{}
	for _, ev := range e.of(id, streams.OrderFill) {
		out[ev.TradeID]++
	}
	return out
}

// check fails the test on any report the engine refused.
func (e *engine) check(t *testing.T) {
	t.Helper()
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, err := range e.errs {
		t.Errorf("the engine refused a report: %v", err)
	}
}

// describe lists an order's reports, for failure messages.
func (e *engine) describe(id string) string {
	var parts []string
	for _, ev := range e.of(id, "") {
		s := string(ev.Type)
		if ev.Type == streams.OrderFill {
			s += fmt.Sprintf("(%s %s@%s cum %s)", ev.TradeID, ev.FillQty, ev.FillPrice, ev.CumQty)
		}
		if ev.Source != "" {
			s += "[" + ev.Source + "]"
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, " ")
}

// open starts a venue on the fake reporting to e, closed when the test ends.
func open(t *testing.T, opts Options, e *engine) *Venue {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	v, err := New(ctx, opts, e.report)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { v.Close() })
	return v
}
