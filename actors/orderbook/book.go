package orderbook

import (
	"errors"
	"fmt"
	"slices"

	"github.com/synapse-trading/synapse/streams"
)

// VenueFutures is the venue whose books follow the USDⓈ-M futures rules by default.
const VenueFutures = "binance-um"

// DefaultBufferCap is how many depth updates a book buffers while it waits for a snapshot,
// unless Options says otherwise. At Binance's 100 ms spot cadence it is 100 s of updates.
const DefaultBufferCap = 1000

// Rules says which of Binance's sequencing rules a book follows (see the package doc).
type Rules int

const (
	RulesByVenue Rules = iota // futures rules for VenueFutures, spot rules otherwise
	RulesSpot                 // U == previous u + 1
	RulesFutures              // pu == previous u
)

// Options configures a Book. The zero value gives the defaults.
type Options struct {
	Rules     Rules // RulesByVenue when zero
	BufferCap int   // DefaultBufferCap when zero or negative
}

// State is where a Book stands in the sequencing process.
type State int

const (
	AwaitingSnapshot State = iota // no snapshot yet; depth updates are buffered
	Synced                        // the book follows the stream
	NeedsResync                   // a gap was found; depth updates are buffered until a new snapshot
)

func (s State) String() string {
	switch s {
	case AwaitingSnapshot:
		return "awaiting snapshot"
	case Synced:
		return "synced"
	case NeedsResync:
		return "needs resync"
	}
	return fmt.Sprintf("State(%d)", int(s))
}

// Stats counts what a Book did.
type Stats struct {
	Snapshots      uint64 // snapshots applied
	StaleSnapshots uint64 // snapshots ignored because the synced book was already newer
	Updates        uint64 // depth updates applied
	Dropped        uint64 // depth updates dropped as older than the book
	Buffered       uint64 // depth updates buffered while not synced
	BufferDrops    uint64 // buffered updates dropped because the buffer was full
	Gaps           uint64 // gaps found (each moves the book to NeedsResync)
	Resyncs        uint64 // times a snapshot brought the book back from NeedsResync
	Crossed        uint64 // snapshots or updates that left the book crossed
	Tickers        uint64 // tickers kept
	StaleTickers   uint64 // tickers ignored because an equal or newer one was kept
	CrossedTickers uint64 // tickers whose bid was at or above their ask
	Rejected       uint64 // malformed, unsupported or misrouted events
}

// Book is the L2 order book of one venue and symbol.
type Book struct {
	venue, symbol string
	futures       bool
	bufferCap     int

	state      State
	bids, asks side
	lastID     int64 // the update ID the book is at: the snapshot's, then each applied u
	applied    bool  // an update has been applied since the snapshot
	crossed    bool
	buffer     []*streams.Depth // updates waiting for a snapshot, oldest first

	ticker    streams.Ticker
	hasTicker bool

	stats Stats
}

// New returns an empty book for venue and symbol, waiting for a snapshot.
func New(venue, symbol string, opts Options) *Book {
	b := &Book{
		venue:     venue,
		symbol:    symbol,
		futures:   opts.Rules == RulesFutures || (opts.Rules == RulesByVenue && venue == VenueFutures),
		bufferCap: opts.BufferCap,
		asks:      side{asks: true},
	}
	if b.bufferCap <= 0 {
		b.bufferCap = DefaultBufferCap
	}
	return b
}

// Apply applies a snapshot, a depth update or a ticker. See the package doc for the rules.
// The errors wrap the sentinels of errors.go. Apply keeps buffered updates until a snapshot
// arrives; do not modify an event after giving it to Apply.
func (b *Book) Apply(ev streams.Event) error {
	switch e := ev.(type) {
	case *streams.Snapshot:
		if e == nil {
			b.stats.Rejected++
			return fmt.Errorf("orderbook: %w: nil snapshot", ErrBadSnapshot)
		}
		if err := b.checkKey(e.Venue, e.Symbol); err != nil {
			return err
		}
		return b.applySnapshot(e)
	case *streams.Depth:
		if e == nil {
			b.stats.Rejected++
			return fmt.Errorf("orderbook: %w: nil depth update", ErrBadUpdate)
		}
		if err := b.checkKey(e.Venue, e.Symbol); err != nil {
			return err
		}
		return b.applyDepth(e)
	case *streams.Ticker:
		if e == nil {
			b.stats.Rejected++
			return fmt.Errorf("orderbook: %w: nil ticker", ErrBadTicker)
		}
		if err := b.checkKey(e.Venue, e.Symbol); err != nil {
			return err
		}
		return b.applyTicker(e)
	}
	b.stats.Rejected++
	return fmt.Errorf("orderbook: %w: %T (a book takes snapshots, depth updates and tickers)", ErrUnsupported, ev)
}

// Best returns the best bid and ask of the book. ok is false unless the book is synced and
// both sides have a level.
func (b *Book) Best() (bid, ask streams.Level, ok bool) {
	if b.state != Synced {
		return streams.Level{}, streams.Level{}, false
	}
	bid, okBid := b.bids.best()
	ask, okAsk := b.asks.best()
	return bid, ask, okBid && okAsk
}

// Depth returns copies of the best n levels of each side, best first. Both are empty unless
// the book is synced.
func (b *Book) Depth(n int) (bids, asks []streams.Level) {
	if b.state != Synced || n <= 0 {
		return nil, nil
	}
	return b.bids.top(n), b.asks.top(n)
}

// Synced reports whether the book follows the stream (it has a snapshot and no gap since).
func (b *Book) Synced() bool { return b.state == Synced }

// State returns where the book stands in the sequencing process.
func (b *Book) State() State { return b.state }

// LastUpdateID returns the update ID the book is at: the snapshot's lastUpdateId, then the
// u of each applied update.
func (b *Book) LastUpdateID() int64 { return b.lastID }

// Crossed reports whether the book's best bid is at or above its best ask.
func (b *Book) Crossed() bool { return b.crossed }

// Ticker returns the newest ticker (the venue's own top of book), with ok false when none
// was received.
func (b *Book) Ticker() (t streams.Ticker, ok bool) { return b.ticker, b.hasTicker }

// Levels returns how many price levels each side holds.
func (b *Book) Levels() (bids, asks int) { return len(b.bids.levels), len(b.asks.levels) }

// Stats returns the counters.
func (b *Book) Stats() Stats { return b.stats }

// Key returns the venue and symbol of the book.
func (b *Book) Key() (venue, symbol string) { return b.venue, b.symbol }

func (b *Book) checkKey(venue, symbol string) error {
	if venue != b.venue || symbol != b.symbol {
		b.stats.Rejected++
		return fmt.Errorf("orderbook: %w: event for %s %s given to the book of %s %s", ErrWrongSymbol, venue, symbol, b.venue, b.symbol)
	}
	return nil
}

// applySnapshot installs a snapshot and replays the buffered updates on it.
func (b *Book) applySnapshot(s *streams.Snapshot) error {
	if b.state == Synced && s.LastUpdateID <= b.lastID {
		b.stats.StaleSnapshots++
		return nil
	}
	bids, err := sortedLevels(s.Bids, false)
	if err == nil {
		var asks []streams.Level
		if asks, err = sortedLevels(s.Asks, true); err == nil {
			b.asks.levels = asks
			b.bids.levels = bids
		}
	}
	if err != nil {
		b.stats.Rejected++
		return fmt.Errorf("orderbook: %w: %s %s snapshot %d: %v", ErrBadSnapshot, b.venue, b.symbol, s.LastUpdateID, err)
	}
	if b.state == NeedsResync {
		b.stats.Resyncs++
	}
	b.state = Synced
	b.lastID = s.LastUpdateID
	b.applied = false
	b.stats.Snapshots++
	crossErr := b.checkCrossed("snapshot", s.LastUpdateID)

	// Replay the buffered updates. A gap among them sends the book back to NeedsResync and
	// keeps the updates from the one that did not fit, for the next snapshot.
	buffered := b.buffer
	b.buffer = nil
	for i, d := range buffered {
		err := b.sequence(d)
		if b.state != Synced {
			b.buffer = append(b.buffer, buffered[i+1:]...)
			return errors.Join(err, crossErr) // the gap, with d already buffered by sequence
		}
		if err != nil && crossErr == nil {
			crossErr = err
		}
	}
	return crossErr
}

// sortedLevels validates snapshot levels and returns them trimmed and sorted worst first,
// without zero quantities.
func sortedLevels(in []streams.Level, asks bool) ([]streams.Level, error) {
	out := make([]streams.Level, 0, len(in))
	for _, l := range in {
		if !l.Price.IsPos() || l.Qty.IsNeg() {
			return nil, fmt.Errorf("level %v x %v: want price > 0 and qty >= 0", l.Price, l.Qty)
		}
		if !l.Qty.IsZero() {
			out = append(out, streams.Level{Price: l.Price.Trim(0), Qty: l.Qty})
		}
	}
	slices.SortFunc(out, func(x, y streams.Level) int {
		if asks {
			return y.Price.Cmp(x.Price)
		}
		return x.Price.Cmp(y.Price)
	})
	for i := 1; i < len(out); i++ {
		if out[i].Price.Cmp(out[i-1].Price) == 0 {
			return nil, fmt.Errorf("price %v is listed twice", out[i].Price)
		}
	}
	return out, nil
}

// applyDepth applies or buffers one depth update.
func (b *Book) applyDepth(d *streams.Depth) error {
	if err := b.checkDepth(d); err != nil {
		b.stats.Rejected++
		return err
	}
	if b.state != Synced {
		b.bufferUpdate(d)
		return nil
	}
	return b.sequence(d)
}

// checkDepth validates a depth update on its own.
func (b *Book) checkDepth(d *streams.Depth) error {
	bad := func(what string) error {
		return fmt.Errorf("orderbook: %w: %s %s update U=%d u=%d: %s", ErrBadUpdate, b.venue, b.symbol, d.FirstID, d.FinalID, what)
	}
	if d.FirstID > d.FinalID {
		return bad("U is above u")
	}
	if b.futures && d.PrevFinalID == 0 {
		return bad("a futures update needs pu (prev_final_id)")
	}
	for _, levels := range [2][]streams.Level{d.Bids, d.Asks} {
		for _, l := range levels {
			if !l.Price.IsPos() || l.Qty.IsNeg() {
				return bad(fmt.Sprintf("level %v x %v: want price > 0 and qty >= 0", l.Price, l.Qty))
			}
		}
	}
	return nil
}

// bufferUpdate keeps an update for the next snapshot, dropping the oldest when full.
func (b *Book) bufferUpdate(d *streams.Depth) {
	if len(b.buffer) >= b.bufferCap {
		n := len(b.buffer) - b.bufferCap + 1
		b.buffer = append(b.buffer[:0], b.buffer[n:]...)
		b.stats.BufferDrops += uint64(n)
	}
	b.buffer = append(b.buffer, d)
	b.stats.Buffered++
}

// sequence applies an update to a synced book if it is the next one, drops it if it is
// older, and otherwise records a gap (and buffers the update for the next snapshot).
func (b *Book) sequence(d *streams.Depth) error {
	var next bool
	switch {
	case b.applied && d.FinalID <= b.lastID, // stale duplicate after the first update
		!b.applied && b.futures && d.FinalID < b.lastID,
		!b.applied && !b.futures && d.FinalID <= b.lastID:
		b.stats.Dropped++
		return nil
	case !b.applied && b.futures:
		next = d.FirstID <= b.lastID // and u >= lastID, or it was dropped
	case !b.applied:
		next = d.FirstID <= b.lastID+1 // and u >= lastID+1, or it was dropped
	case b.futures:
		next = d.PrevFinalID == b.lastID
	default:
		next = d.FirstID == b.lastID+1
	}
	if !next {
		want := fmt.Sprintf("U == %d", b.lastID+1)
		switch {
		case !b.applied && b.futures:
			want = fmt.Sprintf("U <= %d <= u", b.lastID)
		case !b.applied:
			want = fmt.Sprintf("U <= %d <= u", b.lastID+1)
		case b.futures:
			want = fmt.Sprintf("pu == %d", b.lastID)
		}
		b.state = NeedsResync
		b.stats.Gaps++
		b.bufferUpdate(d)
		return fmt.Errorf("orderbook: %w: %s %s update U=%d u=%d pu=%d does not follow the book at %d (want %s); the book needs a new snapshot",
			ErrGap, b.venue, b.symbol, d.FirstID, d.FinalID, d.PrevFinalID, b.lastID, want)
	}
	for _, l := range d.Bids {
		b.bids.set(l.Price.Trim(0), l.Qty)
	}
	for _, l := range d.Asks {
		b.asks.set(l.Price.Trim(0), l.Qty)
	}
	b.lastID = d.FinalID
	b.applied = true
	b.stats.Updates++
	return b.checkCrossed("update", d.FinalID)
}

// checkCrossed updates the crossed flag after the levels changed, and reports a crossing.
func (b *Book) checkCrossed(what string, id int64) error {
	bid, okBid := b.bids.best()
	ask, okAsk := b.asks.best()
	b.crossed = okBid && okAsk && bid.Price.Cmp(ask.Price) >= 0
	if !b.crossed {
		return nil
	}
	b.stats.Crossed++
	return fmt.Errorf("orderbook: %w: %s %s after %s %d: best bid %v >= best ask %v",
		ErrCrossed, b.venue, b.symbol, what, id, bid.Price, ask.Price)
}

// applyTicker keeps the newest ticker.
func (b *Book) applyTicker(t *streams.Ticker) error {
	if !t.BidPrice.IsPos() || !t.AskPrice.IsPos() || t.BidQty.IsNeg() || t.AskQty.IsNeg() {
		b.stats.Rejected++
		return fmt.Errorf("orderbook: %w: %s %s ticker %d: bid %v x %v, ask %v x %v (want prices > 0, qtys >= 0)",
			ErrBadTicker, b.venue, b.symbol, t.UpdateID, t.BidPrice, t.BidQty, t.AskPrice, t.AskQty)
	}
	if b.hasTicker && t.UpdateID <= b.ticker.UpdateID {
		b.stats.StaleTickers++
		return nil
	}
	b.ticker, b.hasTicker = *t, true
	b.stats.Tickers++
	if t.BidPrice.Cmp(t.AskPrice) >= 0 {
		b.stats.CrossedTickers++
		return fmt.Errorf("orderbook: %w: %s %s ticker %d: bid %v >= ask %v", ErrCrossed, b.venue, b.symbol, t.UpdateID, t.BidPrice, t.AskPrice)
	}
	return nil
}
