package replay

import (
	"errors"
	"fmt"
)

// Sentinel errors. Every error this package returns wraps one of them, so callers check
// with errors.Is.
var (
	// ErrBadRow: a kline CSV row could not be decoded or failed validation.
	ErrBadRow = errors.New("bad kline row")
	// ErrBadFrame: a websocket capture line or frame could not be decoded.
	ErrBadFrame = errors.New("bad websocket frame")
	// ErrNoSymbol: the symbol of a file or of a bare depth snapshot is unknown: the file name
	// does not start with one and none was given.
	ErrNoSymbol = errors.New("symbol unknown")
	// ErrTruncated: the input ended in the middle of a gzip stream or a line could not be
	// read to its end.
	ErrTruncated = errors.New("input truncated or unreadable")
	// ErrLineTooLong: a line is longer than MaxLineBytes.
	ErrLineTooLong = errors.New("line too long")
	// ErrUnknownFormat: a file is neither a kline CSV nor a websocket capture.
	ErrUnknownFormat = errors.New("unknown recording format")
	// ErrNoFiles: Open was given no files.
	ErrNoFiles = errors.New("no recording files given")
	// ErrNotMarketTrade: a futures trade that is not an order-book trade ("X" is
	// INSURANCE_FUND, ADL or NA). Binance's own klines leave them out, and so does a replay:
	// they are counted (FileStats.NonMarket), not treated as malformed.
	ErrNotMarketTrade = errors.New("not a market trade")
	// ErrOpenKline: a kline frame of a candle still open ("x": false). Only the closed
	// candle's frame is replayed, as the live feed publishes only closed klines; the others
	// are counted (FileStats.OpenKlines), not treated as malformed.
	ErrOpenKline = errors.New("kline not closed yet")
	// ErrOtherStream: a well-formed frame of a Binance stream a replay does not read (mark
	// price, liquidations, 24h tickers, ...) or the server's reply to a subscription request
	// ({"result":..,"id":..}). They are counted (FileStats.OtherStreams), not treated as
	// malformed: a capture of a combined stream holds them beside the market data.
	ErrOtherStream = errors.New("not a stream a replay reads")
	// ErrBadSpeed: a replay speed is not "max" or a positive number.
	ErrBadSpeed = errors.New("bad replay speed")
)

// LineError is an error in one line of one file. Its message reads "file:line: problem".
type LineError struct {
	File string // the file name as given to the reader
	Line int    // 1-based line number
	Err  error  // wraps one of the sentinel errors
}

func (e *LineError) Error() string { return fmt.Sprintf("%s:%d: %v", e.File, e.Line, e.Err) }

// Unwrap returns the underlying error, so errors.Is sees the sentinel.
func (e *LineError) Unwrap() error { return e.Err }
