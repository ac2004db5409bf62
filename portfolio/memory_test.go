package portfolio_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/govalues/decimal"

	"github.com/synapse-trading/synapse/portfolio"
	"github.com/synapse-trading/synapse/portfolio/readmodeltest"
	"github.com/synapse-trading/synapse/streams"
)

func openMemory(t *testing.T, log *streams.Log) (portfolio.ReadModel, func(context.Context) error) {
	m := readmodeltest.Memory(t, log)
	return m, func(ctx context.Context) error { return m.Wait(ctx, log.JS) }
}

func TestMemoryConformance(t *testing.T) { readmodeltest.Run(t, openMemory) }

func intentOf(agent, venue, symbol string, side streams.Side, qty string, key string, t int64) *streams.OrderEvent {
	return &streams.OrderEvent{Type: streams.OrderIntent, ClientOrderID: streams.ClientOrderID(agent, venue, symbol, key), Agent: agent,
		Venue: venue, Symbol: symbol, Side: side, OrderType: streams.Market, Qty: decimal.MustParse(qty), Time: t}
}

func fillOf(intent *streams.OrderEvent, trade, qty, price, fee string, t int64) *streams.OrderEvent {
	f := *intent
	f.Type, f.TradeID, f.FillQty, f.FillPrice, f.Fee, f.Time = streams.OrderFill, trade, decimal.MustParse(qty), decimal.MustParse(price), decimal.MustParse(fee), t
	return &f
}

func TestMemoryApplySequences(t *testing.T) {
	ctx := context.Background()
	m := portfolio.NewMemory()
	in := intentOf("ATLAS", "binance", "BTCUSDT", streams.Buy, "0.5", "k1", 1000)
	if err := m.Apply(streams.StreamOrders, 1, in); err != nil {
		t.Fatal(err)
	}
	f := fillOf(in, "t1", "0.2", "60000", "12", 1100)
	if err := m.Apply(streams.StreamOrders, 2, f); err != nil {
		t.Fatal(err)
	}
	// the same sequence again, or an older one, was folded in already: nothing changes
	g := fillOf(in, "t2", "0.3", "60100", "18.03", 1200)
	for _, seq := range []uint64{2, 1} {
		if err := m.Apply(streams.StreamOrders, seq, g); err != nil {
			t.Fatal(err)
		}
	}
	page, _ := m.Fills(ctx, portfolio.FillQuery{})
	if page.Total != 1 {
		t.Fatalf("%d fills after replaying old sequences, want 1", page.Total)
	}
	// a fill without its intent, and a fill too big for its order: errors, counted, the sequence moves
	ghost := fillOf(intentOf("ATLAS", "binance", "BTCUSDT", streams.Buy, "1", "k2", 1300), "t3", "1", "60000", "0", 1300)
	if err := m.Apply(streams.StreamOrders, 3, ghost); !errors.Is(err, portfolio.ErrTransition) {
		t.Errorf("fill without intent: %v, want ErrTransition", err)
	}
	if err := m.Apply(streams.StreamOrders, 4, fillOf(in, "t4", "0.4", "60000", "0", 1400)); !errors.Is(err, portfolio.ErrTransition) {
		t.Errorf("overfill: %v, want ErrTransition", err)
	}
	if n, last := m.Problems(); n != 2 || last == "" {
		t.Errorf("problems %d %q, want 2", n, last)
	}
	applied, _ := m.Applied(ctx)
	if applied[streams.StreamOrders] != 4 || applied[streams.StreamPortfolio] != 0 || applied[streams.StreamCommands] != 0 {
		t.Errorf("applied %v, want ORD 4, PF 0, CMD 0", applied)
	}
	if err := m.Apply(streams.StreamMarketData, 1, in); !errors.Is(err, streams.ErrBadEvent) {
		t.Errorf("a market-data stream: %v, want ErrBadEvent", err)
	}
	if err := m.Apply(streams.StreamPortfolio, 1, &streams.EquitySnapshot{Time: 5}); !errors.Is(err, streams.ErrBadEvent) {
		t.Errorf("a snapshot without an agent: %v, want ErrBadEvent", err)
	}
	// commands move only the sequence
	if err := m.Apply(streams.StreamCommands, 7, &streams.Command{Name: "agents.halt", CommandID: "x"}); err != nil {
		t.Fatal(err)
	}
	if applied, _ := m.Applied(ctx); applied[streams.StreamCommands] != 7 {
		t.Errorf("applied CMD %d, want 7", applied[streams.StreamCommands])
	}
}

// The positions of the read model are those of an Account fed the same fills, whatever the
// order of buys and sells (opening, adding, reducing, flipping).
func TestMemoryPositionsEqualAccount(t *testing.T) {
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(7, 11))
	m := portfolio.NewMemory()
	acc := portfolio.NewAccount("ATLAS", decimal.MustParse("10000"))
	symbols := []string{"BTCUSDT", "ETHUSDT", "SOLUSDT"}
	var seq uint64
	for i := range 400 {
		side := streams.Buy
		if rng.IntN(2) == 0 {
			side = streams.Sell
		}
		sym := symbols[rng.IntN(len(symbols))]
		qty := decimal.MustNew(int64(1+rng.IntN(5000)), 3)
		price := decimal.MustNew(int64(100_00+rng.IntN(10_000_00)), 2)
		fee := decimal.MustNew(int64(rng.IntN(1000)), 4)
		in := intentOf("ATLAS", "binance", sym, side, qty.String(), fmt.Sprint(i), int64(1000+i))
		f := fillOf(in, fmt.Sprint("t", i), qty.String(), price.String(), fee.String(), int64(1000+i))
		for _, ev := range []*streams.OrderEvent{in, f} {
			seq++
			if err := m.Apply(streams.StreamOrders, seq, ev); err != nil {
				t.Fatal(err)
			}
		}
		if err := acc.Fill(f); err != nil {
			t.Fatal(err)
		}
	}
	got, _ := m.Positions(ctx, "ATLAS")
	want := acc.Positions()
	if len(got) != len(want) {
		t.Fatalf("%d positions, want %d", len(got), len(want))
	}
	for i := range want {
		g, w := got[i], want[i]
		if g.Venue != w.Venue || g.Symbol != w.Symbol || g.Qty.String() != w.Qty.String() || g.Cost.String() != w.Cost.String() ||
			g.Realized.String() != w.Realized.String() || g.Fees.String() != w.Fees.String() || g.Mark.String() != w.Mark.String() || g.Fills != w.Fills {
			t.Errorf("position %d: %+v, want %+v", i, g, w)
		}
	}
	sums, _ := m.Agents(ctx)
	if len(sums) != 1 || sums[0].Realized.String() != acc.Totals().Realized.String() || sums[0].Fees.String() != acc.Totals().Fees.String() {
		t.Errorf("summary %+v, account totals %+v", sums, acc.Totals())
	}
}

// Follow stops with nil when its context ends, and Wait returns ctx's error when the model
// is not following.
func TestMemoryFollowStops(t *testing.T) {
	log, err := streams.Open(context.Background(), streams.Options{DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer log.Close()
	if err := log.Publish(context.Background(), intentOf("ATLAS", "binance", "BTCUSDT", streams.Buy, "1", "k", 1)); err != nil {
		t.Fatal(err)
	}
	if err := log.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	m := portfolio.NewMemory()
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := m.Wait(ctx, log.JS); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("wait without follow: %v, want the deadline", err)
	}
	ctx, cancel = context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- m.Follow(ctx, log.JS) }()
	wctx, wcancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer wcancel()
	if err := m.Wait(wctx, log.JS); err != nil {
		t.Fatal(err)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("follow: %v, want nil", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("follow did not stop")
	}
}
