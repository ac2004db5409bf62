package binance

import (
	"encoding/json"
	"fmt"
	"strings"

	gobinance "github.com/adshao/go-binance/v2"
	"github.com/adshao/go-binance/v2/futures"
	"github.com/govalues/decimal"
	"github.com/synapse-trading/synapse/streams"
)

// This file is the only place where Binance's wire types (go-binance's structs, and the
// two layouts go-binance's structs cannot decode) meet the engine's types. Nothing from
// go-binance leaves it.

// wsEnvelope is a combined-stream message: {"stream":"btcusdt@trade","data":{...}}.
type wsEnvelope struct {
	Stream string          `json:"stream"`
	Data   json.RawMessage `json:"data"`
}

// wsDepth is a diff-depth payload. go-binance's WsDepthEvent cannot be filled by
// encoding/json (its levels are structs; Binance sends ["price","qty"] arrays), so this
// layout is ours. PrevFinalID ("pu") is sent on futures only.
type wsDepth struct {
	Event       string      `json:"e"`
	Time        int64       `json:"E"`
	TradeTime   int64       `json:"T"`
	Symbol      string      `json:"s"`
	FirstID     int64       `json:"U"`
	FinalID     int64       `json:"u"`
	PrevFinalID int64       `json:"pu"`
	Bids        [][2]string `json:"b"`
	Asks        [][2]string `json:"a"`
}

// decodeFrame turns one websocket message of a combined stream into an event of venue.
// It returns the stream name (for logs; "" when the message has none) and a nil event for
// a message with nothing to publish (an in-progress kline, a non-market futures trade). received, in epoch ms, stamps
// spot bookTicker events, which carry no time. Errors wrap ErrMalformedFrame.
func decodeFrame(venue string, msg []byte, received int64) (string, streams.Event, error) {
	var env wsEnvelope
	if err := json.Unmarshal(msg, &env); err != nil {
		return "", nil, fmt.Errorf("%w: %v", ErrMalformedFrame, err)
	}
	if env.Stream == "" || len(env.Data) == 0 {
		return env.Stream, nil, fmt.Errorf("%w: no \"stream\" or no \"data\"", ErrMalformedFrame)
	}
	prefix, kind, _ := strings.Cut(env.Stream, "@")
	fallback := strings.ToUpper(prefix) // the symbol, when the payload does not name it

	var (
		ev  streams.Event
		err error
	)
	switch {
	case strings.HasPrefix(kind, "kline_"):
		var w gobinance.WsKlineEvent
		if err = json.Unmarshal(env.Data, &w); err == nil {
			ev, err = klineFromWs(venue, fallback, &w)
		}
	case kind == "trade":
		var w gobinance.WsTradeEvent
		if err = json.Unmarshal(env.Data, &w); err == nil && isMarketTrade(env.Data) {
			ev, err = tradeFromWs(venue, fallback, &w)
		}
	case kind == "aggTrade":
		var w gobinance.WsAggTradeEvent
		if err = json.Unmarshal(env.Data, &w); err == nil {
			ev, err = aggTradeFromWs(venue, fallback, &w)
		}
	case kind == "depth" || strings.HasPrefix(kind, "depth@"):
		var w wsDepth
		if err = json.Unmarshal(env.Data, &w); err == nil {
			ev, err = depthFromWs(venue, fallback, &w)
		}
	case kind == "bookTicker" && venue == VenueFutures:
		var w futures.WsBookTickerEvent
		if err = json.Unmarshal(env.Data, &w); err == nil {
			ev, err = tickerFromFutures(venue, fallback, &w)
		}
	case kind == "bookTicker":
		var w gobinance.WsBookTickerEvent
		if err = json.Unmarshal(env.Data, &w); err == nil {
			ev, err = tickerFromSpot(venue, fallback, &w, received)
		}
	default:
		return env.Stream, nil, fmt.Errorf("%w: unknown stream %q", ErrMalformedFrame, env.Stream)
	}
	if err != nil {
		return env.Stream, nil, fmt.Errorf("%w: %v", ErrMalformedFrame, err)
	}
	if ev != nil {
		if _, sym := ev.Key(); streams.CheckSymbol(sym) != nil {
			return env.Stream, nil, fmt.Errorf("%w: symbol %q cannot name a subject", ErrMalformedFrame, sym)
		}
	}
	return env.Stream, ev, nil
}

// klineFromWs converts a kline update; it returns a nil event for an in-progress kline.
func klineFromWs(venue, fallback string, w *gobinance.WsKlineEvent) (streams.Event, error) {
	k := &w.Kline
	if !k.IsFinal {
		return nil, nil
	}
	out := &streams.Kline{
		Venue:     venue,
		Symbol:    symbolOr(w.Symbol, fallback),
		Interval:  k.Interval,
		OpenTime:  k.StartTime,
		CloseTime: k.EndTime,
		Trades:    k.TradeNum,
	}
	err := parseAll(
		field{"o", k.Open, &out.Open}, field{"h", k.High, &out.High}, field{"l", k.Low, &out.Low},
		field{"c", k.Close, &out.Close}, field{"v", k.Volume, &out.Volume},
		field{"q", k.QuoteVolume, &out.QuoteVolume}, field{"V", k.ActiveBuyVolume, &out.TakerBuyVolume},
		field{"Q", k.ActiveBuyQuoteVolume, &out.TakerBuyQuoteVolume},
	)
	if err != nil {
		return nil, fmt.Errorf("kline: %w", err)
	}
	return out, checkKline(out)
}

// isMarketTrade is false for a futures trade that is not an order-book trade ("X" is
// INSURANCE_FUND, ADL or NA): Binance's klines leave those out, and so does the feed (a nil
// event: nothing to publish). Spot trades carry no "X".
func isMarketTrade(data []byte) bool {
	var x struct {
		X string `json:"X"`
	}
	_ = json.Unmarshal(data, &x)
	return x.X == "" || x.X == "MARKET"
}

func tradeFromWs(venue, fallback string, w *gobinance.WsTradeEvent) (streams.Event, error) {
	out := &streams.Trade{
		Venue:      venue,
		Symbol:     symbolOr(w.Symbol, fallback),
		TradeID:    w.TradeID,
		BuyerMaker: w.IsBuyerMaker,
		Time:       w.TradeTime,
	}
	if err := parseAll(field{"p", w.Price, &out.Price}, field{"q", w.Quantity, &out.Qty}); err != nil {
		return nil, fmt.Errorf("trade: %w", err)
	}
	return out, checkTrade(out)
}

// aggTradeFromWs converts an aggregate trade; its TradeID is the aggregate trade ID ("a").
func aggTradeFromWs(venue, fallback string, w *gobinance.WsAggTradeEvent) (streams.Event, error) {
	out := &streams.Trade{
		Venue:      venue,
		Symbol:     symbolOr(w.Symbol, fallback),
		TradeID:    w.AggTradeID,
		BuyerMaker: w.IsBuyerMaker,
		Time:       w.TradeTime,
		Aggregate:  true,
	}
	if err := parseAll(field{"p", w.Price, &out.Price}, field{"q", w.Quantity, &out.Qty}); err != nil {
		return nil, fmt.Errorf("aggTrade: %w", err)
	}
	return out, checkTrade(out)
}

func depthFromWs(venue, fallback string, w *wsDepth) (streams.Event, error) {
	out := &streams.Depth{
		Venue:       venue,
		Symbol:      symbolOr(w.Symbol, fallback),
		FirstID:     w.FirstID,
		FinalID:     w.FinalID,
		PrevFinalID: w.PrevFinalID,
		Time:        w.Time,
	}
	var err error
	if out.Bids, err = levelsFromArrays("b", w.Bids); err != nil {
		return nil, fmt.Errorf("depth: %w", err)
	}
	if out.Asks, err = levelsFromArrays("a", w.Asks); err != nil {
		return nil, fmt.Errorf("depth: %w", err)
	}
	if out.Symbol == "" {
		return nil, fmt.Errorf("depth with no symbol")
	}
	if out.FirstID <= 0 || out.FinalID < out.FirstID {
		return nil, fmt.Errorf("depth: update IDs U=%d u=%d: need 0 < U <= u", out.FirstID, out.FinalID)
	}
	return out, nil
}

func tickerFromSpot(venue, fallback string, w *gobinance.WsBookTickerEvent, received int64) (streams.Event, error) {
	return ticker(venue, symbolOr(w.Symbol, fallback), w.UpdateID, received,
		w.BestBidPrice, w.BestBidQty, w.BestAskPrice, w.BestAskQty)
}

func tickerFromFutures(venue, fallback string, w *futures.WsBookTickerEvent) (streams.Event, error) {
	return ticker(venue, symbolOr(w.Symbol, fallback), w.UpdateID, w.Time,
		w.BestBidPrice, w.BestBidQty, w.BestAskPrice, w.BestAskQty)
}

func ticker(venue, symbol string, updateID, time int64, bid, bidQty, ask, askQty string) (streams.Event, error) {
	out := &streams.Ticker{Venue: venue, Symbol: symbol, UpdateID: updateID, Time: time}
	err := parseAll(field{"b", bid, &out.BidPrice}, field{"B", bidQty, &out.BidQty},
		field{"a", ask, &out.AskPrice}, field{"A", askQty, &out.AskQty})
	if err != nil {
		return nil, fmt.Errorf("bookTicker: %w", err)
	}
	if symbol == "" || updateID <= 0 {
		return nil, fmt.Errorf("bookTicker %q update ID u=%d: need a symbol and a positive ID", symbol, updateID)
	}
	return out, nil
}

// klineFromSpotREST converts one row of GET /api/v3/klines.
func klineFromSpotREST(venue, symbol, interval string, k *gobinance.Kline) (*streams.Kline, error) {
	return klineFromREST(venue, symbol, interval, k.OpenTime, k.CloseTime, k.TradeNum,
		k.Open, k.High, k.Low, k.Close, k.Volume, k.QuoteAssetVolume, k.TakerBuyBaseAssetVolume, k.TakerBuyQuoteAssetVolume)
}

// klineFromFuturesREST converts one row of GET /fapi/v1/klines.
func klineFromFuturesREST(venue, symbol, interval string, k *futures.Kline) (*streams.Kline, error) {
	return klineFromREST(venue, symbol, interval, k.OpenTime, k.CloseTime, k.TradeNum,
		k.Open, k.High, k.Low, k.Close, k.Volume, k.QuoteAssetVolume, k.TakerBuyBaseAssetVolume, k.TakerBuyQuoteAssetVolume)
}

func klineFromREST(venue, symbol, interval string, openTime, closeTime, trades int64,
	open, high, low, closePrice, volume, quoteVolume, takerVolume, takerQuoteVolume string) (*streams.Kline, error) {
	out := &streams.Kline{
		Venue: venue, Symbol: symbol, Interval: interval,
		OpenTime: openTime, CloseTime: closeTime, Trades: trades,
	}
	err := parseAll(
		field{"open", open, &out.Open}, field{"high", high, &out.High}, field{"low", low, &out.Low},
		field{"close", closePrice, &out.Close}, field{"volume", volume, &out.Volume},
		field{"quote volume", quoteVolume, &out.QuoteVolume}, field{"taker buy volume", takerVolume, &out.TakerBuyVolume},
		field{"taker buy quote volume", takerQuoteVolume, &out.TakerBuyQuoteVolume},
	)
	if err == nil {
		err = checkKline(out)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: kline %s %d: %v", ErrMalformedREST, symbol, openTime, err)
	}
	return out, nil
}

// snapshotFromSpotREST converts GET /api/v3/depth; spot snapshots carry no time, so the
// time they were received stamps them.
func snapshotFromSpotREST(venue, symbol string, d *gobinance.DepthResponse, received int64) (*streams.Snapshot, error) {
	return snapshotFromREST(venue, symbol, d.LastUpdateID, received, d.Bids, d.Asks)
}

// snapshotFromFuturesREST converts GET /fapi/v1/depth, stamped with its event time "E".
func snapshotFromFuturesREST(venue, symbol string, d *futures.DepthResponse) (*streams.Snapshot, error) {
	return snapshotFromREST(venue, symbol, d.LastUpdateID, d.Time, d.Bids, d.Asks)
}

// snapshotFromREST takes go-binance's levels (spot Bid/Ask and futures Bid/Ask are all
// common.PriceLevel).
func snapshotFromREST(venue, symbol string, lastUpdateID, time int64, bids, asks []gobinance.Bid) (*streams.Snapshot, error) {
	out := &streams.Snapshot{Venue: venue, Symbol: symbol, LastUpdateID: lastUpdateID, Time: time}
	var err error
	if out.Bids, err = levelsFromPriceLevels("bids", bids); err == nil {
		out.Asks, err = levelsFromPriceLevels("asks", asks)
	}
	if err == nil && lastUpdateID <= 0 {
		err = fmt.Errorf("lastUpdateId %d: need a positive ID", lastUpdateID)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: depth %s: %v", ErrMalformedREST, symbol, err)
	}
	return out, nil
}

func levelsFromArrays(side string, in [][2]string) ([]streams.Level, error) {
	out := make([]streams.Level, len(in))
	for i, l := range in {
		if err := parseAll(field{side + " price", l[0], &out[i].Price}, field{side + " qty", l[1], &out[i].Qty}); err != nil {
			return nil, fmt.Errorf("level %d: %w", i, err)
		}
	}
	return out, nil
}

func levelsFromPriceLevels(side string, in []gobinance.Bid) ([]streams.Level, error) {
	out := make([]streams.Level, len(in))
	for i, l := range in {
		if err := parseAll(field{side + " price", l.Price, &out[i].Price}, field{side + " qty", l.Quantity, &out[i].Qty}); err != nil {
			return nil, fmt.Errorf("level %d: %w", i, err)
		}
	}
	return out, nil
}

// field is one decimal to parse: its name in Binance's JSON, its text and where it goes.
type field struct {
	name string
	text string
	dst  *decimal.Decimal
}

// parseAll parses each field exactly; a price or quantity must not be negative.
func parseAll(fields ...field) error {
	for _, f := range fields {
		d, err := decimal.Parse(f.text)
		if err != nil {
			return fmt.Errorf("%q %q: %v", f.name, f.text, err)
		}
		if d.IsNeg() {
			return fmt.Errorf("%q %q: negative", f.name, f.text)
		}
		*f.dst = d
	}
	return nil
}

func checkKline(k *streams.Kline) error {
	switch {
	case k.Symbol == "":
		return fmt.Errorf("kline with no symbol")
	case k.Interval == "":
		return fmt.Errorf("kline %s with no interval", k.Symbol)
	case k.OpenTime <= 0 || k.CloseTime < k.OpenTime:
		return fmt.Errorf("kline %s times t=%d T=%d: need 0 < t <= T", k.Symbol, k.OpenTime, k.CloseTime)
	}
	return nil
}

func checkTrade(t *streams.Trade) error {
	if t.Symbol == "" || t.TradeID < 0 || t.Time <= 0 {
		return fmt.Errorf("trade %q id %d time %d: need a symbol, an ID >= 0 and a time > 0", t.Symbol, t.TradeID, t.Time)
	}
	return nil
}

func symbolOr(symbol, fallback string) string {
	if symbol != "" {
		return symbol
	}
	return fallback
}
