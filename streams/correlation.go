package streams

import (
	"strconv"
	"strings"
)

// KindCorrelation names the correlation payload schema.
const KindCorrelation Kind = "correlation"

// Correlation is the rolling Pearson correlation of two symbols' closes over Period candles
// of Interval (TA-Lib's CORREL), published on corr.<venue_a>.<symbol_a>.<venue_b>.<symbol_b>.<interval>
// each time both symbols have closed the candle that opens at OpenTime.
type Correlation struct {
	VenueA   string  `json:"venue_a"`
	SymbolA  string  `json:"symbol_a"`
	VenueB   string  `json:"venue_b"`
	SymbolB  string  `json:"symbol_b"`
	Interval string  `json:"interval"`
	Period   int     `json:"period"`
	OpenTime int64   `json:"open_time"` // epoch ms of the candle
	Value    float64 `json:"value"`     // in [-1, 1]
}

// Subject returns corr.<venue_a>.<symbol_a>.<venue_b>.<symbol_b>.<interval>.
func (c *Correlation) Subject() string {
	return "corr." + strings.ToLower(c.VenueA) + "." + strings.ToLower(c.SymbolA) + "." +
		strings.ToLower(c.VenueB) + "." + strings.ToLower(c.SymbolB) + "." + c.Interval
}

// ID is the subject's tokens after corr., then the open time.
func (c *Correlation) ID() string {
	return strings.TrimPrefix(c.Subject(), "corr.") + "." + strconv.FormatInt(c.OpenTime, 10)
}
func (c *Correlation) Kind() Kind { return KindCorrelation }

// Key is the first symbol of the pair.
func (c *Correlation) Key() (venue, symbol string) { return c.VenueA, c.SymbolA }
func (c *Correlation) EventTime() int64            { return c.OpenTime }
