package streams

import (
	"strconv"
	"strings"

	"github.com/govalues/decimal"
)

// KindFeature names the feature payload schema.
const KindFeature Kind = "feature"

// Feature is the set of indicator values of one closed candle of one symbol and interval,
// published on feat.<venue>.<symbol>.<interval> for the model tier. Values holds only the
// indicators that have warmed up, keyed by the column names of the features contract
// (sma_20, ema_20, rsi_14, ...). Features are floats: they feed models, never the ledger.
type Feature struct {
	Venue    string             `json:"venue"`
	Symbol   string             `json:"symbol"`
	Interval string             `json:"interval"`
	OpenTime int64              `json:"open_time"` // epoch ms of the candle
	Close    decimal.Decimal    `json:"close"`
	Volume   decimal.Decimal    `json:"volume"`
	Values   map[string]float64 `json:"values"`
}

// Subject returns feat.<venue>.<symbol>.<interval>.
func (f *Feature) Subject() string {
	return "feat." + strings.ToLower(f.Venue) + "." + strings.ToLower(f.Symbol) + "." + f.Interval
}

// ID is <venue>.<symbol>.feature.<interval>.<open_time>.
func (f *Feature) ID() string {
	return strings.ToLower(f.Venue) + "." + strings.ToLower(f.Symbol) + ".feature." + f.Interval + "." + strconv.FormatInt(f.OpenTime, 10)
}
func (f *Feature) Kind() Kind                  { return KindFeature }
func (f *Feature) Key() (venue, symbol string) { return f.Venue, f.Symbol }
func (f *Feature) EventTime() int64            { return f.OpenTime }
