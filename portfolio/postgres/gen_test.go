package postgres

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/govalues/decimal"
	"github.com/nats-io/nats.go"

	"github.com/synapse-trading/synapse/streams"
)

// history is a generated, realistic log: orders of four agents on two venues and three
// symbols, interleaved and in every lifecycle (rejected, partially filled, filled, canceled,
// expired, a fill racing a cancel, a fill before the ack), venue reports resent past the
// dedup window, intents repeated past it, fills without an intent, payloads that do not decode, agent state changes,
// hourly equity snapshots (one resent), capital moves (rebalances, one resent, distributions,
// one without a cause), model commands and signals.
type history struct {
	msgs     []*nats.Msg
	bad      map[string]int // undecodable messages per stream
	signals  []*streams.Signal
	commands []*streams.Command
}

var (
	genAgents  = []string{"ATLAS", "ORION", "NOVA", "VEGA"}
	genVenues  = []string{"binance", "binance-um"}
	genSymbols = map[string]int64{"BTCUSDT": 61800_00, "ETHUSDT": 2650_00, "SOLUSDT": 141_00} // price in cents
	genModels  = []string{"direction", "range", "tp_sl", "ensemble"}
)

type genOrder struct {
	intent streams.OrderEvent
	step   int // 0 intent, 1 submitted, 2 accepted, 3 filling
	left   decimal.Decimal
	trades int
}

// generate builds a history of about n orders, deterministic for a seed.
func generate(seed uint64, n int) *history {
	r := rand.New(rand.NewPCG(seed, seed^0x5eed))
	mr := rand.New(rand.NewPCG(seed, 0xca9)) // the capital moves' own, so the rest stays as it was
	ir := rand.New(rand.NewPCG(seed, 0x1d7)) // the repeated intents' own, likewise
	h := &history{bad: map[string]int{}}
	t := int64(1723161600000)
	add := func(ev streams.Event, msgID string) {
		m, err := streams.Encode(ev)
		if err != nil {
			panic(err)
		}
		if msgID != "" {
			m.Header.Set(nats.MsgIdHdr, msgID)
		}
		h.msgs = append(h.msgs, m)
	}
	garbage := func(subject, stream string) {
		h.msgs = append(h.msgs, &nats.Msg{Subject: subject, Data: []byte(`{"truncated":`),
			Header: nats.Header{nats.MsgIdHdr: {fmt.Sprintf("garbage.%d", len(h.msgs))}}})
		h.bad[stream]++
	}
	var active []*genOrder
	// Intents sent again, each due some 60 steps (about 50 order events) after its order
	// ended: past the dedup window, and in a later batch than the order's last event even in
	// the tests' smallest batches, so a projector meets it after the order left its memory.
	type resend struct {
		due    int
		intent streams.OrderEvent
	}
	var resends []resend
	signalIDs := map[string]bool{}
	started, cmdN := 0, 0
	hour := t / 3_600_000
	for step := 0; started < n || len(active) > 0; step++ {
		for len(resends) > 0 && resends[0].due <= step {
			add(&resends[0].intent, "resent.intent."+resends[0].intent.ClientOrderID)
			resends = resends[1:]
		}
		t += int64(r.IntN(20_000))
		if now := t / 3_600_000; now != hour { // the first mark of a new hour: equity snapshots
			hour = now
			for i, a := range genAgents[:3] {
				eq := decimal.MustNew(int64(1_000_000_00+r.IntN(20_000_00)), 2)
				add(&streams.EquitySnapshot{Agent: a, Time: hour * 3_600_000, Capital: decimal.MustNew(10000, 0), Cash: eq, Equity: eq,
					Exposure: decimal.Zero, Realized: decimal.MustNew(int64(i*1234), 3), Unrealized: decimal.Zero, Fees: decimal.MustNew(int64(r.IntN(1000)), 2),
					Drawdown: decimal.MustNew(int64(r.IntN(5000)), 6)}, "")
			}
			if r.IntN(3) == 0 { // resent after a restart: the last one wins
				add(&streams.EquitySnapshot{Agent: "ATLAS", Time: hour * 3_600_000, Capital: decimal.MustNew(10000, 0), Cash: decimal.MustNew(999_999, 2),
					Equity: decimal.MustNew(1_000_123, 2), Exposure: decimal.Zero, Realized: decimal.Zero, Unrealized: decimal.Zero, Fees: decimal.Zero,
					Drawdown: decimal.Zero}, fmt.Sprintf("resent.equity.%d", hour))
			}
			genMoves(mr, hour, t, add)
		}
		switch k := r.IntN(100); {
		case k < 3: // an agent changes state
			cmdN++
			a := genAgents[r.IntN(len(genAgents))]
			states := []streams.AgentState{streams.AgentActive, streams.AgentReducing, streams.AgentHalted}
			cmd := &streams.Command{Name: "agents.halt", CommandID: fmt.Sprintf("agents.halt.%d", cmdN), Args: []byte(`{"agent":"` + a + `"}`), Time: t, Issuer: "trader"}
			add(cmd, "")
			h.commands = append(h.commands, cmd)
			add(&streams.AgentEvent{Agent: a, State: states[r.IntN(3)], Previous: streams.AgentActive, Reason: "agents.halt by trader",
				Equity: decimal.MustNew(int64(r.IntN(2_000_000)), 2), Drawdown: decimal.MustNew(int64(r.IntN(100)), 4), Time: t, Cause: cmd.CommandID, CommandSeq: uint64(cmdN)}, "")
		case k < 4: // a model command
			cmdN++
			model := genModels[r.IntN(len(genModels))]
			name, args := "models.deploy", `{"model":"`+model+`","dir":"models/v`+fmt.Sprint(cmdN)+`","mode":"shadow","sha256":"`+fmt.Sprintf("%064x", cmdN)+`"}`
			switch r.IntN(3) {
			case 1:
				name, args = "models.promote", `{"model":"`+model+`"}`
			case 2:
				name, args = "models.retire_shadow", `{"model":"`+model+`"}`
			}
			cmd := &streams.Command{Name: name, CommandID: fmt.Sprintf("%s.%d", name, cmdN), Args: []byte(args), Time: t, Issuer: "trader"}
			add(cmd, "")
			h.commands = append(h.commands, cmd)
		case k < 12: // a signal
			sym := randomKey(r)
			s := &streams.Signal{Model: genModels[r.IntN(len(genModels))], Version: "1", Shadow: r.IntN(5) == 0, Venue: genVenues[r.IntN(2)], Symbol: sym,
				FeatureTime: t - t%60_000, Confidence: r.Float64(), LatencyUs: int64(r.IntN(2000))}
			if s.Model == "range" {
				s.Prediction = map[string]float64{"high": r.Float64() / 100, "low": -r.Float64() / 100}
			} else {
				s.Prediction = map[string]float64{"probability": r.Float64()}
			}
			if !signalIDs[s.ID()] { // the log would drop a second one with this ID
				signalIDs[s.ID()] = true
				add(s, "")
				h.signals = append(h.signals, s)
			}
		case k < 13:
			garbage("ord.atlas.binance.btcusdt.fill", streams.StreamOrders)
		case k < 14: // a fill of an order the log has no intent for
			ghost := newIntent(r, "ghost", t)
			ghost.Type, ghost.TradeID, ghost.FillQty, ghost.FillPrice, ghost.Fee = streams.OrderFill, "ghost-1", ghost.Qty, decimal.MustNew(100, 0), decimal.Zero
			add(&ghost, "")
		case k < 16 && r.IntN(4) == 0:
			garbage("pf.nova.equity", streams.StreamPortfolio)
		case (k < 50 || len(active) == 0) && started < n:
			started++
			o := &genOrder{intent: newIntent(r, fmt.Sprint("key-", started), t)}
			o.left = o.intent.Qty
			add(&o.intent, "")
			active = append(active, o)
		case len(active) > 0:
			i := r.IntN(len(active))
			o := active[i]
			done := o.advance(r, t, add)
			if done {
				active = append(active[:i], active[i+1:]...)
				if ir.IntN(8) == 0 { // its intent again, later: refused
					resends = append(resends, resend{step + 60, o.intent})
				}
			}
		}
	}
	for _, rs := range resends {
		add(&rs.intent, "resent.intent."+rs.intent.ClientOrderID)
	}
	return h
}

// genMoves publishes the capital moves of an hour: sometimes a rebalance between two agents
// (one of its moves sometimes resent past the dedup window), a distribution, or a move
// without a cause (refused).
func genMoves(r *rand.Rand, hour, t int64, add func(streams.Event, string)) {
	move := func(agent string, amount decimal.Decimal, typ streams.MoveType, cause string) *streams.CapitalMove {
		return &streams.CapitalMove{Agent: agent, Amount: amount, Type: typ, Cause: cause, Equity: decimal.MustNew(int64(900_000_00+r.IntN(200_000_00)), 2),
			AfterFills: r.IntN(50), Time: t}
	}
	if r.IntN(2) == 0 {
		i := r.IntN(len(genAgents))
		from, to := genAgents[i], genAgents[(i+1+r.IntN(len(genAgents)-1))%len(genAgents)]
		amount := decimal.MustNew(int64(1+r.IntN(100_000)), r.IntN(3))
		cause := fmt.Sprintf("portfolio.rebalance.%d", hour)
		out := move(from, amount.Neg(), streams.MoveRebalance, cause)
		add(out, "")
		add(move(to, amount, streams.MoveRebalance, cause), "")
		if r.IntN(4) == 0 {
			add(out, "resent."+out.ID())
		}
	}
	if r.IntN(5) == 0 {
		d := move(genAgents[r.IntN(len(genAgents))], decimal.MustNew(-int64(1+r.IntN(50_000)), 2), streams.MoveDistribution, fmt.Sprintf("portfolio.distribute.%d", hour))
		d.HighWater = decimal.MustNew(int64(1_000_000_00+r.IntN(10_000_00)), 2)
		add(d, "")
	}
	if r.IntN(10) == 0 {
		add(move("NOVA", decimal.One, streams.MoveAllocation, ""), fmt.Sprintf("nocause.%d", hour))
	}
}

func randomKey(r *rand.Rand) string {
	syms := []string{"BTCUSDT", "ETHUSDT", "SOLUSDT"}
	return syms[r.IntN(len(syms))]
}

func newIntent(r *rand.Rand, key string, t int64) streams.OrderEvent {
	agent, venue, symbol := genAgents[r.IntN(len(genAgents))], genVenues[r.IntN(2)], randomKey(r)
	side := streams.Buy
	if r.IntN(2) == 0 {
		side = streams.Sell
	}
	ev := streams.OrderEvent{Type: streams.OrderIntent, ClientOrderID: streams.ClientOrderID(agent, venue, symbol, key), Agent: agent, Venue: venue,
		Symbol: symbol, Side: side, OrderType: streams.Market, Qty: decimal.MustNew(int64(1+r.IntN(5000)), 3), Reason: "test", Time: t}
	if r.IntN(2) == 0 {
		ev.OrderType, ev.Price = streams.Limit, decimal.MustNew(genSymbols[symbol]+int64(r.IntN(10_000))-5_000, 2)
	}
	return ev
}

// advance publishes the order's next step and reports whether it is finished.
func (o *genOrder) advance(r *rand.Rand, t int64, add func(streams.Event, string)) bool {
	ev := o.intent
	ev.Time = t
	switch o.step {
	case 0:
		if r.IntN(20) == 0 {
			ev.Type, ev.Reason = streams.OrderRejected, "risk: max_exposure"
			add(&ev, "")
			if r.IntN(2) == 0 { // a fill of a rejected order: refused
				ev.Type, ev.TradeID, ev.FillQty, ev.FillPrice, ev.Fee = streams.OrderFill, "rejected-1", o.intent.Qty, decimal.MustNew(100, 0), decimal.Zero
				add(&ev, "")
			}
			return true
		}
		ev.Type = streams.OrderSubmitted
		o.step = 1
	case 1:
		if r.IntN(10) == 0 { // the fill before the ack
			o.step = 3
			return o.fill(r, ev, add)
		}
		ev.Type, ev.VenueOrderID = streams.OrderAccepted, "v-"+o.intent.ClientOrderID[4:12]
		o.step = 2
	case 2, 3:
		o.step = 3
		switch k := r.IntN(100); {
		case k < 12:
			ev.Type, ev.Reason = streams.OrderCanceled, "agents.halt by trader"
			add(&ev, "")
			if r.IntN(3) == 0 && o.left.IsPos() { // a fill racing the cancel: booked
				o.fill(r, o.intent, add)
			}
			return true
		case k < 16:
			ev.Type, ev.Reason = streams.OrderExpired, "time in force"
			add(&ev, "")
			return true
		}
		return o.fill(r, ev, add)
	}
	add(&ev, "")
	return false
}

// fill publishes a fill of part (or the rest) of the order, sometimes resent under another
// message ID, and reports whether the order is filled.
func (o *genOrder) fill(r *rand.Rand, ev streams.OrderEvent, add func(streams.Event, string)) bool {
	units := o.left.Coef()
	part := units
	if units > 1 && r.IntN(2) == 0 {
		part = 1 + uint64(r.IntN(int(units-1)))
	}
	qty := decimal.MustNew(int64(part), 3)
	price := decimal.MustNew(genSymbols[o.intent.Symbol]+int64(r.IntN(10_000))-5_000, 2)
	notional, _ := qty.Mul(price)
	fee, _ := notional.Mul(decimal.MustNew(1, 3))
	o.trades++
	o.left, _ = o.left.Sub(qty)
	ev.Type, ev.TradeID, ev.FillQty, ev.FillPrice, ev.Fee, ev.Maker = streams.OrderFill, fmt.Sprintf("%s-%d", o.intent.ClientOrderID[4:10], o.trades), qty, price, fee.Round(8), r.IntN(2) == 0
	ev.CumQty, _ = o.intent.Qty.Sub(o.left)
	add(&ev, "")
	if r.IntN(30) == 0 { // the venue's report again, past the dedup window
		add(&ev, "resent."+ev.ID())
	}
	return !o.left.IsPos()
}

// publish puts every message of h on the log, in order.
func publish(t *testing.T, log *streams.Log, msgs []*nats.Msg) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for _, m := range msgs {
		if err := log.PublishMsg(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	if err := log.Flush(ctx); err != nil {
		t.Fatal(err)
	}
}
