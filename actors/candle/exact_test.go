package candle

import (
	"errors"
	"math/rand/v2"
	"strconv"
	"testing"

	"github.com/govalues/decimal"
)

// The fast paths of addExact and cmp give the library's answers.
func TestExactFastPaths(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	coefs := []uint64{0, 1, 9, 10, 999_999_999, 1 << 62, 1<<63 - 1, 9_999_999_999_999_999_999}
	pick := func() decimal.Decimal {
		var c uint64
		if rng.IntN(3) == 0 {
			c = coefs[rng.IntN(len(coefs))]
		} else {
			c = rng.Uint64() >> rng.IntN(64)
		}
		c = min(c, 9_999_999_999_999_999_999)
		d := fromCoef(t, c, rng.IntN(20))
		if rng.IntN(8) == 0 {
			d = d.Neg()
		}
		return d
	}
	for i := 0; i < 50_000; i++ {
		a, b := pick(), pick()
		if rng.IntN(2) == 0 {
			b = fromCoef(t, b.Coef()%1_000_000_000, a.Scale())
		}
		want, wantErr := a.AddExact(b, max(a.Scale(), b.Scale()))
		got, err := addExact(a, b)
		if (wantErr != nil) != (err != nil) || (err != nil && !errors.Is(err, ErrInexact)) {
			t.Fatalf("%v + %v: error %v, library %v", a, b, err, wantErr)
		}
		if err == nil && (got != want) {
			t.Fatalf("%v + %v = %v, library %v", a, b, got, want)
		}
		if cmp(a, b) != a.Cmp(b) {
			t.Fatalf("cmp(%v, %v) = %d, library %d", a, b, cmp(a, b), a.Cmp(b))
		}
	}
}

// fromCoef returns coef / 10^scale.
func fromCoef(t *testing.T, coef uint64, scale int) decimal.Decimal {
	digits := strconv.FormatUint(coef, 10)
	for len(digits) <= scale {
		digits = "0" + digits
	}
	cut := len(digits) - scale
	d, err := decimal.Parse(digits[:cut] + "." + digits[cut:])
	if scale == 0 {
		d, err = decimal.Parse(digits)
	}
	if err != nil {
		t.Fatal(err)
	}
	return d
}
