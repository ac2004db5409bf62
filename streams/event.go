package streams

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/govalues/decimal"
)

// SchemaVersion is the version of every payload schema in this file. It travels in the
// Synapse-Schema header of each message as "<kind>/v<version>", e.g. "kline/v1".
const SchemaVersion = 1

// Kind names the type of a market-data event; it is the subject's suffix and the schema's name.
type Kind string

// The kinds of market-data events.
const (
	KindTrade    Kind = "trade"
	KindKline    Kind = "kline"
	KindDepth    Kind = "depth"
	KindSnapshot Kind = "snapshot"
	KindTicker   Kind = "ticker"
)

// Event is a market-data fact ready to go on the log. Every event has a deterministic ID, so
// a feed that restarts and sends it again is recognised by the log's deduplication.
type Event interface {
	// Subject is the NATS subject the event is published on (see SUBJECTS.md).
	Subject() string
	// ID is the deterministic event ID, used as the JetStream Nats-Msg-Id.
	ID() string
	// Kind names the payload schema.
	Kind() Kind
	// Key returns the venue and symbol the event belongs to.
	Key() (venue, symbol string)
	// EventTime is the exchange time of the event in epoch milliseconds.
	EventTime() int64
}

// Kline is one candle. Prices and volumes are exact decimals. Only closed candles go on
// the log: a live feed drops Binance's in-progress updates.
type Kline struct {
	Venue               string          `json:"venue"`
	Symbol              string          `json:"symbol"`
	Interval            string          `json:"interval"`
	OpenTime            int64           `json:"open_time"`  // epoch ms
	CloseTime           int64           `json:"close_time"` // epoch ms, open_time + interval - 1
	Open                decimal.Decimal `json:"open"`
	High                decimal.Decimal `json:"high"`
	Low                 decimal.Decimal `json:"low"`
	Close               decimal.Decimal `json:"close"`
	Volume              decimal.Decimal `json:"volume"`       // base asset
	QuoteVolume         decimal.Decimal `json:"quote_volume"` // quote asset
	Trades              int64           `json:"trades"`
	TakerBuyVolume      decimal.Decimal `json:"taker_buy_volume"`
	TakerBuyQuoteVolume decimal.Decimal `json:"taker_buy_quote_volume"`
}

// Trade is one executed trade on the venue.
type Trade struct {
	Venue      string          `json:"venue"`
	Symbol     string          `json:"symbol"`
	TradeID    int64           `json:"trade_id"`
	Price      decimal.Decimal `json:"price"`
	Qty        decimal.Decimal `json:"qty"`
	BuyerMaker bool            `json:"buyer_maker"` // true: the seller was the aggressor
	Time       int64           `json:"time"`        // trade time, epoch ms
	// Aggregate marks an @aggTrade (TradeID is then the aggregate ID): the trades and the
	// aggregate trades of one symbol are two views of the same volume, never to be added.
	Aggregate bool `json:"aggregate,omitempty"`
}

// Level is one price level of an order book. A zero quantity in a depth update removes the level.
type Level struct {
	Price decimal.Decimal `json:"price"`
	Qty   decimal.Decimal `json:"qty"`
}

// Depth is an incremental order-book update (Binance diff depth). Updates apply in order:
// on spot FirstID must be the previous FinalID+1; on futures PrevFinalID must equal the
// previous FinalID.
type Depth struct {
	Venue       string  `json:"venue"`
	Symbol      string  `json:"symbol"`
	FirstID     int64   `json:"first_id"`                // U
	FinalID     int64   `json:"final_id"`                // u
	PrevFinalID int64   `json:"prev_final_id,omitempty"` // pu (futures only)
	Time        int64   `json:"time"`                    // event time, epoch ms
	Bids        []Level `json:"bids"`
	Asks        []Level `json:"asks"`
}

// Snapshot is a full order-book snapshot (Binance REST depth).
type Snapshot struct {
	Venue        string  `json:"venue"`
	Symbol       string  `json:"symbol"`
	LastUpdateID int64   `json:"last_update_id"`
	Time         int64   `json:"time"` // when it was taken, epoch ms
	Bids         []Level `json:"bids"`
	Asks         []Level `json:"asks"`
}

// Ticker is the best bid and ask (Binance bookTicker).
type Ticker struct {
	Venue    string          `json:"venue"`
	Symbol   string          `json:"symbol"`
	UpdateID int64           `json:"update_id"`
	Time     int64           `json:"time"` // event time (or receive time where the venue sends none), epoch ms
	BidPrice decimal.Decimal `json:"bid_price"`
	BidQty   decimal.Decimal `json:"bid_qty"`
	AskPrice decimal.Decimal `json:"ask_price"`
	AskQty   decimal.Decimal `json:"ask_qty"`
}

// Subject returns md.<venue>.<symbol>.kline.<interval>.
func (k *Kline) Subject() string { return mdSubject(k.Venue, k.Symbol, "kline."+k.Interval) }

// ID is <venue>.<symbol>.kline.<interval>.<open_time>.
func (k *Kline) ID() string {
	return mdID(k.Venue, k.Symbol, "kline."+k.Interval, k.OpenTime)
}
func (k *Kline) Kind() Kind                  { return KindKline }
func (k *Kline) Key() (venue, symbol string) { return k.Venue, k.Symbol }

// EventTime of a kline is its close time: the moment it became known.
func (k *Kline) EventTime() int64 { return k.CloseTime }

func (t *Trade) Subject() string { return mdSubject(t.Venue, t.Symbol, "trade") }

// ID keys an aggregate trade apart from a trade: their IDs are separate series that can meet.
func (t *Trade) ID() string {
	if t.Aggregate {
		return mdID(t.Venue, t.Symbol, "aggTrade", t.TradeID)
	}
	return mdID(t.Venue, t.Symbol, "trade", t.TradeID)
}

func (t *Trade) Kind() Kind                  { return KindTrade }
func (t *Trade) Key() (venue, symbol string) { return t.Venue, t.Symbol }
func (t *Trade) EventTime() int64            { return t.Time }

func (d *Depth) Subject() string             { return mdSubject(d.Venue, d.Symbol, "depth") }
func (d *Depth) ID() string                  { return mdID(d.Venue, d.Symbol, "depth", d.FinalID) }
func (d *Depth) Kind() Kind                  { return KindDepth }
func (d *Depth) Key() (venue, symbol string) { return d.Venue, d.Symbol }
func (d *Depth) EventTime() int64            { return d.Time }

func (s *Snapshot) Subject() string { return mdSubject(s.Venue, s.Symbol, "snapshot") }
func (s *Snapshot) ID() string {
	return mdID(s.Venue, s.Symbol, "snapshot", s.LastUpdateID)
}
func (s *Snapshot) Kind() Kind                  { return KindSnapshot }
func (s *Snapshot) Key() (venue, symbol string) { return s.Venue, s.Symbol }
func (s *Snapshot) EventTime() int64            { return s.Time }

func (t *Ticker) Subject() string             { return mdSubject(t.Venue, t.Symbol, "ticker") }
func (t *Ticker) ID() string                  { return mdID(t.Venue, t.Symbol, "ticker", t.UpdateID) }
func (t *Ticker) Kind() Kind                  { return KindTicker }
func (t *Ticker) Key() (venue, symbol string) { return t.Venue, t.Symbol }
func (t *Ticker) EventTime() int64            { return t.Time }

// mdSubject builds md.<venue>.<symbol>.<suffix> with lower-case venue and symbol, as
// documented in SUBJECTS.md.
func mdSubject(venue, symbol, suffix string) string {
	return "md." + strings.ToLower(venue) + "." + strings.ToLower(symbol) + "." + suffix
}

func mdID(venue, symbol, suffix string, n int64) string {
	return strings.ToLower(venue) + "." + strings.ToLower(symbol) + "." + suffix + "." + strconv.FormatInt(n, 10)
}

// WithSymbol returns a copy of a market-data event on another symbol (a replayed file whose
// name did not tell its symbol, or a load test copying real data onto many symbols). Other
// events are returned unchanged.
func WithSymbol(ev Event, symbol string) Event {
	switch e := ev.(type) {
	case *Kline:
		c := *e
		c.Symbol = symbol
		return &c
	case *Trade:
		c := *e
		c.Symbol = symbol
		return &c
	case *Depth:
		c := *e
		c.Symbol = symbol
		return &c
	case *Snapshot:
		c := *e
		c.Symbol = symbol
		return &c
	case *Ticker:
		c := *e
		c.Symbol = symbol
		return &c
	}
	return ev
}

// CheckSymbol reports whether s can name a symbol: 1 to 32 letters, digits, '_' or '-'. A
// symbol is a token of every subject of its events, so a dot, a space or a NATS wildcard in
// it would put its events on the wrong subjects.
func CheckSymbol(s string) error {
	if len(s) == 0 || len(s) > 32 {
		return fmt.Errorf("%w: symbol %q must be 1 to 32 characters", ErrBadEvent, s)
	}
	for _, c := range s {
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return fmt.Errorf("%w: symbol %q may hold only letters, digits, '_' and '-'", ErrBadEvent, s)
		}
	}
	return nil
}
