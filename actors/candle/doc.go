// Package candle builds candles (klines) from market data.
//
// It has two parts:
//
//   - Builder turns trades (*streams.Trade) into closed 1-minute candles. A minute is
//     closed when a trade of a later minute arrives, or when the caller says the time has
//     passed (Builder.Flush). A minute with no trades produces no candle at all: there is
//     nothing to put in it, and inventing a flat candle from the previous close would be a
//     fact the venue never reported. Consumers must accept gaps in the minute sequence.
//
//   - Roller rolls closed 1-minute candles up into a longer interval aligned to UTC
//     boundaries (open_time % period == 0), for example 5m, 15m or 1h; RollUp drives
//     several Rollers from one 1-minute stream. A rolled candle is emitted when its last
//     minute arrives (the 1m opening at 00:04 closes the 00:00 5m candle), when a 1m of a
//     later period arrives (a gap: the partial candle is emitted), or on Roller.Flush once
//     the period is over. Every emitted Candle says how many 1m candles went into it
//     (Candle.Minutes); one with fewer minutes than the period holds is partial
//     (Candle.Complete reports false) and is also counted in RollerStats.Partial. A period
//     with no 1m candle at all produces no candle. The first period is the exception: when
//     the 1m stream begins inside it (a capture started at 23:54, a file from 00:30), its
//     few minutes say nothing of the period's open, high or low, and it is not emitted
//     (RollerStats.Leading).
//
// All prices and volumes are exact decimals (github.com/govalues/decimal). Sums and
// products are computed exactly; if an exact result would not fit in a 19-digit decimal
// the input is rejected with ErrInexact instead of being silently rounded.
//
// Inputs that are out of order, duplicated or malformed are rejected with a sentinel error
// (see errors.go), counted, and never change the state. None of the types is safe for
// concurrent use: each is meant to be owned by one actor.
package candle
