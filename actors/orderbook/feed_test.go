package orderbook

import (
	"bufio"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/govalues/decimal"

	"github.com/synapse-trading/synapse/streams"
)

// recordings is the repo's folder of real Binance data.
const recordings = "../../streams/recordings"

const (
	spotFile    = "BTCUSDT-wsfeed-2024-08-08.txt.gz"
	futuresFile = "BTCUSDT-futures-wsfeed-2024-08-08-head20000.txt.gz"
)

// readFeed decodes the depth, bookTicker and snapshot lines of a raw websocket capture
// ("<receive ns> <json>" per line) into events, in file order. Trades are skipped.
func readFeed(t testing.TB, name, venue, symbol string) []streams.Event {
	t.Helper()
	f, err := os.Open(filepath.Join(recordings, name))
	if err != nil {
		t.Fatalf("open recording: %v", err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	var out []streams.Event
	sc := bufio.NewScanner(zr)
	sc.Buffer(make([]byte, 0, 1<<20), 8<<20)
	for line := 1; sc.Scan(); line++ {
		ev, err := decodeLine(sc.Bytes(), venue, symbol)
		if err != nil {
			t.Fatalf("%s line %d: %v", name, line, err)
		}
		if ev != nil {
			out = append(out, ev)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return out
}

// wireLevels is Binance's [["price","qty"], ...].
type wireLevels [][2]decimal.Decimal

func (w wireLevels) levels() []streams.Level {
	out := make([]streams.Level, len(w))
	for i, l := range w {
		out[i] = streams.Level{Price: l[0], Qty: l[1]}
	}
	return out
}

// decodeLine decodes one capture line; it returns nil, nil for frames a book does not use.
func decodeLine(line []byte, venue, symbol string) (streams.Event, error) {
	ns, js, ok := strings.Cut(string(line), " ")
	if !ok {
		return nil, strconv.ErrSyntax
	}
	recvNs, err := strconv.ParseInt(ns, 10, 64)
	if err != nil {
		return nil, err
	}
	if strings.HasPrefix(js, `{"lastUpdateId"`) {
		var s struct {
			LastUpdateID int64      `json:"lastUpdateId"`
			E            int64      `json:"E"`
			Bids         wireLevels `json:"bids"`
			Asks         wireLevels `json:"asks"`
		}
		if err := json.Unmarshal([]byte(js), &s); err != nil {
			return nil, err
		}
		if s.E == 0 {
			s.E = recvNs / 1e6
		}
		return &streams.Snapshot{Venue: venue, Symbol: symbol, LastUpdateID: s.LastUpdateID, Time: s.E,
			Bids: s.Bids.levels(), Asks: s.Asks.levels()}, nil
	}
	var env struct {
		Stream string                     `json:"stream"`
		Data   map[string]json.RawMessage `json:"data"`
	}
	if err := json.Unmarshal([]byte(js), &env); err != nil {
		return nil, err
	}
	// Binance's keys differ only in case ("U" and "u", "b" and "B"), and encoding/json
	// matches struct fields case-insensitively, so the fields are read from a map.
	m := env.Data
	var firstErr error
	get := func(key string, v any) {
		raw, ok := m[key]
		if !ok || firstErr != nil {
			return
		}
		if err := json.Unmarshal(raw, v); err != nil {
			firstErr = fmt.Errorf("field %q: %w", key, err)
		}
	}
	_, kind, _ := strings.Cut(env.Stream, "@")
	switch {
	case strings.HasPrefix(kind, "depth"):
		d := streams.Depth{Venue: venue}
		var bids, asks wireLevels
		get("s", &d.Symbol)
		get("E", &d.Time)
		get("U", &d.FirstID)
		get("u", &d.FinalID)
		get("pu", &d.PrevFinalID)
		get("b", &bids)
		get("a", &asks)
		d.Bids, d.Asks = bids.levels(), asks.levels()
		return &d, firstErr
	case kind == "bookTicker":
		tk := streams.Ticker{Venue: venue, Time: recvNs / 1e6} // spot bookTicker has no event time
		get("s", &tk.Symbol)
		get("u", &tk.UpdateID)
		get("E", &tk.Time)
		get("b", &tk.BidPrice)
		get("B", &tk.BidQty)
		get("a", &tk.AskPrice)
		get("A", &tk.AskQty)
		return &tk, firstErr
	}
	return nil, nil
}
