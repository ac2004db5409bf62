// Package orderbook keeps a local L2 order book per symbol from a REST snapshot
// (*streams.Snapshot) and the diff-depth stream (*streams.Depth), following Binance's
// documented rules for managing a local order book, and keeps the venue's top of book
// (*streams.Ticker, from bookTicker) alongside.
//
// # Sequencing
//
// A Book is in one of three states (see State): waiting for its first snapshot, synced, or
// needing a resync after a gap. Depth updates that arrive while it is not synced are
// buffered (at most Options.BufferCap of them; when full the oldest is dropped and counted)
// and replayed when a snapshot arrives. After the snapshot, with L its lastUpdateId:
//
//   - spot (venue "binance" and any venue other than "binance-um"): updates with u <= L are
//     dropped; the first applied update must have U <= L+1 <= u; each next one must have
//     U == previous u + 1;
//   - USDⓈ-M futures (venue "binance-um", updates carry pu): updates with u < L are dropped;
//     the first applied update must have U <= L <= u; each next one must have
//     pu == previous u.
//
// Once an update has been applied, a later update whose u is not above the book's update
// ID is a stale duplicate and is dropped on both venues. Any other break in the sequence is
// a gap: Apply returns an error wrapping ErrGap, the gap is counted, and the book moves to
// NeedsResync. It then applies nothing (updates are buffered) until a new snapshot arrives,
// which restarts the process above with the buffered updates. A snapshot older than a
// synced book is ignored and counted.
//
// # Levels
//
// Prices are normalised (trailing zeros trimmed) before they are used as keys, so "1.10" and
// "1.1" are the same level; a quantity of 0 removes a level. Each side is a slice sorted so
// that the best price is last: most updates touch the top of the book, and inserting or
// removing a level there moves only the few levels above it. Lookups are binary searches.
//
// A book whose best bid is at or above its best ask is crossed. That never happens on a
// correctly synced Binance book, so Apply returns an error wrapping ErrCrossed for the update
// (or snapshot) that crossed it, counts it, and Crossed reports it; the book stays synced.
//
// A Book is not safe for concurrent use: it is meant to be owned by one actor.
package orderbook
