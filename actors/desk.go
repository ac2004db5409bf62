package actors

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/anthdm/hollywood/actor"
	"github.com/govalues/decimal"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/synapse-trading/synapse/portfolio"
	"github.com/synapse-trading/synapse/streams"
)

// ErrCommand means a command's arguments name nothing the desk knows (an unknown agent).
var ErrCommand = errors.New("command")

// DeskOptions configure the trading desk.
type DeskOptions struct {
	Agents []*Agent
	// Venues builds the venue of each execution mode an agent uses ("paper", "live"), given
	// the function it reports through.
	Venues map[string]func(report portfolio.Report) (portfolio.Venue, error)
	// Log is where order events are recorded (the ORD and PF streams) and what a restart
	// rebuilds from. Required.
	Log jetstream.JetStream
	// Observe shows actors' states to the UI; nil: nowhere.
	Observe func(topic string, state any)
	Logger  *slog.Logger
	// VenueOrdersPerMinute is each venue's rate budget at the risk gate (default 300).
	VenueOrdersPerMinute int
	// InFlight, when set (a backtest), counts the desk's messages not handled yet.
	InFlight *atomic.Int64
	// Recorded, when set, is told of every event the desk put on the log, once the log
	// acknowledged it (the tick-to-order benchmark times intents with it).
	Recorded func(streams.Event)
}

// Desk is the trading tier of the graph: one actor per agent, the risk gate between them and
// the venues, and one actor per venue. Signals come in through Signal, market data through
// the graph's market tap, commands through Apply; every order event is recorded on the log
// before the next actor acts on it.
type Desk struct {
	opts   DeskOptions
	engine *actor.Engine

	agents    map[string]*actor.PID
	execution map[string]string // agent → paper | live
	risk      *actor.PID
	venues    map[string]*actor.PID // by execution mode
	impls     map[string]portfolio.Venue

	lastCmdSeq uint64 // commands up to this one acted before the restart
	problems   atomic.Int64
	mu         sync.Mutex
	lastErr    string
	recent     []*streams.OrderEvent // newest last, for the UI
}

// NewDesk checks the options; Start spawns the actors.
func NewDesk(engine *actor.Engine, opts DeskOptions) (*Desk, error) {
	if opts.Log == nil {
		return nil, errors.New("desk: no log to record orders on")
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.VenueOrdersPerMinute <= 0 {
		opts.VenueOrdersPerMinute = 300
	}
	d := &Desk{opts: opts, engine: engine, agents: map[string]*actor.PID{}, execution: map[string]string{},
		venues: map[string]*actor.PID{}, impls: map[string]portfolio.Venue{}}
	for _, a := range opts.Agents {
		if _, dup := d.execution[a.Name]; dup {
			return nil, fmt.Errorf("agent %q is configured twice", a.Name)
		}
		if opts.Venues[a.Execution] == nil {
			return nil, fmt.Errorf("agent %q: no %s venue in this engine (live trading needs --live-orders and Binance keys)", a.Name, a.Execution)
		}
		d.execution[a.Name] = a.Execution
	}
	return d, nil
}

// Start rebuilds the desk's state from the log, spawns its actors and reconciles the open
// orders with the venues. Call it before the graph dispatches market data and before the
// commands are applied.
func (d *Desk) Start(ctx context.Context) error {
	rb, err := d.rebuild(ctx)
	if err != nil {
		return err
	}
	d.lastCmdSeq = rb.lastCmdSeq
	gate := NewGate(d.opts.Agents, d.opts.VenueOrdersPerMinute)
	d.risk = d.engine.Spawn(newRiskActor(d, gate), "risk", actor.WithID("gate"))
	modes := map[string]bool{}
	for _, a := range d.opts.Agents {
		modes[a.Execution] = true
	}
	for _, mode := range slices.Sorted(func(yield func(string) bool) {
		for m := range modes {
			if !yield(m) {
				return
			}
		}
	}) {
		var pid *actor.PID
		ready := make(chan struct{})
		v, err := d.opts.Venues[mode](func(ev *streams.OrderEvent) {
			<-ready
			d.send(pid, venueReport{Event: ev})
		})
		if err != nil {
			return fmt.Errorf("venue %s: %w", mode, err)
		}
		d.impls[mode] = v
		pid = d.engine.Spawn(newVenueActor(d, v), "venue", actor.WithID(mode))
		d.venues[mode] = pid
		close(ready)
	}
	for _, a := range d.opts.Agents {
		d.agents[a.Name] = d.engine.Spawn(newAgentActor(a, d), "agent", actor.WithID(a.Name))
	}
	// Hand every actor its rebuilt state before anything else reaches it.
	d.send(d.risk, riskRestore{Seen: rb.submitted(), Orders: rb.gateOrders(), Positions: rb.positions(), States: rb.states, KillSwitch: rb.killSwitch})
	for _, a := range d.opts.Agents {
		d.send(d.agents[a.Name], rb.agentRestore(a))
	}
	return d.reconcile(ctx, rb)
}

// reconcile settles what the crash left in between: intents the risk gate never decided on
// are expired (an order decided on stale data is never sent late), and each venue compares
// the orders the log says are open with its own and reports every difference.
func (d *Desk) reconcile(ctx context.Context, rb *rebuilt) error {
	open := map[string][]*portfolio.Order{}
	for _, id := range rb.order {
		o := rb.orders[id]
		if !o.Open() {
			continue
		}
		if o.Status == portfolio.StatusIntent {
			ev := o.Event(streams.OrderExpired, o.Updated)
			ev.Reason, ev.Source = "the engine restarted before the risk gate decided on it", "reconcile"
			if err := d.record(ev); err != nil {
				return fmt.Errorf("reconcile: %w", err)
			}
			d.route(ev)
			continue
		}
		mode := d.execution[o.Agent]
		open[mode] = append(open[mode], o.Clone())
	}
	for mode, pid := range d.venues {
		res, err := d.engine.Request(pid, venueReconcile{Open: open[mode]}, time.Minute).Result()
		if err != nil {
			return fmt.Errorf("reconciling with the %s venue: %w", mode, err)
		}
		if r, ok := res.(venueReconciled); ok && r.Err != nil {
			return fmt.Errorf("reconciling with the %s venue: %w", mode, r.Err)
		} else if ok {
			d.opts.Logger.Info("reconciled with the venue", "venue", mode, "open_orders", len(open[mode]), "balances", len(r.Balances))
			if r.Balances != nil { // after the fills the reconcile reported, which are ahead in its mailbox
				d.send(pid, venueCheckBalances{Venue: mode, Balances: r.Balances, Last: rb.balances[mode], Net: rb.net[mode]})
			}
		}
	}
	return nil
}

// venueReconcile asks a venue actor to reconcile; it answers venueReconciled.
type (
	venueReconcile  struct{ Open []*portfolio.Order }
	venueReconciled struct {
		Balances map[string]decimal.Decimal
		Err      error
	}
)

// FeatureSubscribers are the actors that need the symbols' 1m features (the agents mark
// their positions with them).
func (d *Desk) FeatureSubscribers() []*actor.PID {
	out := make([]*actor.PID, 0, len(d.agents))
	for _, a := range d.opts.Agents {
		out = append(out, d.agents[a.Name])
	}
	return out
}

// MarketSubscribers are the actors that need every market event: the risk gate (last
// prices) and the venues (the paper exchange fills against them).
func (d *Desk) MarketSubscribers() []*actor.PID {
	out := []*actor.PID{d.risk}
	for _, mode := range slices.Sorted(mapsKeys(d.venues)) {
		out = append(out, d.venues[mode])
	}
	return out
}

// Signal hands a model's signal to the agents that follow the model.
func (d *Desk) Signal(sig *streams.Signal) {
	if sig.Shadow {
		return
	}
	for _, a := range d.opts.Agents {
		if a.Follows(sig.Model) && a.Trades(sig.Venue, sig.Symbol) {
			d.send(d.agents[a.Name], sig)
		}
	}
}

// The commands the desk applies, all persisted on the CMD stream before they act.
//
//	agents.start   {"agent": "ATLAS"}  ACTIVE (from REDUCING or HALTED)
//	agents.stop    {"agent": "ATLAS"}  REDUCING: closes its positions, then only shrinking orders
//	agents.halt    {"agent": "ATLAS"}  HALTED: cancels its open orders, sends nothing more
//	agents.resume  {"agent": "ATLAS"}  ACTIVE again; its drawdown is measured from now
//	killswitch.on  {"reason": "..."}   every agent HALTED and every open order canceled; the gate rejects all
//	killswitch.off {}                  the gate lets orders through again; agents stay HALTED until resumed
//	orders.cancel_all {"agent": ""}    cancels the open orders of one agent, or of all
var DeskCommands = []string{"agents.start", "agents.stop", "agents.halt", "agents.resume", "killswitch.on", "killswitch.off", "orders.cancel_all"}

// Apply carries out a desk command; other commands are not the desk's (nil). A command the
// desk already acted on before a restart (its effect is on the log) is skipped.
func (d *Desk) Apply(cmd streams.SequencedCommand) error {
	if !slices.Contains(DeskCommands, cmd.Name) {
		return nil
	}
	if cmd.Seq != 0 && cmd.Seq <= d.lastCmdSeq {
		return nil
	}
	var args struct {
		Agent  string `json:"agent"`
		Reason string `json:"reason"`
	}
	if len(cmd.Args) > 0 {
		if err := json.Unmarshal(cmd.Args, &args); err != nil {
			return fmt.Errorf("%w: %s: %v", ErrCommand, cmd.Name, err)
		}
	}
	t := cmd.Time
	who := cmd.Name
	if cmd.Issuer != "" {
		who += " by " + cmd.Issuer
	}
	agent := func() (*actor.PID, error) {
		for name, pid := range d.agents {
			if strings.EqualFold(name, args.Agent) {
				return pid, nil
			}
		}
		return nil, fmt.Errorf("%w: %s: no agent %q (have %s)", ErrCommand, cmd.Name, args.Agent, strings.Join(slices.Sorted(mapsKeys(d.agents)), ", "))
	}
	set := func(state streams.AgentState, cancel, flatten bool) error {
		pid, err := agent()
		if err != nil {
			return err
		}
		d.send(pid, agentSetState{State: state, Reason: who, Cause: cmd.CommandID, CommandSeq: cmd.Seq, Time: t, Cancel: cancel, Flatten: flatten})
		return nil
	}
	switch cmd.Name {
	case "agents.start", "agents.resume":
		return set(streams.AgentActive, false, false)
	case "agents.stop":
		return set(streams.AgentReducing, true, true)
	case "agents.halt":
		return set(streams.AgentHalted, true, false)
	case "orders.cancel_all":
		if args.Agent != "" {
			if _, err := agent(); err != nil {
				return err
			}
		}
		d.send(d.risk, riskCancelAll{Agent: args.Agent, Reason: who})
	case "killswitch.on", "killswitch.off":
		on := cmd.Name == "killswitch.on"
		reason := who
		if args.Reason != "" {
			reason += ": " + args.Reason
		}
		if err := d.record(&streams.KillSwitchEvent{On: on, Reason: reason, Cause: cmd.CommandID, CommandSeq: cmd.Seq, Time: t}); err != nil {
			return err
		}
		d.send(d.risk, riskKillSwitch{On: on})
		if on {
			for _, a := range d.opts.Agents {
				d.send(d.agents[a.Name], agentSetState{State: streams.AgentHalted, Reason: "kill switch: " + reason, Cause: cmd.CommandID,
					CommandSeq: cmd.Seq, Time: t, Cancel: true})
			}
		}
	}
	return nil
}

// Stop stops the desk's actors and closes the venues.
func (d *Desk) Stop() {
	var pids []*actor.PID
	for _, a := range d.opts.Agents {
		pids = append(pids, d.agents[a.Name])
	}
	pids = append(pids, d.risk)
	for _, pid := range d.venues {
		pids = append(pids, pid)
	}
	for _, pid := range pids {
		if pid == nil {
			continue
		}
		select {
		case <-d.engine.Poison(pid).Done():
		case <-time.After(5 * time.Second):
		}
	}
	for _, v := range d.impls {
		_ = v.Close()
	}
}

// Problems counts what went wrong (an order event that did not apply, a log write that
// failed) and the last message.
func (d *Desk) Problems() (int64, string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.problems.Load(), d.lastErr
}

// Recent returns the newest order events, newest last.
func (d *Desk) Recent() []*streams.OrderEvent {
	d.mu.Lock()
	defer d.mu.Unlock()
	return slices.Clone(d.recent)
}

// record puts an event on the log and waits for the log to acknowledge it.
func (d *Desk) record(ev streams.Event) error {
	msg, err := streams.Encode(ev)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err = d.opts.Log.PublishMsg(ctx, msg); err != nil {
		return err
	}
	if o, ok := ev.(*streams.OrderEvent); ok && o.Type == streams.OrderIntent {
		d.remember(o) // the other steps are remembered as they are routed
	}
	if d.opts.Recorded != nil {
		d.opts.Recorded(ev)
	}
	return nil
}

// remember keeps an order event among the newest, for the UI.
func (d *Desk) remember(ev *streams.OrderEvent) {
	d.mu.Lock()
	d.recent = append(d.recent, ev)
	if len(d.recent) > 200 {
		d.recent = slices.Delete(d.recent, 0, len(d.recent)-200)
	}
	d.mu.Unlock()
	d.observe("orders", ev)
}

// route tells the risk gate and the order's agent of an order event on the log.
func (d *Desk) route(ev *streams.OrderEvent) {
	d.remember(ev)
	d.send(d.risk, orderReport{Event: ev})
	if pid, ok := d.agents[ev.Agent]; ok {
		d.send(pid, orderReport{Event: ev})
	}
}

func (d *Desk) toRisk(msg any) { d.send(d.risk, msg) }

// send sends msg to pid, counted in flight until its receiver has handled it (see
// DeskOptions.InFlight): every message between the desk's actors goes through here.
func (d *Desk) send(pid *actor.PID, msg any) {
	d.add(1)
	d.engine.Send(pid, msg)
}

func (d *Desk) toVenue(o *portfolio.Order, msg any) {
	pid, ok := d.venues[d.execution[o.Agent]]
	if !ok {
		d.problem("desk", fmt.Errorf("no venue for agent %s", o.Agent))
		return
	}
	d.send(pid, msg)
}

// agentState tells the risk gate of an agent's new state.
func (d *Desk) agentState(ev *streams.AgentEvent) {
	d.send(d.risk, riskAgentState{Agent: ev.Agent, State: ev.State})
	d.observe("agent_events", ev)
	d.opts.Logger.Info("agent state", "agent", ev.Agent, "state", ev.State, "reason", ev.Reason)
}

func (d *Desk) problem(where string, err error) {
	d.problems.Add(1)
	d.mu.Lock()
	d.lastErr = where + ": " + err.Error()
	d.mu.Unlock()
	d.opts.Logger.Warn(where, "err", err)
}

func (d *Desk) observe(topic string, v any) {
	if d.opts.Observe != nil {
		d.opts.Observe(topic, v)
	}
}

func (d *Desk) add(n int64) {
	if d.opts.InFlight != nil {
		d.opts.InFlight.Add(n)
	}
}

func (d *Desk) done() { d.add(-1) }

func mapsKeys[V any](m map[string]V) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// rebuilt is the desk's state folded from the ORD and PF streams.
type rebuilt struct {
	orders     map[string]*portfolio.Order
	order      []string // client order IDs in the order of their intents
	accounts   map[string]*portfolio.Account
	last       map[string]map[[2]string]int64
	seen       map[string]int64 // market time of each agent's newest event
	balances   map[string]*streams.BalanceCheck
	net        map[string]map[string]decimal.Decimal // per venue: fills' balance changes since its last check
	states     map[string]streams.AgentState
	reasons    map[string]string
	killSwitch bool
	lastCmdSeq uint64
	events     int
	bad        int
}

func (d *Desk) rebuild(ctx context.Context) (*rebuilt, error) {
	rb := &rebuilt{orders: map[string]*portfolio.Order{}, accounts: map[string]*portfolio.Account{},
		last: map[string]map[[2]string]int64{}, seen: map[string]int64{}, balances: map[string]*streams.BalanceCheck{},
		net: map[string]map[string]decimal.Decimal{}, states: map[string]streams.AgentState{}, reasons: map[string]string{}}
	for _, a := range d.opts.Agents {
		rb.accounts[a.Name] = portfolio.NewAccount(a.Name, a.capital)
		rb.last[a.Name] = map[[2]string]int64{}
		rb.states[a.Name] = streams.AgentActive
	}
	err := streams.ReadAll(ctx, d.opts.Log, streams.StreamPortfolio, func(_ uint64, ev streams.Event) {
		switch e := ev.(type) {
		case *streams.BalanceCheck:
			rb.balances[e.Venue] = e
			rb.net[e.Venue] = map[string]decimal.Decimal{}
		case *streams.AgentEvent:
			if _, ok := rb.states[e.Agent]; ok {
				rb.states[e.Agent], rb.reasons[e.Agent] = e.State, e.Reason
				rb.seen[e.Agent] = max(rb.seen[e.Agent], e.Time)
			}
			rb.lastCmdSeq = max(rb.lastCmdSeq, e.CommandSeq)
		case *streams.EquitySnapshot:
			if _, ok := rb.states[e.Agent]; ok {
				rb.seen[e.Agent] = max(rb.seen[e.Agent], e.Time)
			}
		case *streams.KillSwitchEvent:
			rb.killSwitch = e.On
			rb.lastCmdSeq = max(rb.lastCmdSeq, e.CommandSeq)
		}
	})
	if err != nil {
		return nil, err
	}
	err = streams.ReadAll(ctx, d.opts.Log, streams.StreamOrders, func(seq uint64, ev streams.Event) {
		e, ok := ev.(*streams.OrderEvent)
		if !ok {
			return
		}
		mode := d.execution[e.Agent]
		if b := rb.balances[mode]; b != nil && e.Type == streams.OrderFill && seq > b.ORDSeq {
			streams.BalanceChanges(rb.net[mode], e) // a repeated fill is dropped by the log's dedup
		}
		rb.events++
		if _, ok := rb.states[e.Agent]; ok && e.Type == streams.OrderIntent {
			rb.seen[e.Agent] = max(rb.seen[e.Agent], e.Time)
		}
		if err := rb.apply(e); err != nil {
			rb.bad++
			d.problem("rebuilding orders from the log", err)
		}
	})
	if err != nil {
		return nil, err
	}
	if rb.events > 0 {
		d.opts.Logger.Info("desk rebuilt from the log", "order_events", rb.events, "orders", len(rb.orders), "skipped", rb.bad, "kill_switch", rb.killSwitch)
	}
	return rb, nil
}

func (rb *rebuilt) apply(e *streams.OrderEvent) error {
	o, ok := rb.orders[e.ClientOrderID]
	if !ok {
		if e.Type != streams.OrderIntent {
			return fmt.Errorf("%s of order %s without its intent", e.Type, e.ClientOrderID)
		}
		var err error
		if o, err = portfolio.NewOrder(e); err != nil {
			return err
		}
		rb.orders[e.ClientOrderID] = o
		rb.order = append(rb.order, e.ClientOrderID)
		if m := rb.last[e.Agent]; m != nil {
			m[[2]string{e.Venue, e.Symbol}] = e.Time
		}
		return nil
	}
	applied, err := o.Apply(e)
	if err != nil || !applied || e.Type != streams.OrderFill {
		return err
	}
	if acc := rb.accounts[e.Agent]; acc != nil {
		return acc.Fill(e)
	}
	return nil
}

// positions are the agents' positions as the risk gate keys them, from their ledgers.
func (rb *rebuilt) positions() map[[3]string]decimal.Decimal {
	out := map[[3]string]decimal.Decimal{}
	for name, acc := range rb.accounts {
		for _, p := range acc.Positions() {
			out[[3]string{name, p.Venue, p.Symbol}] = p.Qty
		}
	}
	return out
}

// submitted lists the orders that got past the intent.
func (rb *rebuilt) submitted() []string {
	var out []string
	for _, id := range rb.order {
		if rb.orders[id].Status != portfolio.StatusIntent {
			out = append(out, id)
		}
	}
	return out
}

func (rb *rebuilt) gateOrders() map[string]*portfolio.Order {
	out := map[string]*portfolio.Order{}
	for id, o := range rb.orders {
		if o.Open() && o.Status != portfolio.StatusIntent {
			out[id] = o.Clone()
		}
	}
	return out
}

func (rb *rebuilt) agentRestore(a *Agent) agentRestore {
	open := map[string]*portfolio.Order{}
	for id, o := range rb.orders {
		if o.Agent == a.Name && o.Open() && o.Status != portfolio.StatusIntent {
			open[id] = o.Clone()
		}
	}
	return agentRestore{Account: rb.accounts[a.Name], State: rb.states[a.Name], Reason: rb.reasons[a.Name], Open: open, Last: rb.last[a.Name],
		Now: rb.seen[a.Name]}
}
