package indicator

import "math"

// Stochastic is TA-Lib STOCH with SMA smoothing: fast %K = 100·(close − lowest low)/(highest
// high − lowest low) over fastKPeriod candles (0 when the range is 0), slow %K = SMA of fast
// %K over slowKPeriod, slow %D = SMA of slow %K over slowDPeriod.
// Lookback: fastKPeriod−1 + slowKPeriod−1 + slowDPeriod−1.
type Stochastic struct {
	highest extreme
	lowest  extreme
	slowK   SMA
	slowD   SMA
}

// NewStochastic returns a Stochastic; every period is 1 to 100000. The usual parameters
// are 14, 3, 3.
func NewStochastic(fastKPeriod, slowKPeriod, slowDPeriod int) (*Stochastic, error) {
	for _, p := range []struct {
		name   string
		period int
	}{{"stochastic fast %K", fastKPeriod}, {"stochastic slow %K", slowKPeriod}, {"stochastic slow %D", slowDPeriod}} {
		if err := checkPeriod(p.name, p.period, 1); err != nil {
			return nil, err
		}
	}
	s := newStochastic(fastKPeriod, slowKPeriod, slowDPeriod)
	return &s, nil
}

func newStochastic(fastKPeriod, slowKPeriod, slowDPeriod int) Stochastic {
	return Stochastic{
		highest: newExtreme(fastKPeriod, true),
		lowest:  newExtreme(fastKPeriod, false),
		slowK:   newSMA(slowKPeriod),
		slowD:   newSMA(slowDPeriod),
	}
}

// Update adds the newest candle's high, low and close.
func (s *Stochastic) Update(high, low, close float64) {
	s.highest.push(high)
	s.lowest.push(low)
	if !s.highest.full() {
		return
	}
	lowest := s.lowest.value()
	fastK := 0.0
	if diff := (s.highest.value() - lowest) / 100; diff != 0 { // TA-Lib's exact arithmetic
		fastK = (close - lowest) / diff
	}
	s.slowK.Update(fastK)
	if k, ok := s.slowK.Value(); ok {
		s.slowD.Update(k)
	}
}

// Value returns slow %K and slow %D, both in [0, 100], and whether they have warmed up.
func (s *Stochastic) Value() (k, d float64, ok bool) {
	d, ok = s.slowD.Value()
	if !ok {
		return 0, 0, false
	}
	k, _ = s.slowK.Value()
	return k, d, true
}

// Lookback is the number of candles TA-Lib needs before the first value.
func (s *Stochastic) Lookback() int {
	return len(s.highest.vals) - 1 + s.slowK.Lookback() + s.slowD.Lookback()
}

// CCI is the commodity channel index (TA-Lib CCI) of the typical price tp = (high+low+close)/3:
// (tp − mean)/(0.015 · mean absolute deviation) over period candles, 0 when either is 0.
// Lookback: period−1.
//
// A mean deviation within rounding noise of the mean's size counts as 0, as noiseFree does
// for a variance: on a flat window the float mean of the equal tps can differ from them by an
// ulp, and TA-Lib's exact test of 0 then divides that ulp by itself, reading ±66.67.
//
// The mean absolute deviation has no running form: it is recomputed from the window on every
// candle, O(period) per update (20 subtractions for CCI(20)). The mean is recomputed with it,
// summed in the same order as TA-Lib, so the values match TA-Lib to the last bit.
type CCI struct {
	win   ring
	value float64
}

// NewCCI returns a CCI over period candles, 2 <= period <= 100000.
func NewCCI(period int) (*CCI, error) {
	if err := checkPeriod("CCI", period, 2); err != nil {
		return nil, err
	}
	c := newCCI(period)
	return &c, nil
}

func newCCI(period int) CCI { return CCI{win: newRing(period)} }

// Update adds the newest candle's high, low and close.
func (c *CCI) Update(high, low, close float64) {
	tp := (high + low + close) / 3
	c.win.push(tp)
	if !c.win.full() {
		return
	}
	n := float64(len(c.win.buf))
	mean := 0.0
	for _, x := range c.win.buf {
		mean += x
	}
	mean /= n
	deviation := 0.0
	for _, x := range c.win.buf {
		deviation += math.Abs(x - mean)
	}
	// A float sum of n values is off by up to about n·1e-16 of its size, and so is the mean
	// deviation of a flat window: n·roundingNoise of the mean keeps a margin of 10,000.
	c.value = 0
	if d := tp - mean; d != 0 && deviation/n > math.Abs(mean)*n*roundingNoise {
		c.value = d / (0.015 * (deviation / n))
	}
}

// Value returns the CCI and whether period candles have been seen.
func (c *CCI) Value() (float64, bool) { return c.value, c.win.full() }

// Lookback is the number of candles TA-Lib needs before the first value.
func (c *CCI) Lookback() int { return len(c.win.buf) - 1 }
