package actors

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
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
	// Stages, when set, times the desk's stages of the live path: the ensemble's signals
	// (feature_to_signal, their latency_us), the agents' decisions (signal_to_intent), the
	// intents' acknowledgement by the log (intent_ack) and the risk gate's checks.
	Stages *Stages
	// Profiles are the risk profiles portfolio.rebalance may name (default
	// portfolio.DefaultProfiles()); Profile is the one it uses when it names none (default
	// portfolio.DefaultProfile), Threshold the drift it tolerates when it gives none (default
	// portfolio.DefaultThreshold).
	Profiles  []portfolio.Profile
	Profile   string
	Threshold decimal.Decimal
	// Activity, when set, counts the messages and busy time of the agents, the risk gate and
	// the venues (the graph view's rate and load).
	Activity *Activity
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
	cmdHead    uint64 // the CMD stream's last sequence at Start
	problems   atomic.Int64
	queues     sync.Map // actor ID → *atomic.Int64: messages sent to it and not handled yet
	mu         sync.Mutex
	lastErr    string
	recent     []*streams.OrderEvent // newest last, for the UI
	// highWater is each agent's high-water mark, as its newest capital move left it (none:
	// its capital is); only Start and Apply touch it.
	highWater map[string]decimal.Decimal
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
	portfolio.AllocationDefaults(&opts.Profiles, &opts.Profile, &opts.Threshold)
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
	d.lastCmdSeq, d.highWater = rb.lastCmdSeq, rb.highWater
	if d.cmdHead, err = streams.LastSeq(ctx, d.opts.Log, streams.StreamCommands); err != nil {
		return err
	}
	gate := NewGate(d.opts.Agents, d.opts.VenueOrdersPerMinute)
	d.risk = d.engine.Spawn(newRiskActor(d, gate), "risk", actor.WithID("gate"), d.opts.Activity.Of("risk/gate"))
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
		pid = d.engine.Spawn(newVenueActor(d, v), "venue", actor.WithID(mode), d.opts.Activity.Of("venue/"+mode))
		d.venues[mode] = pid
		close(ready)
	}
	for _, a := range d.opts.Agents {
		d.agents[a.Name] = d.engine.Spawn(newAgentActor(a, d), "agent", actor.WithID(a.Name), d.opts.Activity.Of("agent/"+a.Name))
	}
	// Hand every actor its rebuilt state before anything else reaches it.
	d.send(d.risk, riskRestore{Seen: rb.submitted(), Orders: rb.gateOrders(), Positions: rb.positions(), States: rb.states, KillSwitch: rb.killSwitch,
		View: rb.risk})
	for _, a := range d.opts.Agents {
		d.send(d.agents[a.Name], rb.agentRestore(a))
	}
	if err := d.reconcile(ctx, rb); err != nil {
		return err
	}
	d.complete(rb.unfinished)
	return nil
}

// complete makes the moves of decisions the engine stopped in the middle of (a kill between
// a rebalance's moves would leave capital that was never there): each is the one its plan
// on the log says, high-water mark included, as if it had gone then.
func (d *Desk) complete(moves []streams.CapitalMove) {
	for _, m := range moves {
		if _, err := d.moveAgent(m); err != nil {
			d.problem("completing "+m.ID(), err)
			continue
		}
		d.opts.Logger.Warn("capital moved to complete a decision the engine stopped in the middle of", "agent", m.Agent, "amount", m.Amount,
			"type", m.Type, "cause", m.Cause)
	}
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
	for _, mode := range slices.Sorted(maps.Keys(d.venues)) {
		out = append(out, d.venues[mode])
	}
	return out
}

// Signal hands a model's signal to the agents that follow the model.
func (d *Desk) Signal(sig *streams.Signal) {
	if sig.Shadow {
		return
	}
	if sig.Model == "ensemble" { // inference.EnsembleName: the stage is the ensemble's, as in the benchmark
		d.opts.Stages.Observe(StageFeatureToSignal, time.Duration(sig.LatencyUs)*time.Microsecond)
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
//	portfolio.rebalance  {"profile": "moderate", "threshold": "0.05"}
//	                                   both optional: moves capital between the profile's agents back
//	                                   to its weights when one drifted beyond the threshold
//	portfolio.distribute {"keep": "0.05"}
//	                                   sweeps out of each agent its equity above its high-water mark
//	                                   × (1 + keep), at most its cash
//
// A portfolio.* command decides on the ledgers as they are when it comes: one that was on the
// log before the desk started (it acted then, moved nothing, was refused, or came as the
// engine stopped) is not applied, so that no capital moves on a restart.
var DeskCommands = []string{"agents.start", "agents.stop", "agents.halt", "agents.resume", "killswitch.on", "killswitch.off", "orders.cancel_all",
	"portfolio.rebalance", "portfolio.distribute"}

// Apply carries out a desk command; other commands are not the desk's (nil). A command the
// desk already acted on before a restart (its effect is on the log) is skipped.
func (d *Desk) Apply(cmd streams.SequencedCommand) error {
	if !slices.Contains(DeskCommands, cmd.Name) {
		return nil
	}
	if cmd.Seq != 0 && cmd.Seq <= d.lastCmdSeq {
		return nil
	}
	switch cmd.Name {
	case "portfolio.rebalance", "portfolio.distribute":
		if cmd.Seq != 0 && cmd.Seq <= d.cmdHead {
			d.opts.Logger.Info("a capital command from before the start moved nothing then, and is not applied again (if it came as the engine stopped, send it again)", "command", cmd.Name,
				"id", cmd.CommandID, "seq", cmd.Seq)
			return nil
		}
		if cmd.Name == "portfolio.rebalance" {
			return d.rebalance(cmd)
		}
		return d.distribute(cmd)
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
	who := issuedBy(cmd)
	agent := func() (*actor.PID, error) {
		if name, ok := d.agentNamed(args.Agent); ok {
			return d.agents[name], nil
		}
		return nil, fmt.Errorf("%w: %s: no agent %q (have %s)", ErrCommand, cmd.Name, args.Agent, strings.Join(slices.Sorted(maps.Keys(d.agents)), ", "))
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

// capitalArgs are the arguments of portfolio.rebalance (profile, threshold) and
// portfolio.distribute (keep); decimals are strings.
type capitalArgs struct {
	Profile   string `json:"profile"`
	Threshold string `json:"threshold"`
	Keep      string `json:"keep"`
}

// The messages by which the desk moves capital in the agents' ledgers, sent with Request.
type (
	// agentHoldingAsk asks an agent for its ledger's totals and its market time; it answers
	// agentHolding.
	agentHoldingAsk struct{}
	agentHolding    struct {
		Totals portfolio.Totals
		Now    int64
	}
	// agentMove asks an agent to record a capital move on the log, then to apply it to its
	// ledger; it answers agentMoved.
	agentMove  struct{ Move streams.CapitalMove }
	agentMoved struct {
		Move *streams.CapitalMove // as recorded
		Err  error
	}
)

// rebalance carries out portfolio.rebalance: it weighs the equity of the profile's agents, as
// their ledgers hold it now, against the profile's targets (portfolio.Drift) and, when some
// agent drifted beyond the threshold, moves capital between them (portfolio.Rebalance: the
// moves sum to zero).
func (d *Desk) rebalance(cmd streams.SequencedCommand) error {
	args, err := d.capitalArgs(cmd)
	if err != nil {
		return err
	}
	profile, err := portfolio.FindProfile(d.opts.Profiles, cmp.Or(args.Profile, d.opts.Profile))
	if err != nil {
		return d.refuse(cmd, fmt.Errorf("%w: %s: profile: %w", ErrCommand, cmd.Name, err))
	}
	threshold := d.opts.Threshold
	if args.Threshold != "" {
		if threshold, err = streams.ParseDecimal(args.Threshold); err != nil {
			return d.refuse(cmd, fmt.Errorf("%w: %s: threshold %q is not a decimal", ErrCommand, cmd.Name, args.Threshold))
		}
	}
	names := map[string]string{} // the profile's name of an agent → the desk's
	var agents []string
	for _, t := range profile.Targets {
		name, ok := d.agentNamed(t.Agent)
		if !ok {
			return d.refuse(cmd, fmt.Errorf("%w: %s: profile %s shares capital with %s, which this engine does not run", ErrCommand, cmd.Name, profile.Name, t.Agent))
		}
		names[t.Agent] = name
		agents = append(agents, name)
	}
	if quotes := d.quotesOf(agents); len(quotes) > 1 {
		return d.refuse(cmd, fmt.Errorf("%w: %s: profile %s shares capital between agents whose capital is in different assets (%s): capital cannot move between them",
			ErrCommand, cmd.Name, profile.Name, strings.Join(quotes, ", ")))
	}
	held, now, err := d.holdings(agents)
	if err != nil {
		return d.refuse(cmd, err)
	}
	holdings := make([]portfolio.Holding, 0, len(profile.Targets))
	for _, t := range profile.Targets {
		tot := held[names[t.Agent]]
		holdings = append(holdings, portfolio.Holding{Agent: t.Agent, Equity: tot.Equity, Cash: tot.Cash, Capital: tot.Capital})
	}
	alloc, err := portfolio.Drift(profile, holdings, threshold)
	if err != nil {
		return d.refuse(cmd, fmt.Errorf("%w: %s: %w", ErrCommand, cmd.Name, err))
	}
	moves := portfolio.Rebalance(alloc, cmd.CommandID, now)
	var sum decimal.Decimal
	for i := range moves {
		moves[i].Agent = names[moves[i].Agent]
		sum, _ = sum.Add(moves[i].Amount)
	}
	if !sum.IsZero() {
		return d.refuse(cmd, fmt.Errorf("%s: the moves sum to %s, not 0: nothing moved", cmd.Name, sum))
	}
	if len(moves) == 0 {
		d.opts.Logger.Info("nothing to rebalance", "profile", profile.Name, "max_drift", alloc.MaxDrift, "threshold", threshold)
		return nil
	}
	return d.move(cmd, moves, held)
}

// distribute carries out portfolio.distribute: of each agent's equity, as its ledger holds it
// now, what is above its high-water mark × (1 + keep) is swept out of it, at most its cash
// (portfolio.Distribute).
func (d *Desk) distribute(cmd streams.SequencedCommand) error {
	args, err := d.capitalArgs(cmd)
	if err != nil {
		return err
	}
	keep, err := streams.ParseDecimal(args.Keep)
	if err != nil {
		return d.refuse(cmd, fmt.Errorf("%w: %s: keep %q is not a decimal (0.05: each agent keeps 5%% growth above its high-water mark)", ErrCommand, cmd.Name, args.Keep))
	}
	agents := slices.Sorted(maps.Keys(d.agents))
	held, now, err := d.holdings(agents)
	if err != nil {
		return d.refuse(cmd, err)
	}
	holdings := make([]portfolio.Holding, 0, len(agents))
	for _, name := range agents {
		tot := held[name]
		holdings = append(holdings, portfolio.Holding{Agent: name, Equity: tot.Equity, Cash: tot.Cash, Capital: tot.Capital, HighWater: d.highWater[name]})
	}
	_, moves, err := portfolio.Distribute(holdings, keep, cmd.CommandID, now)
	if err != nil {
		return d.refuse(cmd, fmt.Errorf("%w: %s: %w", ErrCommand, cmd.Name, err))
	}
	if len(moves) == 0 {
		d.opts.Logger.Info("nothing to distribute", "keep", keep)
		return nil
	}
	return d.move(cmd, moves, held)
}

// move applies the capital moves of one command: it checks every move against its agent's
// ledger first, so that one that cannot apply leaves them all undone; then each agent in turn
// records its move on the log and applies it (agentMove). A move other than a distribution
// shifts its agent's high-water mark by its amount.
func (d *Desk) move(cmd streams.SequencedCommand, moves []streams.CapitalMove, held map[string]portfolio.Totals) error {
	who := issuedBy(cmd)
	for i := range moves {
		m := &moves[i]
		m.CommandSeq, m.Reason = cmd.Seq, who+": "+m.Reason
		if m.Type != streams.MoveDistribution {
			mark := d.highWater[m.Agent]
			if !mark.IsPos() {
				mark = held[m.Agent].Capital
			}
			m.HighWater, _ = mark.Add(m.Amount)
		}
		if _, err := held[m.Agent].AfterMove(m.Amount); err != nil {
			return d.refuse(cmd, fmt.Errorf("%s: %s cannot move %s: %w; nothing moved", cmd.Name, m.Agent, m.Amount, err))
		}
	}
	plan := make([]streams.PlannedMove, len(moves))
	for i, m := range moves {
		plan[i] = streams.PlannedMove{Agent: m.Agent, Amount: m.Amount, HighWater: m.HighWater}
	}
	for i := range moves {
		moves[i].Plan = plan
	}
	for i, m := range moves {
		moved, err := d.moveAgent(m)
		if err != nil {
			return d.refuse(cmd, fmt.Errorf("%s: moving %s for %s: %w (%d of its %d moves applied)", cmd.Name, m.Amount, m.Agent, err, i, len(moves)))
		}
		d.opts.Logger.Info("capital moved", "agent", m.Agent, "amount", m.Amount, "type", m.Type, "equity", moved.Equity, "cause", m.Cause)
	}
	return nil
}

// moveAgent has the agent record one move and apply it to its ledger, and keeps the
// high-water mark the move leaves.
func (d *Desk) moveAgent(m streams.CapitalMove) (*streams.CapitalMove, error) {
	d.sending(d.agents[m.Agent])
	res, err := d.engine.Request(d.agents[m.Agent], agentMove{Move: m}, 10*time.Second).Result()
	if err != nil {
		return nil, err
	}
	moved := res.(agentMoved)
	if moved.Err != nil {
		return nil, moved.Err
	}
	d.highWater[m.Agent] = moved.Move.HighWater
	return moved.Move, nil
}

// holdings asks each of the agents for its ledger's totals; now is the newest market time
// any of them has seen, the desk's clock.
func (d *Desk) holdings(agents []string) (held map[string]portfolio.Totals, now int64, err error) {
	held = map[string]portfolio.Totals{}
	for _, name := range agents {
		d.sending(d.agents[name])
		res, err := d.engine.Request(d.agents[name], agentHoldingAsk{}, 10*time.Second).Result()
		if err != nil {
			return nil, 0, fmt.Errorf("asking %s for its ledger: %w", name, err)
		}
		h := res.(agentHolding)
		held[name], now = h.Totals, max(now, h.Now)
	}
	return held, now, nil
}

func (d *Desk) capitalArgs(cmd streams.SequencedCommand) (capitalArgs, error) {
	var args capitalArgs
	if len(cmd.Args) > 0 {
		if err := json.Unmarshal(cmd.Args, &args); err != nil {
			return args, d.refuse(cmd, fmt.Errorf("%w: %s: %v", ErrCommand, cmd.Name, err))
		}
	}
	return args, nil
}

// issuedBy is "<command> by <issuer>", or the command's name when no issuer is known: the
// reason its effects give.
func issuedBy(cmd streams.SequencedCommand) string {
	if cmd.Issuer == "" {
		return cmd.Name
	}
	return cmd.Name + " by " + cmd.Issuer
}

// agentNamed finds the desk's agent of that name, in any case.
// quotesOf lists the quote assets of the named agents' capital, one "AGENT: ASSET" per
// asset, sorted; more than one means their ledgers are in different currencies.
func (d *Desk) quotesOf(agents []string) []string {
	first := map[string]string{} // asset → the first agent in it
	for _, a := range d.opts.Agents {
		if slices.Contains(agents, a.Name) {
			if _, ok := first[a.Quote]; !ok {
				first[a.Quote] = a.Name
			}
		}
	}
	var out []string
	for q, a := range first {
		out = append(out, a+": "+q)
	}
	slices.Sort(out)
	return out
}

func (d *Desk) agentNamed(name string) (string, bool) {
	for n := range d.agents {
		if strings.EqualFold(n, name) {
			return n, true
		}
	}
	return "", false
}

// refuse counts and logs a command that could not act, and returns why.
func (d *Desk) refuse(cmd streams.SequencedCommand, err error) error {
	d.problem("command "+cmd.Name+" "+cmd.CommandID, err)
	return err
}

// holding answers agentHoldingAsk.
func (a *agentActor) holding() agentHolding {
	return agentHolding{Totals: a.account.Totals(), Now: a.now}
}

// moveCapital answers agentMove: the move goes on the log, with the agent's equity after it
// and the number of fills its ledger holds, and the log acknowledges it before the ledger
// changes. Nothing changes when the ledger cannot take the amount, the log refuses, or the
// log holds this move already.
func (a *agentActor) moveCapital(m streams.CapitalMove) agentMoved {
	after, err := a.account.Totals().AfterMove(m.Amount)
	if err != nil {
		return agentMoved{Err: err}
	}
	m.Equity, m.AfterFills = after.Equity, a.account.Fills
	ack, err := a.desk.recordAck(&m)
	if err != nil {
		return agentMoved{Err: fmt.Errorf("recording %s: %w", m.ID(), err)}
	}
	if ack.Duplicate { // the same command's move again: it moved the capital once
		return agentMoved{Err: fmt.Errorf("%s is on the log already: not moved twice", m.ID())}
	}
	if err := a.account.Move(m.Amount); err != nil { // AfterMove said it would not fail
		a.desk.problem("agent "+a.cfg.Name+": a capital move on the log did not apply", err)
		return agentMoved{Err: err}
	}
	a.peak = a.account.Peak // the move's equity, on the log with it
	a.show(true)
	return agentMoved{Move: &m}
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
	_, err := d.recordAck(ev)
	return err
}

// recordAck is record that returns the log's acknowledgement (Duplicate: the log holds an
// event with this ID already and dropped this one).
func (d *Desk) recordAck(ev streams.Event) (*jetstream.PubAck, error) {
	msg, err := streams.Encode(ev)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ack, err := d.opts.Log.PublishMsg(ctx, msg)
	if err != nil {
		return nil, err
	}
	if o, ok := ev.(*streams.OrderEvent); ok && o.Type == streams.OrderIntent {
		d.remember(o) // the other steps are remembered as they are routed
	}
	if d.opts.Recorded != nil {
		d.opts.Recorded(ev)
	}
	return ack, nil
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
// DeskOptions.InFlight) and in pid's queue (Queues): every message between the desk's
// actors goes through here.
func (d *Desk) send(pid *actor.PID, msg any) {
	d.sending(pid)
	d.engine.Send(pid, msg)
}

// sending counts a message on its way to pid (sent or requested); pid's done counts it off.
func (d *Desk) sending(pid *actor.PID) {
	d.add(1)
	d.queue(pid).Add(1)
}

// done counts off a message pid has handled.
func (d *Desk) done(pid *actor.PID) {
	d.add(-1)
	d.queue(pid).Add(-1)
}

func (d *Desk) queue(pid *actor.PID) *atomic.Int64 {
	if q, ok := d.queues.Load(pid.ID); ok {
		return q.(*atomic.Int64)
	}
	q, _ := d.queues.LoadOrStore(pid.ID, new(atomic.Int64))
	return q.(*atomic.Int64)
}

// Queues reports the messages the desk's actors have been sent and not handled yet (signals,
// order reports, commands, bots' requests), by actor ID ("agent/ATLAS", "risk/gate",
// "venue/paper"). Market data reaches the risk gate and the venues through the graph's
// market tap, bounded there (Graph.TapDepths), and features reach the agents from the
// symbol actors: neither is counted here.
func (d *Desk) Queues() map[string]int64 {
	for _, pid := range d.agents { // every actor listed, sent something or not
		d.queue(pid)
	}
	for _, pid := range d.venues {
		d.queue(pid)
	}
	if d.risk != nil {
		d.queue(d.risk)
	}
	out := map[string]int64{}
	d.queues.Range(func(k, v any) bool {
		out[k.(string)] = v.(*atomic.Int64).Load()
		return true
	})
	return out
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
	// moves are each agent's capital moves in log order, not replayed into its ledger yet;
	// highWater its high-water mark as its newest move left it.
	moves     map[string][]*streams.CapitalMove
	highWater map[string]decimal.Decimal
	// peaks are each agent's newest peak on PF: a streams.Peak, a capital move's equity, or
	// the equity it resumed at after a halt.
	peaks map[string]decimal.Decimal
	// unfinished are the moves of decisions the engine stopped in the middle of: in their
	// plans, not on the log. Start completes them.
	unfinished []streams.CapitalMove
	// views are what each agent showed (its counts, last order, equity curve) and risk what
	// the gate showed, as the log tells them: a restart answers the same.
	views map[string]*AgentView
	risk  RiskView
	bots  map[string]bool // client order IDs of bots' orders
}

func (d *Desk) rebuild(ctx context.Context) (*rebuilt, error) {
	rb := &rebuilt{orders: map[string]*portfolio.Order{}, accounts: map[string]*portfolio.Account{},
		last: map[string]map[[2]string]int64{}, seen: map[string]int64{}, balances: map[string]*streams.BalanceCheck{},
		net: map[string]map[string]decimal.Decimal{}, states: map[string]streams.AgentState{}, reasons: map[string]string{},
		moves: map[string][]*streams.CapitalMove{}, highWater: map[string]decimal.Decimal{}, peaks: map[string]decimal.Decimal{},
		views: map[string]*AgentView{}, risk: RiskView{Rejected: map[string]int64{}}, bots: map[string]bool{}}
	movedIDs := map[string]bool{}
	rebalances := map[string]decimal.Decimal{} // Σ of each rebalance's moves, by cause
	plans := map[string]*streams.CapitalMove{} // a move of each decision with a plan, by cause
	for _, a := range d.opts.Agents {
		rb.accounts[a.Name] = portfolio.NewAccount(a.Name, a.capital)
		rb.last[a.Name] = map[[2]string]int64{}
		rb.states[a.Name] = streams.AgentActive
		rb.views[a.Name] = &AgentView{}
	}
	err := streams.ReadAll(ctx, d.opts.Log, streams.StreamPortfolio, func(seq uint64, ev streams.Event) {
		if ev == nil {
			rb.undecodable(d, streams.StreamPortfolio, seq)
			return
		}
		switch e := ev.(type) {
		case *streams.BalanceCheck:
			rb.balances[e.Venue] = e
			rb.net[e.Venue] = map[string]decimal.Decimal{}
		case *streams.AgentEvent:
			if _, ok := rb.states[e.Agent]; ok {
				rb.states[e.Agent], rb.reasons[e.Agent] = e.State, e.Reason
				rb.seen[e.Agent] = max(rb.seen[e.Agent], e.Time)
				if e.Previous == streams.AgentHalted && e.State == streams.AgentActive && e.Equity.IsPos() {
					rb.peaks[e.Agent] = e.Equity // resumed: the drawdown measured afresh from there
				}
			}
			rb.lastCmdSeq = max(rb.lastCmdSeq, e.CommandSeq)
		case *streams.EquitySnapshot:
			if _, ok := rb.states[e.Agent]; ok {
				rb.seen[e.Agent] = max(rb.seen[e.Agent], e.Time)
				v := rb.views[e.Agent]
				v.Curve = appendCurve(v.Curve, CurvePoint{Time: e.Time, Equity: e.Equity})
				if e.Drawdown.Cmp(v.MaxDrawdown) > 0 {
					v.MaxDrawdown = e.Drawdown
				}
			}
		case *streams.Peak:
			if _, ok := rb.states[e.Agent]; ok && e.Peak.IsPos() {
				rb.peaks[e.Agent] = e.Peak
			}
		case *streams.KillSwitchEvent:
			rb.killSwitch = e.On
			rb.lastCmdSeq = max(rb.lastCmdSeq, e.CommandSeq)
		case *streams.CapitalMove:
			rb.lastCmdSeq = max(rb.lastCmdSeq, e.CommandSeq)
			if err := e.Check(); err != nil {
				rb.bad++
				d.problem("rebuilding capital from the log", err)
				return
			}
			if _, ok := rb.accounts[e.Agent]; !ok || movedIDs[e.ID()] { // an agent no longer run; a resend
				return
			}
			movedIDs[e.ID()] = true
			if len(e.Plan) > 0 && plans[e.Cause] == nil {
				plans[e.Cause] = e
			}
			rb.moves[e.Agent] = append(rb.moves[e.Agent], e)
			rb.highWater[e.Agent] = e.HighWater
			if e.Equity.IsPos() {
				rb.peaks[e.Agent] = e.Equity
			}
			if e.Type == streams.MoveRebalance {
				rebalances[e.Cause], _ = rebalances[e.Cause].Add(e.Amount)
			}
		}
	})
	if err != nil {
		return nil, err
	}
	for _, cause := range slices.Sorted(maps.Keys(plans)) { // the engine stopped between two moves of a decision
		first := plans[cause]
		for _, p := range first.Plan {
			probe := streams.CapitalMove{Agent: p.Agent, Cause: cause}
			if _, ok := rb.accounts[p.Agent]; ok && !movedIDs[probe.ID()] {
				m := *first
				m.Agent, m.Amount, m.HighWater, m.Equity, m.AfterFills = p.Agent, p.Amount, p.HighWater, decimal.Decimal{}, 0
				who, _, _ := strings.Cut(first.Reason, ": ")
				m.Reason = who + ": " + string(m.Type) + " completed when the engine started again (it stopped between the moves)"
				rb.unfinished = append(rb.unfinished, m)
				rebalances[cause], _ = rebalances[cause].Add(p.Amount) // completed at the start
			}
		}
	}
	for cause, sum := range rebalances {
		if !sum.IsZero() { // a rebalance without a plan (an older log) the engine stopped in the middle of
			d.problem("rebuilding capital from the log", fmt.Errorf("rebalance %s is on the log only in part: its moves sum to %s; run portfolio.rebalance again", cause, sum))
		}
	}
	// Each move goes into its agent's ledger after as many of its fills as the ledger had
	// booked when it applied: the moves before any fill now, the others as the fills come.
	for name := range rb.accounts {
		rb.replayMoves(d, name, false)
	}
	err = streams.ReadAll(ctx, d.opts.Log, streams.StreamOrders, func(seq uint64, ev streams.Event) {
		if ev == nil {
			rb.undecodable(d, streams.StreamOrders, seq)
			return
		}
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
		booked, err := rb.apply(e)
		if err != nil {
			rb.bad++
			d.problem("rebuilding orders from the log", err)
		}
		rb.count(e, booked)
		if e.Type == streams.OrderFill {
			rb.replayMoves(d, e.Agent, false)
		}
	})
	if err != nil {
		return nil, err
	}
	for name, acc := range rb.accounts { // moves after fills the log does not hold (they failed to book)
		rb.replayMoves(d, name, true)
		// The peak is the newest one on the log, not what the fills made of it here: live,
		// the ledger was marked at prices between its fills that the rebuild does not see.
		if p, ok := rb.peaks[name]; ok {
			acc.Peak = p
		} else {
			acc.Peak = acc.Capital
		}
	}
	if rb.events > 0 {
		d.opts.Logger.Info("desk rebuilt from the log", "order_events", rb.events, "orders", len(rb.orders), "skipped", rb.bad, "kill_switch", rb.killSwitch)
	}
	return rb, nil
}

// undecodable counts a message of the log the rebuild could not read (a damaged store): what
// it held is missing from the state rebuilt, and the desk says so.
func (rb *rebuilt) undecodable(d *Desk, stream string, seq uint64) {
	rb.bad++
	d.problem("rebuilding from the log", fmt.Errorf("%s message %d does not decode: left out of the rebuilt state (is the data dir damaged?)", stream, seq))
}

// count counts an order event as the agent and the gate counted it live: an agent its own
// intents, the rejections of its own orders and every fill it booked; the gate the orders
// it passed and its rejections by check.
func (rb *rebuilt) count(e *streams.OrderEvent, booked bool) {
	switch e.Type {
	case streams.OrderSubmitted:
		rb.risk.Passed++
	case streams.OrderRejected:
		if check, reason, ok := strings.Cut(strings.TrimPrefix(e.Reason, "risk: "), ": "); ok && strings.HasPrefix(e.Reason, "risk: ") {
			rb.risk.Rejected[check]++
			rb.risk.LastReject = e.Agent + " " + e.Symbol + ": " + reason
		}
	}
	v := rb.views[e.Agent]
	if v == nil {
		return
	}
	if e.Type == streams.OrderIntent && e.Source == "bot" {
		rb.bots[e.ClientOrderID] = true
	}
	bot := rb.bots[e.ClientOrderID]
	switch {
	case e.Type == streams.OrderIntent && !bot:
		v.Intents++
	case e.Type == streams.OrderFill && booked:
		v.Fills++
	case e.Type == streams.OrderRejected && !bot:
		v.Rejected++
	case bot:
		return // the agent did not follow its bots' orders but for their fills
	}
	v.LastOrder = e
}

// apply folds an order event into its order and a fill into the agent's ledger; booked says
// a fill was booked.
func (rb *rebuilt) apply(e *streams.OrderEvent) (booked bool, err error) {
	o, ok := rb.orders[e.ClientOrderID]
	if !ok {
		if e.Type != streams.OrderIntent {
			return false, fmt.Errorf("%s of order %s without its intent", e.Type, e.ClientOrderID)
		}
		if o, err = portfolio.NewOrder(e); err != nil {
			return false, err
		}
		rb.orders[e.ClientOrderID] = o
		rb.order = append(rb.order, e.ClientOrderID)
		if m := rb.last[e.Agent]; m != nil {
			m[[2]string{e.Venue, e.Symbol}] = e.Time
		}
		return false, nil
	}
	applied, err := o.Apply(e)
	if err != nil || !applied || e.Type != streams.OrderFill {
		return false, err
	}
	if acc := rb.accounts[e.Agent]; acc != nil {
		return true, acc.Fill(e)
	}
	return false, nil
}

// replayMoves applies the agent's pending capital moves whose fill count its ledger has
// reached (all of them with all): capital and cash move. (The peak is set once the whole log
// is folded: rebuilt.peaks.)
func (rb *rebuilt) replayMoves(d *Desk, agent string, all bool) {
	acc := rb.accounts[agent]
	for acc != nil && len(rb.moves[agent]) > 0 {
		m := rb.moves[agent][0]
		if !all && m.AfterFills > acc.Fills {
			return
		}
		rb.moves[agent] = rb.moves[agent][1:]
		if all {
			d.problem("rebuilding capital from the log", fmt.Errorf("%s came after %d fills of %s, the ledger booked %d", m.ID(), m.AfterFills, agent, acc.Fills))
		}
		if err := acc.Move(m.Amount); err != nil {
			rb.bad++
			d.problem("rebuilding capital from the log", fmt.Errorf("%s: %w", m.ID(), err))
		}
	}
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
		Now: rb.seen[a.Name], View: *rb.views[a.Name]}
}
