package actors

import (
	"fmt"
	"time"

	"github.com/anthdm/hollywood/actor"
	"github.com/govalues/decimal"

	"github.com/synapse-trading/synapse/portfolio"
	"github.com/synapse-trading/synapse/streams"
)

// The messages of the risk gate.
type (
	// riskIntent asks the gate to pass an order (status intent, already on the log) to its
	// venue. Reference is the price the agent sized it at (zero: none).
	riskIntent struct {
		Order     *portfolio.Order
		Reference decimal.Decimal
	}
	// riskCancel asks for an open order to be canceled.
	riskCancel struct {
		ClientOrderID string
		Reason        string
	}
	// riskCancelAll cancels every open order (of one agent, or of all when Agent is "").
	riskCancelAll struct {
		Agent, Reason string
	}
	// riskKillSwitch turns the kill switch on or off.
	riskKillSwitch struct {
		On bool
	}
	// riskAgentState tells the gate an agent's state.
	riskAgentState struct {
		Agent string
		State streams.AgentState
	}
	// riskDecision answers a riskIntent sent with Request (a bot's order).
	riskDecision struct {
		ClientOrderID string `json:"client_order_id"`
		Status        string `json:"status"` // submitted or rejected
		Reason        string `json:"reason,omitempty"`
	}
)

// RiskView is what the risk gate shows (topic "risk").
type RiskView struct {
	KillSwitch bool             `json:"kill_switch"`
	Passed     int64            `json:"passed"`
	Rejected   map[string]int64 `json:"rejected"` // by check
	Open       int              `json:"open_orders"`
	LastReject string           `json:"last_reject,omitempty"`
}

// Gate holds the state the pre-trade checks need: agents' limits and states, open orders,
// positions, last prices and the rate windows. It is plain data, used by the risk actor and
// by its tests.
type Gate struct {
	agents     map[string]*Agent
	states     map[string]streams.AgentState
	killSwitch bool
	orders     map[string]*portfolio.Order // not terminal, by client order ID
	seen       map[string]struct{}         // every client order ID ever passed
	positions  map[[3]string]decimal.Decimal
	prices     map[[2]string]decimal.Decimal
	agentRate  map[string]*window
	venueRate  map[string]*window
	venueLimit int
}

// NewGate returns a gate for agents; venueOrdersPerMinute is each venue's rate budget.
func NewGate(agents []*Agent, venueOrdersPerMinute int) *Gate {
	g := &Gate{agents: map[string]*Agent{}, states: map[string]streams.AgentState{}, orders: map[string]*portfolio.Order{}, seen: map[string]struct{}{},
		positions: map[[3]string]decimal.Decimal{}, prices: map[[2]string]decimal.Decimal{}, agentRate: map[string]*window{},
		venueRate: map[string]*window{}, venueLimit: venueOrdersPerMinute}
	for _, a := range agents {
		g.agents[a.Name] = a
		g.states[a.Name] = streams.AgentActive
		g.agentRate[a.Name] = &window{}
	}
	return g
}

// Check runs the pre-trade checks on an intent. It returns the name of the failed check and
// why, or "" when the order may go. It changes nothing.
func (g *Gate) Check(o *portfolio.Order, reference decimal.Decimal) (check, reason string) {
	a, ok := g.agents[o.Agent]
	switch {
	case g.killSwitch:
		return "kill_switch", "the kill switch is on"
	case !ok:
		return "agent", fmt.Sprintf("no agent %q", o.Agent)
	}
	if _, dup := g.seen[o.ClientOrderID]; dup {
		return "duplicate", "order " + o.ClientOrderID + " was already submitted"
	}
	pos := g.positions[[3]string{o.Agent, o.Venue, o.Symbol}]
	signed := o.Qty
	if o.Side == streams.Sell {
		signed = o.Qty.Neg()
	}
	after, _ := pos.Add(signed)
	reduces := after.Abs().Cmp(pos.Abs()) <= 0 && after.Sign()*pos.Sign() >= 0
	switch g.states[o.Agent] {
	case streams.AgentHalted:
		return "agent_state", o.Agent + " is HALTED"
	case streams.AgentReducing:
		if !reduces {
			return "agent_state", o.Agent + " is REDUCING: only orders that shrink its position"
		}
	}
	last, ok := g.prices[[2]string{o.Venue, o.Symbol}]
	if !ok {
		return "price_band", "no market price for " + o.Venue + ":" + o.Symbol + " yet"
	}
	price := reference
	if o.Type == streams.Limit {
		price = o.Price
	}
	if price.IsPos() {
		dev, _ := price.Sub(last)
		band, _ := last.Mul(a.limits.PriceBand)
		if dev.Abs().Cmp(band) > 0 {
			return "price_band", fmt.Sprintf("price %s is more than %s from the last trade %s", price, a.limits.PriceBand, last)
		}
	} else {
		price = last
	}
	notional, err := o.Qty.Mul(price)
	if err != nil || notional.Cmp(a.limits.MaxOrderNotional) > 0 {
		return "max_order_notional", fmt.Sprintf("notional %s above %s", notional.Round(2), a.limits.MaxOrderNotional)
	}
	// Dust is refused as the venue would refuse it; an order that shrinks a position may be
	// smaller, so that a remnant can always be closed.
	if !reduces && notional.Cmp(a.minNotional) < 0 {
		return "min_notional", fmt.Sprintf("notional %s below the agent's min_notional %s", notional, a.minNotional)
	}
	if !reduces {
		value, err := after.Abs().Mul(last)
		if err != nil || value.Cmp(a.limits.MaxPositionNotional) > 0 {
			return "max_position_notional", fmt.Sprintf("position would be worth %s, above %s", value.Round(2), a.limits.MaxPositionNotional)
		}
	}
	open := 0
	for _, x := range g.orders {
		if x.Agent == o.Agent && x.Status != portfolio.StatusIntent {
			open++
		}
	}
	if open >= a.limits.MaxOpenOrders {
		return "max_open_orders", fmt.Sprintf("%d orders open, the limit is %d", open, a.limits.MaxOpenOrders)
	}
	if n := g.agentRate[o.Agent].count(o.Created); n >= a.limits.OrdersPerMinute {
		return "rate", fmt.Sprintf("%s sent %d orders in the last minute, its budget is %d", o.Agent, n, a.limits.OrdersPerMinute)
	}
	if w := g.venueRate[o.Venue]; w != nil && g.venueLimit > 0 && w.count(o.Created) >= g.venueLimit {
		return "rate", fmt.Sprintf("venue %s got %d orders in the last minute, its budget is %d", o.Venue, g.venueLimit, g.venueLimit)
	}
	return "", ""
}

// Passed books an order that passed the checks.
func (g *Gate) Passed(o *portfolio.Order) {
	g.orders[o.ClientOrderID] = o
	g.seen[o.ClientOrderID] = struct{}{}
	g.agentRate[o.Agent].add(o.Created)
	w := g.venueRate[o.Venue]
	if w == nil {
		w = &window{}
		g.venueRate[o.Venue] = w
	}
	w.add(o.Created)
}

// Report applies an order event from a venue: fills move positions, terminal orders leave.
func (g *Gate) Report(ev *streams.OrderEvent) {
	if ev.Type == streams.OrderFill {
		k := [3]string{ev.Agent, ev.Venue, ev.Symbol}
		q := ev.FillQty
		if ev.Side == streams.Sell {
			q = q.Neg()
		}
		g.positions[k], _ = g.positions[k].Add(q)
		g.prices[[2]string{ev.Venue, ev.Symbol}] = ev.FillPrice
	}
	o, ok := g.orders[ev.ClientOrderID]
	if !ok {
		return
	}
	if _, err := o.Apply(ev); err == nil && o.Status.Terminal() {
		delete(g.orders, ev.ClientOrderID)
	}
}

// Price records the last traded price of venue/symbol.
func (g *Gate) Price(ev streams.Event) {
	v, s := ev.Key()
	switch e := ev.(type) {
	case *streams.Trade:
		g.prices[[2]string{v, s}] = e.Price
	case *streams.Kline:
		g.prices[[2]string{v, s}] = e.Close
	}
}

// window counts events in the last minute of market time.
type window struct{ times []int64 }

func (w *window) count(now int64) int {
	i := 0
	for i < len(w.times) && w.times[i] <= now-60_000 {
		i++
	}
	w.times = w.times[i:]
	return len(w.times)
}

func (w *window) add(t int64) { w.times = append(w.times, t) }

// riskActor is the risk gate: every intent, from an agent or a bot, passes its checks before
// any venue sees it. A rejection is an order event with the failed check and the reason.
type riskActor struct {
	desk *Desk
	gate *Gate
	view RiskView
}

func newRiskActor(desk *Desk, gate *Gate) actor.Producer {
	return func() actor.Receiver {
		return &riskActor{desk: desk, gate: gate, view: RiskView{Rejected: map[string]int64{}}}
	}
}

func (r *riskActor) Receive(c *actor.Context) {
	switch msg := c.Message().(type) {
	case actor.Started:
		r.show()
		return
	case MarketTap:
		for _, ev := range msg.Events {
			r.gate.Price(ev.Event)
		}
		msg.Done()
		return // counted by its credit, not in flight
	case riskIntent:
		d := r.intent(msg)
		if c.Sender() != nil {
			c.Respond(d)
		}
	case riskCancel:
		d := riskDecision{ClientOrderID: msg.ClientOrderID, Status: "cancel_requested"}
		if o, ok := r.gate.orders[msg.ClientOrderID]; ok && o.Status != portfolio.StatusIntent {
			r.desk.toVenue(o, venueCancel{Order: o, Reason: msg.Reason})
		} else {
			d.Status, d.Reason = "rejected", "no open order "+msg.ClientOrderID
		}
		if c.Sender() != nil {
			c.Respond(d)
		}
	case riskCancelAll:
		for _, o := range r.gate.orders {
			if (msg.Agent == "" || o.Agent == msg.Agent) && o.Status != portfolio.StatusIntent {
				r.desk.toVenue(o, venueCancel{Order: o, Reason: msg.Reason})
			}
		}
	case riskMarketKnown:
		_, known := r.gate.prices[[2]string{msg.Venue, msg.Symbol}]
		c.Respond(known)
	case riskSeen:
		_, seen := r.gate.seen[msg.ClientOrderID]
		c.Respond(seen)
	case riskKillSwitch:
		r.gate.killSwitch = msg.On
		r.view.KillSwitch = msg.On
	case riskAgentState:
		r.gate.states[msg.Agent] = msg.State
	case orderReport:
		r.gate.Report(msg.Event)
	case riskRestore:
		r.gate.orders, r.gate.positions = msg.Orders, msg.Positions
		for _, id := range msg.Seen {
			r.gate.seen[id] = struct{}{}
		}
		r.gate.killSwitch, r.view.KillSwitch = msg.KillSwitch, msg.KillSwitch
		r.view.Passed, r.view.Rejected, r.view.LastReject = msg.View.Passed, msg.View.Rejected, msg.View.LastReject
		for name, s := range msg.States {
			r.gate.states[name] = s
		}
	default:
		return
	}
	r.view.Open = len(r.gate.orders)
	r.show()
	r.desk.done(c.PID())
}

// riskMarketKnown asks whether the gate has a price of venue and symbol: a bot's order for a
// market the engine does not trade is refused before its intent goes on the log.
type riskMarketKnown struct{ Venue, Symbol string }

// riskSeen asks whether the gate has passed an order with this client order ID: a bot's
// retried request is the same order, answered without a second intent on the log.
type riskSeen struct{ ClientOrderID string }

// riskRestore hands the gate the state rebuilt from the log after a restart.
type riskRestore struct {
	Seen       []string
	Orders     map[string]*portfolio.Order
	Positions  map[[3]string]decimal.Decimal
	States     map[string]streams.AgentState
	KillSwitch bool
	View       RiskView // its counts as the log tells them
}

func (r *riskActor) intent(m riskIntent) riskDecision {
	o := m.Order
	start := time.Now()
	check, reason := r.gate.Check(o, m.Reference)
	r.desk.opts.Stages.ObserveSince(StageRiskCheck, start)
	if check == "duplicate" {
		// The order is on its way already (or done): a rejection on the log would contradict
		// its lifecycle there. Nothing goes on the log; the sender is told.
		return riskDecision{ClientOrderID: o.ClientOrderID, Status: "rejected", Reason: "risk: " + check + ": " + reason}
	}
	if check != "" {
		r.view.Rejected[check]++
		r.view.LastReject = o.Agent + " " + o.Symbol + ": " + reason
		ev := o.Event(streams.OrderRejected, o.Created)
		ev.Reason = "risk: " + check + ": " + reason
		if err := r.desk.record(ev); err != nil {
			r.desk.problem("risk gate: recording a rejection", err)
		}
		r.desk.route(ev)
		return riskDecision{ClientOrderID: o.ClientOrderID, Status: "rejected", Reason: ev.Reason}
	}
	sub := o.Event(streams.OrderSubmitted, o.Created)
	if err := r.desk.record(sub); err != nil { // on the log before the venue sees it
		r.desk.problem("risk gate: recording a submission", err)
		return riskDecision{ClientOrderID: o.ClientOrderID, Status: "rejected", Reason: "the log refused the order: " + err.Error()}
	}
	mine := o.Clone() // the gate's copy: the agent keeps its own
	if _, err := mine.Apply(sub); err != nil {
		r.desk.problem("risk gate", err)
	}
	r.gate.Passed(mine)
	r.view.Passed++
	r.desk.route(sub) // the agent hears of the submission before any report of the venue
	r.desk.toVenue(mine, venueSubmit{Order: mine.Clone()})
	return riskDecision{ClientOrderID: o.ClientOrderID, Status: "submitted"}
}

func (r *riskActor) show() { r.desk.observe("risk", r.view) }
