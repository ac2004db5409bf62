package binancetest

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/govalues/decimal"
	"github.com/synapse-trading/synapse/streams"
)

// ReadKlinesCSV reads klines in Binance Vision's 12-column layout (open_time, open, high,
// low, close, volume, close_time, quote_volume, count, taker_buy_volume,
// taker_buy_quote_volume, ignore; times in epoch milliseconds), with or without a header
// row, as in streams/recordings. Errors wrap ErrBadCSV and name the line.
func ReadKlinesCSV(r io.Reader, venue, symbol, interval string) ([]streams.Kline, error) {
	var out []streams.Kline
	sc := bufio.NewScanner(r)
	for line := 1; sc.Scan(); line++ {
		text := strings.TrimSpace(sc.Text())
		if text == "" || (line == 1 && strings.HasPrefix(text, "open_time")) {
			continue
		}
		k, err := parseKlineRow(text, venue, symbol, interval)
		if err != nil {
			return nil, fmt.Errorf("%w: line %d: %v", ErrBadCSV, line, err)
		}
		out = append(out, k)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%w: reading: %v", ErrBadCSV, err)
	}
	return out, nil
}

func parseKlineRow(text, venue, symbol, interval string) (streams.Kline, error) {
	f := strings.Split(text, ",")
	if len(f) != 12 {
		return streams.Kline{}, fmt.Errorf("%d columns, want 12", len(f))
	}
	k := streams.Kline{Venue: venue, Symbol: symbol, Interval: interval}
	ints := []struct {
		col int
		dst *int64
	}{{0, &k.OpenTime}, {6, &k.CloseTime}, {8, &k.Trades}}
	for _, c := range ints {
		n, err := strconv.ParseInt(f[c.col], 10, 64)
		if err != nil {
			return streams.Kline{}, fmt.Errorf("column %d %q is not an integer", c.col+1, f[c.col])
		}
		*c.dst = n
	}
	decs := []struct {
		col int
		dst *decimal.Decimal
	}{{1, &k.Open}, {2, &k.High}, {3, &k.Low}, {4, &k.Close}, {5, &k.Volume}, {7, &k.QuoteVolume}, {9, &k.TakerBuyVolume}, {10, &k.TakerBuyQuoteVolume}}
	for _, c := range decs {
		d, err := decimal.Parse(f[c.col])
		if err != nil {
			return streams.Kline{}, fmt.Errorf("column %d %q is not a decimal", c.col+1, f[c.col])
		}
		*c.dst = d
	}
	return k, nil
}
