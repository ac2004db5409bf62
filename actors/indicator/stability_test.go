package indicator_test

import (
	"math"
	"slices"
	"testing"

	talib "github.com/markcheno/go-talib"

	"github.com/synapse-trading/synapse/actors/indicator"
)

// exactTolerance is the relative error allowed against a two-pass reference computed afresh
// for every window: far tighter than the TA-Lib tolerance, to show no drift builds up.
const exactTolerance = 1e-9

// twoPass returns the mean, population standard deviation and least-squares slope of xs,
// computed directly from the definitions, mean first.
func twoPass(xs []float64) (mean, stdDev, slope float64) {
	n := float64(len(xs))
	for _, x := range xs {
		mean += x
	}
	mean /= n
	tMean := (n - 1) / 2
	var sq, cov, tSq float64
	for i, x := range xs {
		d, dt := x-mean, float64(i)-tMean
		sq += d * d
		cov += dt * d
		tSq += dt * dt
	}
	return mean, math.Sqrt(sq / n), cov / tSq
}

// TestRollingWindowsDoNotDrift runs a Set over a full month (40,320 candles) and checks the
// rolling-window columns against a two-pass computation of every window. It also reports how
// far go-talib, whose running sums are never recomputed, has drifted from the same reference.
func TestRollingWindowsDoNotDrift(t *testing.T) {
	for _, name := range []string{"AVAXUSDT-1m-2026-02.csv.gz", "LINKUSDT-1m-2026-02.csv.gz"} {
		t.Run(name, func(t *testing.T) {
			candles := loadCandles(t, name)
			if len(candles) < 40000 {
				t.Fatalf("read %d candles, want a full month", len(candles))
			}
			s := seriesOf(candles)
			rows := setRows(t, candles)
			talibStdDev := talib.StdDev(s.close, 20, 1)
			col := func(name string) int { return slices.Index(indicator.Columns, name) }
			sma, sd, up, slope := col("sma_20"), col("stddev_20"), col("bb_upper_20_2"), col("linreg_slope_20")

			var slopes []float64
			for i := 19; i < len(candles); i++ {
				_, _, m := twoPass(s.close[i-19 : i+1])
				slopes = append(slopes, m)
			}
			slopeScale := medianAbs(slopes)

			var worstOurs, worstTalib float64
			for i := 19; i < len(candles); i++ {
				mean, stdDev, m := twoPass(s.close[i-19 : i+1])
				row := rows[i]
				errs := []float64{
					relErr(row[sma], mean, 0),
					relErr(row[sd], stdDev, 0),
					relErr(row[up], mean+2*stdDev, 0),
					relErr(row[slope], m, slopeScale),
				}
				for k, e := range errs {
					if !(e <= exactTolerance) {
						t.Fatalf("row %d column %d: rel err %.2e against the two-pass reference", i, k, e)
					}
					worstOurs = max(worstOurs, e)
				}
				worstTalib = max(worstTalib, relErr(talibStdDev[i], stdDev, 0))
			}
			t.Logf("max rel err against two-pass windows: ours %.2e, go-talib stddev %.2e", worstOurs, worstTalib)
		})
	}
}

// TestCorrelationMatchesTalib correlates two symbols' closes of the same minutes (AVAX and
// LINK, February 2026) and compares every value with talib.Correl and with a two-pass
// Pearson coefficient of each window.
func TestCorrelationMatchesTalib(t *testing.T) {
	avax := loadCandles(t, "AVAXUSDT-1m-2026-02.csv.gz")
	link := loadCandles(t, "LINKUSDT-1m-2026-02.csv.gz")
	if len(avax) != len(link) {
		t.Fatalf("AVAX has %d candles, LINK %d", len(avax), len(link))
	}
	for i := range avax {
		if avax[i].OpenTime != link[i].OpenTime {
			t.Fatalf("row %d: AVAX opens at %d, LINK at %d", i, avax[i].OpenTime, link[i].OpenTime)
		}
	}
	x, y := seriesOf(avax).close, seriesOf(link).close
	for _, period := range []int{20, 60} {
		corr, err := indicator.NewCorrelation(period)
		if err != nil {
			t.Fatal(err)
		}
		got := make([]float64, len(x))
		for i := range x {
			corr.Update(x[i], y[i])
			v, ok := corr.Value()
			if ok != (i >= corr.Lookback()) {
				t.Fatalf("period %d row %d: ok %v, TA-Lib's first value is at row %d", period, i, ok, corr.Lookback())
			}
			got[i] = v
		}
		want := talib.Correl(x, y, period)
		lookback := period - 1
		scale := medianAbs(want[lookback:])
		var worstTalib, worstExact float64
		for i := lookback; i < len(x); i++ {
			worstTalib = max(worstTalib, relErr(got[i], want[i], scale))
			worstExact = max(worstExact, relErr(got[i], pearson(x[i-lookback:i+1], y[i-lookback:i+1]), scale))
		}
		t.Logf("CORREL(%d): max rel err %.2e against go-talib, %.2e against two-pass", period, worstTalib, worstExact)
		if !(worstTalib <= tolerance) || !(worstExact <= exactTolerance) {
			t.Errorf("CORREL(%d): max rel err %.2e against go-talib (limit %g), %.2e against two-pass (limit %g)",
				period, worstTalib, tolerance, worstExact, exactTolerance)
		}
	}
}

// pearson is the correlation coefficient of xs and ys from the definition, means first.
func pearson(xs, ys []float64) float64 {
	n := float64(len(xs))
	var mx, my float64
	for i := range xs {
		mx += xs[i]
		my += ys[i]
	}
	mx /= n
	my /= n
	var sxy, sxx, syy float64
	for i := range xs {
		dx, dy := xs[i]-mx, ys[i]-my
		sxy += dx * dy
		sxx += dx * dx
		syy += dy * dy
	}
	return sxy / math.Sqrt(sxx*syy)
}

// TestSpreadOfTinyPrices checks the standard deviation and the correlation on prices of the
// size of SHIB's or PEPE's (AVAX's and LINK's closes times 1e-6, about 1e-5), whose variances
// (about 1e-16) TA-Lib's fixed 1e-14 floor would read as 0, against the two-pass reference;
// and that a flat window still reads exactly 0 at any price.
func TestSpreadOfTinyPrices(t *testing.T) {
	scale := func(cs []float64) []float64 {
		out := make([]float64, len(cs))
		for i, c := range cs {
			out[i] = c * 1e-6
		}
		return out
	}
	x := scale(seriesOf(loadCandles(t, "AVAXUSDT-1m-2026-02.csv.gz")).close[:5000])
	y := scale(seriesOf(loadCandles(t, "LINKUSDT-1m-2026-02.csv.gz")).close[:5000])
	sd, err := indicator.NewStdDev(20, 1)
	if err != nil {
		t.Fatal(err)
	}
	corr, err := indicator.NewCorrelation(20)
	if err != nil {
		t.Fatal(err)
	}
	var zeros int
	for i := range x {
		sd.Update(x[i])
		corr.Update(x[i], y[i])
		if i < 19 {
			continue
		}
		_, want, _ := twoPass(x[i-19 : i+1])
		got, _ := sd.Value()
		if want == 0 {
			zeros++
		}
		if e := relErr(got, want, 0); !(e <= exactTolerance) {
			t.Fatalf("row %d: stddev %.6g, two-pass %.6g (rel err %.2e)", i, got, want, e)
		}
		gotC, _ := corr.Value()
		if want := pearson(x[i-19:i+1], y[i-19:i+1]); !(math.Abs(gotC-want) <= 1e-9) {
			t.Fatalf("row %d: correlation %.9f, two-pass %.9f", i, gotC, want)
		}
	}
	if zeros > 50 {
		t.Fatalf("%d flat windows in 4,981: the test data has too little spread to show anything", zeros)
	}

	for _, price := range []float64{0.00001234, 1.546, 20_000.01} {
		flat, _ := indicator.NewStdDev(20, 2)
		c, _ := indicator.NewCorrelation(20)
		for i := range 45 { // past a wrap of the window, where the sums are recomputed
			flat.Update(price)
			c.Update(price, float64(i))
		}
		if v, _ := flat.Value(); v != 0 {
			t.Errorf("flat window at %g: stddev %g, want 0", price, v)
		}
		if v, _ := c.Value(); v != 0 {
			t.Errorf("flat window at %g: correlation %g, want 0", price, v)
		}
	}
}

// TestCCIOfAFlatWindowIsZero feeds 100 real candles, then 60 flat ones (open, high, low and
// close equal, no volume) at prices from BTC's to below PEPE's: once the 20-candle window is
// flat, CCI(20) reads 0, not the ±66.67 of a rounding ulp divided by itself.
// thenFlat is the real candles scaled to end at price, then n flat candles at price.
func thenFlat(base []indicator.Candle, price float64, n int) []indicator.Candle {
	f := price / base[len(base)-1].Close
	var candles []indicator.Candle
	for _, c := range base {
		c.Open, c.High, c.Low, c.Close = c.Open*f, c.High*f, c.Low*f, c.Close*f
		candles = append(candles, c)
	}
	for i := range n {
		candles = append(candles, indicator.Candle{OpenTime: base[len(base)-1].OpenTime + int64(i+1)*60_000,
			Open: price, High: price, Low: price, Close: price})
	}
	return candles
}

func TestCCIOfAFlatWindowIsZero(t *testing.T) {
	base := loadCandles(t, "BTCUSDT-1m-2022-09-05.csv.gz")[:100]
	cci := slices.Index(indicator.Columns, "cci_20")
	for _, price := range []float64{20000.01, 63123.45, 1.546, 0.3, 0.0123, 0.00001234, 2e-8, 2.1e-8, 1.23e-8} {
		rows := setRows(t, thenFlat(base, price, 60))
		if rows[99][cci] == 0 {
			t.Fatalf("price %g: CCI 0 on real candles", price)
		}
		for i := len(base) + 19; i < len(rows); i++ {
			if v := rows[i][cci]; v != 0 {
				t.Fatalf("price %g: CCI %v on flat row %d, want 0", price, v, i)
			}
		}
	}
}

// A flat window after a moving stretch has a standard deviation of exactly 0 and bands
// that meet the middle, at any price: the running sums carry rounding error relative to the
// moves they have seen, and are recomputed once the window calms. So does a correlation
// with a flat series.
func TestSpreadOfAFlatWindowAfterMovesIsZero(t *testing.T) {
	all := loadCandles(t, "BTCUSDT-1m-2022-09-05.csv.gz")
	sd, up, low := slices.Index(indicator.Columns, "stddev_20"), slices.Index(indicator.Columns, "bb_upper_20_2"), slices.Index(indicator.Columns, "bb_lower_20_2")
	for k, price := range []float64{2002.49, 20000.01, 1.546, 0.0123, 0.00001234, 2002.49, 20000.01, 1.546, 0.0123, 0.00001234} {
		base := all[:300+3*k] // the flat spell starts at every phase of the windows' recomputation
		candles := thenFlat(base, price, 40)
		rows := setRows(t, candles)
		for i := len(base) + 19; i < len(rows); i++ {
			if r := rows[i]; r[sd] != 0 || r[up] != price || r[low] != price {
				t.Fatalf("price %g: flat row %d: stddev %v, bands %v / %v, want 0 and %v", price, i, r[sd], r[up], r[low], price)
			}
		}
		corr, err := indicator.NewCorrelation(20)
		if err != nil {
			t.Fatal(err)
		}
		for i, c := range candles {
			corr.Update(c.Close, base[i%len(base)].Close)
			if v, ok := corr.Value(); ok && i >= len(base)+19 && v != 0 {
				t.Fatalf("price %g: correlation %v with a flat window at %d, want 0", price, v, i)
			}
		}
	}
}
