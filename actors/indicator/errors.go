package indicator

import "errors"

var (
	// ErrBadParameter means an indicator was asked for with a period or other parameter out
	// of its range (for example an SMA period below 1); pass a value in the documented range.
	ErrBadParameter = errors.New("bad indicator parameter")
	// ErrBadCandle means a candle cannot be used: a price or volume is not a finite number,
	// is out of range, or the high/low do not bracket the open and close. The indicators are
	// left untouched; fix or drop the candle.
	ErrBadCandle = errors.New("bad candle")
	// ErrOutOfOrder means a candle's open time is not after the previous candle's: candles
	// must be fed once each, oldest first. The indicators are left untouched.
	ErrOutOfOrder = errors.New("candle out of order")
)
