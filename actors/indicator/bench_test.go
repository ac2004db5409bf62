package indicator_test

import (
	"testing"

	"github.com/synapse-trading/synapse/actors/indicator"
)

// benchCandles is a month of real candles, loaded once per benchmark.
func benchCandles(b *testing.B) []indicator.Candle {
	b.Helper()
	return loadCandles(b, "AVAXUSDT-1m-2026-02.csv.gz")
}

// reportCandlesPerSecond adds a candles/s figure next to ns/op.
func reportCandlesPerSecond(b *testing.B) {
	if s := b.Elapsed().Seconds(); s > 0 {
		b.ReportMetric(float64(b.N)/s, "candles/s")
	}
}

// BenchmarkSetUpdate measures one candle through every indicator of the features contract.
// Open times are rewritten so the month can be replayed round and round in order.
func BenchmarkSetUpdate(b *testing.B) {
	candles := benchCandles(b)
	set := indicator.NewSet()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		c := candles[i%len(candles)]
		c.OpenTime = int64(i)
		if err := set.Update(c); err != nil {
			b.Fatal(err)
		}
	}
	reportCandlesPerSecond(b)
}

// BenchmarkSetUpdateValues adds reading the row of values, as a feature actor does.
func BenchmarkSetUpdateValues(b *testing.B) {
	candles := benchCandles(b)
	set := indicator.NewSet()
	dst := make([]float64, len(indicator.Columns))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		c := candles[i%len(candles)]
		c.OpenTime = int64(i)
		if err := set.Update(c); err != nil {
			b.Fatal(err)
		}
		dst = set.Values(dst)
	}
	reportCandlesPerSecond(b)
}

// BenchmarkIndicators measures each indicator alone, Update then Value, with the Set's parameters.
func BenchmarkIndicators(b *testing.B) {
	candles := benchCandles(b)
	run := func(b *testing.B, step func(c indicator.Candle)) {
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; b.Loop(); i++ {
			step(candles[i%len(candles)])
		}
		reportCandlesPerSecond(b)
	}
	must := func(err error) {
		if err != nil {
			b.Fatal(err)
		}
	}
	var sink float64
	b.Run("SMA20", func(b *testing.B) {
		m, err := indicator.NewSMA(20)
		must(err)
		run(b, func(c indicator.Candle) { m.Update(c.Close); sink, _ = m.Value() })
	})
	b.Run("EMA20", func(b *testing.B) {
		m, err := indicator.NewEMA(20)
		must(err)
		run(b, func(c indicator.Candle) { m.Update(c.Close); sink, _ = m.Value() })
	})
	b.Run("RSI14", func(b *testing.B) {
		m, err := indicator.NewRSI(14)
		must(err)
		run(b, func(c indicator.Candle) { m.Update(c.Close); sink, _ = m.Value() })
	})
	b.Run("MACD12_26_9", func(b *testing.B) {
		m, err := indicator.NewMACD(12, 26, 9)
		must(err)
		run(b, func(c indicator.Candle) { m.Update(c.Close); sink, _, _, _ = m.Value() })
	})
	b.Run("Bollinger20_2", func(b *testing.B) {
		m, err := indicator.NewBollinger(20, 2, 2)
		must(err)
		run(b, func(c indicator.Candle) { m.Update(c.Close); sink, _, _, _ = m.Value() })
	})
	b.Run("ATR14", func(b *testing.B) {
		m, err := indicator.NewATR(14)
		must(err)
		run(b, func(c indicator.Candle) { m.Update(c.High, c.Low, c.Close); sink, _ = m.Value() })
	})
	b.Run("ADX14", func(b *testing.B) {
		m, err := indicator.NewADX(14)
		must(err)
		run(b, func(c indicator.Candle) { m.Update(c.High, c.Low, c.Close); sink, _ = m.Value() })
	})
	b.Run("CCI20", func(b *testing.B) {
		m, err := indicator.NewCCI(20)
		must(err)
		run(b, func(c indicator.Candle) { m.Update(c.High, c.Low, c.Close); sink, _ = m.Value() })
	})
	b.Run("OBV", func(b *testing.B) {
		m := indicator.NewOBV()
		run(b, func(c indicator.Candle) { m.Update(c.Close, c.Volume); sink, _ = m.Value() })
	})
	b.Run("Stochastic14_3_3", func(b *testing.B) {
		m, err := indicator.NewStochastic(14, 3, 3)
		must(err)
		run(b, func(c indicator.Candle) { m.Update(c.High, c.Low, c.Close); sink, _, _ = m.Value() })
	})
	b.Run("SAR", func(b *testing.B) {
		m, err := indicator.NewSAR(0.02, 0.2)
		must(err)
		run(b, func(c indicator.Candle) { m.Update(c.High, c.Low); sink, _ = m.Value() })
	})
	b.Run("Momentum10", func(b *testing.B) {
		m, err := indicator.NewMomentum(10)
		must(err)
		run(b, func(c indicator.Candle) { m.Update(c.Close); sink, _ = m.Value() })
	})
	b.Run("StdDev20", func(b *testing.B) {
		m, err := indicator.NewStdDev(20, 1)
		must(err)
		run(b, func(c indicator.Candle) { m.Update(c.Close); sink, _ = m.Value() })
	})
	b.Run("LinRegSlope20", func(b *testing.B) {
		m, err := indicator.NewLinRegSlope(20)
		must(err)
		run(b, func(c indicator.Candle) { m.Update(c.Close); sink, _ = m.Value() })
	})
	b.Run("Correlation20", func(b *testing.B) {
		m, err := indicator.NewCorrelation(20)
		must(err)
		run(b, func(c indicator.Candle) { m.Update(c.Close, c.Open); sink, _ = m.Value() })
	})
	_ = sink
}
