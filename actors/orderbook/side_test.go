package orderbook

import (
	"math/rand/v2"
	"testing"

	"github.com/govalues/decimal"
)

// cmpPrice agrees with Decimal.Cmp on non-negative decimals of every scale and size.
func TestCmpPrice(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for i := 0; i < 100_000; i++ {
		a := randomDecimal(rng)
		b := randomDecimal(rng)
		if i%3 == 0 {
			b = a.Pad(rng.IntN(20)) // the same value at another scale
		}
		if got, want := cmpPrice(a, b), a.Cmp(b); got != want {
			t.Fatalf("cmpPrice(%v, %v) = %d, Cmp says %d", a, b, got, want)
		}
	}
}

func randomDecimal(rng *rand.Rand) decimal.Decimal {
	coef := rng.Int64() >> rng.IntN(63)
	d, err := decimal.New(coef, rng.IntN(19))
	if err != nil {
		panic(err)
	}
	return d
}
