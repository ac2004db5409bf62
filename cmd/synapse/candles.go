package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/synapse-trading/synapse/actors"
	"github.com/synapse-trading/synapse/inference"
	"github.com/synapse-trading/synapse/streams"
	"github.com/synapse-trading/synapse/web"
)

// handleCandlesQuery serves GET /api/v1/queries/candles?venue=&symbol=&interval=1m&limit=:
// the newest closed 1m candles (at most actors.CandlesKept, default all kept) of a symbol,
// oldest first, with the indicator values of each, from the symbol actor that built them,
// and the live ensemble's signal on each that had one: as the log holds it (SIG), so the
// signals from before a restart are there, else as this run made it (not on the log yet).
// The Markets page draws its history from it, then follows the symbol's live topic.
func handleCandlesQuery(gw *web.Gateway, graph *actors.Graph, signals *ensembleSignals, js jetstream.JetStream) {
	gw.HandleQuery("candles", func(r *http.Request) (any, error) {
		p, err := params(r, "venue", "symbol", "interval", "limit")
		if err != nil {
			return nil, err
		}
		venue, symbol := p.Get("venue"), p.Get("symbol")
		if interval := p.Get("interval"); interval != "" && interval != "1m" {
			return nil, badParam("interval", fmt.Sprintf("%q: the symbol actors keep 1m candles only", interval))
		}
		limit := actors.CandlesKept
		if err := p.int("limit", &limit); err != nil {
			return nil, err
		}
		if limit < 1 || limit > actors.CandlesKept {
			return nil, badParam("limit", fmt.Sprintf("%d: must be 1 to %d (leave it out for %d)", limit, actors.CandlesKept, actors.CandlesKept))
		}
		if venue == "" {
			return nil, badParam("venue", "required, e.g. binance (see the symbols query)")
		}
		if symbol == "" {
			return nil, badParam("symbol", "required, e.g. BTCUSDT (see the symbols query)")
		}
		var venues, symbols []string
		for _, s := range graph.Symbols() {
			if !slices.Contains(venues, s[0]) {
				venues = append(venues, s[0])
			}
			if s[0] == venue {
				symbols = append(symbols, s[1])
			}
		}
		if len(symbols) == 0 {
			return nil, badParam("venue", fmt.Sprintf("no market data from venue %q (venues: %s)", venue, strings.Join(venues, ", ")))
		}
		rows, err := graph.Candles(venue, symbol, limit, 5*time.Second)
		if errors.Is(err, actors.ErrUnknownSymbol) {
			return nil, badParam("symbol", fmt.Sprintf("no market data for %q on %s (symbols: %s)", symbol, venue, strings.Join(symbols, ", ")))
		}
		if err != nil {
			return nil, fmt.Errorf("%w: %v", web.ErrQueryFailed, err)
		}
		logged, err := loggedSignals(r.Context(), js, venue, symbol, rows)
		if err != nil {
			return nil, fmt.Errorf("%w: %v", web.ErrQueryFailed, err)
		}
		return signals.on(venue, symbol, rows, logged), nil
	})
}

// loggedSignals reads from the log the live ensemble's signals on rows' candles, by the
// candle's open time: those of the rows' time range, at most one a candle.
func loggedSignals(ctx context.Context, js jetstream.JetStream, venue, symbol string, rows []actors.CandleRow) (map[int64]candleSignal, error) {
	out := map[int64]candleSignal{}
	if len(rows) == 0 {
		return out, nil
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	subject := (&streams.Signal{Model: inference.EnsembleName, Venue: venue, Symbol: symbol}).Subject()
	evs, err := streams.ReadBetween(ctx, js, streams.StreamSignals, subject, rows[0].OpenTime, rows[len(rows)-1].OpenTime, len(rows))
	if err != nil {
		return nil, err
	}
	for _, ev := range evs {
		if sig, ok := ev.(*streams.Signal); ok {
			out[sig.FeatureTime] = signalOf(sig)
		}
	}
	return out, nil
}

// candleSignal is the ensemble's signal on a candle: the probability it combined and the
// direction model's, and the members' agreement.
type candleSignal struct {
	Probability float64 `json:"probability"`
	Direction   float64 `json:"direction"`
	Confidence  float64 `json:"confidence"`
}

// candleView is a candle as the candles query answers it: with the ensemble's signal on it,
// when there was one.
type candleView struct {
	actors.CandleRow
	Signal *candleSignal `json:"signal,omitempty"`
}

// ensembleSignals keeps the newest live ensemble signals this run made for each symbol (as
// many as the candles kept), by the open time of the candle they were made from, for the
// candles query (which takes the log's first: these are for a signal not acknowledged by the
// log yet), and shows each on the hub's "signals" event topic for the Markets page.
type ensembleSignals struct {
	hub      *web.Hub
	mu       sync.Mutex
	bySymbol map[[2]string]map[int64]candleSignal
}

func newEnsembleSignals(hub *web.Hub) *ensembleSignals {
	hub.Events(0, "signals")
	return &ensembleSignals{hub: hub, bySymbol: map[[2]string]map[int64]candleSignal{}}
}

// record keeps sig if it is the live ensemble's.
func (e *ensembleSignals) record(sig *streams.Signal) {
	if sig.Model != inference.EnsembleName || sig.Shadow {
		return
	}
	key := [2]string{sig.Venue, sig.Symbol}
	e.mu.Lock()
	kept := e.bySymbol[key]
	if kept == nil {
		kept = map[int64]candleSignal{}
		e.bySymbol[key] = kept
	}
	kept[sig.FeatureTime] = signalOf(sig)
	if len(kept) > actors.CandlesKept { // let go of the oldest
		oldest := sig.FeatureTime
		for t := range kept {
			oldest = min(oldest, t)
		}
		delete(kept, oldest)
	}
	e.mu.Unlock()
	_ = e.hub.Set("signals", sig)
}

// signalOf is the ensemble's signal sig as a candle shows it.
func signalOf(sig *streams.Signal) candleSignal {
	return candleSignal{Probability: sig.Prediction["probability"], Direction: sig.Prediction["direction"], Confidence: sig.Confidence}
}

// on returns rows with their signals: the one logged (read from the log) on a candle, else
// the one kept for venue/symbol.
func (e *ensembleSignals) on(venue, symbol string, rows []actors.CandleRow, logged map[int64]candleSignal) []candleView {
	e.mu.Lock()
	defer e.mu.Unlock()
	kept := e.bySymbol[[2]string{venue, symbol}]
	out := make([]candleView, len(rows))
	for i, r := range rows {
		out[i].CandleRow = r
		if s, ok := logged[r.OpenTime]; ok {
			out[i].Signal = &s
		} else if s, ok := kept[r.OpenTime]; ok {
			out[i].Signal = &s
		}
	}
	return out
}
