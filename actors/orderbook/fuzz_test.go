package orderbook

import (
	"errors"
	"testing"

	"github.com/govalues/decimal"

	"github.com/synapse-trading/synapse/streams"
)

// FuzzBook applies random sequences of snapshots, depth updates and tickers, mostly in
// sequence but with gaps, duplicates, stale snapshots, crossing levels, prices written
// with different scales and bad values. The book must never panic, must keep its sides
// sorted without zero quantities, and must never be crossed without having said so.
func FuzzBook(f *testing.F) {
	f.Add([]byte{0, 0, 3, 10, 1, 20, 1, 1, 0, 5, 1, 30, 2, 1, 2, 0, 7, 1})
	f.Add([]byte{1, 1, 0, 0, 4, 10, 1, 12, 1, 1, 1, 3, 11, 2, 1, 1, 1, 9, 0})
	f.Add([]byte{2, 2, 1, 0, 1, 1, 1, 1, 1, 0, 0, 2, 50, 1, 40, 1, 3, 60, 1, 60, 1})
	f.Add([]byte("snapshot then updates with gaps 0123456789"))
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) == 0 {
			return
		}
		next := func() byte {
			if len(data) == 0 {
				return 0
			}
			c := data[0]
			data = data[1:]
			return c
		}
		cfg := next()
		venue := "binance"
		if cfg&1 == 1 {
			venue = VenueFutures
		}
		b := New(venue, "BTCUSDT", Options{BufferCap: 1 + int(cfg>>1)%8})
		// level makes a price around 50 written with 0 to 2 extra trailing zeros, and a
		// quantity that is sometimes zero and sometimes negative.
		level := func() streams.Level {
			p, q := next(), next()
			price := decimal.MustNew(int64(p%100), int(p/100)%2).Pad(int(q % 3))
			return streams.Level{Price: price, Qty: decimal.MustNew(int64(q%7)-1, 1)}
		}
		levels := func(n byte) []streams.Level {
			out := make([]streams.Level, int(n%4))
			for i := range out {
				out[i] = level()
			}
			return out
		}
		id := int64(1000)
		reported := false
		for len(data) > 0 {
			op := next()
			var err error
			switch op % 4 {
			case 0:
				s := &streams.Snapshot{Venue: venue, Symbol: "BTCUSDT", LastUpdateID: id + int64(int8(next()))%8,
					Bids: levels(next()), Asks: levels(next())}
				err = b.Apply(s)
			case 1, 2:
				first := id + 1 + int64(int8(next()))%3
				final := first + int64(next()%3)
				prev := id
				if op&16 != 0 {
					prev += int64(int8(op)) % 2
				}
				err = b.Apply(dep(venue, first, final, prev, levels(next()), levels(next())))
				id = max(id, final)
			case 3:
				err = b.Apply(&streams.Ticker{Venue: venue, Symbol: "BTCUSDT", UpdateID: int64(next()),
					BidPrice: level().Price, BidQty: decimal.One, AskPrice: level().Price, AskQty: decimal.One})
			}
			if errors.Is(err, ErrCrossed) {
				reported = true
			}
			if !b.Crossed() {
				reported = false
			}
			if b.Crossed() && !reported {
				t.Fatalf("the book is crossed and no Apply said so (state %v, stats %+v)", b.State(), b.Stats())
			}
			checkInvariants(t, b)
			if _, _, ok := b.Best(); ok && !b.Synced() {
				t.Fatal("Best is ok on a book that is not synced")
			}
			if len(b.buffer) > b.bufferCap {
				t.Fatalf("buffer holds %d updates, cap %d", len(b.buffer), b.bufferCap)
			}
		}
	})
}
