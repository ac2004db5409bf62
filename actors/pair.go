package actors

import (
	"fmt"
	"strings"
	"time"

	"github.com/anthdm/hollywood/actor"

	"github.com/synapse-trading/synapse/actors/indicator"
	"github.com/synapse-trading/synapse/streams"
)

// SymbolRef names a symbol on a venue.
type SymbolRef struct {
	Venue  string `yaml:"venue" json:"venue"`
	Symbol string `yaml:"symbol" json:"symbol"`
}

func (r SymbolRef) String() string { return r.Venue + ":" + r.Symbol }

// ParseSymbolRef reads "venue:SYMBOL", e.g. "binance-um:AVAXUSDT".
func ParseSymbolRef(s string) (SymbolRef, error) {
	venue, symbol, ok := strings.Cut(s, ":")
	if !ok || venue == "" {
		return SymbolRef{}, fmt.Errorf("%q is not venue:SYMBOL (e.g. binance:BTCUSDT)", s)
	}
	if err := streams.CheckSymbol(symbol); err != nil {
		return SymbolRef{}, err
	}
	return SymbolRef{Venue: venue, Symbol: symbol}, nil
}

// Pair is two symbols whose rolling correlation a pair actor computes.
type Pair struct{ A, B SymbolRef }

func (p Pair) String() string { return p.A.String() + "~" + p.B.String() }

// ClosedCandle tells a pair actor that a symbol closed a 1m candle.
type ClosedCandle struct {
	Ref      SymbolRef
	OpenTime int64
	Close    float64
}

// PairState is what a pair actor shows (the UI's "pair/<A>/<B>" topic).
type PairState struct {
	A        SymbolRef `json:"a"`
	B        SymbolRef `json:"b"`
	Period   int       `json:"period"`
	Value    *float64  `json:"value,omitempty"` // nil while warming up
	OpenTime int64     `json:"open_time"`
	Matched  int64     `json:"matched"` // candles both symbols closed
	Stale    int64     `json:"stale"`   // closes older than the last matched candle (e.g. after a rebuild)
	Dropped  int64     `json:"dropped"` // unmatched closes dropped because one side ran too far ahead
}

// maxUnmatched bounds the closes a pair actor holds for one side while the other catches up.
const maxUnmatched = 4096

// pairActor computes the correlation of two symbols' 1m closes, aligned by open time. Its
// only producers are the two symbol actors, each of which does far more work per candle than
// the O(1) update here, so its mailbox cannot grow faster than they produce; what it holds
// itself is bounded by maxUnmatched per side.
type pairActor struct {
	pair     Pair
	period   int
	opts     SymbolOptions
	corr     *indicator.Correlation
	pending  [2]map[int64]float64 // unmatched closes of A and B by open time
	state    PairState
	observed time.Time
}

func newPairActor(p Pair, period int, opts SymbolOptions) actor.Producer {
	return func() actor.Receiver {
		corr, err := indicator.NewCorrelation(period)
		if err != nil {
			panic(err) // the period was checked by NewGraph
		}
		return &pairActor{pair: p, period: period, opts: opts, corr: corr,
			pending: [2]map[int64]float64{{}, {}},
			state:   PairState{A: p.A, B: p.B, Period: period}}
	}
}

func (a *pairActor) Receive(c *actor.Context) {
	switch msg := c.Message().(type) {
	case ClosedCandle:
		a.add(msg)
	case actor.Stopped:
		a.observe()
	}
}

func (a *pairActor) add(m ClosedCandle) {
	side := 0
	if m.Ref == a.pair.B {
		side = 1
	}
	if m.OpenTime <= a.state.OpenTime {
		a.state.Stale++
		return
	}
	other := a.pending[1-side]
	otherClose, ok := other[m.OpenTime]
	if !ok {
		mine := a.pending[side]
		mine[m.OpenTime] = m.Close
		if len(mine) > maxUnmatched {
			oldest := m.OpenTime
			for t := range mine {
				oldest = min(oldest, t)
			}
			delete(mine, oldest)
			a.state.Dropped++
		}
		return
	}
	x, y := m.Close, otherClose
	if side == 1 {
		x, y = y, x
	}
	a.corr.Update(x, y)
	a.state.Matched++
	a.state.OpenTime = m.OpenTime
	for _, p := range a.pending { // closes at or before this candle can no longer match
		for t := range p {
			if t <= m.OpenTime {
				delete(p, t)
			}
		}
	}
	v, ok := a.corr.Value()
	if !ok {
		return
	}
	a.state.Value = &v
	if a.opts.Publish != nil {
		a.opts.Publish(&streams.Correlation{VenueA: a.pair.A.Venue, SymbolA: a.pair.A.Symbol, VenueB: a.pair.B.Venue,
			SymbolB: a.pair.B.Symbol, Interval: "1m", Period: a.period, OpenTime: m.OpenTime, Value: v})
	}
	if now := time.Now(); now.Sub(a.observed) >= a.opts.ObserveEvery {
		a.observed = now
		a.observe()
	}
}

func (a *pairActor) observe() {
	if a.opts.Observe != nil {
		a.opts.Observe(PairTopic(a.pair), a.state)
	}
}

// PairTopic is the UI topic of a pair's correlation.
func PairTopic(p Pair) string { return "pair/" + p.A.String() + "/" + p.B.String() }
