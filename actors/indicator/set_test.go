package indicator_test

import (
	"math"
	"slices"
	"strconv"
	"strings"
	"testing"

	talib "github.com/markcheno/go-talib"

	"github.com/synapse-trading/synapse/actors/indicator"
)

// warmUp is the number of candles after which every column must equal TA-Lib.
const warmUp = 300

// tolerance is the largest relative error allowed.
const tolerance = 1e-6

// talibLookback is each column's lookback in TA-Lib's C library (TA_*_Lookback with the
// default unstable period of 0). go-talib writes 0 where TA-Lib writes nothing.
var talibLookback = map[string]int{
	"sma_20":              20 - 1,
	"ema_20":              20 - 1,
	"rsi_14":              14,
	"macd_12_26_9":        (26 - 1) + (9 - 1),
	"macd_signal_12_26_9": (26 - 1) + (9 - 1),
	"macd_hist_12_26_9":   (26 - 1) + (9 - 1),
	"bb_upper_20_2":       20 - 1,
	"bb_middle_20_2":      20 - 1,
	"bb_lower_20_2":       20 - 1,
	"atr_14":              14,
	"adx_14":              2*14 - 1,
	"cci_20":              20 - 1,
	"obv":                 0,
	"stoch_k_14_3_3":      (14 - 1) + (3 - 1) + (3 - 1),
	"stoch_d_14_3_3":      (14 - 1) + (3 - 1) + (3 - 1),
	"sar_002_02":          1,
	"mom_10":              10,
	"stddev_20":           20 - 1,
	"linreg_slope_20":     20 - 1,
}

// crossesZero lists the columns whose error is measured relative to the column's median
// absolute value rather than to each value: those that cross zero, and the stochastic, which
// is exactly 0 whenever the close is the lowest low three candles running (where TA-Lib reads
// 4e-13 of rounding noise and a relative error means nothing).
var crossesZero = map[string]bool{
	"macd_12_26_9": true, "macd_signal_12_26_9": true, "macd_hist_12_26_9": true,
	"mom_10": true, "linreg_slope_20": true, "obv": true, "cci_20": true,
	"stoch_k_14_3_3": true, "stoch_d_14_3_3": true,
}

// talibColumns runs go-talib over the whole series, one slice per column of Columns.
func talibColumns(s series) [][]float64 {
	macd, signal, hist := talib.Macd(s.close, 12, 26, 9)
	upper, middle, lower := talib.BBands(s.close, 20, 2, 2, talib.SMA)
	k, d := talib.Stoch(s.high, s.low, s.close, 14, 3, talib.SMA, 3, talib.SMA)
	return [][]float64{
		talib.Sma(s.close, 20),
		talib.Ema(s.close, 20),
		talib.Rsi(s.close, 14),
		macd, signal, hist,
		upper, middle, lower,
		talib.Atr(s.high, s.low, s.close, 14),
		talib.Adx(s.high, s.low, s.close, 14),
		talib.Cci(s.high, s.low, s.close, 20),
		talib.Obv(s.close, s.volume),
		k, d,
		talib.Sar(s.high, s.low, 0.02, 0.2),
		talib.Mom(s.close, 10),
		talib.StdDev(s.close, 20, 1),
		talib.LinearRegSlope(s.close, 20),
	}
}

// setRows feeds candles to a new Set and returns the rows it produced.
func setRows(t *testing.T, candles []indicator.Candle) [][]float64 {
	t.Helper()
	set := indicator.NewSet()
	rows := make([][]float64, len(candles))
	for i, c := range candles {
		if err := set.Update(c); err != nil {
			t.Fatalf("candle %d: %v", i, err)
		}
		rows[i] = set.Values(nil)
	}
	return rows
}

// relErr is |got − want| relative to |want|, or to scale where scale is not 0.
func relErr(got, want, scale float64) float64 {
	diff := math.Abs(got - want)
	if diff == 0 {
		return 0
	}
	if scale == 0 {
		scale = math.Abs(want)
	}
	return diff / scale
}

// medianAbs is the median absolute value of xs.
func medianAbs(xs []float64) float64 {
	abs := make([]float64, len(xs))
	for i, x := range xs {
		abs[i] = math.Abs(x)
	}
	slices.Sort(abs)
	return abs[len(abs)/2]
}

// compareWithTalib checks every column of rows (which start at candle start of the series)
// against go-talib run over the whole series, for every row from candle from(column) on.
func compareWithTalib(t *testing.T, rows [][]float64, want [][]float64, start int, from func(name string) int) {
	t.Helper()
	for j, name := range indicator.Columns {
		first := from(name)
		scale := 0.0
		if crossesZero[name] {
			scale = medianAbs(want[j][first:])
		}
		worst, worstAt := 0.0, first
		for i := first; i < len(want[j]); i++ {
			got := rows[i-start][j]
			if e := relErr(got, want[j][i], scale); e > worst || math.IsNaN(e) {
				worst, worstAt = e, i
			}
		}
		t.Logf("%-20s from row %5d: max rel err %.2e at row %d", name, first, worst, worstAt)
		if !(worst <= tolerance) {
			t.Errorf("%s row %d: got %v, TA-Lib %v (rel err %.2e, scale %v)",
				name, worstAt, rows[worstAt-start][j], want[j][worstAt], worst, scale)
		}
	}
}

// afterWarmUp compares from candle start+warmUp on.
func afterWarmUp(start int) func(string) int {
	return func(string) int { return start + warmUp }
}

var klineFiles = []struct {
	name string
	rows int
}{
	{"ETHUSDT-1m-2022-08-14.csv.gz", 1440}, // spot, no header
	{"BTCUSDT-1m-2022-09-05.csv.gz", 1440}, // futures, header
	{"AVAXUSDT-1m-2026-02.csv.gz", 40320},  // futures, a full month
}

func TestSetMatchesTalib(t *testing.T) {
	for _, file := range klineFiles {
		t.Run(file.name, func(t *testing.T) {
			candles := loadCandles(t, file.name)
			if len(candles) != file.rows {
				t.Fatalf("read %d candles, want %d", len(candles), file.rows)
			}
			compareWithTalib(t, setRows(t, candles), talibColumns(seriesOf(candles)), 0, afterWarmUp(0))
		})
	}
}

// TestSetMatchesTalibFromFirstValue checks that the seeding matches TA-Lib exactly: every
// column equals go-talib from its very first value, except MACD, whose seeding go-talib does
// differently from TA-Lib's C library (it starts the fast EMA on the first candle and feeds
// the signal EMA zeros); those columns are compared after the warm-up.
func TestSetMatchesTalibFromFirstValue(t *testing.T) {
	for _, file := range klineFiles[:2] {
		t.Run(file.name, func(t *testing.T) {
			candles := loadCandles(t, file.name)
			compareWithTalib(t, setRows(t, candles), talibColumns(seriesOf(candles)), 0, func(name string) int {
				if strings.HasPrefix(name, "macd") {
					return warmUp
				}
				return talibLookback[name]
			})
		})
	}
}

// TestSetFirstValueAtTalibLookback checks that each column reads NaN up to TA-Lib's lookback
// and a number from then on.
func TestSetFirstValueAtTalibLookback(t *testing.T) {
	candles := loadCandles(t, "ETHUSDT-1m-2022-08-14.csv.gz")
	rows := setRows(t, candles)
	lookbacks := indicator.NewSet().Lookbacks()
	if len(lookbacks) != len(indicator.Columns) {
		t.Fatalf("Lookbacks has %d entries, want %d", len(lookbacks), len(indicator.Columns))
	}
	for j, name := range indicator.Columns {
		want, ok := talibLookback[name]
		if !ok {
			t.Fatalf("column %q has no TA-Lib lookback in this test", name)
		}
		if lookbacks[j] != want {
			t.Errorf("%s: Lookbacks says %d, TA-Lib %d", name, lookbacks[j], want)
		}
		for i, row := range rows {
			if nan := math.IsNaN(row[j]); nan != (i < want) {
				t.Errorf("%s row %d: value %v, but TA-Lib's first value is at row %d", name, i, row[j], want)
				break
			}
		}
	}
}

// TestSetStartedMidSeries checks the unstable period: a Set started on any candle agrees with
// TA-Lib run over the whole, longer history once it has seen warmUp candles. TA-Lib's own
// output for EMA, RSI, ATR, ADX, MACD and SAR depends on where its input starts; the
// dependence must have decayed below the tolerance. OBV is a running total from its first
// candle, so a later start differs from it by a constant forever: it is left out.
func TestSetStartedMidSeries(t *testing.T) {
	candles := loadCandles(t, "AVAXUSDT-1m-2026-02.csv.gz")
	want := talibColumns(seriesOf(candles))
	obv := slices.Index(indicator.Columns, "obv")
	for _, start := range []int{1, 137, 5000, 29999} {
		rows := setRows(t, candles[start:])
		for i := range rows {
			rows[i][obv] = want[obv][start+i] // not comparable: see above
		}
		t.Run(strconv.Itoa(start), func(t *testing.T) {
			compareWithTalib(t, rows, want, start, afterWarmUp(start))
		})
	}
}
