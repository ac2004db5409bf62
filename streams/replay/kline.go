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
// Times in epoch microseconds (Binance Vision spot from 2025 on) or seconds (other tools)
// are converted to ms. A close time within a second of a whole interval after the open
// (pandas' "00:00:59", or the next candle's open time as some tools write it) is read as
// Binance's: open time + interval − 1 ms.
// The row is validated: 12 columns, numbers that parse exactly, positive prices,
// low <= open, close <= high, non-negative volumes and count, close_time > open_time.
// Any failure returns an error wrapping ErrBadRow that names the column.
func DecodeKlineRow(line string, k *streams.Kline) (isoTimes bool, err error) {
	form, err := decodeKlineRow(line, k)
	return form == timesISO, err
}

// timeForm is how a row writes its times.
type timeForm int

const (
	timesMillis timeForm = iota
	timesMicros          // Binance Vision spot from 2025 on
	timesNanos
	timesSeconds
	timesISO // the pandas/REST layout
)

func decodeKlineRow(line string, k *streams.Kline) (timeForm, error) {
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
		return 0, fmt.Errorf("%w: %d columns, want %d", ErrBadRow, n, klineColumns)
	}

	openTime, form, err := parseKlineTime(cols[0])
	if err != nil {
		return 0, columnError(0, cols[0], err)
	}
	closeTime, closeForm, err := parseKlineTime(cols[6])
	if err != nil {
		return 0, columnError(6, cols[6], err)
	}
	if (form == timesISO) != (closeForm == timesISO) {
		return 0, fmt.Errorf("%w: open_time and close_time are written in different formats", ErrBadRow)
	}
	if closeTime <= openTime {
		return 0, fmt.Errorf("%w: close_time %d is not after open_time %d", ErrBadRow, closeTime, openTime)
	}
	closeTime = snapCloseTime(openTime, closeTime)

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
			return 0, columnError(d.col, cols[d.col], decimalProblem(cols[d.col]))
		}
		*d.dst = v
	}
	trades, err := strconv.ParseInt(cols[8], 10, 64)
	if err != nil {
		return 0, columnError(8, cols[8], fmt.Errorf("not an integer"))
	}
	k.OpenTime, k.CloseTime, k.Trades = openTime, closeTime, trades

	if err := validateKline(k); err != nil {
		return 0, err
	}
	return form, nil
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

// Epoch magnitudes used to tell milliseconds from seconds, micro- and nanoseconds. An
// epoch-seconds time stays below 1e11 until the year 5138, and an epoch-ms time has been
// above it since 1973; an epoch-ms time reaches 1e14 only in 5138, and an epoch-µs time
// has been above it since 2001.
const (
	minEpochMillis = 100_000_000_000         // 1e11
	minEpochMicros = 100_000_000_000_000     // 1e14
	minEpochNanos  = 100_000_000_000_000_000 // 1e17
)

// parseKlineTime parses an epoch time (s, ms, µs or ns, told apart by magnitude) or an
// ISO-8601 UTC time ("2025-08-01 00:00:59.999000+00:00") and returns epoch milliseconds.
func parseKlineTime(s string) (ms int64, form timeForm, err error) {
	if s == "" {
		return 0, timesMillis, fmt.Errorf("empty time")
	}
	if strings.ContainsAny(s, "-:") && len(s) >= len("2006-01-02") {
		t, err := parseISOTime(s)
		if err != nil {
			return 0, timesISO, err
		}
		if t.UnixMilli() <= 0 {
			return 0, timesISO, fmt.Errorf("time is not after 1970")
		}
		return t.UnixMilli(), timesISO, nil
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, timesMillis, fmt.Errorf("not an epoch time or ISO-8601 date")
	}
	switch {
	case v <= 0:
		return 0, timesMillis, fmt.Errorf("time is not positive")
	case v >= minEpochNanos:
		return v / 1_000_000, timesNanos, nil
	case v >= minEpochMicros:
		return v / 1_000, timesMicros, nil
	case v < minEpochMillis:
		return v * 1_000, timesSeconds, nil
	}
	return v, timesMillis, nil
}

// decimalProblem says why a column did not parse as a decimal: a number with more
// significant digits than a decimal holds (19) is not the same mistake as text.
func decimalProblem(s string) error {
	if _, err := strconv.ParseFloat(s, 64); err == nil {
		return fmt.Errorf("a number with more digits than a decimal holds (at most 19 significant digits)")
	}
	return fmt.Errorf("not a decimal number")
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

// binanceIntervals are Binance's kline intervals of a fixed length, in ms (1M, a calendar
// month, has none).
var binanceIntervals = [...]struct {
	name string
	ms   int64
}{
	{"1s", 1000}, {"1m", 60_000}, {"3m", 180_000}, {"5m", 300_000}, {"15m", 900_000}, {"30m", 1_800_000},
	{"1h", 3_600_000}, {"2h", 7_200_000}, {"4h", 14_400_000}, {"6h", 21_600_000}, {"8h", 28_800_000},
	{"12h", 43_200_000}, {"1d", 86_400_000}, {"3d", 259_200_000}, {"1w", 604_800_000},
}

// snapCloseTime returns Binance's close time (open time + interval − 1 ms) for a close
// time within a second of it, as other tools write it: to the whole second ("00:00:59")
// or as the next candle's open time. Any other close time is returned as it is.
func snapCloseTime(openTime, closeTime int64) int64 {
	span := closeTime - openTime + 1
	for _, iv := range binanceIntervals {
		if span >= iv.ms-999 && span <= iv.ms+1 {
			return openTime + iv.ms - 1
		}
	}
	return closeTime
}

// binanceInterval names the Binance interval a candle spans, or "" when its span is not
// one (a calendar month, or a span no Binance interval has).
func binanceInterval(openTime, closeTime int64) string {
	span := closeTime - openTime + 1
	for _, iv := range binanceIntervals {
		if span == iv.ms {
			return iv.name
		}
	}
	return ""
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
