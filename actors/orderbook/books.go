package orderbook

import (
	"fmt"

	"github.com/synapse-trading/synapse/streams"
)

// Books holds one Book per venue and symbol, created on the first event for it.
type Books struct {
	opts  Options
	books map[bookKey]*Book
}

type bookKey struct{ venue, symbol string }

// NewBooks returns an empty set of books; each is created with opts.
func NewBooks(opts Options) *Books {
	return &Books{opts: opts, books: map[bookKey]*Book{}}
}

// Apply routes a snapshot, depth update or ticker to the book of its venue and symbol.
func (bs *Books) Apply(ev streams.Event) error {
	switch e := ev.(type) {
	case *streams.Snapshot:
		if e == nil {
			return fmt.Errorf("orderbook: %w: nil snapshot", ErrBadSnapshot)
		}
	case *streams.Depth:
		if e == nil {
			return fmt.Errorf("orderbook: %w: nil depth update", ErrBadUpdate)
		}
	case *streams.Ticker:
		if e == nil {
			return fmt.Errorf("orderbook: %w: nil ticker", ErrBadTicker)
		}
	default:
		return fmt.Errorf("orderbook: %w: %T (books take snapshots, depth updates and tickers)", ErrUnsupported, ev)
	}
	venue, symbol := ev.Key()
	k := bookKey{venue, symbol}
	b := bs.books[k]
	if b == nil {
		b = New(venue, symbol, bs.opts)
		bs.books[k] = b
	}
	return b.Apply(ev)
}

// Book returns the book of venue and symbol, or nil when no event for it was applied.
func (bs *Books) Book(venue, symbol string) *Book { return bs.books[bookKey{venue, symbol}] }
