package candle

import (
	"errors"
	"math/big"
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
		if wantErr == nil && (err != nil || got != want) {
			t.Fatalf("%v + %v = %v (error %v), library %v", a, b, got, err, want)
		}
		if wantErr != nil { // the retry without trailing zeros: exact, or ErrInexact only when it cannot be
			checkExactSum(t, a, b, got, err)
		}
		if cmp(a, b) != a.Cmp(b) {
			t.Fatalf("cmp(%v, %v) = %d, library %d", a, b, cmp(a, b), a.Cmp(b))
		}
	}
}

// Binance volumes of coins priced around 1e-5 are ~2.4e10 written with 8 decimals: an
// hour of them adds up to 20 digits at that scale, but fits once the trailing zeros go.
func TestAddExactDropsTrailingZeros(t *testing.T) {
	vol := decimal.MustParse("24464350000.00000000")
	sum := decimal.MustParse("0.00000000")
	for i := 0; i < 60; i++ {
		var err error
		if sum, err = addExact(sum, vol); err != nil {
			t.Fatalf("minute %d: %v", i, err)
		}
	}
	if want := decimal.MustParse("1467861000000"); sum.Cmp(want) != 0 {
		t.Fatalf("60 minutes: %v, want %v", sum, want)
	}
	cases := []struct{ a, b string }{
		{"120000000000.00000000", "24464350000.00000000"},
		{"120000000000.5", "24464350000.12345600"},
		{"99999999999.00000000", "1.00000000"},
		{"99999999999.12345678", "1"},                      // exactly 19 digits
		{"99999999999.12345678", "1.00000000"},             // 100000000000.12345678: 20 digits
		{"9999999999999999999", "1"},                       // 20 digits
		{"0.0000000000000000001", "1.0000000000000000000"}, // 20 digits
		{"-120000000000.00000000", "24464350000.00000000"},
	}
	for _, c := range cases {
		a, b := decimal.MustParse(c.a), decimal.MustParse(c.b)
		got, err := addExact(a, b)
		checkExactSum(t, a, b, got, err)
	}
	if _, err := addExact(decimal.MustParse("99999999999.12345678"), decimal.MustParse("1.00000000")); !errors.Is(err, ErrInexact) {
		t.Fatalf("a 20-digit sum: %v, want ErrInexact", err)
	}
}

// checkExactSum checks addExact's answer got, err for a+b against big.Rat: the exact sum,
// or ErrInexact when it needs more than 19 digits at the smallest scale that holds a and b.
func checkExactSum(t *testing.T, a, b, got decimal.Decimal, err error) {
	t.Helper()
	want := new(big.Rat).Add(rat(t, a), rat(t, b))
	if err == nil {
		if rat(t, got).Cmp(want) != 0 {
			t.Fatalf("%v + %v = %v, want %s", a, b, got, want.FloatString(20))
		}
		return
	}
	if !errors.Is(err, ErrInexact) {
		t.Fatalf("%v + %v: %v, want ErrInexact", a, b, err)
	}
	scale := max(a.MinScale(), b.MinScale())
	coef := new(big.Rat).Mul(want, new(big.Rat).SetInt(new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(scale)), nil)))
	if digits := len(new(big.Int).Abs(coef.Num()).String()); digits <= decimal.MaxPrec {
		t.Fatalf("%v + %v: %v, but the sum %s has %d digits", a, b, err, want.FloatString(scale), digits)
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
