package candle

import "errors"

// Sentinel errors. Returned errors wrap one of these with %w and add the details; check them
// with errors.Is.
var (
	// ErrOutOfOrder means a trade or a 1m candle is older than what was already consumed (an
	// older minute than the current one, a minute already closed by Flush, or a trade ID
	// lower than the last one). It is dropped; feed inputs in exchange order.
	ErrOutOfOrder = errors.New("out of order")

	// ErrDuplicate means the same trade ID or the same 1m open time was already consumed.
	// It is dropped; the log's deduplication should normally stop it earlier.
	ErrDuplicate = errors.New("duplicate")

	// ErrWrongSymbol means the input belongs to another venue or symbol than the one the
	// builder was made for. Route each symbol to its own Builder or Roller.
	ErrWrongSymbol = errors.New("wrong venue or symbol")

	// ErrBadTrade means a trade is malformed (nil, non-positive price or quantity, negative
	// time). Fix the decoder or feed that produced it.
	ErrBadTrade = errors.New("bad trade")

	// ErrBadKline means a 1m candle is malformed (nil, not "1m", open time not on a minute,
	// wrong close time, low above open/close or high below them, negative volume). Fix the
	// producer of the candle.
	ErrBadKline = errors.New("bad kline")

	// ErrBadInterval means an interval string is not one the roll-up supports. Use one of
	// 3m, 5m, 15m, 30m, 1h, 2h, 4h, 6h, 8h, 12h, 1d.
	ErrBadInterval = errors.New("bad interval")

	// ErrInexact means an exact sum or product does not fit in a 19-digit decimal. The
	// input is rejected rather than rounded; the candle is too large for this type.
	ErrInexact = errors.New("result does not fit exactly in a decimal")
)
