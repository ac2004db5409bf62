package indicator

import (
	"fmt"

	"github.com/govalues/decimal"

	"github.com/synapse-trading/synapse/streams"
)

// MaxInput is the largest price or volume a candle may carry. Larger numbers are taken to
// be corrupt: they are far beyond any traded market and would overflow the sums of squares.
const MaxInput = 1e15

// Candle is one closed candle in floating point, the input of every indicator. Indicators
// are features for models, not money, so float64 is the right type here.
type Candle struct {
	OpenTime                       int64 // epoch ms
	Open, High, Low, Close, Volume float64
}

// CandleFromKline converts a closed kline into a Candle. It fails with ErrBadCandle when a
// decimal does not fit a float64 or the candle does not pass Validate.
func CandleFromKline(k streams.Kline) (Candle, error) {
	c := Candle{OpenTime: k.OpenTime}
	var err error
	if c.Open, err = toFloat(k, "open", k.Open); err != nil {
		return Candle{}, err
	}
	if c.High, err = toFloat(k, "high", k.High); err != nil {
		return Candle{}, err
	}
	if c.Low, err = toFloat(k, "low", k.Low); err != nil {
		return Candle{}, err
	}
	if c.Close, err = toFloat(k, "close", k.Close); err != nil {
		return Candle{}, err
	}
	if c.Volume, err = toFloat(k, "volume", k.Volume); err != nil {
		return Candle{}, err
	}
	if err := c.Validate(); err != nil {
		return Candle{}, fmt.Errorf("%s %s kline: %w", k.Symbol, k.Interval, err)
	}
	return c, nil
}

func toFloat(k streams.Kline, field string, d decimal.Decimal) (float64, error) {
	f, ok := Float(d)
	if !ok {
		return 0, fmt.Errorf("%w: %s %s kline at open time %d: %s %v does not fit a float64",
			ErrBadCandle, k.Symbol, k.Interval, k.OpenTime, field, d)
	}
	return f, nil
}

// Validate reports, wrapped in ErrBadCandle, the first problem that makes the candle unusable:
// a price that is not a finite number in (0, MaxInput], a volume outside [0, MaxInput], or a
// high and low that do not bracket the open and the close.
func (c Candle) Validate() error {
	prices := [...]struct {
		name  string
		value float64
	}{{"open", c.Open}, {"high", c.High}, {"low", c.Low}, {"close", c.Close}}
	for _, p := range prices {
		if !(p.value > 0 && p.value <= MaxInput) { // also false for NaN
			return fmt.Errorf("%w: candle at open time %d has %s %v; prices must be in (0, %g]",
				ErrBadCandle, c.OpenTime, p.name, p.value, MaxInput)
		}
	}
	if !(c.Volume >= 0 && c.Volume <= MaxInput) {
		return fmt.Errorf("%w: candle at open time %d has volume %v; volume must be in [0, %g]",
			ErrBadCandle, c.OpenTime, c.Volume, MaxInput)
	}
	if c.Low > c.High || c.Open < c.Low || c.Open > c.High || c.Close < c.Low || c.Close > c.High {
		return fmt.Errorf("%w: candle at open time %d has open %v, high %v, low %v, close %v; "+
			"the high and low must bracket the open and close (check the column order)",
			ErrBadCandle, c.OpenTime, c.Open, c.High, c.Low, c.Close)
	}
	return nil
}

// pow10 holds the powers of ten that a float64 represents exactly.
var pow10 = [...]float64{1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
	1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22}

// Float converts a decimal to the nearest float64, as strconv.ParseFloat of its text would,
// but without formatting it: when the coefficient has at most 53 bits and the scale at most
// 22, coefficient and power of ten are both exact floats, and IEEE division rounds their
// quotient correctly. Other decimals take the slow, exact path.
func Float(d decimal.Decimal) (float64, bool) {
	coef, scale := d.Coef(), d.Scale()
	if coef < 1<<53 && scale < len(pow10) {
		f := float64(coef) / pow10[scale]
		if d.IsNeg() {
			f = -f
		}
		return f, true
	}
	return d.Float64()
}
