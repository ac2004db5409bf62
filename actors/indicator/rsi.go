package indicator

// RSI is Wilder's relative strength index (TA-Lib RSI): the first average gain and loss are
// the plain averages of the first period price changes, later ones are Wilder-smoothed,
// avg = (avg·(period−1) + change)/period. Lookback: period.
type RSI struct {
	period int
	seen   int // inputs seen, counted only until the first value
	prev   float64
	gain   float64 // average gain (a plain sum while seeding)
	loss   float64 // average loss, positive (a plain sum while seeding)
	value  float64
}

// NewRSI returns an RSI over period price changes, 2 <= period <= 100000.
func NewRSI(period int) (*RSI, error) {
	if err := checkPeriod("RSI", period, 2); err != nil {
		return nil, err
	}
	r := newRSI(period)
	return &r, nil
}

func newRSI(period int) RSI { return RSI{period: period} }

// Update adds the newest price.
func (r *RSI) Update(x float64) {
	change := x - r.prev
	r.prev = x
	p := float64(r.period)
	switch {
	case r.seen == 0: // the first price has no change
		r.seen++
		return
	case r.seen <= r.period: // seeding: sum the first period changes
		if change < 0 {
			r.loss -= change
		} else {
			r.gain += change
		}
		r.seen++
		if r.seen <= r.period {
			return
		}
		r.gain /= p
		r.loss /= p
	default:
		r.loss *= p - 1
		r.gain *= p - 1
		if change < 0 {
			r.loss -= change
		} else {
			r.gain += change
		}
		r.loss /= p
		r.gain /= p
	}
	r.value = 0
	if total := r.gain + r.loss; !isZero(total) {
		r.value = 100 * (r.gain / total)
	}
}

// Value returns the RSI in [0, 100] and whether period+1 prices have been seen.
func (r *RSI) Value() (float64, bool) { return r.value, r.seen > r.period }

// Lookback is the number of inputs TA-Lib needs before the first value.
func (r *RSI) Lookback() int { return r.period }
