package main

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/synapse-trading/synapse/actors"
	"github.com/synapse-trading/synapse/web"
)

// handleCandlesQuery serves GET /api/v1/queries/candles?venue=&symbol=&interval=1m&limit=:
// the newest closed 1m candles (at most actors.CandlesKept, default all kept) of a symbol,
// oldest first, with the indicator values of each, from the symbol actor that built them.
// The Markets page draws its history from it, then follows the symbol's live topic.
func handleCandlesQuery(gw *web.Gateway, graph *actors.Graph) {
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
		return rows, nil
	})
}
