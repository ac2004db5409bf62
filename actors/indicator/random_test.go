package indicator_test

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	talib "github.com/markcheno/go-talib"

	"github.com/synapse-trading/synapse/actors/indicator"
)

// randomCandles makes a random walk of n candles on a coarse price grid, so that equal
// highs, lows and closes (the ties where seeding and tie-breaking rules matter) are common.
func randomCandles(rng *rand.Rand, n int) []indicator.Candle {
	candles := make([]indicator.Candle, n)
	price := 100.0
	for i := range candles {
		open := price
		price = math.Max(1, price+float64(rng.IntN(7)-3))
		high := math.Max(open, price) + float64(rng.IntN(3))
		low := math.Min(open, price) - float64(rng.IntN(3))
		candles[i] = indicator.Candle{
			OpenTime: int64(i) * 60_000, Open: open, High: high, Low: math.Max(low, 0.5),
			Close: price, Volume: float64(rng.IntN(5)),
		}
	}
	return candles
}

// TestSetMatchesTalibOnShortRandomSeries compares every column with go-talib from its first
// value on many short series, where the seeding and the first steps dominate.
func TestSetMatchesTalibOnShortRandomSeries(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for range 300 {
		candles := randomCandles(rng, 40+rng.IntN(60))
		rows := setRows(t, candles)
		want := talibColumns(seriesOf(candles))
		for j, name := range indicator.Columns {
			if strings.HasPrefix(name, "macd") {
				continue // go-talib seeds MACD differently: see TestMACDMatchesTalibCSeeding
			}
			for i := talibLookback[name]; i < len(candles); i++ {
				if e := relErr(rows[i][j], want[j][i], 1); !(e <= 1e-9) {
					t.Fatalf("%s row %d of %v: got %v, TA-Lib %v", name, i, candles[:i+1], rows[i][j], want[j][i])
				}
			}
		}
	}
}

// TestMACDMatchesTalibCSeeding checks the MACD from its first value against TA-Lib's C
// definition, built from go-talib's EMA: the fast EMA runs over the inputs from slow−fast on,
// so that it is seeded on the same candle as the slow one, and the signal EMA runs over the
// MACD line from its first value.
func TestMACDMatchesTalibCSeeding(t *testing.T) {
	candles := loadCandles(t, "BTCUSDT-1m-2022-09-05.csv.gz")
	closes := seriesOf(candles).close
	for _, p := range [][3]int{{12, 26, 9}, {5, 35, 5}, {3, 4, 2}} {
		fast, slow, signal := p[0], p[1], p[2]
		fastEMA := talib.Ema(closes[slow-fast:], fast)
		slowEMA := talib.Ema(closes, slow)
		line := make([]float64, len(closes))
		for i := slow - 1; i < len(closes); i++ {
			line[i] = fastEMA[i-(slow-fast)] - slowEMA[i]
		}
		signalEMA := talib.Ema(line[slow-1:], signal)

		m, err := indicator.NewMACD(fast, slow, signal)
		if err != nil {
			t.Fatal(err)
		}
		lookback := slow - 1 + signal - 1
		if m.Lookback() != lookback {
			t.Errorf("MACD%v: Lookback %d, want %d", p, m.Lookback(), lookback)
		}
		for i, c := range candles {
			m.Update(c.Close)
			gotLine, gotSignal, gotHist, ok := m.Value()
			if ok != (i >= lookback) {
				t.Fatalf("MACD%v row %d: ok %v, first value due at row %d", p, i, ok, lookback)
			}
			if !ok {
				continue
			}
			wantSignal := signalEMA[i-(slow-1)]
			if gotLine != line[i] || gotSignal != wantSignal || gotHist != line[i]-wantSignal {
				t.Fatalf("MACD%v row %d: got %v %v %v, want %v %v %v",
					p, i, gotLine, gotSignal, gotHist, line[i], wantSignal, line[i]-wantSignal)
			}
		}
	}
}
