package indicator

import "fmt"

// MACD is the moving average convergence/divergence (TA-Lib MACD): the MACD line is the fast
// EMA minus the slow EMA, the signal line an EMA of the MACD line, and the histogram their
// difference. As in TA-Lib, the fast EMA starts on the candle that makes it ready together
// with the slow one (it is seeded with the SMA of the fastPeriod inputs ending there), and
// the signal EMA is seeded with the SMA of the first signalPeriod MACD values.
// Lookback: slowPeriod−1 + signalPeriod−1.
type MACD struct {
	skip   int // inputs the fast EMA still has to skip to start with the slow one
	fast   EMA
	slow   EMA
	signal EMA
	line   float64
	sig    float64
	ready  bool
}

// NewMACD returns a MACD; 2 <= fastPeriod < slowPeriod <= 100000 and
// 2 <= signalPeriod <= 100000. The usual parameters are 12, 26, 9.
func NewMACD(fastPeriod, slowPeriod, signalPeriod int) (*MACD, error) {
	for _, p := range []struct {
		name   string
		period int
	}{{"MACD fast", fastPeriod}, {"MACD slow", slowPeriod}, {"MACD signal", signalPeriod}} {
		if err := checkPeriod(p.name, p.period, 2); err != nil {
			return nil, err
		}
	}
	if fastPeriod >= slowPeriod {
		return nil, fmt.Errorf("%w: MACD fast period %d is not below slow period %d; swap them",
			ErrBadParameter, fastPeriod, slowPeriod)
	}
	m := newMACD(fastPeriod, slowPeriod, signalPeriod)
	return &m, nil
}

func newMACD(fastPeriod, slowPeriod, signalPeriod int) MACD {
	return MACD{
		skip:   slowPeriod - fastPeriod,
		fast:   newEMA(fastPeriod),
		slow:   newEMA(slowPeriod),
		signal: newEMA(signalPeriod),
	}
}

// Update adds the newest price.
func (m *MACD) Update(x float64) {
	m.slow.Update(x)
	if m.skip > 0 {
		m.skip--
		return
	}
	m.fast.Update(x)
	slow, ok := m.slow.Value()
	if !ok {
		return // the fast EMA becomes ready on the same input as the slow one
	}
	fast, _ := m.fast.Value()
	line := fast - slow
	m.signal.Update(line)
	if sig, ok := m.signal.Value(); ok {
		m.line, m.sig, m.ready = line, sig, true
	}
}

// Value returns the MACD line, the signal line, the histogram (line − signal) and whether
// they have warmed up.
func (m *MACD) Value() (line, signal, hist float64, ok bool) {
	return m.line, m.sig, m.line - m.sig, m.ready
}

// Lookback is the number of inputs TA-Lib needs before the first value.
func (m *MACD) Lookback() int { return m.slow.Lookback() + m.signal.Lookback() }
