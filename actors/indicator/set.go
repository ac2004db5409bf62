package indicator

import (
	"fmt"
	"math"

	"github.com/synapse-trading/synapse/streams"
)

// Columns names the values of the features contract, in the order Set.Values writes them
// (the contract itself is streams.FeatureColumns).
var Columns = streams.FeatureColumns[:]

// numColumns is len(Columns); Values writes exactly this many values.
const numColumns = 19

// Set computes every indicator of the features contract for one symbol and interval. Feed it
// each closed candle once, oldest first. It is not safe for concurrent use: give each
// symbol's actor its own Set.
type Set struct {
	sma      SMA         // SMA(20) of close
	ema      EMA         // EMA(20) of close
	rsi      RSI         // RSI(14) of close
	macd     MACD        // MACD(12, 26, 9) of close
	bands    Bollinger   // BBANDS(20, 2, 2, SMA) of close
	atr      ATR         // ATR(14)
	adx      ADX         // ADX(14)
	cci      CCI         // CCI(20)
	obv      OBV         // OBV of close and volume
	stoch    Stochastic  // STOCH(14, 3 SMA, 3 SMA)
	sar      SAR         // SAR(0.02, 0.2)
	mom      Momentum    // MOM(10) of close
	stdDev   StdDev      // STDDEV(20, 1) of close
	slope    LinRegSlope // LINEARREG_SLOPE(20) of close
	started  bool
	lastOpen int64 // open time of the latest candle
}

// NewSet returns a Set with no candles seen: every column reads NaN.
func NewSet() *Set {
	return &Set{
		sma:    newSMA(20),
		ema:    newEMA(20),
		rsi:    newRSI(14),
		macd:   newMACD(12, 26, 9),
		bands:  newBollinger(20, 2, 2),
		atr:    newATR(14),
		adx:    newADX(14),
		cci:    newCCI(20),
		stoch:  newStochastic(14, 3, 3),
		sar:    newSAR(0.02, 0.2),
		mom:    newMomentum(10),
		stdDev: newStdDev(20, 1),
		slope:  newLinRegSlope(20),
	}
}

// Update adds the newest closed candle to every indicator, in O(1) time and without
// allocating (CCI's mean deviation alone walks its 20-candle window). A candle that fails Candle.Validate (ErrBadCandle) or does not open after the
// previous one (ErrOutOfOrder) is refused and leaves the Set as it was.
func (s *Set) Update(c Candle) error {
	if err := c.Validate(); err != nil {
		return err
	}
	if s.started && c.OpenTime <= s.lastOpen {
		return fmt.Errorf("%w: candle opening at %d arrived after the one opening at %d; feed each candle once, oldest first",
			ErrOutOfOrder, c.OpenTime, s.lastOpen)
	}
	s.started, s.lastOpen = true, c.OpenTime

	s.sma.Update(c.Close)
	s.ema.Update(c.Close)
	s.rsi.Update(c.Close)
	s.macd.Update(c.Close)
	s.bands.Update(c.Close)
	s.atr.Update(c.High, c.Low, c.Close)
	s.adx.Update(c.High, c.Low, c.Close)
	s.cci.Update(c.High, c.Low, c.Close)
	s.obv.Update(c.Close, c.Volume)
	s.stoch.Update(c.High, c.Low, c.Close)
	s.sar.Update(c.High, c.Low)
	s.mom.Update(c.Close)
	s.stdDev.Update(c.Close)
	s.slope.Update(c.Close)
	return nil
}

// Values writes the current value of every column, in Columns order, into dst and returns
// it; a column still warming up reads math.NaN(). dst is reused when it has room for
// len(Columns) values (then nothing is allocated), otherwise a new slice is made.
func (s *Set) Values(dst []float64) []float64 {
	if cap(dst) < numColumns {
		dst = make([]float64, numColumns)
	}
	dst = dst[:numColumns]
	nan := math.NaN()
	or := func(v float64, ok bool) float64 {
		if ok {
			return v
		}
		return nan
	}
	dst[0] = or(s.sma.Value())
	dst[1] = or(s.ema.Value())
	dst[2] = or(s.rsi.Value())
	line, signal, hist, ok := s.macd.Value()
	dst[3], dst[4], dst[5] = or(line, ok), or(signal, ok), or(hist, ok)
	upper, middle, lower, ok := s.bands.Value()
	dst[6], dst[7], dst[8] = or(upper, ok), or(middle, ok), or(lower, ok)
	dst[9] = or(s.atr.Value())
	dst[10] = or(s.adx.Value())
	dst[11] = or(s.cci.Value())
	dst[12] = or(s.obv.Value())
	k, d, ok := s.stoch.Value()
	dst[13], dst[14] = or(k, ok), or(d, ok)
	dst[15] = or(s.sar.Value())
	dst[16] = or(s.mom.Value())
	dst[17] = or(s.stdDev.Value())
	dst[18] = or(s.slope.Value())
	return dst
}

// Lookbacks returns, for each column in Columns order, how many candles TA-Lib needs before
// the column's first value: column i first reads a number after Lookbacks()[i]+1 candles.
func (s *Set) Lookbacks() []int {
	return []int{
		s.sma.Lookback(), s.ema.Lookback(), s.rsi.Lookback(),
		s.macd.Lookback(), s.macd.Lookback(), s.macd.Lookback(),
		s.bands.Lookback(), s.bands.Lookback(), s.bands.Lookback(),
		s.atr.Lookback(), s.adx.Lookback(), s.cci.Lookback(), s.obv.Lookback(),
		s.stoch.Lookback(), s.stoch.Lookback(),
		s.sar.Lookback(), s.mom.Lookback(), s.stdDev.Lookback(), s.slope.Lookback(),
	}
}
