package portfolio

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/govalues/decimal"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/synapse-trading/synapse/streams"
)

// Followed are the streams a read model folds: orders, portfolio events and commands.
var Followed = []string{streams.StreamOrders, streams.StreamPortfolio, streams.StreamCommands}

// Memory is the in-memory ReadModel, rebuilt from the log at every start: Follow folds the
// ORD, PF and CMD streams from their first message and keeps following them. Orders fold
// with NewOrder and Order.Apply, positions with an Account per agent fed the same fills, in
// log order, so two Memory models on one log answer the same, to the last digit. It is safe
// for concurrent use. The rules it answers by are those of the conformance suite
// (portfolio/readmodeltest).
type Memory struct {
	mu      sync.RWMutex
	orders  map[string]*Order
	byTime  []*Order              // by Created, then ClientOrderID, ascending
	fills   []Fill                // by Time, ClientOrderID, TradeID, ascending
	moves   []streams.CapitalMove // in log order
	moveIDs map[string]bool       // agent and cause of every move folded in
	agents  map[string]*memAgent
	applied map[string]uint64

	problems    int64
	lastProblem string
	followErr   error
}

type memAgent struct {
	state   streams.AgentState
	reason  string
	equity  []streams.EquitySnapshot // by time, ascending, one per time
	account *Account                 // capital 0: only its positions are read
	// filled is each position's newest fill time, marks the newest mark its equity
	// snapshots gave it (see markedAt): a position is valued at the newer of the two.
	filled   map[[2]string]int64
	marks    map[[2]string]snapshotMark
	orders   int
	open     int
	fills    int
	fees     decimal.Decimal
	moved    decimal.Decimal // Σ its capital moves
	high     decimal.Decimal // the high-water mark of its latest capital move
	hasMoves bool            // a capital move of it was folded
	// pending sums the capital moves folded after its newest snapshot (moves counts them):
	// Latest shows them.
	pending decimal.Decimal
	moves   int
}

// NewMemory returns an empty read model; Follow (or Apply) fills it.
func NewMemory() *Memory {
	m := &Memory{orders: map[string]*Order{}, moveIDs: map[string]bool{}, agents: map[string]*memAgent{}, applied: map[string]uint64{}}
	for _, s := range Followed {
		m.applied[s] = 0
	}
	return m
}

var _ ReadModel = (*Memory)(nil)

// Follow folds the ORD, PF and CMD streams into m from their first message, then each new
// one, until ctx ends (nil) or reading a stream fails (that error, which Wait then returns
// too). A message that does not decode or apply is skipped and counted in Problems. Call it
// once per Memory.
func (m *Memory) Follow(ctx context.Context, js jetstream.JetStream) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errs := make(chan error, len(Followed))
	for _, stream := range Followed {
		go func() { errs <- m.follow(ctx, js, stream) }()
	}
	var first error
	for range Followed {
		if err := <-errs; err != nil && first == nil {
			first = err
			cancel()
		}
	}
	if first != nil {
		m.mu.Lock()
		m.followErr = first
		m.mu.Unlock()
	}
	return first
}

func (m *Memory) follow(ctx context.Context, js jetstream.JetStream, stream string) error {
	return streams.Follow(ctx, js, stream, jetstream.OrderedConsumerConfig{}, 512, func(msgs []jetstream.Msg) error {
		for _, msg := range msgs {
			meta, err := msg.Metadata()
			if err != nil {
				return fmt.Errorf("reading stream %s: %w", stream, err)
			}
			seq := meta.Sequence.Stream
			ev, err := streams.Decode(msg.Subject(), msg.Headers(), msg.Data())
			if err != nil {
				m.mu.Lock()
				m.skip(stream, seq, err)
				m.mu.Unlock()
				continue
			}
			_ = m.Apply(stream, seq, ev) // a problem is counted; the fold goes on
		}
		return nil
	})
}

// Wait returns once m has folded in every message that is on the ORD, PF and CMD streams at
// the time of the call, or with ctx's error, or with the error that stopped Follow. It
// needs Follow running.
func (m *Memory) Wait(ctx context.Context, js jetstream.JetStream) error {
	want := map[string]uint64{}
	for _, name := range Followed {
		last, err := streams.LastSeq(ctx, js, name)
		if err != nil {
			return err
		}
		want[name] = last
	}
	for {
		m.mu.RLock()
		done, err := true, m.followErr
		for name, seq := range want {
			done = done && m.applied[name] >= seq
		}
		m.mu.RUnlock()
		switch {
		case done:
			return nil
		case err != nil:
			return err
		}
		if err := streams.Sleep(ctx, 5*time.Millisecond); err != nil {
			return err
		}
	}
}

// Apply folds one event found at seq on stream (ORD, PF or CMD) into m. An event at or before
// the stream's last applied sequence was folded in already and changes nothing (seq 0 is
// always applied and moves no sequence). An event that does not apply (an order event
// without its intent or that does not follow from the order's status: ErrTransition; a
// malformed one: streams.ErrBadEvent) changes nothing but the applied sequence, is counted in
// Problems and returned. (A fill the order takes but the ledger cannot book, ErrLedger, is
// kept by the order and left out of the account, as the desk's rebuild does.) A capital move
// folds in once per agent and cause (a resend past the dedup window changes nothing).
// Commands change nothing but the sequence; unknown kinds are ignored.
func (m *Memory) Apply(stream string, seq uint64, ev streams.Event) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	last, ok := m.applied[stream]
	if !ok {
		return fmt.Errorf("%w: stream %q is not one a read model folds (ORD, PF, CMD)", streams.ErrBadEvent, stream)
	}
	if seq != 0 && seq <= last {
		return nil
	}
	err := m.apply(ev)
	if err != nil {
		m.skip(stream, seq, err)
	} else if seq != 0 {
		m.applied[stream] = seq
	}
	return err
}

// skip records a message that did not fold in; it still counts as applied.
func (m *Memory) skip(stream string, seq uint64, err error) {
	m.problems++
	m.lastProblem = fmt.Sprintf("%s seq %d: %v", stream, seq, err)
	if seq > m.applied[stream] {
		m.applied[stream] = seq
	}
}

// Problems counts the messages that did not decode or apply, and says what the last was.
func (m *Memory) Problems() (int64, string) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return m.problems, m.lastProblem
}

func (m *Memory) agent(name string) *memAgent {
	a, ok := m.agents[name]
	if !ok {
		a = &memAgent{state: streams.AgentActive, account: NewAccount(name, decimal.Decimal{}),
			filled: map[[2]string]int64{}, marks: map[[2]string]snapshotMark{}}
		m.agents[name] = a
	}
	return a
}

func (m *Memory) apply(ev streams.Event) error {
	switch e := ev.(type) {
	case *streams.OrderEvent:
		return m.applyOrder(e)
	case *streams.AgentEvent:
		if e.Agent == "" {
			return fmt.Errorf("%w: agent event without an agent", streams.ErrBadEvent)
		}
		a := m.agent(e.Agent)
		a.state, a.reason = e.State, e.Reason
	case *streams.EquitySnapshot:
		if e.Agent == "" {
			return fmt.Errorf("%w: equity snapshot without an agent", streams.ErrBadEvent)
		}
		a := m.agent(e.Agent)
		snap := *e
		snap.Marks, snap.MarkTime = nil, 0 // the positions hold them
		i, found := slices.BinarySearchFunc(a.equity, e.Time, func(s streams.EquitySnapshot, t int64) int { return cmp.Compare(s.Time, t) })
		if found {
			a.equity[i] = snap // published again for the same hour: the last one wins
		} else {
			a.equity = slices.Insert(a.equity, i, snap)
		}
		if i == len(a.equity)-1 { // the newest: it holds every move before it
			a.pending, a.moves = decimal.Decimal{}, 0
		}
		for _, mk := range e.Marks {
			k := [2]string{mk.Venue, mk.Symbol}
			if old, ok := a.marks[k]; !ok || e.MarkTime >= old.time {
				a.marks[k] = snapshotMark{price: mk.Price, time: e.MarkTime}
			}
		}
	case *streams.CapitalMove:
		return m.applyMove(e)
	}
	return nil
}

func (m *Memory) applyMove(e *streams.CapitalMove) error {
	if err := e.Check(); err != nil {
		return err
	}
	key := e.Agent + "\x00" + e.Cause
	if m.moveIDs[key] {
		return nil
	}
	m.moveIDs[key] = true
	m.moves = append(m.moves, *e)
	a := m.agent(e.Agent)
	a.moved, _ = a.moved.Add(e.Amount)
	a.high, a.hasMoves = e.HighWater, true
	if len(a.equity) > 0 {
		a.pending, _ = a.pending.Add(e.Amount)
		a.moves++
	}
	return nil
}

func (m *Memory) applyOrder(e *streams.OrderEvent) error {
	o, ok := m.orders[e.ClientOrderID]
	if !ok {
		if e.Type != streams.OrderIntent {
			return fmt.Errorf("%w: %s of order %s without its intent", ErrTransition, e.Type, e.ClientOrderID)
		}
		o, err := NewOrder(e)
		if err != nil {
			return err
		}
		m.orders[o.ClientOrderID] = o
		i, _ := slices.BinarySearchFunc(m.byTime, o, orderAsc)
		m.byTime = slices.Insert(m.byTime, i, o)
		a := m.agent(o.Agent)
		a.orders++
		a.open++
		return nil
	}
	wasOpen := o.Open()
	applied, err := o.Apply(e)
	if err != nil {
		return err
	}
	a := m.agent(o.Agent)
	if wasOpen && !o.Open() {
		a.open--
	}
	if !applied || e.Type != streams.OrderFill {
		return nil
	}
	a.fills++
	a.fees, _ = a.fees.Add(e.Fee)
	f := Fill{ClientOrderID: e.ClientOrderID, TradeID: e.TradeID, Agent: e.Agent, Venue: e.Venue, Symbol: e.Symbol, Side: e.Side,
		Qty: e.FillQty, Price: e.FillPrice, Fee: e.Fee, Maker: e.Maker, Time: e.Time}
	i, _ := slices.BinarySearchFunc(m.fills, f, fillAsc)
	m.fills = slices.Insert(m.fills, i, f)
	// As the desk does when it rebuilds: the order has the fill whatever the ledger says; a
	// fill the ledger cannot book (ErrLedger) leaves the account as it was and is reported.
	if err := a.account.Fill(e); err != nil {
		return err
	}
	k := [2]string{e.Venue, e.Symbol}
	a.filled[k] = max(a.filled[k], e.Time)
	return nil
}

// snapshotMark is the price an equity snapshot marked a position at, and the snapshot's
// MarkTime.
type snapshotMark struct {
	price decimal.Decimal
	time  int64
}

// markedAt values p at the newer of its last fill's price (at filled, the fill's time) and
// the mark its agent's equity snapshots gave it (the snapshot's wins a tie: it was taken
// after every fill of its time). The ORD and PF streams fold in any order between them; the
// answer does not depend on it.
func markedAt(p Position, filled int64, mark snapshotMark, marked bool) Position {
	if marked && mark.time >= filled && mark.price.IsPos() {
		p.Mark = mark.price
	}
	return p
}

func orderAsc(a, b *Order) int {
	return cmp.Or(cmp.Compare(a.Created, b.Created), cmp.Compare(a.ClientOrderID, b.ClientOrderID))
}

func fillAsc(a, b Fill) int {
	return cmp.Or(cmp.Compare(a.Time, b.Time), cmp.Compare(a.ClientOrderID, b.ClientOrderID), cmp.Compare(a.TradeID, b.TradeID))
}

// CheckRange checks a [since, until) range of epoch ms: neither may be negative, and an
// until other than 0 (open) may not come before since. The error wraps ErrQuery.
func CheckRange(since, until int64) error {
	switch {
	case since < 0:
		return BadParam("since", "must not be negative")
	case until < 0:
		return BadParam("until", "must not be negative (0: no end)")
	case until != 0 && until < since:
		return BadParam("until", fmt.Sprintf("%d is before since %d", until, since))
	}
	return nil
}

func inRange(t, since, until int64) bool { return t >= since && (until == 0 || t < until) }

// Orders lists orders newest first (Created, then ClientOrderID, descending).
func (m *Memory) Orders(_ context.Context, q OrderQuery) (Page[Order], error) {
	if err := errors.Join(q.Normalize(), CheckRange(q.Since, q.Until)); err != nil {
		return Page[Order]{}, err
	}
	p := Page[Order]{Items: []Order{}, Limit: q.Limit, Offset: q.Offset}
	m.mu.RLock()
	defer m.mu.RUnlock()
	for i := len(m.byTime) - 1; i >= 0; i-- {
		o := m.byTime[i]
		switch {
		case q.Agent != "" && o.Agent != q.Agent, q.Venue != "" && o.Venue != q.Venue, q.Symbol != "" && o.Symbol != q.Symbol,
			q.Status == "open" && !o.Open(), q.Status != "" && q.Status != "open" && o.Status != q.Status,
			!inRange(o.Created, q.Since, q.Until):
			continue
		}
		if p.Total >= q.Offset && len(p.Items) < q.Limit {
			c := *o
			c.trades = nil
			p.Items = append(p.Items, c)
		}
		p.Total++
	}
	return p, nil
}

// Fills lists fills newest first (Time, ClientOrderID, TradeID, descending).
func (m *Memory) Fills(_ context.Context, q FillQuery) (Page[Fill], error) {
	if err := errors.Join(q.Normalize(), CheckRange(q.Since, q.Until)); err != nil {
		return Page[Fill]{}, err
	}
	p := Page[Fill]{Items: []Fill{}, Limit: q.Limit, Offset: q.Offset}
	m.mu.RLock()
	defer m.mu.RUnlock()
	for i := len(m.fills) - 1; i >= 0; i-- {
		f := &m.fills[i]
		switch {
		case q.Agent != "" && f.Agent != q.Agent, q.Venue != "" && f.Venue != q.Venue, q.Symbol != "" && f.Symbol != q.Symbol,
			!inRange(f.Time, q.Since, q.Until):
			continue
		}
		if p.Total >= q.Offset && len(p.Items) < q.Limit {
			p.Items = append(p.Items, *f)
		}
		p.Total++
	}
	return p, nil
}

// Positions lists the positions ever held by agent ("" for every agent), by agent, venue
// and symbol. Their Mark is the newer of their last fill's price and the price the agent's
// equity snapshots last marked them at.
func (m *Memory) Positions(_ context.Context, agent string) ([]Position, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	out := []Position{}
	for _, name := range m.names() {
		if agent == "" || agent == name {
			a := m.agents[name]
			for _, p := range a.account.Positions() {
				k := [2]string{p.Venue, p.Symbol}
				mark, marked := a.marks[k]
				out = append(out, markedAt(p, a.filled[k], mark, marked))
			}
		}
	}
	return out, nil
}

// Equity lists agent's equity snapshots in [since, until), oldest first; agent "" lists
// every agent's, by time then agent.
func (m *Memory) Equity(_ context.Context, agent string, since, until int64) ([]streams.EquitySnapshot, error) {
	if err := CheckRange(since, until); err != nil {
		return nil, err
	}
	m.mu.RLock()
	defer m.mu.RUnlock()
	out := []streams.EquitySnapshot{}
	for _, name := range m.names() {
		if agent != "" && agent != name {
			continue
		}
		for _, s := range m.agents[name].equity {
			if inRange(s.Time, since, until) {
				out = append(out, s)
			}
		}
	}
	if agent == "" {
		slices.SortStableFunc(out, func(a, b streams.EquitySnapshot) int { return cmp.Compare(a.Time, b.Time) })
	}
	return out, nil
}

// Agents summarises every agent seen on the log, by name.
func (m *Memory) Agents(context.Context) ([]AgentSummary, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return m.summaries(), nil
}

func (m *Memory) summaries() []AgentSummary {
	out := make([]AgentSummary, 0, len(m.agents))
	for _, name := range m.names() {
		a := m.agents[name]
		s := AgentSummary{Agent: name, State: a.state, Reason: a.reason, Orders: a.orders, OpenOrders: a.open, Fills: a.fills,
			Fees: a.fees, Realized: a.account.Totals().Realized, Moved: a.moved, HighWater: a.high}
		if n := len(a.equity); n > 0 {
			s.Latest = a.equity[n-1]
		}
		if a.moves > 0 {
			s.Latest = LatestAfterMoves(s.Latest, a.pending)
		}
		if !a.hasMoves {
			s.HighWater = s.Latest.Capital // the mark starts at the capital
		}
		out = append(out, s)
	}
	return out
}

// Total sums every agent's summary and measures the total's drawdown over its curve (see
// Total).
func (m *Memory) Total(context.Context) (Total, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	var snaps []streams.EquitySnapshot
	for _, a := range m.agents {
		snaps = append(snaps, a.equity...)
	}
	curve, peak, last := TotalCurve(snaps)
	t := TotalOf(m.summaries(), peak, last)
	t.MaxDrawdown = MaxDrawdown(curve)
	return t, nil
}

// CapitalMoves lists agent's capital moves ("" for every agent's) in [since, until) of market
// time, in log order.
func (m *Memory) CapitalMoves(_ context.Context, agent string, since, until int64) ([]streams.CapitalMove, error) {
	if err := CheckRange(since, until); err != nil {
		return nil, err
	}
	m.mu.RLock()
	defer m.mu.RUnlock()
	out := []streams.CapitalMove{}
	for _, c := range m.moves {
		if (agent == "" || c.Agent == agent) && inRange(c.Time, since, until) {
			out = append(out, c)
		}
	}
	return out, nil
}

// Applied is the last sequence folded in of ORD, PF and CMD.
func (m *Memory) Applied(context.Context) (map[string]uint64, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	out := make(map[string]uint64, len(m.applied))
	for k, v := range m.applied {
		out[k] = v
	}
	return out, nil
}

func (m *Memory) names() []string {
	names := make([]string, 0, len(m.agents))
	for name := range m.agents {
		names = append(names, name)
	}
	slices.Sort(names)
	return names
}
