package indicator

// SMA is the simple moving average of the last Period inputs (TA-Lib SMA). Lookback: period−1.
type SMA struct {
	win moments
}

// NewSMA returns an SMA over period inputs, 1 <= period <= 100000.
func NewSMA(period int) (*SMA, error) {
	if err := checkPeriod("SMA", period, 1); err != nil {
		return nil, err
	}
	m := newSMA(period)
	return &m, nil
}

func newSMA(period int) SMA { return SMA{win: newMoments(period)} }

// Update adds the newest input.
func (m *SMA) Update(x float64) { m.win.push(x) }

// Value returns the average and whether period inputs have been seen.
func (m *SMA) Value() (float64, bool) {
	if !m.win.full() {
		return 0, false
	}
	return m.win.mean(), true
}

// Lookback is the number of inputs TA-Lib needs before the first value.
func (m *SMA) Lookback() int { return len(m.win.win.buf) - 1 }

// EMA is the exponential moving average with k = 2/(period+1), seeded with the SMA of the
// first period inputs (TA-Lib EMA). Lookback: period−1.
type EMA struct {
	period int
	k      float64
	seen   int     // inputs seen, counted only until the seed is complete
	sum    float64 // Σ of the first period inputs
	value  float64
}

// NewEMA returns an EMA over period inputs, 2 <= period <= 100000.
func NewEMA(period int) (*EMA, error) {
	if err := checkPeriod("EMA", period, 2); err != nil {
		return nil, err
	}
	e := newEMA(period)
	return &e, nil
}

func newEMA(period int) EMA { return EMA{period: period, k: 2 / float64(period+1)} }

// Update adds the newest input.
func (e *EMA) Update(x float64) {
	if e.seen == e.period {
		e.value = (x-e.value)*e.k + e.value // TA-Lib's form of k·x + (1−k)·prev
		return
	}
	e.sum += x
	e.seen++
	if e.seen == e.period {
		e.value = e.sum / float64(e.period)
	}
}

// Value returns the average and whether period inputs have been seen.
func (e *EMA) Value() (float64, bool) { return e.value, e.seen == e.period }

// Lookback is the number of inputs TA-Lib needs before the first value.
func (e *EMA) Lookback() int { return e.period - 1 }

// Momentum is the difference between the newest input and the one period inputs before it
// (TA-Lib MOM). Lookback: period.
type Momentum struct {
	win   ring
	value float64
	ready bool
}

// NewMomentum returns a Momentum over period inputs, 1 <= period <= 100000.
func NewMomentum(period int) (*Momentum, error) {
	if err := checkPeriod("momentum", period, 1); err != nil {
		return nil, err
	}
	m := newMomentum(period)
	return &m, nil
}

func newMomentum(period int) Momentum { return Momentum{win: newRing(period)} }

// Update adds the newest input.
func (m *Momentum) Update(x float64) {
	if m.win.full() {
		m.value, m.ready = x-m.win.oldest(), true
	}
	m.win.push(x)
}

// Value returns the momentum and whether period+1 inputs have been seen.
func (m *Momentum) Value() (float64, bool) { return m.value, m.ready }

// Lookback is the number of inputs TA-Lib needs before the first value.
func (m *Momentum) Lookback() int { return len(m.win.buf) }
