package indicator

import "fmt"

// ring holds the last len(buf) values of a series. Its storage is allocated once, when the
// indicator is made, so pushing never allocates.
type ring struct {
	buf   []float64
	next  int // slot the next value goes into: once full, the slot of the oldest value
	count int // values held, at most len(buf)
}

func newRing(n int) ring { return ring{buf: make([]float64, n)} }

// push stores x and returns the value it pushed out of the window (0 while still filling).
func (r *ring) push(x float64) (evicted float64) {
	evicted = r.buf[r.next]
	r.buf[r.next] = x
	r.next++
	if r.next == len(r.buf) {
		r.next = 0
	}
	if r.count < len(r.buf) {
		r.count++
	}
	return evicted
}

// full reports whether the ring holds len(buf) values.
func (r *ring) full() bool { return r.count == len(r.buf) }

// wrapped reports whether the last push filled the last slot: the ring has just become full,
// or has gone round once more. Rolling sums are recomputed from scratch at that moment.
func (r *ring) wrapped() bool { return r.next == 0 }

// oldest returns the oldest value held; only meaningful once full.
func (r *ring) oldest() float64 { return r.buf[r.next] }

// at returns the value pushed age pushes ago: at(0) is the newest.
func (r *ring) at(age int) float64 {
	i := r.next - 1 - age
	if i < 0 {
		i += len(r.buf)
	}
	return r.buf[i]
}

// moments keeps Σd and Σd² over a window of the last n values, where d = x − shift and shift
// is the newest value at the last recomputation. Summing differences from a nearby value
// keeps the variance free of cancellation (prices of 20,000 moving by cents), and
// recomputing the sums every time the window wraps keeps rounding error from building up.
// The error a running Σd² carries is relative to the largest it has been, not to what it
// is: when the window calms (a flat spell after a move) the sums are recomputed early, so
// that a flat window's variance is exactly 0 and a quiet one's keeps its digits.
type moments struct {
	win    ring
	shift  float64
	sum    float64 // Σ (x − shift)
	sumSq  float64 // Σ (x − shift)²
	peakSq float64 // the largest sumSq since the last recomputation
}

// calmed is the share of its peak below which a running sum of squares is recomputed.
const calmed = 1e-2

func newMoments(n int) moments { return moments{win: newRing(n)} }

func (m *moments) push(x float64) {
	old := m.win.push(x)
	if m.win.wrapped() {
		m.recompute()
		return
	}
	if !m.win.full() {
		return // still filling: the sums are computed when the window first wraps
	}
	dNew, dOld := x-m.shift, old-m.shift
	m.sum += dNew - dOld
	m.sumSq += dNew*dNew - dOld*dOld
	m.peakSq = max(m.peakSq, m.sumSq)
	if m.sumSq < m.peakSq*calmed {
		m.recompute()
	}
}

// recompute sums the window afresh around its newest value. O(n), once every n pushes.
func (m *moments) recompute() {
	m.shift = m.win.at(0)
	m.sum, m.sumSq = 0, 0
	for _, x := range m.win.buf {
		d := x - m.shift
		m.sum += d
		m.sumSq += d * d
	}
	m.peakSq = m.sumSq
}

func (m *moments) full() bool { return m.win.full() }

func (m *moments) mean() float64 { return m.shift + m.sum/float64(len(m.win.buf)) }

// variance is the population variance E[x²] − E[x]², as TA-Lib's VAR computes it.
func (m *moments) variance() float64 {
	n := float64(len(m.win.buf))
	mean := m.sum / n
	meanSq := m.sumSq / n
	return noiseFree(meanSq-mean*mean, meanSq)
}

// roundingNoise is the share of a sum of squares below which a variance taken from it is
// rounding error, not spread: float64 sums carry about 1e-16 of their size, so 1e-12 leaves a
// margin of 10,000 and still sees a spread of a millionth of the values' distance from the
// shift.
const roundingNoise = 1e-12

// noiseFree is variance v, computed from a mean square of meanSq, or 0 where rounding alone
// could have made it. TA-Lib instead zeroes any variance below 1e-14, which erases the real
// spread of prices below about 1e-5 (SHIB's, PEPE's): their variances are about 1e-16.
func noiseFree(v, meanSq float64) float64 {
	if v <= meanSq*roundingNoise {
		return 0
	}
	return v
}

// extreme tracks the largest (or smallest) of the last n values in O(1) amortised time with a
// monotonic queue: it keeps only the values that can still become the extreme, oldest first,
// so the extreme is always at the front. Storage is a fixed ring of n slots.
type extreme struct {
	isMax  bool      // true: track the maximum; false: the minimum
	vals   []float64 // candidate values, a ring of n slots
	seqs   []int     // push number of each candidate
	head   int       // slot of the oldest candidate
	size   int       // candidates held
	pushed int       // values pushed so far
}

func newExtreme(n int, isMax bool) extreme {
	return extreme{isMax: isMax, vals: make([]float64, n), seqs: make([]int, n)}
}

func (e *extreme) push(x float64) {
	n := len(e.vals)
	// The oldest candidate leaves when it falls out of the window.
	if e.size > 0 && e.seqs[e.head] <= e.pushed-n {
		e.head = e.wrap(e.head + 1)
		e.size--
	}
	// Candidates that x equals or beats can never be the extreme again.
	for e.size > 0 {
		back := e.vals[e.wrap(e.head+e.size-1)]
		if (e.isMax && x < back) || (!e.isMax && x > back) {
			break
		}
		e.size--
	}
	slot := e.wrap(e.head + e.size)
	e.vals[slot], e.seqs[slot] = x, e.pushed
	e.size++
	e.pushed++
}

func (e *extreme) wrap(i int) int {
	if i >= len(e.vals) {
		i -= len(e.vals)
	}
	return i
}

// full reports whether n values have been pushed, so the window is complete.
func (e *extreme) full() bool { return e.pushed >= len(e.vals) }

// value returns the extreme of the window.
func (e *extreme) value() float64 { return e.vals[e.head] }

// checkPeriod returns ErrBadParameter unless lowest <= period <= maxPeriod.
func checkPeriod(indicator string, period, lowest int) error {
	if period < lowest || period > maxPeriod {
		return fmt.Errorf("%w: %s period %d; use %d to %d", ErrBadParameter, indicator, period, lowest, maxPeriod)
	}
	return nil
}

// maxPeriod is TA-Lib's upper bound on every period.
const maxPeriod = 100000

// tiny is TA-Lib's threshold below which a divisor counts as zero (TA_IS_ZERO).
const tiny = 1e-14

func isZero(x float64) bool { return -tiny < x && x < tiny }
