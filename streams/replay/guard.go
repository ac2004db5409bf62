package replay

import (
	"cmp"
	"slices"

	"github.com/synapse-trading/synapse/streams"
)

// Verdict is what a Guard decides about an event.
type Verdict int

const (
	// Accept: the event is new and in order.
	Accept Verdict = iota
	// Duplicate: an event with the same ID was already accepted; drop it.
	Duplicate
	// OutOfOrder: the event's sequence or time goes backwards; drop it.
	OutOfOrder
)

func (v Verdict) String() string {
	switch v {
	case Accept:
		return "accept"
	case Duplicate:
		return "duplicate"
	case OutOfOrder:
		return "out-of-order"
	}
	return "unknown"
}

// Key names one sequence of events: a venue, a symbol and a kind (and, for klines, the
// interval).
type Key struct {
	Venue    string
	Symbol   string
	Kind     streams.Kind
	Interval string // klines only
}

// KeyStats counts a Guard's verdicts for one Key.
type KeyStats struct {
	Key        Key
	Records    int64 // accepted
	Duplicates int64
	OutOfOrder int64
	// Gaps counts the holes in a kline sequence of a known interval (a candle whose open
	// time is more than one interval after the one before), Missing the candles they lack.
	Gaps, Missing int64
	// LargestGap is the sequence number (a kline's open time) of the first candle of the
	// largest gap, LargestMissing how many candles it lacks (0: no gap).
	LargestGap, LargestMissing int64
}

// recentIDs is how many accepted sequence numbers a Guard remembers per key, to tell a
// late duplicate from an out-of-order event.
const recentIDs = 64

// Guard drops duplicate and out-of-order events. Each Key's events carry a sequence
// number, the number in their ID: kline open time, trade ID, depth final update ID,
// snapshot last update ID, ticker update ID. An event whose sequence equals one recently
// accepted is a Duplicate; one whose sequence goes backwards otherwise, or whose event time
// goes backwards, is OutOfOrder. A Guard is not safe for concurrent use.
type Guard struct {
	keys map[Key]*guardState
}

type guardState struct {
	stats    KeyStats
	step     int64 // klines: the interval in ms (0 when unknown: gaps are not counted)
	lastSeq  int64
	lastTime int64
	recent   [recentIDs]int64 // ring of accepted sequence numbers
	next     int              // next slot of recent to write
	count    int              // slots of recent in use
}

// NewGuard returns a Guard that has seen nothing.
func NewGuard() *Guard { return &Guard{keys: make(map[Key]*guardState)} }

// Check decides about ev and counts the verdict. Events of a type the Guard does not know
// are accepted.
func (g *Guard) Check(ev streams.Event) Verdict {
	if ev == nil {
		return Accept
	}
	key, seq, ok := sequenceOf(ev)
	if !ok {
		return Accept
	}
	st := g.keys[key]
	if st == nil {
		st = &guardState{stats: KeyStats{Key: key}, step: intervalMs(key.Interval)}
		g.keys[key] = st
		st.accept(seq, ev.EventTime())
		return Accept
	}
	verdict := st.judge(seq, ev.EventTime())
	switch verdict {
	case Duplicate:
		st.stats.Duplicates++
	case OutOfOrder:
		st.stats.OutOfOrder++
	default:
		if st.step > 0 && seq > st.lastSeq+st.step {
			missing := (seq-st.lastSeq)/st.step - 1
			st.stats.Gaps++
			st.stats.Missing += missing
			if missing > st.stats.LargestMissing {
				st.stats.LargestGap, st.stats.LargestMissing = st.lastSeq+st.step, missing
			}
		}
		st.accept(seq, ev.EventTime())
	}
	return verdict
}

// intervalMs is the length of a Binance kline interval, 0 for "" and for 1M (a month).
func intervalMs(interval string) int64 {
	for _, iv := range binanceIntervals {
		if iv.name == interval {
			return iv.ms
		}
	}
	return 0
}

func (st *guardState) judge(seq, eventTime int64) Verdict {
	switch {
	case seq == st.lastSeq:
		return Duplicate
	case seq < st.lastSeq:
		for i := 0; i < st.count; i++ {
			if st.recent[i] == seq {
				return Duplicate
			}
		}
		return OutOfOrder
	case eventTime < st.lastTime:
		return OutOfOrder
	}
	return Accept
}

func (st *guardState) accept(seq, eventTime int64) {
	st.stats.Records++
	st.lastSeq, st.lastTime = seq, eventTime
	st.recent[st.next] = seq
	st.next = (st.next + 1) % recentIDs
	st.count = min(st.count+1, recentIDs)
}

// Stats returns the counts of every key seen, sorted by venue, symbol, kind and interval.
func (g *Guard) Stats() []KeyStats {
	out := make([]KeyStats, 0, len(g.keys))
	for _, st := range g.keys {
		out = append(out, st.stats)
	}
	slices.SortFunc(out, func(a, b KeyStats) int {
		return cmp.Or(
			cmp.Compare(a.Key.Venue, b.Key.Venue),
			cmp.Compare(a.Key.Symbol, b.Key.Symbol),
			cmp.Compare(a.Key.Kind, b.Key.Kind),
			cmp.Compare(a.Key.Interval, b.Key.Interval),
		)
	})
	return out
}

// kindAggTrade keys a symbol's aggregate trades apart from its trades.
const kindAggTrade streams.Kind = "aggTrade"

// sequenceOf returns the key and sequence number of an event.
func sequenceOf(ev streams.Event) (Key, int64, bool) {
	venue, symbol := ev.Key()
	key := Key{Venue: venue, Symbol: symbol, Kind: ev.Kind()}
	switch e := ev.(type) {
	case *streams.Kline:
		key.Interval = e.Interval
		return key, e.OpenTime, true
	case *streams.Trade:
		if e.Aggregate { // aggregate IDs are their own series beside the trade IDs
			key.Kind = kindAggTrade
		}
		return key, e.TradeID, true
	case *streams.Depth:
		return key, e.FinalID, true
	case *streams.Snapshot:
		return key, e.LastUpdateID, true
	case *streams.Ticker:
		return key, e.UpdateID, true
	}
	return key, 0, false
}
