package actors

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/govalues/decimal"

	"github.com/synapse-trading/synapse/portfolio"
	"github.com/synapse-trading/synapse/portfolio/binance"
	"github.com/synapse-trading/synapse/streams"
	"github.com/synapse-trading/synapse/streams/binance/binancetest"
)

// fakeBinance is a local Binance that speaks the REST and WebSocket APIs on loopback.
func fakeBinance(t *testing.T, price decimal.Decimal) *binancetest.Server {
	t.Helper()
	srv := binancetest.NewServer(binancetest.Options{})
	t.Cleanup(srv.Close)
	srv.SetAccount(binancetest.Account{APIKey: "k", SecretKey: "s", Commission: decimal.MustParse("0.001"),
		Balances: map[string]decimal.Decimal{"USDT": decimal.MustParse("1000000")}})
	srv.SetSymbol(binancetest.Symbol{Name: "BTCUSDT", Base: "BTC", Quote: "USDT", Price: price, Parts: 3})
	return srv
}

func binanceVenue(srv *binancetest.Server) func(portfolio.Report) (portfolio.Venue, error) {
	return func(report portfolio.Report) (portfolio.Venue, error) {
		return binance.New(context.Background(), binance.Options{BaseURL: srv.URL(), StreamURL: srv.WebSocketAPIURL(), APIKey: "k", SecretKey: "s",
			MinBackoff: time.Millisecond, MaxBackoff: 20 * time.Millisecond}, report)
	}
}

func liveAgent(name string) AgentConfig {
	c := testAgent(name)
	c.Execution = "live"
	return c
}

// waitOrder waits until the log holds the order in the given status and returns it.
func waitOrder(t *testing.T, log *streams.Log, id string, status portfolio.Status) *portfolio.Order {
	t.Helper()
	var o *portfolio.Order
	checkFor(t, 10*time.Second, func() error {
		o = nil
		for _, ev := range orderLog(t, log) {
			if ev.ClientOrderID != id {
				continue
			}
			if o == nil {
				o, _ = portfolio.NewOrder(ev)
				continue
			}
			if _, err := o.Apply(ev); err != nil {
				return err
			}
		}
		if o == nil || o.Status != status {
			return fmt.Errorf("order %s: %v", id, o)
		}
		return nil
	})
	return o
}

// An agent trading live: the signal's order goes through the risk gate to the Binance
// adapter, and the fake's three partial fills come back over the user-data stream onto the
// log and into the agent's ledger.
func TestAgentTradesOnFakeBinance(t *testing.T) {
	ks := klines(t, 40)
	srv := fakeBinance(t, ks[31].Open)
	log := openLog(t)
	r := newRigWith(t, log, map[string]func(portfolio.Report) (portfolio.Venue, error){"live": binanceVenue(srv)}, liveAgent("ATLAS"))
	ctx := context.Background()
	for i, k := range ks[:31] {
		if err := r.clock.Feed(ctx, k); err != nil {
			t.Fatal(err)
		}
		if i == 30 {
			r.desk.Signal(signal(k, 0.9))
		}
		r.settle()
	}
	var id string
	checkFor(t, 5*time.Second, func() error {
		for _, ev := range orderLog(t, log) {
			if ev.Type == streams.OrderIntent {
				id = ev.ClientOrderID
				return nil
			}
		}
		return fmt.Errorf("no intent")
	})
	o := waitOrder(t, log, id, portfolio.StatusFilled)
	if o.Fills != 3 {
		t.Fatalf("%d fills, want the fake's 3 parts", o.Fills)
	}
	checkFor(t, 5*time.Second, func() error {
		if v := r.view("ATLAS"); len(v.Positions) == 0 || v.Positions[0].Qty.Cmp(o.Qty) != 0 {
			return fmt.Errorf("ATLAS holds %v", v.Positions)
		}
		return nil
	})
	if info, ok := srv.Order(id); !ok || info.ClientOrderID != id {
		t.Fatalf("the fake has no order %s", id)
	}
	r.stop()
}

// TestBinanceCrashAndReconcile stops the engine at each step of an order's life on Binance,
// changes what the venue holds while it is down, and restarts: every difference becomes an
// event on the log and the agent's ledger matches the venue.
func TestBinanceCrashAndReconcile(t *testing.T) {
	ks := klines(t, 40)
	price := ks[31].Open
	qty := decimal.MustParse("0.30000")
	for _, tc := range []struct {
		name string
		// before submits (or not) on a first venue and returns the events the engine had
		// recorded when it crashed; while changes the venue while the engine is down.
		limit     bool
		reached   bool // the order reached the venue before the crash
		recorded  []streams.OrderEventType
		whileDown func(srv *binancetest.Server, id string) error
		want      portfolio.Status
		filled    string
	}{
		{name: "submitted, never reached the venue", recorded: []streams.OrderEventType{streams.OrderIntent, streams.OrderSubmitted},
			want: portfolio.StatusExpired, filled: "0"},
		{name: "filled while down, no report recorded", reached: true, recorded: []streams.OrderEventType{streams.OrderIntent, streams.OrderSubmitted},
			want: portfolio.StatusFilled, filled: "0.3"},
		{name: "limit accepted, filled while down", limit: true, reached: true,
			recorded: []streams.OrderEventType{streams.OrderIntent, streams.OrderSubmitted, streams.OrderAccepted},
			whileDown: func(srv *binancetest.Server, id string) error {
				return srv.FillOrder(id, decimal.MustParse("0.20000"), price) // the rest of it
			},
			want: portfolio.StatusFilled, filled: "0.3"},
		{name: "limit partly filled, canceled outside while down", limit: true, reached: true,
			recorded:  []streams.OrderEventType{streams.OrderIntent, streams.OrderSubmitted, streams.OrderAccepted, streams.OrderFill},
			whileDown: func(srv *binancetest.Server, id string) error { return srv.CancelOutside(id) },
			want:      portfolio.StatusCanceled, filled: "0.1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := fakeBinance(t, price)
			log := openLog(t)
			ctx := context.Background()
			typ, p := streams.Market, decimal.Decimal{}
			if tc.limit {
				typ, p = streams.Limit, price
			}
			o, err := portfolio.NewOrder(&streams.OrderEvent{Type: streams.OrderIntent, ClientOrderID: streams.ClientOrderID("ATLAS", ks[0].Venue, "BTCUSDT", tc.name),
				Agent: "ATLAS", Venue: ks[0].Venue, Symbol: "BTCUSDT", Side: streams.Buy, OrderType: typ, Qty: qty, Price: p, Time: ks[30].CloseTime + 1})
			if err != nil {
				t.Fatal(err)
			}
			// The engine before the crash: a venue that got the order (or not), and the events
			// the engine had recorded of it.
			var mu sync.Mutex
			var reports []*streams.OrderEvent
			if tc.reached {
				v, err := binanceVenue(srv)(func(ev *streams.OrderEvent) { mu.Lock(); reports = append(reports, ev); mu.Unlock() })
				if err != nil {
					t.Fatal(err)
				}
				sub := o.Clone()
				sub.Status = portfolio.StatusSubmitted
				if err := v.Submit(ctx, sub); err != nil {
					t.Fatal(err)
				}
				if tc.limit {
					if err := srv.FillOrder(o.ClientOrderID, decimal.MustParse("0.1"), price); err != nil {
						t.Fatal(err)
					}
				}
				checkFor(t, 5*time.Second, func() error {
					mu.Lock()
					defer mu.Unlock()
					if len(reports) < 2 {
						return fmt.Errorf("%d reports", len(reports))
					}
					return nil
				})
				v.Close()
			}
			for _, step := range tc.recorded {
				ev := o.Event(step, ks[30].CloseTime+1)
				if step != streams.OrderIntent && step != streams.OrderSubmitted {
					mu.Lock()
					for _, rep := range reports {
						if rep.Type == step {
							ev = rep
							break
						}
					}
					mu.Unlock()
				}
				if err := log.Publish(ctx, ev); err != nil {
					t.Fatal(err)
				}
			}
			if err := log.Flush(ctx); err != nil {
				t.Fatal(err)
			}
			if tc.whileDown != nil {
				if err := tc.whileDown(srv, o.ClientOrderID); err != nil {
					t.Fatal(err)
				}
			}
			// The restart.
			r := newRigWith(t, log, map[string]func(portfolio.Report) (portfolio.Venue, error){"live": binanceVenue(srv)}, liveAgent("ATLAS"))
			defer r.stop()
			final := waitOrder(t, log, o.ClientOrderID, tc.want)
			if final.Filled.Cmp(decimal.MustParse(tc.filled)) != 0 {
				t.Fatalf("filled %s, want %s", final.Filled, tc.filled)
			}
			if tc.reached {
				info, _ := srv.Order(o.ClientOrderID)
				if info.Executed.Cmp(final.Filled) != 0 {
					t.Fatalf("the venue executed %s, the log says %s", info.Executed, final.Filled)
				}
			} else if _, ok := srv.Order(o.ClientOrderID); ok {
				t.Fatal("an order the engine expired reached the venue after the restart")
			}
			checkFor(t, 5*time.Second, func() error {
				v := r.view("ATLAS")
				held := decimal.Decimal{}
				if len(v.Positions) > 0 {
					held = v.Positions[0].Qty
				}
				if held.Cmp(final.Filled) != 0 {
					return fmt.Errorf("ATLAS holds %s, the order filled %s", held, final.Filled)
				}
				return v.Totals.Identity()
			})
		})
	}
}

// The balances are reconciled too: the first start records them as a baseline; after a
// restart they are compared with the baseline plus the engine's own fills since, and what a
// user did on the website while the engine was down is the difference, asset by asset.
func TestBinanceBalancesAreReconciled(t *testing.T) {
	ks := klines(t, 40)
	price := ks[31].Open
	srv := fakeBinance(t, price)
	log := openLog(t)
	venues := map[string]func(portfolio.Report) (portfolio.Venue, error){"live": binanceVenue(srv)}
	checks := func() []*streams.BalanceCheck { return portfolioEvents[*streams.BalanceCheck](t, log) }
	r := newRigWith(t, log, venues, liveAgent("ATLAS"))
	ctx := context.Background()
	for i, k := range ks[:31] { // the engine trades: its own fills move the balances
		if err := r.clock.Feed(ctx, k); err != nil {
			t.Fatal(err)
		}
		if i == 30 {
			r.desk.Signal(signal(k, 0.9))
		}
		r.settle()
	}
	checkFor(t, 10*time.Second, func() error {
		if v := r.view("ATLAS"); v.Fills < 3 {
			return fmt.Errorf("%d fills", v.Fills)
		}
		return nil
	})
	r.stop()
	if c := checks(); len(c) != 1 || !c[0].Baseline {
		t.Fatalf("after the first start: %+v, want one baseline", c)
	}
	// While the engine is down a user buys 0.2 BTC on the website.
	before := srv.Balances()
	id, err := srv.PlaceOutside("BTCUSDT", "BUY", decimal.MustParse("0.2"), price)
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.FillOrder(id, decimal.MustParse("0.2"), price); err != nil {
		t.Fatal(err)
	}
	after := srv.Balances()
	r2 := newRigWith(t, log, venues, liveAgent("ATLAS"))
	defer r2.stop()
	var c []*streams.BalanceCheck
	checkFor(t, 10*time.Second, func() error {
		if c = checks(); len(c) < 2 {
			return fmt.Errorf("%d balance checks", len(c))
		}
		return nil
	})
	got := c[1]
	if got.Baseline || len(got.Differences) == 0 {
		t.Fatalf("second check %+v", got)
	}
	for asset, b := range after {
		total, _ := b.Free.Add(b.Locked)
		was, _ := before[asset].Free.Add(before[asset].Locked)
		want, _ := total.Sub(was)
		if got.Differences[asset].Cmp(want) != 0 {
			t.Errorf("%s: difference %s, the website trade moved it by %s", asset, got.Differences[asset], want)
		}
	}
}
