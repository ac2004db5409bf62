package candle

import (
	"fmt"

	"github.com/govalues/decimal"

	"github.com/synapse-trading/synapse/streams"
)

// MinuteMs is one minute in milliseconds, the length of the candles a Builder makes.
const MinuteMs int64 = 60_000

// BuilderStats counts what a Builder did.
type BuilderStats struct {
	Trades     uint64 // trades consumed
	Candles    uint64 // 1m candles closed and returned
	OutOfOrder uint64 // trades rejected with ErrOutOfOrder
	Duplicates uint64 // trades rejected with ErrDuplicate
	Rejected   uint64 // trades rejected for any other reason (bad, wrong symbol, inexact)
}

// Builder builds 1-minute candles from the trades of one venue and symbol.
// See the package documentation for when a minute closes.
type Builder struct {
	venue, symbol string

	cur  streams.Kline // the minute being built, valid when open is true
	open bool

	// closedUpTo is the open time of the last closed minute, or -1 when none was closed.
	// Trades of that minute or earlier are late.
	closedUpTo int64

	lastTradeID int64 // ID of the last consumed trade, valid when hasTrade is true
	hasTrade    bool

	stats BuilderStats
}

// NewBuilder returns a Builder for the trades of venue and symbol.
func NewBuilder(venue, symbol string) *Builder {
	return &Builder{venue: venue, symbol: symbol, closedUpTo: -1}
}

// Add consumes one trade. If the trade belongs to a later minute than the one being built,
// that minute is closed and returned with ok true. A rejected trade (see errors.go) changes
// nothing.
func (b *Builder) Add(t *streams.Trade) (closed streams.Kline, ok bool, err error) {
	if err := b.check(t); err != nil {
		return streams.Kline{}, false, err
	}
	// Work out the trade's contribution before changing anything, so that a failure
	// leaves the builder as it was.
	quote, err := mulExact(t.Price, t.Qty)
	if err != nil {
		b.stats.Rejected++
		return streams.Kline{}, false, fmt.Errorf("candle: trade %d of %s %s: %w", t.TradeID, b.venue, b.symbol, err)
	}
	minute := t.Time - t.Time%MinuteMs

	if b.open && minute == b.cur.OpenTime {
		next, err := addTrade(b.cur, t, quote)
		if err != nil {
			b.stats.Rejected++
			return streams.Kline{}, false, fmt.Errorf("candle: trade %d of %s %s: %w", t.TradeID, b.venue, b.symbol, err)
		}
		b.cur = next
	} else {
		// minute is later than the current one (check rejected earlier minutes).
		if b.open {
			closed, ok = b.close()
		}
		b.start(t, minute, quote)
	}
	b.lastTradeID, b.hasTrade = t.TradeID, true
	b.stats.Trades++
	return closed, ok, nil
}

// Flush closes the minute being built if nowMs is past its end (nowMs >= open time + 1
// minute) and returns it with ok true, so that the last minute before a quiet spell is not
// held back until the next trade (a symbol actor calls it with the venue's time as its depth
// updates tell it). Trades of a flushed minute that arrive later are
// rejected with ErrOutOfOrder.
func (b *Builder) Flush(nowMs int64) (closed streams.Kline, ok bool) {
	if !b.open || nowMs <= b.cur.CloseTime {
		return streams.Kline{}, false
	}
	return b.close()
}

// Current returns the minute being built, with ok false when there is none. It is not
// closed: its values can still change.
func (b *Builder) Current() (k streams.Kline, ok bool) { return b.cur, b.open }

// Stats returns the counters.
func (b *Builder) Stats() BuilderStats { return b.stats }

// check validates a trade against the builder's state and counts a rejection.
func (b *Builder) check(t *streams.Trade) error {
	if t == nil {
		b.stats.Rejected++
		return fmt.Errorf("candle: %w: nil trade", ErrBadTrade)
	}
	if t.Venue != b.venue || t.Symbol != b.symbol {
		b.stats.Rejected++
		return fmt.Errorf("candle: %w: trade %d is for %s %s, this builder is for %s %s",
			ErrWrongSymbol, t.TradeID, t.Venue, t.Symbol, b.venue, b.symbol)
	}
	if !t.Price.IsPos() || !t.Qty.IsPos() || t.Time < 0 {
		b.stats.Rejected++
		return fmt.Errorf("candle: %w: trade %d of %s %s has price %v, qty %v, time %d (want price > 0, qty > 0, time >= 0)",
			ErrBadTrade, t.TradeID, b.venue, b.symbol, t.Price, t.Qty, t.Time)
	}
	if b.hasTrade && t.TradeID == b.lastTradeID {
		b.stats.Duplicates++
		return fmt.Errorf("candle: %w: trade %d of %s %s was already consumed", ErrDuplicate, t.TradeID, b.venue, b.symbol)
	}
	if b.hasTrade && t.TradeID < b.lastTradeID {
		b.stats.OutOfOrder++
		return fmt.Errorf("candle: %w: trade %d of %s %s comes after trade %d", ErrOutOfOrder, t.TradeID, b.venue, b.symbol, b.lastTradeID)
	}
	minute := t.Time - t.Time%MinuteMs
	if (b.open && minute < b.cur.OpenTime) || minute <= b.closedUpTo {
		b.stats.OutOfOrder++
		return fmt.Errorf("candle: %w: trade %d of %s %s at %d belongs to minute %d, which is already past",
			ErrOutOfOrder, t.TradeID, b.venue, b.symbol, t.Time, minute)
	}
	return nil
}

// start begins a new minute with its first trade.
func (b *Builder) start(t *streams.Trade, minute int64, quote decimal.Decimal) {
	b.cur = streams.Kline{
		Venue:       b.venue,
		Symbol:      b.symbol,
		Interval:    "1m",
		OpenTime:    minute,
		CloseTime:   minute + MinuteMs - 1,
		Open:        t.Price,
		High:        t.Price,
		Low:         t.Price,
		Close:       t.Price,
		Volume:      t.Qty,
		QuoteVolume: quote,
		Trades:      1,
	}
	if !t.BuyerMaker { // the buyer was the aggressor (taker)
		b.cur.TakerBuyVolume = t.Qty
		b.cur.TakerBuyQuoteVolume = quote
	}
	b.open = true
}

// close ends the current minute and returns it.
func (b *Builder) close() (streams.Kline, bool) {
	k := b.cur
	b.closedUpTo = k.OpenTime
	b.open = false
	b.cur = streams.Kline{}
	b.stats.Candles++
	return k, true
}

// addTrade returns k with the trade added; k itself is not changed.
func addTrade(k streams.Kline, t *streams.Trade, quote decimal.Decimal) (streams.Kline, error) {
	var err error
	if k.Volume, err = addExact(k.Volume, t.Qty); err != nil {
		return k, err
	}
	if k.QuoteVolume, err = addExact(k.QuoteVolume, quote); err != nil {
		return k, err
	}
	if !t.BuyerMaker {
		if k.TakerBuyVolume, err = addExact(k.TakerBuyVolume, t.Qty); err != nil {
			return k, err
		}
		if k.TakerBuyQuoteVolume, err = addExact(k.TakerBuyQuoteVolume, quote); err != nil {
			return k, err
		}
	}
	if cmp(t.Price, k.High) > 0 {
		k.High = t.Price
	}
	if cmp(t.Price, k.Low) < 0 {
		k.Low = t.Price
	}
	k.Close = t.Price
	k.Trades++
	return k, nil
}
