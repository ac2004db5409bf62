package indicator

import (
	"fmt"
	"math"
)

// StdDev is the population standard deviation of the last period inputs times nbDev
// (TA-Lib STDDEV). A variance within rounding noise of 0 reads as 0; TA-Lib's fixed 1e-14
// floor, which zeroes the spread of prices below about 1e-5, is not kept. Lookback: period−1.
type StdDev struct {
	win   moments
	nbDev float64
}

// NewStdDev returns a StdDev over period inputs (2 <= period <= 100000) scaled by nbDev > 0.
func NewStdDev(period int, nbDev float64) (*StdDev, error) {
	if err := checkPeriod("standard deviation", period, 2); err != nil {
		return nil, err
	}
	if err := checkDeviations("standard deviation", nbDev); err != nil {
		return nil, err
	}
	s := newStdDev(period, nbDev)
	return &s, nil
}

func newStdDev(period int, nbDev float64) StdDev {
	return StdDev{win: newMoments(period), nbDev: nbDev}
}

// Update adds the newest input.
func (s *StdDev) Update(x float64) { s.win.push(x) }

// Value returns the scaled standard deviation and whether period inputs have been seen.
func (s *StdDev) Value() (float64, bool) {
	if !s.win.full() {
		return 0, false
	}
	return stdDevOf(s.win.variance()) * s.nbDev, true
}

// Lookback is the number of inputs TA-Lib needs before the first value.
func (s *StdDev) Lookback() int { return len(s.win.win.buf) - 1 }

// stdDevOf is the square root of a variance that noiseFree has cleared of rounding noise.
func stdDevOf(variance float64) float64 {
	if variance <= 0 {
		return 0
	}
	return math.Sqrt(variance)
}

func checkDeviations(indicator string, nbDev float64) error {
	if !(nbDev > 0 && nbDev <= 1000) {
		return fmt.Errorf("%w: %s deviations %v; use a number in (0, 1000]", ErrBadParameter, indicator, nbDev)
	}
	return nil
}

// Bollinger is TA-Lib BBANDS with an SMA middle band: middle = SMA(period), upper = middle +
// devUp·σ, lower = middle − devDown·σ, with σ the population standard deviation.
// Lookback: period−1.
type Bollinger struct {
	win     moments
	devUp   float64
	devDown float64
}

// NewBollinger returns Bollinger Bands over period inputs (2 <= period <= 100000) with
// devUp and devDown > 0 standard deviations. The usual parameters are 20, 2, 2.
func NewBollinger(period int, devUp, devDown float64) (*Bollinger, error) {
	if err := checkPeriod("Bollinger", period, 2); err != nil {
		return nil, err
	}
	if err := checkDeviations("Bollinger upper", devUp); err != nil {
		return nil, err
	}
	if err := checkDeviations("Bollinger lower", devDown); err != nil {
		return nil, err
	}
	b := newBollinger(period, devUp, devDown)
	return &b, nil
}

func newBollinger(period int, devUp, devDown float64) Bollinger {
	return Bollinger{win: newMoments(period), devUp: devUp, devDown: devDown}
}

// Update adds the newest input.
func (b *Bollinger) Update(x float64) { b.win.push(x) }

// Value returns the three bands and whether period inputs have been seen.
func (b *Bollinger) Value() (upper, middle, lower float64, ok bool) {
	if !b.win.full() {
		return 0, 0, 0, false
	}
	middle = b.win.mean()
	sd := stdDevOf(b.win.variance())
	return middle + sd*b.devUp, middle, middle - sd*b.devDown, true
}

// Lookback is the number of inputs TA-Lib needs before the first value.
func (b *Bollinger) Lookback() int { return len(b.win.win.buf) - 1 }

// ATR is Wilder's average true range (TA-Lib ATR): the first value is the plain average of
// the first period true ranges (which start with the second candle), later ones are
// Wilder-smoothed, atr = (atr·(period−1) + tr)/period. Lookback: period.
type ATR struct {
	period    int
	seen      int // candles seen, counted only until the first value
	prevClose float64
	atr       float64 // a plain sum of true ranges while seeding
}

// NewATR returns an ATR over period true ranges, 2 <= period <= 100000.
func NewATR(period int) (*ATR, error) {
	if err := checkPeriod("ATR", period, 2); err != nil {
		return nil, err
	}
	a := newATR(period)
	return &a, nil
}

func newATR(period int) ATR { return ATR{period: period} }

// Update adds the newest candle's high, low and close.
func (a *ATR) Update(high, low, close float64) {
	tr := trueRange(high, low, a.prevClose)
	a.prevClose = close
	p := float64(a.period)
	switch {
	case a.seen == 0: // the first candle has no true range
		a.seen++
	case a.seen <= a.period:
		a.atr += tr
		a.seen++
		if a.seen > a.period {
			a.atr /= p
		}
	default:
		a.atr = (a.atr*(p-1) + tr) / p
	}
}

// Value returns the ATR and whether period+1 candles have been seen.
func (a *ATR) Value() (float64, bool) { return a.atr, a.seen > a.period }

// Lookback is the number of candles TA-Lib needs before the first value.
func (a *ATR) Lookback() int { return a.period }

// trueRange is the largest of high − low, |prevClose − high| and |prevClose − low|.
func trueRange(high, low, prevClose float64) float64 {
	tr := high - low
	if d := math.Abs(prevClose - high); d > tr {
		tr = d
	}
	if d := math.Abs(prevClose - low); d > tr {
		tr = d
	}
	return tr
}
