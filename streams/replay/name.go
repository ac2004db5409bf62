package replay

import (
	"path"
	"strings"

	"github.com/synapse-trading/synapse/streams"
)

// The venues this package produces.
const (
	VenueSpot    = "binance"    // Binance spot
	VenueFutures = "binance-um" // Binance USDⓈ-M futures
)

// nameHints is what a recording's file name says about its content.
type nameHints struct {
	Symbol   string // e.g. "BTCUSDT"; "" when the name does not start with one
	Interval string // e.g. "1m"; "" when the name carries none
	Venue    string // VenueFutures or VenueSpot when the name says so, else ""
}

// hintsFromName reads symbol, interval and venue hints from names such as
// "BTCUSDT-1m-2022-09-05.csv.gz", "BTCUSDT-wsfeed-2024-08-08.txt.gz" or
// "BTCUSDT-futures-wsfeed-2024-08-08-head20000.txt.gz".
func hintsFromName(name string) nameHints {
	base := path.Base(strings.ReplaceAll(name, `\`, "/"))
	stem, _, _ := strings.Cut(base, ".") // drop .csv.gz, .txt, ...
	parts := strings.Split(stem, "-")
	var h nameHints
	if len(parts) > 1 && isInterval(parts[1]) {
		h.Interval = parts[1]
	}
	// A name is taken for a symbol when it is written as Binance Vision writes them
	// (SYMBOL-1m-...) or ends with a quote asset: PRICES.csv does not name one.
	if _, _, quoted := streams.SplitSymbol(parts[0]); isSymbol(parts[0]) && (quoted || h.Interval != "") {
		h.Symbol = parts[0]
	}
	lower := strings.ToLower(base)
	switch {
	case strings.Contains(lower, "futures"), strings.Contains(lower, "usdm"),
		strings.Contains(lower, "-um-"), strings.Contains(lower, "fapi"):
		h.Venue = VenueFutures
	case strings.Contains(lower, "spot"):
		h.Venue = VenueSpot
	}
	return h
}

// isSymbol reports whether s looks like a Binance symbol: 5 to 20 upper-case letters and
// digits, starting with a letter or digit ("BTCUSDT", "1000PEPEUSDT").
func isSymbol(s string) bool {
	if len(s) < 5 || len(s) > 20 {
		return false
	}
	letters := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'A' && c <= 'Z':
			letters++
		case c >= '0' && c <= '9':
		default:
			return false
		}
	}
	return letters >= 4
}

// isInterval reports whether s is a Binance kline interval: digits then s, m, h, d, w or
// mo ("1s", "1m", "15m", "4h", "1d", "1w", "1mo").
func isInterval(s string) bool {
	i := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	if i == 0 || i > 3 {
		return false
	}
	switch s[i:] {
	case "s", "m", "h", "d", "w", "mo", "M":
		return true
	}
	return false
}
