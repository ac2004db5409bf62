package orderbook

import "errors"

// Sentinel errors. Returned errors wrap one of these with %w and add the details; check them
// with errors.Is.
var (
	// ErrGap means a depth update does not follow the previous one (or the first one after a
	// snapshot does not straddle it). The book needs a new snapshot: it buffers updates and
	// applies nothing until one arrives. Fetch a REST snapshot and Apply it.
	ErrGap = errors.New("gap in the depth stream")

	// ErrCrossed means the book's (or the ticker's) best bid is at or above its best ask.
	// The data is inconsistent; it is counted and reported but still applied.
	ErrCrossed = errors.New("crossed book")

	// ErrBadSnapshot means a snapshot is malformed (nil, a non-positive price, a negative
	// quantity, a price listed twice). It is not applied; fix the producer.
	ErrBadSnapshot = errors.New("bad snapshot")

	// ErrBadUpdate means a depth update is malformed (nil, U > u, a futures update without
	// pu, a non-positive price, a negative quantity). It is not applied or buffered; if it
	// was part of the sequence the next update reports a gap.
	ErrBadUpdate = errors.New("bad depth update")

	// ErrBadTicker means a ticker is malformed (nil, a non-positive price, a negative
	// quantity). It is not kept.
	ErrBadTicker = errors.New("bad ticker")

	// ErrWrongSymbol means the event belongs to another venue or symbol than the book. Route
	// each symbol to its own Book (Books does this).
	ErrWrongSymbol = errors.New("wrong venue or symbol")

	// ErrUnsupported means the event is not one a book uses (only snapshots, depth updates
	// and tickers are). Do not send trades or klines to a book.
	ErrUnsupported = errors.New("unsupported event")
)
