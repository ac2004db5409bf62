package readmodeltest

import (
	"encoding/json"
	"strings"

	"github.com/govalues/decimal"
	"github.com/nats-io/nats.go"

	"github.com/synapse-trading/synapse/streams"
)

// T0 is the start of the scenario's market time: 2024-08-09T00:00:00Z, an hour boundary.
const T0 int64 = 1723161600000

const (
	minute = int64(60_000)
	hour   = 60 * minute
)

// item is one message of the scenario: an event published as it is, an event published under
// another Nats-Msg-Id (a resend after the dedup window: the log keeps both), or a raw message
// that does not decode.
type item struct {
	ev    streams.Event
	msgID string    // "" : the event's own ID
	raw   *nats.Msg // a message that is not a valid event
}

func (it item) msg() (*nats.Msg, error) {
	if it.raw != nil {
		return it.raw, nil
	}
	m, err := streams.Encode(it.ev)
	if err != nil {
		return nil, err
	}
	if it.msgID != "" {
		m.Header.Set(nats.MsgIdHdr, it.msgID)
	}
	return m, nil
}

func dec(s string) decimal.Decimal { return decimal.MustParse(s) }

// order builds the events of one order: each step copies the intent's description.
type order struct{ intent streams.OrderEvent }

func newOrder(agent, venue, symbol string, side streams.Side, typ streams.OrderType, qty, price, key string, t int64) *order {
	o := &order{intent: streams.OrderEvent{Type: streams.OrderIntent, ClientOrderID: streams.ClientOrderID(agent, venue, symbol, key),
		Agent: agent, Venue: venue, Symbol: symbol, Side: side, OrderType: typ, Qty: dec(qty),
		Reason: "ensemble 1 p=0.6120 confidence=0.7411", Time: t}}
	if price != "" {
		o.intent.Price = dec(price)
	}
	return o
}

func (o *order) at(t int64) item { ev := o.intent; ev.Time = t; return item{ev: &ev} }

func (o *order) step(typ streams.OrderEventType, venueID, reason string, t int64) item {
	ev := o.intent
	ev.Type, ev.VenueOrderID, ev.Reason, ev.Time = typ, venueID, reason, t
	return item{ev: &ev}
}

func (o *order) fill(venueID, tradeID, qty, price, fee string, maker bool, cum string, t int64) item {
	ev := o.intent
	ev.Type, ev.VenueOrderID, ev.Reason, ev.Time = streams.OrderFill, venueID, "", t
	ev.TradeID, ev.FillQty, ev.FillPrice, ev.Fee, ev.Maker, ev.CumQty = tradeID, dec(qty), dec(price), dec(fee), maker, dec(cum)
	return item{ev: &ev}
}

func equity(agent string, t int64, capital, cash, eq, exposure, realized, unrealized, fees, drawdown string) item {
	return item{ev: &streams.EquitySnapshot{Agent: agent, Time: t, Capital: dec(capital), Cash: dec(cash), Equity: dec(eq),
		Exposure: dec(exposure), Realized: dec(realized), Unrealized: dec(unrealized), Fees: dec(fees), Drawdown: dec(drawdown)}}
}

// marked gives an equity snapshot the marks of positions, as of markTime; each mark is
// "venue symbol price".
func marked(it item, markTime int64, marks ...string) item {
	s := it.ev.(*streams.EquitySnapshot)
	s.MarkTime = markTime
	for _, m := range marks {
		f := strings.Fields(m)
		s.Marks = append(s.Marks, streams.Mark{Venue: f[0], Symbol: f[1], Price: dec(f[2])})
	}
	return it
}

func command(name, id string, args any, t int64) item {
	data, _ := json.Marshal(args)
	return item{ev: &streams.Command{Name: name, CommandID: id, Args: data, Time: t, Issuer: "trader"}}
}

func state(agent string, s, prev streams.AgentState, reason, cause string, cmdSeq uint64, eq, dd string, t int64) item {
	return item{ev: &streams.AgentEvent{Agent: agent, State: s, Previous: prev, Reason: reason, Equity: dec(eq), Drawdown: dec(dd),
		Time: t, Cause: cause, CommandSeq: cmdSeq}}
}

// scenario is the fixed set of events the suite publishes, in two phases: three agents
// (ATLAS, ORION, NOVA) trading BTCUSDT, ETHUSDT and SOLUSDT on binance and binance-um, and a
// fourth (VEGA) seen only in one equity snapshot. It covers every order status, a fill before
// the ack, partial fills, two fills with the same time, a fill that races a cancel, a long
// closed in two fills, a long flipped short, a venue report resent after the dedup window, a
// fill of a rejected order, a fill without an intent, a payload that does not decode, agent
// state changes by command and by the kill switch, an equity snapshot published twice for one
// hour (the last one wins), and capital moves: an allocation to VEGA before its first
// snapshot, a rebalance of ATLAS, ORION and NOVA (one of its moves resent past the dedup
// window), a snapshot of ORION after it, a distribution from ATLAS and ORION, and a move
// without a cause (skipped).
func scenario() (phase1, phase2 []item) {
	const bn, um = "binance", "binance-um"
	a1 := newOrder("ATLAS", bn, "BTCUSDT", streams.Buy, streams.Market, "0.02500", "", "sig-1", T0+1*minute)
	o1 := newOrder("ORION", um, "ETHUSDT", streams.Buy, streams.Limit, "1.200", "2650.50", "sig-2", T0+5*minute)
	o2 := newOrder("ORION", um, "ETHUSDT", streams.Buy, streams.Market, "0.800", "", "sig-3", T0+10*minute)
	n1 := newOrder("NOVA", bn, "SOLUSDT", streams.Buy, streams.Limit, "20", "140.00", "sig-4", T0+20*minute)
	n2 := newOrder("NOVA", bn, "SOLUSDT", streams.Buy, streams.Market, "25", "", "sig-5", T0+25*minute)
	a2 := newOrder("ATLAS", bn, "BTCUSDT", streams.Sell, streams.Limit, "0.01000", "62500.00", "sig-6", T0+30*minute)
	a3 := newOrder("ATLAS", bn, "ETHUSDT", streams.Buy, streams.Limit, "0.5000", "2600.00", "sig-7", T0+40*minute)
	a4 := newOrder("ATLAS", um, "SOLUSDT", streams.Sell, streams.Market, "10", "", "sig-8", T0+50*minute)
	o3 := newOrder("ORION", um, "ETHUSDT", streams.Sell, streams.Market, "0.800", "", "sig-9", T0+70*minute)
	n3 := newOrder("NOVA", bn, "SOLUSDT", streams.Sell, streams.Market, "30", "", "sig-10", T0+80*minute)
	o4 := newOrder("ORION", um, "BTCUSDT", streams.Buy, streams.Limit, "0.002", "60000.00", "sig-11", T0+90*minute)
	n4 := newOrder("NOVA", um, "BTCUSDT", streams.Buy, streams.Limit, "0.001", "59000.00", "sig-12", T0+90*minute)
	a5 := newOrder("ATLAS", bn, "ETHUSDT", streams.Buy, streams.Limit, "0.2500", "2640.00", "sig-13", T0+130*minute)

	ghost := newOrder("ATLAS", bn, "BTCUSDT", streams.Buy, streams.Market, "0.01000", "", "never-intended", T0+45*minute)
	garbage := &nats.Msg{Subject: "ord.atlas.binance.btcusdt.fill", Data: []byte(`{"type":"fill","client_order_id":`),
		Header: nats.Header{nats.MsgIdHdr: {"garbage.1"}, streams.HeaderSchema: {streams.Schema(streams.KindOrder)}}}

	const (
		halt     = "agents.halt.0a1b2c3d4e5f6071"
		resumeO  = "agents.resume.1b2c3d4e5f607182"
		stopN    = "agents.stop.2c3d4e5f60718293"
		ksOn     = "killswitch.on.3d4e5f60718293a4"
		ksOff    = "killswitch.off.4e5f60718293a4b5"
		resumeA  = "agents.resume.5f60718293a4b5c6"
		rebal    = "portfolio.rebalance.60718293a4b5c6d7"
		distr    = "portfolio.distribute.718293a4b5c6d7e8"
		byTrader = " by trader"
		killed   = "kill switch: killswitch.on by trader: exchange incident"
	)

	phase1 = []item{
		equity("ATLAS", T0, "10000", "10000", "10000", "0", "0", "0", "0", "0"),
		equity("ORION", T0, "10000", "10000", "10000", "0", "0", "0", "0", "0"),
		equity("NOVA", T0, "5000", "5000", "5000", "0", "0", "0", "0", "0"),

		a1.at(T0 + 1*minute), a1.step(streams.OrderSubmitted, "", "", T0+1*minute),
		a1.step(streams.OrderAccepted, "paper-1", "", T0+1*minute+12),
		a1.fill("paper-1", "paper-BTCUSDT-12", "0.02500", "61849.47", "1.54623675", false, "0.02500", T0+2*minute-1),

		o1.at(T0 + 5*minute), o1.step(streams.OrderSubmitted, "", "", T0+5*minute),
		o1.step(streams.OrderAccepted, "um-901", "", T0+5*minute+40),

		// the venue's fill arrives before its ack; the late ack changes nothing but the ID
		o2.at(T0 + 10*minute), o2.step(streams.OrderSubmitted, "", "", T0+10*minute),
		o2.fill("", "um-ETHUSDT-5001", "0.800", "2651.20", "0.42419200", false, "0.800", T0+10*minute+200),
		o2.step(streams.OrderAccepted, "um-902", "", T0+10*minute+300),

		n1.at(T0 + 20*minute), n1.step(streams.OrderSubmitted, "", "", T0+20*minute),
		n1.step(streams.OrderAccepted, "paper-2", "", T0+20*minute+5),
		n1.step(streams.OrderExpired, "paper-2", "time in force: not filled in 15m", T0+35*minute),

		n2.at(T0 + 25*minute), n2.step(streams.OrderSubmitted, "", "", T0+25*minute),
		n2.step(streams.OrderAccepted, "paper-3", "", T0+25*minute+5),
		n2.fill("paper-3", "paper-SOLUSDT-40", "25", "141.37", "3.53425", false, "25", T0+26*minute-1),

		a2.at(T0 + 30*minute), a2.step(streams.OrderSubmitted, "", "", T0+30*minute),
		a2.step(streams.OrderAccepted, "paper-4", "", T0+30*minute+5),
		a2.fill("paper-4", "paper-BTCUSDT-19", "0.00400", "62500.00", "0.25", true, "0.00400", T0+32*minute),

		a3.at(T0 + 40*minute),
		a3.step(streams.OrderRejected, "", "risk: max_open_orders: 4 orders open, the most is 4", T0+40*minute),
		// a fill of a rejected order: a transition error, skipped
		a3.fill("", "paper-ETHUSDT-3", "0.5000", "2600.00", "1.3", false, "0.5000", T0+41*minute),
		// a fill of an order the log has no intent for: skipped
		ghost.fill("paper-9", "paper-BTCUSDT-99", "0.01000", "61900.00", "0.619", false, "0.01000", T0+45*minute),

		a4.at(T0 + 50*minute), a4.step(streams.OrderSubmitted, "", "", T0+50*minute),
		a4.step(streams.OrderAccepted, "um-903", "", T0+50*minute+20),
		// two fills with the same time: the trade ID breaks the tie
		a4.fill("um-903", "um-SOLUSDT-7", "4", "142.15", "0.11372", false, "4", T0+50*minute+500),
		a4.fill("um-903", "um-SOLUSDT-8", "6", "142.10", "0.17052", false, "10", T0+50*minute+500),

		// capital given to an agent before its first snapshot: that snapshot holds it
		move("VEGA", "2500", streams.MoveAllocation, "2500", "allocation by hand", "allocation.vega.1", 0, "2500", 0, T0+55*minute),
	}

	phase2 = []item{
		command("agents.halt", halt, map[string]string{"agent": "ORION"}, T0+60*minute),
		state("ORION", streams.AgentHalted, streams.AgentActive, "agents.halt"+byTrader, halt, 1, "10001.27", "0", T0+60*minute),
		o1.step(streams.OrderCanceled, "um-901", "agents.halt"+byTrader, T0+60*minute+30),
		command("agents.resume", resumeO, map[string]string{"agent": "ORION"}, T0+65*minute),
		state("ORION", streams.AgentActive, streams.AgentHalted, "agents.resume"+byTrader, resumeO, 2, "10001.27", "0", T0+65*minute),

		// marks newer than the positions' fills value them (ATLAS's BTCUSDT and SOLUSDT); a fill
		// after the snapshot values its position again (NOVA's SOLUSDT, filled at T0+81m)
		marked(equity("ATLAS", T0+hour, "10000", "9951.29952", "10000.85", "1569.74", "2.60212", "-0.47", "2.07", "0"),
			T0+hour, bn+" BTCUSDT 62010.50", um+" SOLUSDT 141.95"),
		equity("ORION", T0+hour, "10000", "7878.615808", "9999.95", "2121.33", "0", "0.37", "0.42", "0.000005"),
		marked(equity("NOVA", T0+hour, "5000", "1462.21575", "4990.62", "3528.40", "0", "-5.85", "3.53", "0.001876"),
			T0+hour, bn+" SOLUSDT 141.14"),
		equity("VEGA", T0+hour, "2500", "2500", "2500", "0", "0", "0", "0", "0"),

		o3.at(T0 + 70*minute), o3.step(streams.OrderSubmitted, "", "", T0+70*minute),
		o3.step(streams.OrderAccepted, "um-904", "", T0+70*minute+15),
		o3.fill("um-904", "um-ETHUSDT-5102", "0.500", "2660.00", "0.266", false, "0.500", T0+70*minute+100),
		o3.fill("um-904", "um-ETHUSDT-5103", "0.300", "2662.50", "0.15975", false, "0.800", T0+70*minute+100),

		// a long of 25 sold 30: closes it and opens a short of 5
		n3.at(T0 + 80*minute), n3.step(streams.OrderSubmitted, "", "", T0+80*minute),
		n3.step(streams.OrderAccepted, "paper-5", "", T0+80*minute+5),
		n3.fill("paper-5", "paper-SOLUSDT-77", "30", "139.02", "4.1706", false, "30", T0+81*minute-1),

		// a venue report resent after the log's dedup window: the log keeps it, the fold must not count it twice
		withID(n2.fill("paper-3", "paper-SOLUSDT-40", "25", "141.37", "3.53425", false, "25", T0+26*minute-1), "resent.paper-SOLUSDT-40"),
		// a payload that does not decode
		{raw: garbage},

		o4.at(T0 + 90*minute),
		n4.at(T0 + 90*minute), n4.step(streams.OrderSubmitted, "", "", T0+90*minute),
		n4.step(streams.OrderAccepted, "um-905", "", T0+90*minute+25),

		command("agents.stop", stopN, map[string]string{"agent": "NOVA"}, T0+100*minute),
		state("NOVA", streams.AgentReducing, streams.AgentActive, "agents.stop"+byTrader, stopN, 3, "4931.87", "0.013626", T0+100*minute),

		command("killswitch.on", ksOn, map[string]string{"reason": "exchange incident"}, T0+110*minute),
		item{ev: &streams.KillSwitchEvent{On: true, Reason: "killswitch.on by trader: exchange incident", Cause: ksOn, CommandSeq: 4, Time: T0 + 110*minute}},
		state("ATLAS", streams.AgentHalted, streams.AgentActive, killed, ksOn, 4, "10003.10", "0", T0+110*minute),
		state("ORION", streams.AgentHalted, streams.AgentActive, killed, ksOn, 4, "10005.93", "0", T0+110*minute),
		state("NOVA", streams.AgentHalted, streams.AgentReducing, killed, ksOn, 4, "4931.87", "0.013626", T0+110*minute),
		a2.step(streams.OrderCanceled, "paper-4", killed, T0+110*minute),
		// a fill that raced the cancel: booked, the order stays canceled
		a2.fill("paper-4", "paper-BTCUSDT-20", "0.00200", "62500.00", "0.125", true, "0.00600", T0+110*minute+1),
		n4.step(streams.OrderCanceled, "um-905", killed, T0+110*minute+20),

		command("killswitch.off", ksOff, map[string]string{}, T0+120*minute),
		item{ev: &streams.KillSwitchEvent{On: false, Reason: "killswitch.off by trader", Cause: ksOff, CommandSeq: 5, Time: T0 + 120*minute}},
		equity("ATLAS", T0+2*hour, "10000", "10076.29952", "10003.10", "1495.84", "3.90318", "-2.60", "2.37", "0"),
		equity("ORION", T0+2*hour, "10000", "10006.80", "10005.93", "0", "7.79", "0", "0.85", "0"),
		equity("NOVA", T0+2*hour, "5000", "5629.0149", "4931.87", "697.15", "-58.75", "-2.05", "7.70", "0.013626"),
		// the same hour published again (after a restart, past the dedup window): the last one wins
		withID(equity("ATLAS", T0+2*hour, "10000", "10076.29952", "10003.25", "1495.99", "3.90318", "-2.45", "2.37", "0"), "resent.atlas.equity.2h"),
		command("agents.resume", resumeA, map[string]string{"agent": "ATLAS"}, T0+125*minute),
		state("ATLAS", streams.AgentActive, streams.AgentHalted, "agents.resume"+byTrader, resumeA, 6, "10003.25", "0", T0+125*minute),

		a5.at(T0 + 130*minute), a5.step(streams.OrderSubmitted, "", "", T0+130*minute),
		a5.step(streams.OrderAccepted, "paper-6", "", T0+130*minute+5),
		a5.fill("paper-6", "paper-ETHUSDT-31", "0.1000", "2640.00", "0.264", true, "0.1000", T0+131*minute),

		// a rebalance after the last snapshots: the summaries show its moves
		command("portfolio.rebalance", rebal, map[string]string{"profile": "moderate"}, T0+135*minute),
		withPlan(move("ATLAS", "500", streams.MoveRebalance, "10500", "rebalance to moderate", rebal, 7, "10503.25", 7, T0+135*minute), rebalPlan),
		withPlan(move("NOVA", "1500.25", streams.MoveRebalance, "6500.25", "rebalance to moderate", rebal, 7, "6432.12", 3, T0+135*minute), rebalPlan),
		withPlan(move("ORION", "-2000.25", streams.MoveRebalance, "7999.75", "rebalance to moderate", rebal, 7, "8005.68", 3, T0+135*minute), rebalPlan),
		// resent after a restart, past the dedup window: not a second move
		withID(withPlan(move("ORION", "-2000.25", streams.MoveRebalance, "7999.75", "rebalance to moderate", rebal, 7, "8005.68", 3, T0+135*minute), rebalPlan), "resent.orion.capital"),
		// ORION's next snapshot holds the move
		equity("ORION", T0+3*hour, "7999.75", "8006.55", "8005.68", "0", "7.79", "0", "0.85", "0"),
		command("portfolio.distribute", distr, map[string]string{"keep": "0"}, T0+3*hour+5*minute),
		move("ATLAS", "-3.25", streams.MoveDistribution, "10500.00", "distribution: equity 10503.25 above 10500 (high water 10500 × (1 + 0))",
			distr, 8, "10500.00", 7, T0+3*hour+5*minute),
		move("ORION", "-5.93", streams.MoveDistribution, "7999.75", "distribution: equity 8005.68 above 7999.75 (high water 7999.75 × (1 + 0))",
			distr, 8, "7999.75", 3, T0+3*hour+5*minute),
		// a move without a cause: skipped
		move("NOVA", "1", streams.MoveAllocation, "", "", "", 0, "0", 0, T0+3*hour+6*minute),
	}
	return phase1, phase2
}

func withID(it item, id string) item { it.msgID = id; return it }

// rebalPlan is the plan of the scenario's rebalance: its three moves.
var rebalPlan = []streams.PlannedMove{
	{Agent: "ATLAS", Amount: dec("500"), HighWater: dec("10500")},
	{Agent: "NOVA", Amount: dec("1500.25"), HighWater: dec("6500.25")},
	{Agent: "ORION", Amount: dec("-2000.25"), HighWater: dec("7999.75")},
}

func withPlan(it item, plan []streams.PlannedMove) item {
	it.ev.(*streams.CapitalMove).Plan = plan
	return it
}

func move(agent, amount string, typ streams.MoveType, highWater, reason, cause string, cmdSeq uint64, equity string, fills int, t int64) item {
	m := &streams.CapitalMove{Agent: agent, Amount: dec(amount), Type: typ, Reason: reason, Cause: cause, CommandSeq: cmdSeq,
		Equity: dec(equity), AfterFills: fills, Time: t}
	if highWater != "" {
		m.HighWater = dec(highWater)
	}
	return item{ev: m}
}
