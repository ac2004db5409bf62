package orderbook

import (
	"math"

	"github.com/govalues/decimal"

	"github.com/synapse-trading/synapse/streams"
)

// side is one side of the book. Its levels are sorted from the worst price to the best, so
// the best is last: bids by ascending price, asks by descending price. Prices are trimmed.
type side struct {
	levels []streams.Level
	asks   bool
}

// before reports whether price a sorts before price b on this side (a is worse than b).
func (s *side) before(a, b decimal.Decimal) bool {
	if s.asks {
		return cmpPrice(a, b) > 0
	}
	return cmpPrice(a, b) < 0
}

// search returns the index of price, or where it would be inserted, and whether it is there.
func (s *side) search(price decimal.Decimal) (int, bool) {
	lo, hi := 0, len(s.levels)
	for lo < hi {
		mid := int(uint(lo+hi) >> 1)
		if s.before(s.levels[mid].Price, price) {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	return lo, lo < len(s.levels) && cmpPrice(s.levels[lo].Price, price) == 0
}

// pow10 holds the powers of ten that fit a uint64.
var pow10 = [...]uint64{1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10,
	1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19}

// cmpPrice compares two non-negative decimals like a.Cmp(b). Trimmed prices often differ in
// scale ("61837.6" and "61837.63"), so it aligns the coefficients itself when that cannot
// overflow, and leaves the rare other cases to Decimal.Cmp (TestCmpPrice checks it).
func cmpPrice(a, b decimal.Decimal) int {
	x, y := a.Coef(), b.Coef()
	switch d := a.Scale() - b.Scale(); {
	case d > 0:
		if y > math.MaxUint64/pow10[d] {
			return a.Cmp(b)
		}
		y *= pow10[d]
	case d < 0:
		if x > math.MaxUint64/pow10[-d] {
			return a.Cmp(b)
		}
		x *= pow10[-d]
	}
	switch {
	case x < y:
		return -1
	case x > y:
		return 1
	}
	return 0
}

// set sets the quantity at a trimmed price; a zero quantity removes the level.
func (s *side) set(price, qty decimal.Decimal) {
	i, found := s.search(price)
	switch {
	case found && qty.IsZero():
		s.levels = append(s.levels[:i], s.levels[i+1:]...)
	case found:
		s.levels[i].Qty = qty
	case !qty.IsZero():
		s.levels = append(s.levels, streams.Level{})
		copy(s.levels[i+1:], s.levels[i:])
		s.levels[i] = streams.Level{Price: price, Qty: qty}
	}
	// Removing a level that is not there is normal on Binance: nothing to do.
}

// best returns the best level.
func (s *side) best() (streams.Level, bool) {
	if len(s.levels) == 0 {
		return streams.Level{}, false
	}
	return s.levels[len(s.levels)-1], true
}

// top returns a copy of the best n levels, best first.
func (s *side) top(n int) []streams.Level {
	n = min(n, len(s.levels))
	out := make([]streams.Level, n)
	for i := range out {
		out[i] = s.levels[len(s.levels)-1-i]
	}
	return out
}
