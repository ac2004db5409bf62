package streams

import (
	"encoding/json"
	"strconv"
	"unicode/utf8"

	"github.com/govalues/decimal"
)

// appendJSON appends ev's JSON to b, byte for byte what encoding/json writes, without
// reflection: ingest encodes every market-data event once, and encoding/json was a quarter of
// its cost. TestAppendJSONEqualsEncodingJSON holds the two equal on every bundled recording.
// It reports false for a type it does not know (the caller then uses encoding/json).
func appendJSON(b []byte, ev Event) ([]byte, bool) {
	switch e := ev.(type) {
	case *Kline:
		b = appendStr(b, `{"venue":`, e.Venue)
		b = appendStr(b, `,"symbol":`, e.Symbol)
		b = appendStr(b, `,"interval":`, e.Interval)
		b = appendInt(b, `,"open_time":`, e.OpenTime)
		b = appendInt(b, `,"close_time":`, e.CloseTime)
		b = appendDec(b, `,"open":`, e.Open)
		b = appendDec(b, `,"high":`, e.High)
		b = appendDec(b, `,"low":`, e.Low)
		b = appendDec(b, `,"close":`, e.Close)
		b = appendDec(b, `,"volume":`, e.Volume)
		b = appendDec(b, `,"quote_volume":`, e.QuoteVolume)
		b = appendInt(b, `,"trades":`, e.Trades)
		b = appendDec(b, `,"taker_buy_volume":`, e.TakerBuyVolume)
		b = appendDec(b, `,"taker_buy_quote_volume":`, e.TakerBuyQuoteVolume)
	case *Trade:
		b = appendStr(b, `{"venue":`, e.Venue)
		b = appendStr(b, `,"symbol":`, e.Symbol)
		b = appendInt(b, `,"trade_id":`, e.TradeID)
		b = appendDec(b, `,"price":`, e.Price)
		b = appendDec(b, `,"qty":`, e.Qty)
		b = append(b, `,"buyer_maker":`...)
		b = strconv.AppendBool(b, e.BuyerMaker)
		b = appendInt(b, `,"time":`, e.Time)
		if e.Aggregate {
			b = append(b, `,"aggregate":true`...)
		}
	case *Depth:
		b = appendStr(b, `{"venue":`, e.Venue)
		b = appendStr(b, `,"symbol":`, e.Symbol)
		b = appendInt(b, `,"first_id":`, e.FirstID)
		b = appendInt(b, `,"final_id":`, e.FinalID)
		if e.PrevFinalID != 0 {
			b = appendInt(b, `,"prev_final_id":`, e.PrevFinalID)
		}
		b = appendInt(b, `,"time":`, e.Time)
		b = appendLevels(b, `,"bids":`, e.Bids)
		b = appendLevels(b, `,"asks":`, e.Asks)
	case *Snapshot:
		b = appendStr(b, `{"venue":`, e.Venue)
		b = appendStr(b, `,"symbol":`, e.Symbol)
		b = appendInt(b, `,"last_update_id":`, e.LastUpdateID)
		b = appendInt(b, `,"time":`, e.Time)
		b = appendLevels(b, `,"bids":`, e.Bids)
		b = appendLevels(b, `,"asks":`, e.Asks)
	case *Ticker:
		b = appendStr(b, `{"venue":`, e.Venue)
		b = appendStr(b, `,"symbol":`, e.Symbol)
		b = appendInt(b, `,"update_id":`, e.UpdateID)
		b = appendInt(b, `,"time":`, e.Time)
		b = appendDec(b, `,"bid_price":`, e.BidPrice)
		b = appendDec(b, `,"bid_qty":`, e.BidQty)
		b = appendDec(b, `,"ask_price":`, e.AskPrice)
		b = appendDec(b, `,"ask_qty":`, e.AskQty)
	default:
		return b, false
	}
	return append(b, '}'), true
}

// sizeHint is enough room for ev's JSON in the common case, so appendJSON allocates once.
func sizeHint(ev Event) int {
	switch e := ev.(type) {
	case *Depth:
		return 160 + 48*(len(e.Bids)+len(e.Asks))
	case *Snapshot:
		return 160 + 48*(len(e.Bids)+len(e.Asks))
	}
	return 448
}

func appendInt(b []byte, key string, v int64) []byte {
	return strconv.AppendInt(append(b, key...), v, 10)
}

func appendDec(b []byte, key string, d decimal.Decimal) []byte {
	b = append(b, key...)
	b = append(b, '"')
	b, _ = d.AppendText(b) // never fails
	return append(b, '"')
}

// appendStr writes a JSON string; anything encoding/json would escape takes its path.
func appendStr(b []byte, key, s string) []byte {
	b = append(b, key...)
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' || c >= utf8.RuneSelf {
			q, _ := json.Marshal(s)
			return append(b, q...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

func appendLevels(b []byte, key string, levels []Level) []byte {
	b = append(b, key...)
	if levels == nil {
		return append(b, "null"...)
	}
	b = append(b, '[')
	for i, l := range levels {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendDec(b, `{"price":`, l.Price)
		b = appendDec(b, `,"qty":`, l.Qty)
		b = append(b, '}')
	}
	return append(b, ']')
}
