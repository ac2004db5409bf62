package portfolio_test

import (
	"testing"

	"github.com/govalues/decimal"

	"github.com/synapse-trading/synapse/portfolio"
)

// MaxDrawdown is the deepest fall from a running peak, not the fall to the last point nor
// from the highest point to the lowest (a low before the peak is no drawdown).
func TestMaxDrawdownOfACurve(t *testing.T) {
	curve := func(values ...string) []portfolio.CurvePoint {
		out := make([]portfolio.CurvePoint, len(values))
		for i, v := range values {
			out[i] = portfolio.CurvePoint{Time: int64(i), Value: decimal.MustParse(v)}
		}
		return out
	}
	for _, c := range []struct {
		curve []portfolio.CurvePoint
		want  string
	}{
		{nil, "0"},
		{curve("100"), "0"},
		{curve("80", "100", "110"), "0"}, // the low came before any peak
		{curve("100", "90", "120", "108", "125"), "0.1"},        // 10 % then 10 %: the first of equals
		{curve("100", "97", "120", "90", "130", "129"), "0.25"}, // the second fall is deeper
		{curve("1000", "999.999"), "0.000001"},
		{curve("3", "2"), "0.333333"}, // rounded to 6 decimals as Drawdown is
	} {
		if got := portfolio.MaxDrawdown(c.curve); got.Cmp(decimal.MustParse(c.want)) != 0 {
			t.Errorf("MaxDrawdown(%v) = %s, want %s", c.curve, got, c.want)
		}
	}
}
