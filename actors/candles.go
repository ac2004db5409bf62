package actors

import (
	"errors"
	"fmt"
	"time"

	"github.com/govalues/decimal"

	"github.com/synapse-trading/synapse/streams"
)

// CandlesKept is how many closed 1m candles a symbol keeps, with their indicator values, for
// the Markets page's history (the candles query).
const CandlesKept = 500

// CandleRow is one closed 1m candle of a symbol with the indicator values of its close: the
// candle exactly as the venue's kline (decimal strings in JSON), the indicators as the
// feature the symbol emitted for it (floats; those still warming up are left out).
type CandleRow struct {
	OpenTime  int64                 `json:"open_time"`  // epoch ms
	CloseTime int64                 `json:"close_time"` // epoch ms
	Open      decimal.Decimal       `json:"open"`
	High      decimal.Decimal       `json:"high"`
	Low       decimal.Decimal       `json:"low"`
	Close     decimal.Decimal       `json:"close"`
	Volume    decimal.Decimal       `json:"volume"` // base asset
	Trades    int64                 `json:"trades"`
	Values    streams.FeatureValues `json:"values"`
}

// candleHistory is a ring of a symbol's newest CandlesKept closed 1m candles.
type candleHistory struct {
	rows [CandlesKept]CandleRow
	n    int // rows written, the newest at (n-1) % CandlesKept
}

func (h *candleHistory) add(k *streams.Kline, values streams.FeatureValues) {
	h.rows[h.n%CandlesKept] = CandleRow{OpenTime: k.OpenTime, CloseTime: k.CloseTime, Open: k.Open, High: k.High, Low: k.Low,
		Close: k.Close, Volume: k.Volume, Trades: k.Trades, Values: values}
	h.n++
}

// newest returns the newest limit candles (all kept when limit exceeds them), oldest first.
func (h *candleHistory) newest(limit int) []CandleRow {
	n := min(h.n, CandlesKept, limit)
	out := make([]CandleRow, 0, n)
	for i := h.n - n; i < h.n; i++ {
		out = append(out, h.rows[i%CandlesKept])
	}
	return out
}

// Candles returns the symbol's newest limit closed 1m candles, oldest first.
func (s *Symbol) Candles(limit int) []CandleRow { return s.history.newest(limit) }

// candlesRequest asks a symbol actor for its newest candles (answered with []CandleRow).
type candlesRequest struct{ limit int }

// ErrUnknownSymbol is a symbol the graph has no actor for: no event of it was routed.
var ErrUnknownSymbol = errors.New("unknown symbol")

// Candles asks venue/symbol's actor for its newest limit closed 1m candles, oldest first;
// ErrUnknownSymbol when no event of that symbol has been routed. The actor answers between
// two batches of market data, within timeout.
func (g *Graph) Candles(venue, symbol string, limit int, timeout time.Duration) ([]CandleRow, error) {
	g.mu.Lock()
	ref, ok := g.symbols[symbolKey{venue, symbol}]
	g.mu.Unlock()
	if !ok {
		return nil, fmt.Errorf("%w %s/%s", ErrUnknownSymbol, venue, symbol)
	}
	res, err := g.Engine.Request(ref.pid, candlesRequest{limit: limit}, timeout).Result()
	if err != nil {
		return nil, fmt.Errorf("the candles of %s/%s: %w", venue, symbol, err)
	}
	rows, ok := res.([]CandleRow)
	if !ok {
		return nil, fmt.Errorf("the candles of %s/%s: the actor answered %T", venue, symbol, res)
	}
	return rows, nil
}
