package indicator

import (
	"fmt"
	"math"
)

// ADX is Wilder's average directional movement index (TA-Lib ADX). +DM, −DM and the true
// range are summed over the first period−1 candle-to-candle moves, then Wilder-smoothed
// (s = s − s/period + x); from there each candle gives a DX = 100·|+DI − −DI|/(+DI + −DI).
// The first ADX is the plain average of the first period DX values, later ones are
// Wilder-smoothed, adx = (adx·(period−1) + dx)/period. Lookback: 2·period−1.
type ADX struct {
	period    int
	seen      int // candles seen, counted only until the first value
	prevHigh  float64
	prevLow   float64
	prevClose float64
	plusDM    float64
	minusDM   float64
	tr        float64
	sumDX     float64 // Σ DX while seeding the first ADX
	adx       float64
}

// NewADX returns an ADX over period candles, 2 <= period <= 100000.
func NewADX(period int) (*ADX, error) {
	if err := checkPeriod("ADX", period, 2); err != nil {
		return nil, err
	}
	a := newADX(period)
	return &a, nil
}

func newADX(period int) ADX { return ADX{period: period} }

// Update adds the newest candle's high, low and close.
func (a *ADX) Update(high, low, close float64) {
	if a.seen == 0 {
		a.prevHigh, a.prevLow, a.prevClose = high, low, close
		a.seen++
		return
	}
	// Directional movement: only the larger of the up and down moves counts, if positive.
	up, down := high-a.prevHigh, a.prevLow-low
	plusDM, minusDM := 0.0, 0.0
	if down > 0 && up < down {
		minusDM = down
	} else if up > 0 && up > down {
		plusDM = up
	}
	tr := trueRange(high, low, a.prevClose)
	a.prevHigh, a.prevLow, a.prevClose = high, low, close

	index := a.seen // this candle's index in the stream, while seeding
	if a.seen < 2*a.period {
		a.seen++
	}
	p := float64(a.period)
	if index < a.period { // candles 1 .. period−1: plain sums
		a.plusDM += plusDM
		a.minusDM += minusDM
		a.tr += tr
		return
	}
	a.minusDM -= a.minusDM / p
	a.plusDM -= a.plusDM / p
	a.minusDM += minusDM
	a.plusDM += plusDM
	a.tr = a.tr - a.tr/p + tr
	dx, ok := a.dx()
	switch {
	case index < 2*a.period-1: // candles period .. 2·period−2: sum DX
		if ok {
			a.sumDX += dx
		}
	case index == 2*a.period-1: // the first ADX is the average DX
		if ok {
			a.sumDX += dx
		}
		a.adx = a.sumDX / p
	default:
		if ok {
			a.adx = (a.adx*(p-1) + dx) / p
		}
	}
}

// dx returns the directional movement index of the smoothed sums, or false where TA-Lib
// skips it because the true range or the sum of the DIs is zero.
func (a *ADX) dx() (float64, bool) {
	if isZero(a.tr) {
		return 0, false
	}
	minusDI := 100 * (a.minusDM / a.tr)
	plusDI := 100 * (a.plusDM / a.tr)
	sum := minusDI + plusDI
	if isZero(sum) {
		return 0, false
	}
	return 100 * (math.Abs(minusDI-plusDI) / sum), true
}

// Value returns the ADX in [0, 100] and whether 2·period candles have been seen.
func (a *ADX) Value() (float64, bool) { return a.adx, a.seen == 2*a.period }

// Lookback is the number of candles TA-Lib needs before the first value.
func (a *ADX) Lookback() int { return 2*a.period - 1 }

// SAR is Wilder's parabolic stop-and-reverse (TA-Lib SAR). The first direction comes from
// the first two candles' directional movement: short if the low fell more than the high
// rose, long otherwise; the first SAR is the first candle's low (long) or high (short). The
// acceleration factor starts at acceleration, grows by acceleration with each new extreme
// point and is capped at maximum. Lookback: 1.
type SAR struct {
	accel    float64
	maximum  float64
	seen     int // candles seen, counted only until the first value
	long     bool
	af       float64
	ep       float64 // extreme point of the current trend
	sar      float64 // the SAR for the next candle
	prevHigh float64
	prevLow  float64
	value    float64 // the SAR of the latest candle
}

// NewSAR returns a parabolic SAR; 0 < acceleration <= maximum <= 1. The usual parameters are
// 0.02 and 0.2.
func NewSAR(acceleration, maximum float64) (*SAR, error) {
	if !(acceleration > 0 && acceleration <= maximum && maximum <= 1) {
		return nil, fmt.Errorf("%w: SAR acceleration %v and maximum %v; need 0 < acceleration <= maximum <= 1",
			ErrBadParameter, acceleration, maximum)
	}
	s := newSAR(acceleration, maximum)
	return &s, nil
}

func newSAR(acceleration, maximum float64) SAR {
	return SAR{accel: acceleration, maximum: maximum, af: acceleration}
}

// Update adds the newest candle's high and low.
func (s *SAR) Update(high, low float64) {
	switch s.seen {
	case 0:
		s.prevHigh, s.prevLow = high, low
		s.seen++
		return
	case 1:
		up, down := high-s.prevHigh, s.prevLow-low
		s.long = !(down > 0 && up < down) // TA-Lib: short when −DM(1) > 0
		if s.long {
			s.ep, s.sar = high, s.prevLow
		} else {
			s.ep, s.sar = low, s.prevHigh
		}
		// TA-Lib takes the second candle as its own predecessor on this first step.
		s.prevHigh, s.prevLow = high, low
		s.seen++
	}
	prevHigh, prevLow := s.prevHigh, s.prevLow
	s.prevHigh, s.prevLow = high, low

	if s.long {
		if low <= s.sar { // reverse to short
			s.long = false
			s.sar = math.Max(s.ep, math.Max(prevHigh, high))
			s.value = s.sar
			s.af = s.accel
			s.ep = low
			s.sar += s.af * (s.ep - s.sar)
			s.sar = math.Max(s.sar, math.Max(prevHigh, high))
			return
		}
		s.value = s.sar
		if high > s.ep {
			s.ep = high
			s.af = math.Min(s.af+s.accel, s.maximum)
		}
		s.sar += s.af * (s.ep - s.sar)
		s.sar = math.Min(s.sar, math.Min(prevLow, low))
		return
	}
	if high >= s.sar { // reverse to long
		s.long = true
		s.sar = math.Min(s.ep, math.Min(prevLow, low))
		s.value = s.sar
		s.af = s.accel
		s.ep = high
		s.sar += s.af * (s.ep - s.sar)
		s.sar = math.Min(s.sar, math.Min(prevLow, low))
		return
	}
	s.value = s.sar
	if low < s.ep {
		s.ep = low
		s.af = math.Min(s.af+s.accel, s.maximum)
	}
	s.sar += s.af * (s.ep - s.sar)
	s.sar = math.Max(s.sar, math.Max(prevHigh, high))
}

// Value returns the SAR of the latest candle and whether two candles have been seen.
func (s *SAR) Value() (float64, bool) { return s.value, s.seen == 2 }

// Lookback is the number of candles TA-Lib needs before the first value.
func (s *SAR) Lookback() int { return 1 }
