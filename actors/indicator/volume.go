package indicator

// OBV is on-balance volume (TA-Lib OBV): it starts at the first candle's volume, then adds
// the volume of every candle that closes higher than the one before and subtracts the volume
// of every candle that closes lower. Lookback: 0.
//
// OBV is a running total, not a rolling window: a float64 sum of 40,000 volumes is off by
// about 1e-12 of its size, so it is kept as a plain sum, as TA-Lib does.
type OBV struct {
	started   bool
	prevClose float64
	obv       float64
}

// NewOBV returns an OBV.
func NewOBV() *OBV { return &OBV{} }

// Update adds the newest candle's close and volume.
func (o *OBV) Update(close, volume float64) {
	switch {
	case !o.started:
		o.obv, o.started = volume, true
	case close > o.prevClose:
		o.obv += volume
	case close < o.prevClose:
		o.obv -= volume
	}
	o.prevClose = close
}

// Value returns the OBV and whether a candle has been seen.
func (o *OBV) Value() (float64, bool) { return o.obv, o.started }

// Lookback is the number of candles TA-Lib needs before the first value.
func (o *OBV) Lookback() int { return 0 }
