package actors

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/anthdm/hollywood/actor"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/synapse-trading/synapse/actors/indicator"
	"github.com/synapse-trading/synapse/streams"
)

// Graph is the running actor graph: a Hollywood engine with one actor per symbol, spawned
// when the symbol's first event arrives, and the routing of market data to them.
type Graph struct {
	Engine *actor.Engine
	opts   SymbolOptions

	mu        sync.Mutex
	symbols   map[symbolKey]*symbolRef
	pending   map[symbolKey][]Sequenced // Dispatch scratch space, reused
	order     []symbolKey
	routed    int64
	badLog    int64
	eventTime int64
	lastSeq   uint64

	pairs    map[SymbolRef][]*actor.PID // the pair actors each symbol tells of its candles
	pairPIDs []*actor.PID
	featSubs []*actor.PID // actors every symbol sends its 1m features to (model actors)
	taps     []*marketSub // actors that see every market event (the risk gate, the venues)
}

// marketSub is an actor tapped into the market data, with its own bound.
type marketSub struct {
	pid     *actor.PID
	credits chan struct{}
}

// MarketTap carries a batch of market events, of any symbols, in log order, to an actor
// that subscribed with SubscribeMarket. The receiver calls Done when it has handled it.
type MarketTap struct {
	Events  []Sequenced
	credits chan struct{}
}

// Done releases the tap's place in the receiver's bound.
func (m MarketTap) Done() {
	select {
	case <-m.credits:
	default:
	}
}

type symbolKey struct{ venue, symbol string }

type symbolRef struct {
	pid     *actor.PID
	credits chan struct{}
}

// NewGraph starts a Hollywood engine for the graph.
func NewGraph(opts SymbolOptions) (*Graph, error) {
	if opts.MaxInFlight <= 0 {
		opts.MaxInFlight = 64
	}
	if opts.ObserveEvery <= 0 {
		opts.ObserveEvery = 250 * time.Millisecond
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.CorrelationPeriod == 0 {
		opts.CorrelationPeriod = 20
	}
	if _, err := indicator.NewCorrelation(opts.CorrelationPeriod); err != nil {
		return nil, err
	}
	e, err := actor.NewEngine(actor.NewEngineConfig())
	if err != nil {
		return nil, fmt.Errorf("starting the actor engine: %w", err)
	}
	g := &Graph{Engine: e, opts: opts, symbols: map[symbolKey]*symbolRef{}, pending: map[symbolKey][]Sequenced{},
		pairs: map[SymbolRef][]*actor.PID{}}
	for _, p := range opts.Pairs {
		if p.A == p.B {
			return nil, fmt.Errorf("correlation pair %s: a symbol with itself", p)
		}
		id := p.A.String() + "~" + p.B.String()
		pid := e.Spawn(newPairActor(p, opts.CorrelationPeriod, opts), "pair", actor.WithID(id), opts.Activity.Of("pair/"+id))
		g.pairs[p.A] = append(g.pairs[p.A], pid)
		g.pairs[p.B] = append(g.pairs[p.B], pid)
		g.pairPIDs = append(g.pairPIDs, pid)
	}
	return g, nil
}

// Symbol returns the PID of venue/symbol's actor, spawning it on first use.
func (g *Graph) Symbol(venue, symbol string) *actor.PID {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.symbolLocked(symbolKey{venue, symbol}).pid
}

func (g *Graph) symbolLocked(k symbolKey) *symbolRef {
	ref, ok := g.symbols[k]
	if !ok {
		credits := make(chan struct{}, g.opts.MaxInFlight)
		pid := g.Engine.Spawn(newSymbolActor(k.venue, k.symbol, g.opts, credits, g.pairs[SymbolRef{k.venue, k.symbol}], g.featSubs), "symbol",
			actor.WithID(k.venue+"."+k.symbol), actor.WithMaxRestarts(10), actor.WithRestartDelay(50*time.Millisecond))
		ref = &symbolRef{pid: pid, credits: credits}
		g.symbols[k] = ref
	}
	return ref
}

// SubscribeFeatures makes every symbol actor send its closed 1m features (*streams.Feature
// messages) to pids, e.g. the model actors. Call it before the first event is dispatched:
// a symbol actor takes the list when it is spawned.
func (g *Graph) SubscribeFeatures(pids ...*actor.PID) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.featSubs = append(g.featSubs, pids...)
}

// SubscribeMarket makes Dispatch send every batch of market events to pids (MarketTap
// messages), before the symbol actors get them. Each subscriber has MaxInFlight batches in
// its mailbox at most: Dispatch waits for it like for a symbol actor.
func (g *Graph) SubscribeMarket(pids ...*actor.PID) {
	g.mu.Lock()
	defer g.mu.Unlock()
	for _, pid := range pids {
		g.taps = append(g.taps, &marketSub{pid: pid, credits: make(chan struct{}, g.opts.MaxInFlight)})
	}
}

// Symbols lists the venue/symbol pairs that have an actor.
func (g *Graph) Symbols() [][2]string {
	g.mu.Lock()
	defer g.mu.Unlock()
	out := make([][2]string, 0, len(g.symbols))
	for k := range g.symbols {
		out = append(out, [2]string{k.venue, k.symbol})
	}
	return out
}

// Dispatch routes events, in order, to the market subscribers (the risk gate, the venues)
// and to their symbols' actors, one MarketData batch per symbol. It blocks while an actor
// already has MaxInFlight batches in its mailbox: that is the bound of the log → actor edge,
// and it pushes back on whatever feeds Dispatch. Dispatch is called from one goroutine (the
// log consumer, a backtest's clock or a benchmark).
func (g *Graph) Dispatch(ctx context.Context, events []Sequenced) error {
	if err := g.DispatchMarket(ctx, events); err != nil {
		return err
	}
	return g.DispatchSymbols(ctx, events)
}

// DispatchMarket sends events to the market subscribers only (see SubscribeMarket).
func (g *Graph) DispatchMarket(ctx context.Context, events []Sequenced) error {
	g.mu.Lock()
	taps := g.taps
	g.mu.Unlock()
	if len(taps) == 0 {
		return nil
	}
	shared := append([]Sequenced(nil), events...) // the caller reuses events; the taps only read
	for _, t := range taps {
		select {
		case t.credits <- struct{}{}:
		case <-ctx.Done():
			return ctx.Err()
		}
		g.Engine.Send(t.pid, MarketTap{Events: shared, credits: t.credits})
	}
	return nil
}

// DispatchSymbols sends events to their symbols' actors only.
func (g *Graph) DispatchSymbols(ctx context.Context, events []Sequenced) error {
	var last uint64
	g.mu.Lock()
	g.order = g.order[:0]
	for _, ev := range events {
		v, s := ev.Event.Key()
		k := symbolKey{v, s}
		if len(g.pending[k]) == 0 {
			g.order = append(g.order, k)
		}
		g.pending[k] = append(g.pending[k], ev)
		if t := ev.Event.EventTime(); t > g.eventTime {
			g.eventTime = t
		}
		last = max(last, ev.Seq)
	}
	refs := make([]*symbolRef, len(g.order))
	batches := make([][]Sequenced, len(g.order))
	for i, k := range g.order {
		refs[i] = g.symbolLocked(k)
		batches[i] = append([]Sequenced(nil), g.pending[k]...) // the actor owns its copy
		g.pending[k] = g.pending[k][:0]
	}
	g.routed += int64(len(events))
	g.mu.Unlock()
	for i, ref := range refs {
		select {
		case ref.credits <- struct{}{}:
		case <-ctx.Done():
			return ctx.Err()
		}
		g.Engine.Send(ref.pid, MarketData{Events: batches[i]})
	}
	// Only now is the batch in the actors' mailboxes: CaughtUp must not see its last
	// sequence while some of it is still on its way.
	g.mu.Lock()
	g.lastSeq = max(g.lastSeq, last)
	g.mu.Unlock()
	return nil
}

// Drain waits until every symbol actor and market subscriber has processed what was
// dispatched to it.
func (g *Graph) Drain(ctx context.Context) error {
	for !g.Idle() {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Microsecond):
		}
	}
	return nil
}

// Idle reports whether every batch dispatched has been handled.
func (g *Graph) Idle() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	for _, r := range g.symbols {
		if len(r.credits) > 0 {
			return false
		}
	}
	for _, t := range g.taps {
		if len(t.credits) > 0 {
			return false
		}
	}
	return true
}

// ConsumeLog feeds the symbol actors from the MD stream, from its first event, until ctx
// ends. A restart of the engine is therefore a replay of the log.
func (g *Graph) ConsumeLog(ctx context.Context, js jetstream.JetStream) error {
	batch := make([]Sequenced, 0, 512)
	err := streams.Follow(ctx, js, streams.StreamMarketData, jetstream.OrderedConsumerConfig{}, 512, func(msgs []jetstream.Msg) error {
		batch = batch[:0]
		for i, d := range streams.DecodeAll(msgs) {
			switch {
			case d.Seq == 0: // not a JetStream message
			case d.Err != nil:
				g.mu.Lock()
				g.badLog++
				g.mu.Unlock()
				g.opts.Logger.Warn("skipping an undecodable event on the log", "subject", msgs[i].Subject(), "seq", d.Seq, "err", d.Err)
			default:
				batch = append(batch, Sequenced{Seq: d.Seq, Event: d.Event, Stored: d.Stored})
			}
		}
		if len(batch) == 0 {
			return nil
		}
		return g.Dispatch(ctx, batch)
	})
	if ctx.Err() != nil {
		return nil // Dispatch gave up because the engine is stopping
	}
	return err
}

// CaughtUp reports whether the graph has routed the MD stream's event at head and every
// actor has applied what it was sent: after a restart, the engine is ready once it has caught
// up with the log's head as it was at the start.
func (g *Graph) CaughtUp(head uint64) bool {
	g.mu.Lock()
	routed := g.lastSeq >= head
	g.mu.Unlock()
	return routed && g.Idle()
}

// Stats of the routing.
type GraphStats struct {
	Symbols     int    `json:"symbols"`
	Routed      int64  `json:"routed"`
	BadOnTheLog int64  `json:"bad_on_the_log"`
	EventTime   int64  `json:"event_time"` // newest event time routed, epoch ms
	LastSeq     uint64 `json:"last_seq"`   // MD stream sequence of the last event routed
}

// Stats reports routing counters.
func (g *Graph) Stats() GraphStats {
	g.mu.Lock()
	defer g.mu.Unlock()
	return GraphStats{Symbols: len(g.symbols), Routed: g.routed, BadOnTheLog: g.badLog, EventTime: g.eventTime, LastSeq: g.lastSeq}
}

// MailboxDepths reports the MarketData batches waiting in each symbol actor's mailbox.
func (g *Graph) MailboxDepths() map[[2]string]int {
	g.mu.Lock()
	defer g.mu.Unlock()
	out := make(map[[2]string]int, len(g.symbols))
	for k, r := range g.symbols {
		out[[2]string{k.venue, k.symbol}] = len(r.credits)
	}
	return out
}

// TapDepths reports the MarketTap batches waiting in each market subscriber's mailbox, by
// actor ID ("risk/gate", "venue/paper"), each bounded by SymbolOptions.MaxInFlight.
func (g *Graph) TapDepths() map[string]int {
	g.mu.Lock()
	defer g.mu.Unlock()
	out := make(map[string]int, len(g.taps))
	for _, t := range g.taps {
		out[t.pid.ID] = len(t.credits)
	}
	return out
}

// MaxInFlight is the bound of each symbol actor's and market subscriber's mailbox, in batches.
func (g *Graph) MaxInFlight() int { return g.opts.MaxInFlight }

// Stop stops every actor, letting each finish its mailbox.
func (g *Graph) Stop() {
	g.mu.Lock()
	pids := make([]*actor.PID, 0, len(g.symbols))
	for _, r := range g.symbols {
		pids = append(pids, r.pid)
	}
	g.mu.Unlock()
	for _, pid := range pids {
		<-g.Engine.Poison(pid).Done()
	}
	for _, pid := range g.pairPIDs { // after the symbols: they may still tell them of candles
		<-g.Engine.Poison(pid).Done()
	}
}
