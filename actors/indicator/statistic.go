package indicator

import "math"

// LinRegSlope is the slope of the least-squares line through the last period inputs, per
// input (TA-Lib LINEARREG_SLOPE). Lookback: period−1.
//
// It keeps Σd and Σ age·d, with d = x − shift and age 0 for the newest input, and slides
// them in O(1): when a new input arrives every other input ages by one, so Σ age·d grows by
// Σd and loses period·d of the input that leaves. The sums are recomputed from the window
// each time it wraps (see moments). The slope does not depend on the shift.
type LinRegSlope struct {
	win     ring
	shift   float64
	sumY    float64 // Σ d
	sumXY   float64 // Σ age·d
	sumX    float64 // Σ age = n(n−1)/2
	divisor float64 // (Σ age)² − n·Σ age²
}

// NewLinRegSlope returns a LinRegSlope over period inputs, 2 <= period <= 100000.
func NewLinRegSlope(period int) (*LinRegSlope, error) {
	if err := checkPeriod("linear regression slope", period, 2); err != nil {
		return nil, err
	}
	l := newLinRegSlope(period)
	return &l, nil
}

func newLinRegSlope(period int) LinRegSlope {
	n := float64(period)
	sumX := n * (n - 1) / 2
	sumXSq := n * (n - 1) * (2*n - 1) / 6
	return LinRegSlope{win: newRing(period), sumX: sumX, divisor: sumX*sumX - n*sumXSq}
}

// Update adds the newest input.
func (l *LinRegSlope) Update(x float64) {
	old := l.win.push(x)
	if l.win.wrapped() {
		l.recompute()
		return
	}
	if !l.win.full() {
		return
	}
	dNew, dOld := x-l.shift, old-l.shift
	l.sumXY += l.sumY - float64(len(l.win.buf))*dOld
	l.sumY += dNew - dOld
}

func (l *LinRegSlope) recompute() {
	l.shift = l.win.at(0)
	l.sumY, l.sumXY = 0, 0
	for age := range l.win.buf {
		d := l.win.at(age) - l.shift
		l.sumY += d
		l.sumXY += float64(age) * d
	}
}

// Value returns the slope and whether period inputs have been seen.
func (l *LinRegSlope) Value() (float64, bool) {
	if !l.win.full() {
		return 0, false
	}
	n := float64(len(l.win.buf))
	return (n*l.sumXY - l.sumX*l.sumY) / l.divisor, true
}

// Lookback is the number of inputs TA-Lib needs before the first value.
func (l *LinRegSlope) Lookback() int { return len(l.win.buf) - 1 }

// Correlation is Pearson's correlation coefficient of two series over the last period pairs
// (TA-Lib CORREL), for example two symbols' closes of the same minutes. It reads 0 when
// either series' variance is within rounding noise of 0 (TA-Lib: when the product of the
// variances is below 1e-14, which also zeroes pairs of prices below about 1e-4). Lookback:
// period−1.
//
// Like moments, it sums differences from a recent value of each series and recomputes the
// sums each time the window wraps; the coefficient does not depend on the shifts.
type Correlation struct {
	xs, ys         ring
	shiftX, shiftY float64
	sumX, sumY     float64 // Σ dx, Σ dy
	sumXX, sumYY   float64 // Σ dx², Σ dy²
	sumXY          float64 // Σ dx·dy
	peakXX, peakYY float64 // the largest Σ dx², Σ dy² since the last recomputation (see moments)
}

// NewCorrelation returns a Correlation over period pairs, 2 <= period <= 100000.
func NewCorrelation(period int) (*Correlation, error) {
	if err := checkPeriod("correlation", period, 2); err != nil {
		return nil, err
	}
	return &Correlation{xs: newRing(period), ys: newRing(period)}, nil
}

// Update adds the newest pair; x and y must belong to the same time.
func (c *Correlation) Update(x, y float64) {
	oldX, oldY := c.xs.push(x), c.ys.push(y)
	if c.xs.wrapped() {
		c.recompute()
		return
	}
	if !c.xs.full() {
		return
	}
	dx, dy := x-c.shiftX, y-c.shiftY
	ox, oy := oldX-c.shiftX, oldY-c.shiftY
	c.sumX += dx - ox
	c.sumY += dy - oy
	c.sumXX += dx*dx - ox*ox
	c.sumYY += dy*dy - oy*oy
	c.sumXY += dx*dy - ox*oy
	c.peakXX, c.peakYY = max(c.peakXX, c.sumXX), max(c.peakYY, c.sumYY)
	if c.sumXX < c.peakXX*calmed || c.sumYY < c.peakYY*calmed {
		c.recompute()
	}
}

func (c *Correlation) recompute() {
	c.shiftX, c.shiftY = c.xs.at(0), c.ys.at(0)
	c.sumX, c.sumY, c.sumXX, c.sumYY, c.sumXY = 0, 0, 0, 0, 0
	for i := range c.xs.buf {
		dx, dy := c.xs.buf[i]-c.shiftX, c.ys.buf[i]-c.shiftY
		c.sumX += dx
		c.sumY += dy
		c.sumXX += dx * dx
		c.sumYY += dy * dy
		c.sumXY += dx * dy
	}
	c.peakXX, c.peakYY = c.sumXX, c.sumYY
}

// Value returns the correlation in [−1, 1] and whether period pairs have been seen.
func (c *Correlation) Value() (float64, bool) {
	if !c.xs.full() {
		return 0, false
	}
	n := float64(len(c.xs.buf))
	vx := noiseFree(c.sumXX-c.sumX*c.sumX/n, c.sumXX)
	vy := noiseFree(c.sumYY-c.sumY*c.sumY/n, c.sumYY)
	if vx == 0 || vy == 0 {
		return 0, true
	}
	return (c.sumXY - c.sumX*c.sumY/n) / math.Sqrt(vx*vy), true
}

// Lookback is the number of pairs TA-Lib needs before the first value.
func (c *Correlation) Lookback() int { return len(c.xs.buf) - 1 }
