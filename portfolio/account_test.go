package portfolio

import (
	"fmt"
	"testing"

	"github.com/govalues/decimal"

	"github.com/synapse-trading/synapse/streams"
)

func fill(side streams.Side, qty, price, fee string, id string) *streams.OrderEvent {
	return &streams.OrderEvent{Type: streams.OrderFill, ClientOrderID: "syn-x", Agent: "ATLAS", Venue: "paper", Symbol: "BTCUSDT",
		Side: side, OrderType: streams.Market, Qty: decimal.MustParse(qty), TradeID: id,
		FillQty: decimal.MustParse(qty), FillPrice: decimal.MustParse(price), Fee: decimal.MustParse(fee)}
}

func TestAccountRealizesAgainstAverageCost(t *testing.T) {
	a := NewAccount("ATLAS", decimal.MustParse("10000"))
	steps := []*streams.OrderEvent{
		fill(streams.Buy, "0.1", "60000", "6", "1"),      // cost 6000
		fill(streams.Buy, "0.05", "63000", "3.15", "2"),  // cost 3150, avg 61000
		fill(streams.Sell, "0.06", "62000", "3.72", "3"), // realizes 0.06 × (62000 − 61000) = 60
	}
	for _, f := range steps {
		if err := a.Fill(f); err != nil {
			t.Fatal(err)
		}
		if err := a.Totals().Identity(); err != nil {
			t.Fatal(err)
		}
	}
	p := a.Position("paper", "BTCUSDT")
	if !eq(p.Qty, "0.09") || !eq(p.Realized, "60") || !eq(p.AvgCost(), "61000") {
		t.Fatalf("position %+v avg %s", p, p.AvgCost())
	}
	if tot := a.Totals(); !eq(tot.Cash, "4557.13") || !eq(tot.Fees, "12.87") || !eq(tot.Equity, "10137.13") {
		// cash 10000 − 6000 − 6 − 3150 − 3.15 + 3720 − 3.72; equity = cash + 0.09 × 62000; peak 10290.85 at 63000
		t.Fatalf("totals %+v", tot)
	}
	if !a.Mark("paper", "BTCUSDT", decimal.MustParse("50000")) {
		t.Fatal("mark ignored")
	}
	tot := a.Totals()
	if !eq(tot.Unrealized, "-990") || !eq(tot.Drawdown, "0.119885") {
		t.Fatalf("after mark: %+v", tot)
	}
	if err := tot.Identity(); err != nil {
		t.Fatal(err)
	}
}

func TestAccountFlipsAndKeepsTheIdentityWithRounding(t *testing.T) {
	a := NewAccount("NOVA", decimal.MustParse("1000"))
	steps := []*streams.OrderEvent{
		fill(streams.Buy, "0.333", "3.33333333", "0.00111", "1"),
		fill(streams.Buy, "0.777", "3.1", "0.0024087", "2"),
		fill(streams.Sell, "1.5", "3.21987654", "0.00482981", "3"), // closes 1.11, opens 0.39 short
		fill(streams.Buy, "0.13", "2.9", "0.000377", "4"),
	}
	for _, f := range steps {
		if err := a.Fill(f); err != nil {
			t.Fatal(err)
		}
		if err := a.Totals().Identity(); err != nil {
			t.Fatalf("after trade %s: %v", f.TradeID, err)
		}
	}
	p := a.Position("paper", "BTCUSDT")
	if !eq(p.Qty, "-0.26") {
		t.Fatalf("qty %s", p.Qty)
	}
	a.Mark("paper", "BTCUSDT", decimal.MustParse("3.7777777"))
	if err := a.Totals().Identity(); err != nil {
		t.Fatal(err)
	}
}

func TestAccountRejectsWhatItCannotBook(t *testing.T) {
	a := NewAccount("ORION", decimal.MustParse("100"))
	bad := fill("HOLD", "1", "1", "0", "1")
	if err := a.Fill(bad); err == nil {
		t.Fatal("booked a fill with side HOLD")
	}
	if !eq(a.Totals().Cash, "100") || len(a.Positions()) != 0 {
		t.Fatal("a rejected fill changed the account")
	}
}

func TestOrderLifecycle(t *testing.T) {
	intent := &streams.OrderEvent{Type: streams.OrderIntent, ClientOrderID: "syn-a", Agent: "ATLAS", Venue: "paper", Symbol: "BTCUSDT",
		Side: streams.Buy, OrderType: streams.Limit, Qty: decimal.MustParse("1"), Price: decimal.MustParse("10"), Time: 1}
	o, err := NewOrder(intent)
	if err != nil {
		t.Fatal(err)
	}
	step := func(ev *streams.OrderEvent, want Status, ok bool) {
		t.Helper()
		_, err := o.Apply(ev)
		if (err == nil) != ok || o.Status != want {
			t.Fatalf("%s: err %v, status %s (want %s)", ev.Type, err, o.Status, want)
		}
	}
	step(o.Event(streams.OrderAccepted, 2), StatusAccepted, true)
	step(o.Event(streams.OrderSubmitted, 2), StatusAccepted, false) // cannot go back
	f := o.Event(streams.OrderFill, 3)
	f.TradeID, f.FillQty, f.FillPrice = "t1", decimal.MustParse("0.4"), decimal.MustParse("10")
	step(f, StatusPartiallyFilled, true)
	step(f, StatusPartiallyFilled, true) // the same trade again: ignored
	if !eq(o.Filled, "0.4") {
		t.Fatalf("filled %s after a repeated fill", o.Filled)
	}
	big := *f
	big.TradeID, big.FillQty = "t2", decimal.MustParse("0.7")
	step(&big, StatusPartiallyFilled, false) // overfill
	step(o.Event(streams.OrderCanceled, 4), StatusCanceled, true)
	late := *f
	late.TradeID = "t3" // raced the cancel: booked, status stays canceled
	step(&late, StatusCanceled, true)
	if !eq(o.Filled, "0.8") || !eq(o.AvgPrice(), "10") {
		t.Fatalf("filled %s avg %s", o.Filled, o.AvgPrice())
	}
	step(o.Event(streams.OrderRejected, 5), StatusCanceled, false)
}

// An order's notional is what the ledger booked for its fills, each fill's qty × price at
// the money scale: the orders and the positions read models agree to the last digit.
func TestOrderNotionalIsTheLedgersCost(t *testing.T) {
	intent := &streams.OrderEvent{Type: streams.OrderIntent, ClientOrderID: "syn-n", Agent: "NOVA", Venue: "paper", Symbol: "ETHUSDT",
		Side: streams.Buy, OrderType: streams.Market, Qty: decimal.MustParse("0.52914"), Time: 1}
	o, err := NewOrder(intent)
	if err != nil {
		t.Fatal(err)
	}
	a := NewAccount("NOVA", decimal.MustParse("10000"))
	for i, part := range [][2]string{{"0.26457", "1908.088306"}, {"0.26457", "1908.123457"}} { // 11 decimals each
		f := o.Event(streams.OrderFill, int64(2+i))
		f.TradeID, f.FillQty, f.FillPrice = fmt.Sprint("t", i), decimal.MustParse(part[0]), decimal.MustParse(part[1])
		if _, err := o.Apply(f); err != nil {
			t.Fatal(err)
		}
		if err := a.Fill(f); err != nil {
			t.Fatal(err)
		}
	}
	if cost := a.Position("paper", "ETHUSDT").Cost; o.Notional.Cmp(cost) != 0 || !eq(cost, "1009.65514614") {
		t.Fatalf("order notional %s, ledger cost %s", o.Notional, cost)
	}
}

func TestClientOrderIDIsDeterministicAndFitsBinance(t *testing.T) {
	a := streams.ClientOrderID("ATLAS", "paper", "BTCUSDT", "sig.ensemble.binance.btcusdt.1.1700000000000")
	b := streams.ClientOrderID("atlas", "PAPER", "btcusdt", "sig.ensemble.binance.btcusdt.1.1700000000000")
	c := streams.ClientOrderID("ATLAS", "paper", "BTCUSDT", "sig.ensemble.binance.btcusdt.1.1700000060000")
	if a != b || a == c || len(a) > 36 {
		t.Fatalf("ids %s %s %s", a, b, c)
	}
}

func eq(d decimal.Decimal, want string) bool { return d.Cmp(decimal.MustParse(want)) == 0 }

// A capital move changes capital, cash and equity by its amount and measures the drawdown
// afresh; AfterMove says beforehand exactly what Totals will then say, and fails where Move
// fails, which leaves the account as it was.
func TestMoveAndAfterMove(t *testing.T) {
	a := NewAccount("ATLAS", decimal.MustParse("10000"))
	if err := a.Fill(fill(streams.Buy, "0.1", "60000", "6", "1")); err != nil {
		t.Fatal(err)
	}
	a.Mark("paper", "BTCUSDT", decimal.MustParse("55000")) // equity 9494, below its peak
	for _, amount := range []string{"-1500.25", "2000.125"} {
		want, err := a.Totals().AfterMove(decimal.MustParse(amount))
		if err != nil {
			t.Fatal(err)
		}
		if err := a.Move(decimal.MustParse(amount)); err != nil {
			t.Fatal(err)
		}
		got := a.Totals()
		if got != want || !got.Drawdown.IsZero() || got.Peak.Cmp(got.Equity) != 0 {
			t.Errorf("after moving %s: %+v, AfterMove said %+v", amount, got, want)
		}
		if err := got.Identity(); err != nil {
			t.Error(err)
		}
	}
	if c := a.Totals().Capital.String(); c != "10499.875" {
		t.Errorf("capital %s, want 10499.875", c)
	}
	before := a.Totals()
	huge := decimal.MustParse("9999999999999999999")
	if _, err := before.AfterMove(huge); err == nil {
		t.Error("AfterMove of an amount the ledger cannot hold: no error")
	}
	if err := a.Move(huge); err == nil || a.Totals() != before {
		t.Errorf("Move of an amount the ledger cannot hold: %v, account %+v (was %+v)", err, a.Totals(), before)
	}
}
