package indicator_test

import (
	"errors"
	"math"
	"testing"

	talib "github.com/markcheno/go-talib"

	"github.com/synapse-trading/synapse/actors/indicator"
)

// output is one output of an indicator run over a series, with go-talib's answer.
type output struct {
	name     string
	got      []float64 // NaN where the indicator had not warmed up
	want     []float64
	lookback int  // TA-Lib's lookback
	from     int  // first row compared (the lookback, or later where go-talib seeds differently)
	scaled   bool // measure error relative to the median absolute value (crosses zero)
}

// collect runs update then value over every candle, recording NaN where value is not ok.
func collect(candles []indicator.Candle, update func(indicator.Candle), value func() (float64, bool)) []float64 {
	out := make([]float64, len(candles))
	for i, c := range candles {
		update(c)
		v, ok := value()
		if !ok {
			v = math.NaN()
		}
		out[i] = v
	}
	return out
}

// indicatorCases runs each indicator with parameters other than the Set's, to check that
// the general code (not just the features contract's periods) matches TA-Lib.
func indicatorCases(t *testing.T, candles []indicator.Candle) []output {
	s := seriesOf(candles)
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	var outs []output

	sma, err := indicator.NewSMA(7)
	must(err)
	outs = append(outs, output{name: "SMA(7)", lookback: 6, want: talib.Sma(s.close, 7),
		got: collect(candles, func(c indicator.Candle) { sma.Update(c.Close) }, sma.Value)})

	ema, err := indicator.NewEMA(50)
	must(err)
	outs = append(outs, output{name: "EMA(50)", lookback: 49, want: talib.Ema(s.close, 50),
		got: collect(candles, func(c indicator.Candle) { ema.Update(c.Close) }, ema.Value)})

	rsi, err := indicator.NewRSI(7)
	must(err)
	outs = append(outs, output{name: "RSI(7)", lookback: 7, want: talib.Rsi(s.close, 7),
		got: collect(candles, func(c indicator.Candle) { rsi.Update(c.Close) }, rsi.Value)})

	macd, err := indicator.NewMACD(5, 35, 5)
	must(err)
	line, signal, hist := talib.Macd(s.close, 5, 35, 5)
	var gotLine, gotSignal, gotHist []float64
	for _, c := range candles {
		macd.Update(c.Close)
		l, sg, h, ok := macd.Value()
		if !ok {
			l, sg, h = math.NaN(), math.NaN(), math.NaN()
		}
		gotLine, gotSignal, gotHist = append(gotLine, l), append(gotSignal, sg), append(gotHist, h)
	}
	outs = append(outs,
		output{name: "MACD(5,35,5) line", lookback: 38, from: warmUp, scaled: true, got: gotLine, want: line},
		output{name: "MACD(5,35,5) signal", lookback: 38, from: warmUp, scaled: true, got: gotSignal, want: signal},
		output{name: "MACD(5,35,5) hist", lookback: 38, from: warmUp, scaled: true, got: gotHist, want: hist})

	bands, err := indicator.NewBollinger(10, 1.5, 2.5)
	must(err)
	upper, middle, lower := talib.BBands(s.close, 10, 1.5, 2.5, talib.SMA)
	var gotUpper, gotMiddle, gotLower []float64
	for _, c := range candles {
		bands.Update(c.Close)
		u, m, l, ok := bands.Value()
		if !ok {
			u, m, l = math.NaN(), math.NaN(), math.NaN()
		}
		gotUpper, gotMiddle, gotLower = append(gotUpper, u), append(gotMiddle, m), append(gotLower, l)
	}
	outs = append(outs,
		output{name: "BBANDS(10,1.5,2.5) upper", lookback: 9, got: gotUpper, want: upper},
		output{name: "BBANDS(10,1.5,2.5) middle", lookback: 9, got: gotMiddle, want: middle},
		output{name: "BBANDS(10,1.5,2.5) lower", lookback: 9, got: gotLower, want: lower})

	atr, err := indicator.NewATR(7)
	must(err)
	outs = append(outs, output{name: "ATR(7)", lookback: 7, want: talib.Atr(s.high, s.low, s.close, 7),
		got: collect(candles, func(c indicator.Candle) { atr.Update(c.High, c.Low, c.Close) }, atr.Value)})

	adx, err := indicator.NewADX(9)
	must(err)
	outs = append(outs, output{name: "ADX(9)", lookback: 17, want: talib.Adx(s.high, s.low, s.close, 9),
		got: collect(candles, func(c indicator.Candle) { adx.Update(c.High, c.Low, c.Close) }, adx.Value)})

	cci, err := indicator.NewCCI(14)
	must(err)
	outs = append(outs, output{name: "CCI(14)", lookback: 13, scaled: true, want: talib.Cci(s.high, s.low, s.close, 14),
		got: collect(candles, func(c indicator.Candle) { cci.Update(c.High, c.Low, c.Close) }, cci.Value)})

	obv := indicator.NewOBV()
	outs = append(outs, output{name: "OBV", lookback: 0, scaled: true, want: talib.Obv(s.close, s.volume),
		got: collect(candles, func(c indicator.Candle) { obv.Update(c.Close, c.Volume) }, obv.Value)})

	for _, p := range [][3]int{{5, 3, 4}, {9, 1, 1}} {
		stoch, err := indicator.NewStochastic(p[0], p[1], p[2])
		must(err)
		k, d := talib.Stoch(s.high, s.low, s.close, p[0], p[1], talib.SMA, p[2], talib.SMA)
		var gotK, gotD []float64
		for _, c := range candles {
			stoch.Update(c.High, c.Low, c.Close)
			vk, vd, ok := stoch.Value()
			if !ok {
				vk, vd = math.NaN(), math.NaN()
			}
			gotK, gotD = append(gotK, vk), append(gotD, vd)
		}
		lookback := p[0] - 1 + p[1] - 1 + p[2] - 1
		outs = append(outs,
			output{name: "STOCH %K", lookback: lookback, scaled: true, got: gotK, want: k},
			output{name: "STOCH %D", lookback: lookback, scaled: true, got: gotD, want: d})
	}

	sar, err := indicator.NewSAR(0.01, 0.1)
	must(err)
	outs = append(outs, output{name: "SAR(0.01,0.1)", lookback: 1, want: talib.Sar(s.high, s.low, 0.01, 0.1),
		got: collect(candles, func(c indicator.Candle) { sar.Update(c.High, c.Low) }, sar.Value)})

	mom, err := indicator.NewMomentum(1)
	must(err)
	outs = append(outs, output{name: "MOM(1)", lookback: 1, scaled: true, want: talib.Mom(s.close, 1),
		got: collect(candles, func(c indicator.Candle) { mom.Update(c.Close) }, mom.Value)})

	sd, err := indicator.NewStdDev(10, 2)
	must(err)
	outs = append(outs, output{name: "STDDEV(10,2)", lookback: 9, want: talib.StdDev(s.close, 10, 2),
		got: collect(candles, func(c indicator.Candle) { sd.Update(c.Close) }, sd.Value)})

	slope, err := indicator.NewLinRegSlope(7)
	must(err)
	outs = append(outs, output{name: "LINEARREG_SLOPE(7)", lookback: 6, scaled: true, want: talib.LinearRegSlope(s.close, 7),
		got: collect(candles, func(c indicator.Candle) { slope.Update(c.Close) }, slope.Value)})

	for i := range outs {
		if outs[i].from == 0 {
			outs[i].from = outs[i].lookback
		}
	}
	return outs
}

func TestIndicatorsMatchTalib(t *testing.T) {
	for _, file := range klineFiles[:2] {
		t.Run(file.name, func(t *testing.T) {
			for _, out := range indicatorCases(t, loadCandles(t, file.name)) {
				for i, v := range out.got {
					if math.IsNaN(v) != (i < out.lookback) {
						t.Errorf("%s row %d: value %v, but TA-Lib's first value is at row %d", out.name, i, v, out.lookback)
						break
					}
				}
				scale := 0.0
				if out.scaled {
					scale = medianAbs(out.want[out.from:])
				}
				worst, worstAt := 0.0, out.from
				for i := out.from; i < len(out.want); i++ {
					if e := relErr(out.got[i], out.want[i], scale); e > worst || math.IsNaN(e) {
						worst, worstAt = e, i
					}
				}
				if !(worst <= tolerance) {
					t.Errorf("%s row %d: got %v, TA-Lib %v (rel err %.2e)", out.name, worstAt, out.got[worstAt], out.want[worstAt], worst)
				}
			}
		})
	}
}

func TestConstructorsRejectBadParameters(t *testing.T) {
	cases := map[string]func() error{
		"SMA(0)":           func() error { _, err := indicator.NewSMA(0); return err },
		"EMA(1)":           func() error { _, err := indicator.NewEMA(1); return err },
		"RSI(1)":           func() error { _, err := indicator.NewRSI(1); return err },
		"MACD(26,12,9)":    func() error { _, err := indicator.NewMACD(26, 12, 9); return err },
		"MACD(12,26,0)":    func() error { _, err := indicator.NewMACD(12, 26, 0); return err },
		"BBANDS(20,0,2)":   func() error { _, err := indicator.NewBollinger(20, 0, 2); return err },
		"BBANDS(20,2,NaN)": func() error { _, err := indicator.NewBollinger(20, 2, math.NaN()); return err },
		"ATR(1)":           func() error { _, err := indicator.NewATR(1); return err },
		"ADX(100001)":      func() error { _, err := indicator.NewADX(100001); return err },
		"CCI(-5)":          func() error { _, err := indicator.NewCCI(-5); return err },
		"STOCH(14,0,3)":    func() error { _, err := indicator.NewStochastic(14, 0, 3); return err },
		"SAR(0.3,0.2)":     func() error { _, err := indicator.NewSAR(0.3, 0.2); return err },
		"SAR(0,0.2)":       func() error { _, err := indicator.NewSAR(0, 0.2); return err },
		"MOM(0)":           func() error { _, err := indicator.NewMomentum(0); return err },
		"STDDEV(1,1)":      func() error { _, err := indicator.NewStdDev(1, 1); return err },
		"LINREG(1)":        func() error { _, err := indicator.NewLinRegSlope(1); return err },
		"CORREL(1)":        func() error { _, err := indicator.NewCorrelation(1); return err },
	}
	for name, make := range cases {
		if err := make(); !errors.Is(err, indicator.ErrBadParameter) {
			t.Errorf("%s: got %v, want ErrBadParameter", name, err)
		}
	}
}

func TestSetRefusesBadCandles(t *testing.T) {
	candles := loadCandles(t, "ETHUSDT-1m-2022-08-14.csv.gz")
	set := indicator.NewSet()
	for _, c := range candles[:100] {
		if err := set.Update(c); err != nil {
			t.Fatal(err)
		}
	}
	before := set.Values(nil)
	last := candles[99]
	next := candles[100]
	with := func(change func(*indicator.Candle)) indicator.Candle {
		c := next
		change(&c)
		return c
	}
	cases := []struct {
		name   string
		candle indicator.Candle
		want   error
	}{
		{"NaN close", with(func(c *indicator.Candle) { c.Close = math.NaN() }), indicator.ErrBadCandle},
		{"infinite high", with(func(c *indicator.Candle) { c.High = math.Inf(1) }), indicator.ErrBadCandle},
		{"zero low", with(func(c *indicator.Candle) { c.Low = 0 }), indicator.ErrBadCandle},
		{"negative volume", with(func(c *indicator.Candle) { c.Volume = -1 }), indicator.ErrBadCandle},
		{"huge volume", with(func(c *indicator.Candle) { c.Volume = 1e300 }), indicator.ErrBadCandle},
		{"high below low", with(func(c *indicator.Candle) { c.High, c.Low = c.Low, c.High }), indicator.ErrBadCandle},
		{"close above high", with(func(c *indicator.Candle) { c.Close = c.High * 1.01 }), indicator.ErrBadCandle},
		{"open below low", with(func(c *indicator.Candle) { c.Open = c.Low * 0.99 }), indicator.ErrBadCandle},
		{"same candle again", last, indicator.ErrOutOfOrder},
		{"older candle", candles[50], indicator.ErrOutOfOrder},
	}
	for _, tc := range cases {
		err := set.Update(tc.candle)
		if !errors.Is(err, tc.want) {
			t.Errorf("%s: got %v, want %v", tc.name, err, tc.want)
		}
		after := set.Values(nil)
		for j := range before {
			if math.Float64bits(after[j]) != math.Float64bits(before[j]) {
				t.Errorf("%s: refused candle changed %s from %v to %v", tc.name, indicator.Columns[j], before[j], after[j])
			}
		}
	}
	if err := set.Update(next); err != nil {
		t.Errorf("the next good candle after refusals: %v", err)
	}
}

func TestSetUpdateDoesNotAllocate(t *testing.T) {
	candles := loadCandles(t, "ETHUSDT-1m-2022-08-14.csv.gz")
	set := indicator.NewSet()
	dst := make([]float64, 0, len(indicator.Columns))
	i := 0
	allocs := testing.AllocsPerRun(len(candles)-1, func() {
		if err := set.Update(candles[i]); err != nil {
			t.Fatal(err)
		}
		dst = set.Values(dst)
		i++
	})
	if allocs != 0 {
		t.Errorf("Update+Values allocate %v times per candle, want 0", allocs)
	}
}
