package readmodeltest

import (
	"cmp"
	"slices"

	"github.com/govalues/decimal"

	"github.com/synapse-trading/synapse/portfolio"
	"github.com/synapse-trading/synapse/streams"
)

// reference is the simplest fold of the scenario that follows the rules in Run's comment: what
// every read model must answer. It scans and sorts on every query; a read model is free to
// index.
type reference struct {
	orders   map[string]*portfolio.Order
	fills    []portfolio.Fill
	accounts map[string]*portfolio.Account
	agents   map[string]*refAgent
	equity   []refSnapshot
	moves    []refMove
	folded   int // items folded so far: the position in log order
	// filled is each position's newest fill time, marks the newest mark the equity snapshots
	// gave it, by agent, venue and symbol.
	filled map[[3]string]int64
	marks  map[[3]string]refMark
}

type refMark struct {
	price decimal.Decimal
	time  int64
}

// refSnapshot and refMove are an equity snapshot and a capital move with their position in
// log order.
type (
	refSnapshot struct {
		streams.EquitySnapshot
		at int
	}
	refMove struct {
		streams.CapitalMove
		at int
	}
)

type refAgent struct {
	state  streams.AgentState
	reason string
	fills  int
	fees   decimal.Decimal
}

func newReference() *reference {
	return &reference{orders: map[string]*portfolio.Order{}, accounts: map[string]*portfolio.Account{}, agents: map[string]*refAgent{},
		filled: map[[3]string]int64{}, marks: map[[3]string]refMark{}}
}

func (r *reference) agent(name string) *refAgent {
	a, ok := r.agents[name]
	if !ok {
		a = &refAgent{state: streams.AgentActive}
		r.agents[name] = a
		r.accounts[name] = portfolio.NewAccount(name, decimal.Decimal{})
	}
	return a
}

func (r *reference) fold(items []item) {
	for _, it := range items {
		r.folded++
		switch e := it.ev.(type) {
		case *streams.OrderEvent:
			o, ok := r.orders[e.ClientOrderID]
			if !ok {
				if e.Type != streams.OrderIntent {
					continue
				}
				o, err := portfolio.NewOrder(e)
				if err != nil {
					continue
				}
				r.orders[e.ClientOrderID] = o
				r.agent(e.Agent)
				continue
			}
			applied, err := o.Apply(e)
			if err != nil || !applied || e.Type != streams.OrderFill {
				continue
			}
			a := r.agent(o.Agent)
			a.fills++
			a.fees, _ = a.fees.Add(e.Fee)
			if r.accounts[o.Agent].Fill(e) == nil {
				k := [3]string{e.Agent, e.Venue, e.Symbol}
				r.filled[k] = max(r.filled[k], e.Time)
			}
			r.fills = append(r.fills, portfolio.Fill{ClientOrderID: e.ClientOrderID, TradeID: e.TradeID, Agent: e.Agent, Venue: e.Venue,
				Symbol: e.Symbol, Side: e.Side, Qty: e.FillQty, Price: e.FillPrice, Fee: e.Fee, Maker: e.Maker, Time: e.Time})
		case *streams.AgentEvent:
			a := r.agent(e.Agent)
			a.state, a.reason = e.State, e.Reason
		case *streams.EquitySnapshot:
			r.agent(e.Agent)
			for _, mk := range e.Marks {
				k := [3]string{e.Agent, mk.Venue, mk.Symbol}
				if old, ok := r.marks[k]; !ok || e.MarkTime >= old.time {
					r.marks[k] = refMark{mk.Price, e.MarkTime}
				}
			}
			r.equity = slices.DeleteFunc(r.equity, func(s refSnapshot) bool { return s.Agent == e.Agent && s.Time == e.Time })
			snap := *e
			snap.Marks, snap.MarkTime = nil, 0
			r.equity = append(r.equity, refSnapshot{snap, r.folded})
		case *streams.CapitalMove:
			if e.Check() != nil || slices.ContainsFunc(r.moves, func(m refMove) bool { return m.Agent == e.Agent && m.Cause == e.Cause }) {
				continue
			}
			r.agent(e.Agent)
			r.moves = append(r.moves, refMove{*e, r.folded})
		}
	}
}

func inRange(t, since, until int64) bool { return t >= since && (until == 0 || t < until) }

func paged[T any](all []T, limit, offset int) portfolio.Page[T] {
	p := portfolio.Page[T]{Total: len(all), Limit: limit, Offset: offset}
	if offset < len(all) {
		p.Items = all[offset:min(len(all), offset+limit)]
	}
	return p
}

func (r *reference) Orders(q portfolio.OrderQuery) portfolio.Page[portfolio.Order] {
	if err := q.Normalize(); err != nil {
		panic(err)
	}
	var out []portfolio.Order
	for _, o := range r.orders {
		switch {
		case q.Agent != "" && o.Agent != q.Agent, q.Venue != "" && o.Venue != q.Venue, q.Symbol != "" && o.Symbol != q.Symbol,
			q.Status == "open" && !o.Open(), q.Status != "" && q.Status != "open" && o.Status != q.Status,
			!inRange(o.Created, q.Since, q.Until):
			continue
		}
		out = append(out, *o.Clone())
	}
	slices.SortFunc(out, func(a, b portfolio.Order) int {
		return cmp.Or(cmp.Compare(b.Created, a.Created), cmp.Compare(b.ClientOrderID, a.ClientOrderID))
	})
	return paged(out, q.Limit, q.Offset)
}

func (r *reference) Fills(q portfolio.FillQuery) portfolio.Page[portfolio.Fill] {
	if err := q.Normalize(); err != nil {
		panic(err)
	}
	var out []portfolio.Fill
	for _, f := range r.fills {
		switch {
		case q.Agent != "" && f.Agent != q.Agent, q.Venue != "" && f.Venue != q.Venue, q.Symbol != "" && f.Symbol != q.Symbol,
			!inRange(f.Time, q.Since, q.Until):
			continue
		}
		out = append(out, f)
	}
	slices.SortFunc(out, func(a, b portfolio.Fill) int {
		return cmp.Or(cmp.Compare(b.Time, a.Time), cmp.Compare(b.ClientOrderID, a.ClientOrderID), cmp.Compare(b.TradeID, a.TradeID))
	})
	return paged(out, q.Limit, q.Offset)
}

func (r *reference) Positions(agent string) []portfolio.Position {
	var out []portfolio.Position
	for _, name := range slices.Sorted(mapKeys(r.accounts)) {
		if agent == "" || agent == name {
			for _, p := range r.accounts[name].Positions() {
				k := [3]string{name, p.Venue, p.Symbol}
				if m, ok := r.marks[k]; ok && m.time >= r.filled[k] {
					p.Mark = m.price
				}
				out = append(out, p)
			}
		}
	}
	return out
}

func (r *reference) Equity(agent string, since, until int64) []streams.EquitySnapshot {
	var out []streams.EquitySnapshot
	for _, s := range r.equity {
		if (agent == "" || s.Agent == agent) && inRange(s.Time, since, until) {
			out = append(out, s.EquitySnapshot)
		}
	}
	slices.SortFunc(out, func(a, b streams.EquitySnapshot) int {
		return cmp.Or(cmp.Compare(a.Time, b.Time), cmp.Compare(a.Agent, b.Agent))
	})
	return out
}

func (r *reference) Agents() []portfolio.AgentSummary {
	var out []portfolio.AgentSummary
	for _, name := range slices.Sorted(mapKeys(r.agents)) {
		a := r.agents[name]
		s := portfolio.AgentSummary{Agent: name, State: a.state, Reason: a.reason, Fills: a.fills, Fees: a.fees,
			Realized: r.accounts[name].Totals().Realized}
		latest := refSnapshot{at: -1}
		for _, e := range r.equity {
			if e.Agent == name && e.Time >= latest.Time {
				latest = e
			}
		}
		if latest.at >= 0 {
			s.Latest = latest.EquitySnapshot
		}
		s.HighWater = s.Latest.Capital // before any move
		for _, m := range r.moves {
			if m.Agent != name {
				continue
			}
			s.Moved, _ = s.Moved.Add(m.Amount)
			s.HighWater = m.HighWater
			if latest.at >= 0 && m.at > latest.at { // after the newest snapshot: not in it
				l := &s.Latest
				l.Capital, _ = l.Capital.Add(m.Amount)
				l.Cash, _ = l.Cash.Add(m.Amount)
				l.Equity, _ = l.Equity.Add(m.Amount)
				l.Drawdown = decimal.Decimal{}
			}
		}
		for _, o := range r.orders {
			if o.Agent == name {
				s.Orders++
				if o.Open() {
					s.OpenOrders++
				}
			}
		}
		out = append(out, s)
	}
	return out
}

func mapKeys[V any](m map[string]V) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// Total sums the agents' summaries and walks the curve the slow way: at each snapshot time,
// every agent's newest snapshot then, counted as equity − capital + its first capital.
func (r *reference) Total() portfolio.Total {
	agents := r.Agents()
	t := portfolio.Total{Agents: len(agents)}
	for _, a := range agents {
		l := a.Latest
		t.Time = max(t.Time, l.Time)
		for _, f := range []struct{ sum, v *decimal.Decimal }{{&t.Capital, &l.Capital}, {&t.Cash, &l.Cash}, {&t.Equity, &l.Equity},
			{&t.Exposure, &l.Exposure}, {&t.Realized, &l.Realized}, {&t.Unrealized, &l.Unrealized}, {&t.Fees, &l.Fees}, {&t.Moved, &a.Moved}} {
			*f.sum, _ = f.sum.Add(*f.v)
		}
	}
	var times []int64
	for _, s := range r.equity {
		if !slices.Contains(times, s.Time) {
			times = append(times, s.Time)
		}
	}
	slices.Sort(times)
	for i, at := range times {
		var point decimal.Decimal
		for _, name := range slices.Sorted(mapKeys(r.agents)) {
			var first, newest *streams.EquitySnapshot
			for _, s := range r.equity {
				if s.Agent != name || s.Time > at {
					continue
				}
				if first == nil || s.Time < first.Time {
					first = &s.EquitySnapshot
				}
				if newest == nil || s.Time > newest.Time {
					newest = &s.EquitySnapshot
				}
			}
			if newest != nil {
				v, _ := newest.Equity.Sub(newest.Capital)
				v, _ = v.Add(first.Capital)
				point, _ = point.Add(v)
			}
		}
		if i == 0 || point.Cmp(t.Peak) > 0 {
			t.Peak = point
		}
		t.Last = point
		if dd := portfolio.Drawdown(t.Peak, point); dd.Cmp(t.MaxDrawdown) > 0 {
			t.MaxDrawdown = dd
		}
	}
	t.Drawdown = portfolio.Drawdown(t.Peak, t.Last)
	return t
}

func (r *reference) CapitalMoves(agent string, since, until int64) []streams.CapitalMove {
	out := []streams.CapitalMove{}
	for _, m := range r.moves {
		if (agent == "" || m.Agent == agent) && inRange(m.Time, since, until) {
			out = append(out, m.CapitalMove)
		}
	}
	return out
}
