package streams

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/govalues/decimal"
)

// KindFeature names the feature payload schema.
const KindFeature Kind = "feature"

// FeatureColumns names the indicator values of a feature, in order: the columns of
// `synapse features` after open_time and close, and the keys of a feature's "values".
var FeatureColumns = [NumFeatures]string{
	"sma_20", "ema_20", "rsi_14",
	"macd_12_26_9", "macd_signal_12_26_9", "macd_hist_12_26_9",
	"bb_upper_20_2", "bb_middle_20_2", "bb_lower_20_2",
	"atr_14", "adx_14", "cci_20", "obv",
	"stoch_k_14_3_3", "stoch_d_14_3_3",
	"sar_002_02", "mom_10", "stddev_20", "linreg_slope_20",
}

// NumFeatures is the number of indicator values in a feature.
const NumFeatures = 19

// FeatureValues holds one value per FeatureColumns entry; NaN means the indicator is still
// warming up. In JSON it is an object keyed by column name that omits warming-up columns.
type FeatureValues [NumFeatures]float64

// Feature is the set of indicator values of one closed candle of one symbol and interval,
// published on feat.<venue>.<symbol>.<interval> for the model tier. Features are floats: they
// feed models, never the ledger.
type Feature struct {
	Venue    string          `json:"venue"`
	Symbol   string          `json:"symbol"`
	Interval string          `json:"interval"`
	OpenTime int64           `json:"open_time"` // epoch ms of the candle
	Close    decimal.Decimal `json:"close"`
	Volume   decimal.Decimal `json:"volume"`
	Values   FeatureValues   `json:"values"`
	// Emitted is when the symbol actor emitted it, on this process's clock: where a signal's
	// latency starts. Not on the log (zero in a decoded event).
	Emitted time.Time `json:"-"`
}

// Get returns the value of the named column, and false while it warms up or if there is
// no such column.
func (v *FeatureValues) Get(name string) (float64, bool) {
	for i, c := range FeatureColumns {
		if c == name {
			return v[i], !math.IsNaN(v[i])
		}
	}
	return 0, false
}

// MarshalJSON writes {"sma_20":..., ...} with the warmed-up columns only.
func (v FeatureValues) MarshalJSON() ([]byte, error) {
	b := make([]byte, 0, 40*NumFeatures)
	b = append(b, '{')
	first := true
	for i, x := range v {
		if math.IsNaN(x) {
			continue
		}
		if math.IsInf(x, 0) {
			return nil, fmt.Errorf("feature %s is infinite", FeatureColumns[i])
		}
		if !first {
			b = append(b, ',')
		}
		first = false
		b = append(b, '"')
		b = append(b, FeatureColumns[i]...)
		b = append(b, '"', ':')
		b = strconv.AppendFloat(b, x, 'g', -1, 64)
	}
	return append(b, '}'), nil
}

// UnmarshalJSON reads the object form; absent columns read NaN, unknown keys are ignored
// (a newer producer may add columns).
func (v *FeatureValues) UnmarshalJSON(data []byte) error {
	for i := range v {
		v[i] = math.NaN()
	}
	if bytes.Equal(bytes.TrimSpace(data), []byte("null")) {
		return nil
	}
	var m map[string]float64
	if err := json.Unmarshal(data, &m); err != nil {
		return err
	}
	for i, c := range FeatureColumns {
		if x, ok := m[c]; ok {
			v[i] = x
		}
	}
	return nil
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
