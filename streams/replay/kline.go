package replay

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/govalues/decimal"
	"github.com/synapse-trading/synapse/streams"
)

// klineColumns is the number of columns of every Binance kline layout.
const klineColumns = 12

// klineColumnNames names the columns by position, for error messages. Files name some of
// them differently (trade_count, taker_buy_base, ...): columns are mapped by position.
var klineColumnNames = [klineColumns]string{
	"open_time", "open", "high", "low", "close", "volume",
	"close_time", "quote_volume", "count", "taker_buy_volume", "taker_buy_quote_volume", "ignore",
}

// IsKlineHeader reports whether line is a kline CSV header row rather than data: its first
// column is neither a number nor a date.
func IsKlineHeader(line string) bool {
	first, _, _ := strings.Cut(line, ",")
	first = strings.TrimSpace(first)
	if first == "" {
		return false
	}
	c := first[0]
	return !(c >= '0' && c <= '9') && c != '-' && c != '+'
}

// DecodeKlineRow decodes one data row of a Binance kline CSV into k: times, prices,
// volumes and trade count. It leaves k's Venue, Symbol and Interval alone: they come from
// the file, not the row. isoTimes reports whether the row's times were ISO-8601 strings
// (the pandas/REST layout) rather than epoch numbers.
//
// Times in epoch microseconds (Binance Vision spot from 2025 on) are converted to ms.
// The row is validated: 12 columns, numbers that parse exactly, positive prices,
// low <= open, close <= high, non-negative volumes and count, close_time > open_time.
// Any failure returns an error wrapping ErrBadRow that names the column.
func DecodeKlineRow(line string, k *streams.Kline) (isoTimes bool, err error) {
	line = strings.TrimRight(line, "\r\n")
	var cols [klineColumns]string
	n := 0
	for rest := line; ; n++ {
		col, tail, more := strings.Cut(rest, ",")
		if n < klineColumns {
			cols[n] = strings.TrimSpace(col)
		}
		if !more {
			n++
			break
		}
		rest = tail
	}
	if n != klineColumns {
		return false, fmt.Errorf("%w: %d columns, want %d", ErrBadRow, n, klineColumns)
	}

	openTime, isoOpen, err := parseKlineTime(cols[0])
	if err != nil {
		return false, columnError(0, cols[0], err)
	}
	closeTime, isoClose, err := parseKlineTime(cols[6])
	if err != nil {
		return false, columnError(6, cols[6], err)
	}
	if isoOpen != isoClose {
		return false, fmt.Errorf("%w: open_time and close_time are written in different formats", ErrBadRow)
	}
	if closeTime <= openTime {
		return false, fmt.Errorf("%w: close_time %d is not after open_time %d", ErrBadRow, closeTime, openTime)
	}

	// The eight decimal columns, by position.
	decimals := [...]struct {
		col int
		dst *decimal.Decimal
	}{
		{1, &k.Open}, {2, &k.High}, {3, &k.Low}, {4, &k.Close}, {5, &k.Volume},
		{7, &k.QuoteVolume}, {9, &k.TakerBuyVolume}, {10, &k.TakerBuyQuoteVolume},
	}
	for _, d := range decimals {
		v, err := decimal.Parse(cols[d.col])
		if err != nil {
			return false, columnError(d.col, cols[d.col], fmt.Errorf("not a decimal number"))
		}
		*d.dst = v
	}
	trades, err := strconv.ParseInt(cols[8], 10, 64)
	if err != nil {
		return false, columnError(8, cols[8], fmt.Errorf("not an integer"))
	}
	k.OpenTime, k.CloseTime, k.Trades = openTime, closeTime, trades

	if err := validateKline(k); err != nil {
		return false, err
	}
	return isoOpen, nil
}

// validateKline checks the candle's internal consistency.
func validateKline(k *streams.Kline) error {
	for _, p := range [...]struct {
		name string
		v    decimal.Decimal
	}{{"open", k.Open}, {"high", k.High}, {"low", k.Low}, {"close", k.Close}} {
		if !p.v.IsPos() {
			return fmt.Errorf("%w: %s price %s is not positive", ErrBadRow, p.name, p.v)
		}
	}
	if k.Low.Cmp(k.Open) > 0 || k.Low.Cmp(k.Close) > 0 {
		return fmt.Errorf("%w: low %s is above open %s or close %s", ErrBadRow, k.Low, k.Open, k.Close)
	}
	if k.High.Cmp(k.Open) < 0 || k.High.Cmp(k.Close) < 0 {
		return fmt.Errorf("%w: high %s is below open %s or close %s", ErrBadRow, k.High, k.Open, k.Close)
	}
	for _, v := range [...]struct {
		name string
		v    decimal.Decimal
	}{{"volume", k.Volume}, {"quote_volume", k.QuoteVolume}, {"taker_buy_volume", k.TakerBuyVolume}, {"taker_buy_quote_volume", k.TakerBuyQuoteVolume}} {
		if v.v.IsNeg() {
			return fmt.Errorf("%w: %s %s is negative", ErrBadRow, v.name, v.v)
		}
	}
	if k.Trades < 0 {
		return fmt.Errorf("%w: count %d is negative", ErrBadRow, k.Trades)
	}
	return nil
}

func columnError(col int, value string, err error) error {
	const maxShown = 40
	if len(value) > maxShown {
		value = value[:maxShown] + "..."
	}
	return fmt.Errorf("%w: column %d (%s) %q: %v", ErrBadRow, col+1, klineColumnNames[col], value, err)
}

// Epoch magnitudes used to tell milliseconds from micro- and nanoseconds. An epoch-ms time
// reaches 1e14 only in the year 5138; an epoch-µs time has been above 1e15 since 2001.
const (
	minEpochMicros = 100_000_000_000_000     // 1e14
	minEpochNanos  = 100_000_000_000_000_000 // 1e17
)

// parseKlineTime parses an epoch time (ms, µs or ns, told apart by magnitude) or an
// ISO-8601 UTC time ("2025-08-01 00:00:59.999000+00:00") and returns epoch milliseconds.
func parseKlineTime(s string) (ms int64, iso bool, err error) {
	if s == "" {
		return 0, false, fmt.Errorf("empty time")
	}
	if strings.ContainsAny(s, "-:") && len(s) >= len("2006-01-02") {
		t, err := parseISOTime(s)
		if err != nil {
			return 0, true, err
		}
		if t.UnixMilli() <= 0 {
			return 0, true, fmt.Errorf("time is not after 1970")
		}
		return t.UnixMilli(), true, nil
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, false, fmt.Errorf("not an epoch time or ISO-8601 date")
	}
	switch {
	case v <= 0:
		return 0, false, fmt.Errorf("time is not positive")
	case v >= minEpochNanos:
		v /= 1_000_000
	case v >= minEpochMicros:
		v /= 1_000
	}
	return v, false, nil
}

// isoLayouts are the ISO-8601 forms accepted. When parsing, Go accepts a fractional second
// after the seconds even where the layout has none.
var isoLayouts = [...]string{
	"2006-01-02 15:04:05Z07:00",
	"2006-01-02T15:04:05Z07:00",
	"2006-01-02 15:04:05",
	"2006-01-02T15:04:05",
}

func parseISOTime(s string) (time.Time, error) {
	for _, layout := range isoLayouts {
		if t, err := time.Parse(layout, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("not an ISO-8601 time like 2025-08-01 00:00:00+00:00")
}

// intervalFromSpan names the interval of a candle from close_time - open_time + 1 ms, for
// files whose name does not say it. It returns "" for spans it does not recognise.
func intervalFromSpan(openTime, closeTime int64) string {
	span := closeTime - openTime + 1
	const (
		second = int64(1000)
		minute = 60 * second
		hour   = 60 * minute
		day    = 24 * hour
	)
	switch {
	case span == second:
		return "1s"
	case span%day == 0 && span/day == 7:
		return "1w"
	case span%day == 0:
		return strconv.FormatInt(span/day, 10) + "d"
	case span%hour == 0:
		return strconv.FormatInt(span/hour, 10) + "h"
	case span%minute == 0:
		return strconv.FormatInt(span/minute, 10) + "m"
	}
	return ""
}
