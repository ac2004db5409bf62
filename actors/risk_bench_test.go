package actors

import (
	"fmt"
	"strconv"
	"testing"

	"github.com/govalues/decimal"

	"github.com/synapse-trading/synapse/portfolio"
	"github.com/synapse-trading/synapse/streams"
)

// benchGate returns a gate for three agents with a market price and open orders open
// orders spread over them.
func benchGate(b *testing.B, open int) (*Gate, decimal.Decimal) {
	b.Helper()
	var agents []*Agent
	for _, name := range []string{"ATLAS", "ORION", "NOVA"} {
		c := testAgent(name)
		c.Risk.MaxOpenOrders, c.Risk.OrdersPerMinute = 1_000_000, 1_000_000_000
		a, err := ParseAgent(c)
		if err != nil {
			b.Fatal(err)
		}
		agents = append(agents, a)
	}
	g := NewGate(agents, 0)
	price := decimal.MustParse("20000.50")
	g.Price(&streams.Trade{Venue: "binance", Symbol: "BTCUSDT", Price: price, Qty: decimal.One, Time: 1})
	for i := range open {
		o := benchOrder(b, agents[i%3].Name, "open-"+strconv.Itoa(i), streams.Buy, 1)
		o.Status = portfolio.StatusAccepted
		g.Passed(o)
	}
	return g, price
}

func benchOrder(b *testing.B, agent, id string, side streams.Side, t int64) *portfolio.Order {
	o, err := portfolio.NewOrder(&streams.OrderEvent{Type: streams.OrderIntent, ClientOrderID: id, Agent: agent, Venue: "binance",
		Symbol: "BTCUSDT", Side: side, OrderType: streams.Market, Qty: decimal.MustParse("0.0123"), Time: t})
	if err != nil {
		b.Fatal(err)
	}
	return o
}

// The pre-trade checks of one intent, with 0 and 64 orders open at the gate.
func BenchmarkGateCheck(b *testing.B) {
	for _, open := range []int{0, 64} {
		b.Run(fmt.Sprintf("open=%d", open), func(b *testing.B) {
			g, price := benchGate(b, open)
			o := benchOrder(b, "ORION", "intent", streams.Buy, 2)
			b.ReportAllocs()
			for b.Loop() {
				if check, why := g.Check(o, price); check != "" {
					b.Fatal(check, why)
				}
			}
		})
	}
}

// One order's whole way through the gate: checked, passed, accepted and filled (buys and
// sells in turn, so the position stays within its limit).
func BenchmarkGateOrderCycle(b *testing.B) {
	g, price := benchGate(b, 0)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		i++
		side := streams.Buy
		if i%2 == 0 {
			side = streams.Sell
		}
		o := benchOrder(b, "NOVA", "order-"+strconv.Itoa(i), side, int64(i))
		if check, why := g.Check(o, price); check != "" {
			b.Fatal(check, why)
		}
		o.Status = portfolio.StatusSubmitted
		g.Passed(o)
		g.Report(o.Event(streams.OrderAccepted, o.Created))
		fill := o.Event(streams.OrderFill, o.Created)
		fill.TradeID, fill.FillQty, fill.FillPrice, fill.CumQty = strconv.Itoa(i), o.Qty, price, o.Qty
		g.Report(fill)
	}
	if len(g.orders) != 0 {
		b.Fatalf("%d orders still open at the gate after their fills", len(g.orders))
	}
}
