package replay

// A reference decoder built on encoding/json, used to cross-check the hand-written frame
// decoder on every real frame, and to measure what the hand-written one saves.

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/govalues/decimal"
	"github.com/synapse-trading/synapse/streams"
)

type refEnvelope struct {
	Stream string          `json:"stream"`
	Data   json.RawMessage `json:"data"`
}

// Field names are distinct Go names; the tags carry Binance's case-sensitive keys, and
// both cases of each letter are declared so that encoding/json's case-insensitive matching
// cannot put "t" into "T".
type refPayload struct {
	Event     string               `json:"e"`
	EventTime int64                `json:"E"`
	TxTime    int64                `json:"T"`
	Symbol    string               `json:"s"`
	TradeID   int64                `json:"t"`
	Price     decimal.Decimal      `json:"p"`
	Qty       decimal.Decimal      `json:"q"`
	Maker     bool                 `json:"m"`
	Ignore    bool                 `json:"M"`
	First     int64                `json:"U"`
	Final     int64                `json:"u"`
	Prev      int64                `json:"pu"`
	LowerB    json.RawMessage      `json:"b"`
	UpperB    json.RawMessage      `json:"B"`
	LowerA    json.RawMessage      `json:"a"`
	UpperA    json.RawMessage      `json:"A"`
	LastID    *int64               `json:"lastUpdateId"`
	Bids      [][2]decimal.Decimal `json:"bids"`
	Asks      [][2]decimal.Decimal `json:"asks"`
}

func refLevels(raw json.RawMessage) ([]streams.Level, error) {
	var pairs [][2]decimal.Decimal
	if err := json.Unmarshal(raw, &pairs); err != nil {
		return nil, err
	}
	return refPairs(pairs), nil
}

func refPairs(pairs [][2]decimal.Decimal) []streams.Level {
	out := make([]streams.Level, len(pairs))
	for i, p := range pairs {
		out[i] = streams.Level{Price: p[0], Qty: p[1]}
	}
	return out
}

func refDecimal(raw json.RawMessage) (decimal.Decimal, error) {
	var d decimal.Decimal
	err := json.Unmarshal(raw, &d)
	return d, err
}

// refDecode decodes a frame the slow, obvious way. symbol names a bare snapshot's symbol.
func refDecode(venue, symbol string, recvNs int64, frame []byte) (streams.Event, error) {
	var env refEnvelope
	if err := json.Unmarshal(frame, &env); err != nil {
		return nil, err
	}
	var p refPayload
	payload := []byte(env.Data)
	if env.Stream == "" {
		payload = frame
	}
	if err := json.Unmarshal(payload, &p); err != nil {
		return nil, err
	}
	_, kind, _ := strings.Cut(env.Stream, "@")
	switch {
	case p.LastID != nil:
		return &streams.Snapshot{Venue: venue, Symbol: symbol, LastUpdateID: *p.LastID, Time: recvNs / 1e6,
			Bids: refPairs(p.Bids), Asks: refPairs(p.Asks)}, nil
	case kind == "trade":
		return &streams.Trade{Venue: venue, Symbol: p.Symbol, TradeID: p.TradeID, Price: p.Price, Qty: p.Qty,
			BuyerMaker: p.Maker, Time: p.TxTime}, nil
	case strings.HasPrefix(kind, "depth"):
		bids, err := refLevels(p.LowerB)
		if err != nil {
			return nil, err
		}
		asks, err := refLevels(p.LowerA)
		if err != nil {
			return nil, err
		}
		return &streams.Depth{Venue: venue, Symbol: p.Symbol, FirstID: p.First, FinalID: p.Final,
			PrevFinalID: p.Prev, Time: p.EventTime, Bids: bids, Asks: asks}, nil
	case kind == "bookTicker":
		t := &streams.Ticker{Venue: venue, Symbol: p.Symbol, UpdateID: p.Final, Time: p.EventTime}
		if t.Time == 0 {
			t.Time = recvNs / 1e6
		}
		var err [4]error
		t.BidPrice, err[0] = refDecimal(p.LowerB)
		t.BidQty, err[1] = refDecimal(p.UpperB)
		t.AskPrice, err[2] = refDecimal(p.LowerA)
		t.AskQty, err[3] = refDecimal(p.UpperA)
		for _, e := range err {
			if e != nil {
				return nil, e
			}
		}
		return t, nil
	}
	return nil, fmt.Errorf("reference decoder: unsupported frame")
}
