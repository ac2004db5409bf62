package binancetest

import (
	"encoding/json"
	"strings"

	"github.com/synapse-trading/synapse/streams"
)

// The structs below are Binance's JSON layouts, field for field and in Binance's order.

type wsKline struct {
	Event  string      `json:"e"`
	Time   int64       `json:"E"`
	Symbol string      `json:"s"`
	Kline  wsKlineBody `json:"k"`
}

type wsKlineBody struct {
	OpenTime            int64  `json:"t"`
	CloseTime           int64  `json:"T"`
	Symbol              string `json:"s"`
	Interval            string `json:"i"`
	FirstTradeID        int64  `json:"f"`
	LastTradeID         int64  `json:"L"`
	Open                string `json:"o"`
	Close               string `json:"c"`
	High                string `json:"h"`
	Low                 string `json:"l"`
	Volume              string `json:"v"`
	Trades              int64  `json:"n"`
	Closed              bool   `json:"x"`
	QuoteVolume         string `json:"q"`
	TakerBuyVolume      string `json:"V"`
	TakerBuyQuoteVolume string `json:"Q"`
	Ignore              string `json:"B"`
}

type wsTrade struct {
	Event      string `json:"e"`
	Time       int64  `json:"E"`
	Symbol     string `json:"s"`
	TradeID    int64  `json:"t"`
	Price      string `json:"p"`
	Qty        string `json:"q"`
	TradeTime  int64  `json:"T"`
	BuyerMaker bool   `json:"m"`
	Ignore     bool   `json:"M"`
}

type wsAggTrade struct {
	Event        string `json:"e"`
	Time         int64  `json:"E"`
	Symbol       string `json:"s"`
	AggTradeID   int64  `json:"a"`
	Price        string `json:"p"`
	Qty          string `json:"q"`
	FirstTradeID int64  `json:"f"`
	LastTradeID  int64  `json:"l"`
	TradeTime    int64  `json:"T"`
	BuyerMaker   bool   `json:"m"`
	Ignore       bool   `json:"M"`
}

type wsDepth struct {
	Event       string      `json:"e"`
	Time        int64       `json:"E"`
	TradeTime   int64       `json:"T,omitempty"` // futures only
	Symbol      string      `json:"s"`
	FirstID     int64       `json:"U"`
	FinalID     int64       `json:"u"`
	PrevFinalID *int64      `json:"pu,omitempty"` // futures only
	Bids        [][2]string `json:"b"`
	Asks        [][2]string `json:"a"`
}

type wsBookTicker struct {
	Event     string `json:"e,omitempty"` // futures only
	UpdateID  int64  `json:"u"`
	Symbol    string `json:"s"`
	BidPrice  string `json:"b"`
	BidQty    string `json:"B"`
	AskPrice  string `json:"a"`
	AskQty    string `json:"A"`
	TradeTime int64  `json:"T,omitempty"` // futures only
	Time      int64  `json:"E,omitempty"` // futures only
}

type restDepth struct {
	LastUpdateID int64       `json:"lastUpdateId"`
	Time         int64       `json:"E,omitempty"` // futures only
	TradeTime    int64       `json:"T,omitempty"` // futures only
	Bids         [][2]string `json:"bids"`
	Asks         [][2]string `json:"asks"`
}

// klineData is a kline stream payload. A closed kline's event time is just after its close;
// an open one's is mid-candle.
func klineData(k streams.Kline, closed bool) []byte {
	eventTime := k.OpenTime + (k.CloseTime-k.OpenTime)/2
	if closed {
		eventTime = k.CloseTime + 1
	}
	return mustJSON(wsKline{
		Event:  "kline",
		Time:   eventTime,
		Symbol: strings.ToUpper(k.Symbol),
		Kline: wsKlineBody{
			OpenTime:            k.OpenTime,
			CloseTime:           k.CloseTime,
			Symbol:              strings.ToUpper(k.Symbol),
			Interval:            k.Interval,
			FirstTradeID:        -1,
			LastTradeID:         -1,
			Open:                k.Open.String(),
			Close:               k.Close.String(),
			High:                k.High.String(),
			Low:                 k.Low.String(),
			Volume:              k.Volume.String(),
			Trades:              k.Trades,
			Closed:              closed,
			QuoteVolume:         k.QuoteVolume.String(),
			TakerBuyVolume:      k.TakerBuyVolume.String(),
			TakerBuyQuoteVolume: k.TakerBuyQuoteVolume.String(),
			Ignore:              "0",
		},
	})
}

func tradeData(t streams.Trade) []byte {
	return mustJSON(wsTrade{
		Event: "trade", Time: t.Time, Symbol: strings.ToUpper(t.Symbol), TradeID: t.TradeID,
		Price: t.Price.String(), Qty: t.Qty.String(), TradeTime: t.Time, BuyerMaker: t.BuyerMaker, Ignore: true,
	})
}

func aggTradeData(t streams.Trade) []byte {
	return mustJSON(wsAggTrade{
		Event: "aggTrade", Time: t.Time, Symbol: strings.ToUpper(t.Symbol), AggTradeID: t.TradeID,
		Price: t.Price.String(), Qty: t.Qty.String(), FirstTradeID: t.TradeID, LastTradeID: t.TradeID,
		TradeTime: t.Time, BuyerMaker: t.BuyerMaker, Ignore: true,
	})
}

func depthData(d streams.Depth, futures bool) []byte {
	w := wsDepth{
		Event: "depthUpdate", Time: d.Time, Symbol: strings.ToUpper(d.Symbol),
		FirstID: d.FirstID, FinalID: d.FinalID, Bids: levels(d.Bids), Asks: levels(d.Asks),
	}
	if futures {
		w.TradeTime = d.Time
		w.PrevFinalID = &d.PrevFinalID
	}
	return mustJSON(w)
}

func tickerData(t streams.Ticker, futures bool) []byte {
	w := wsBookTicker{
		UpdateID: t.UpdateID, Symbol: strings.ToUpper(t.Symbol),
		BidPrice: t.BidPrice.String(), BidQty: t.BidQty.String(),
		AskPrice: t.AskPrice.String(), AskQty: t.AskQty.String(),
	}
	if futures {
		w.Event, w.TradeTime, w.Time = "bookTicker", t.Time, t.Time
	}
	return mustJSON(w)
}

// levels writes price levels as Binance does: [["price","qty"],...], never null.
func levels(ls []streams.Level) [][2]string {
	out := make([][2]string, len(ls))
	for i, l := range ls {
		out[i] = [2]string{l.Price.String(), l.Qty.String()}
	}
	return out
}

// mustJSON marshals the fixed structs above. It cannot fail: they hold only strings,
// integers, booleans and slices of them.
func mustJSON(v any) []byte {
	data, _ := json.Marshal(v)
	return data
}
