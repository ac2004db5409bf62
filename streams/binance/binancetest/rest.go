package binancetest

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/synapse-trading/synapse/streams"
)

func (s *Server) servePing(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, struct{}{})
}

func (s *Server) serveTime(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]int64{"serverTime": time.Now().UnixMilli()})
}

// serveExchangeInfo lists every symbol the server has data for, as TRADING.
func (s *Server) serveExchangeInfo(w http.ResponseWriter, _ *http.Request) {
	type symbol struct {
		Symbol string `json:"symbol"`
		Status string `json:"status"`
	}
	s.mu.Lock()
	seen := map[string]bool{}
	var symbols []symbol
	for key := range s.klines {
		name, _, _ := strings.Cut(key, " ")
		seen[name] = true
	}
	for name := range s.depth {
		seen[name] = true
	}
	s.mu.Unlock()
	for name := range seen {
		symbols = append(symbols, symbol{Symbol: name, Status: "TRADING"})
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"timezone":   "UTC",
		"serverTime": time.Now().UnixMilli(),
		"rateLimits": []any{},
		"symbols":    symbols,
	})
}

// serveKlines answers GET klines with Binance's semantics: klines whose open time is in
// [startTime, endTime], at most limit of them (default 500, at most 1000), oldest first;
// with no startTime, the latest ones.
func (s *Server) serveKlines(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	symbol, interval := q.Get("symbol"), q.Get("interval")
	limit, okLimit := intParam(q.Get("limit"), 500)
	start, okStart := intParam(q.Get("startTime"), -1)
	end, okEnd := intParam(q.Get("endTime"), -1)
	if symbol == "" || interval == "" || !okLimit || !okStart || !okEnd {
		writeError(w, -1102, "Mandatory parameter 'symbol' or 'interval' was not sent, was empty/null, or malformed.")
		return
	}
	n := int(min(max(limit, 1), 1000))

	s.mu.Lock()
	s.stats.KlineRequests++
	history, known := s.klines[symbol+" "+interval]
	if !known && !s.knownSymbol(symbol) {
		s.mu.Unlock()
		writeError(w, -1121, "Invalid symbol.")
		return
	}
	var picked []streams.Kline
	for _, k := range history {
		if (start < 0 || k.OpenTime >= start) && (end < 0 || k.OpenTime <= end) {
			picked = append(picked, k)
		}
	}
	s.mu.Unlock()

	if len(picked) > n {
		if start >= 0 {
			picked = picked[:n]
		} else {
			picked = picked[len(picked)-n:]
		}
	}
	rows := make([][]any, len(picked))
	for i, k := range picked {
		rows[i] = []any{
			k.OpenTime, k.Open.String(), k.High.String(), k.Low.String(), k.Close.String(),
			k.Volume.String(), k.CloseTime, k.QuoteVolume.String(), k.Trades,
			k.TakerBuyVolume.String(), k.TakerBuyQuoteVolume.String(), "0",
		}
	}
	writeJSON(w, http.StatusOK, rows)
}

// serveDepth answers GET depth with the snapshot set by SetDepth, cut to limit levels a side
// (default 100, at most 5000).
func (s *Server) serveDepth(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	symbol := q.Get("symbol")
	limit, ok := intParam(q.Get("limit"), 100)
	if symbol == "" || !ok {
		writeError(w, -1102, "Mandatory parameter 'symbol' was not sent, was empty/null, or malformed.")
		return
	}
	n := int(min(max(limit, 1), 5000))

	s.mu.Lock()
	s.stats.DepthRequests++
	snap, known := s.depth[symbol]
	s.mu.Unlock()
	if !known {
		writeError(w, -1121, "Invalid symbol.")
		return
	}
	out := restDepth{
		LastUpdateID: snap.LastUpdateID,
		Bids:         levels(snap.Bids[:min(n, len(snap.Bids))]),
		Asks:         levels(snap.Asks[:min(n, len(snap.Asks))]),
	}
	if s.opts.Futures {
		out.Time, out.TradeTime = snap.Time, snap.Time
	}
	writeJSON(w, http.StatusOK, out)
}

// knownSymbol reports whether the server has any data for symbol. Call with s.mu held.
func (s *Server) knownSymbol(symbol string) bool {
	if _, ok := s.depth[symbol]; ok {
		return true
	}
	for key := range s.klines {
		if strings.HasPrefix(key, symbol+" ") {
			return true
		}
	}
	return false
}

// intParam parses an optional integer query parameter; ok is false when it is malformed.
func intParam(v string, missing int64) (n int64, ok bool) {
	if v == "" {
		return missing, true
	}
	n, err := strconv.ParseInt(v, 10, 64)
	return n, err == nil
}

// writeError answers as Binance does: HTTP 400 with {"code":...,"msg":...}.
func writeError(w http.ResponseWriter, code int, msg string) {
	writeJSON(w, http.StatusBadRequest, map[string]any{"code": code, "msg": msg})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json;charset=UTF-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
