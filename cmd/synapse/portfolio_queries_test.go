package main

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/govalues/decimal"

	"github.com/synapse-trading/synapse/portfolio"
	"github.com/synapse-trading/synapse/streams"
	"github.com/synapse-trading/synapse/web"
)

func TestPortfolioQueries(t *testing.T) {
	m := portfolio.NewMemory()
	dec := decimal.MustParse
	var seq uint64
	apply := func(stream string, ev streams.Event) {
		seq++
		if err := m.Apply(stream, seq, ev); err != nil {
			t.Fatal(err)
		}
	}
	in := &streams.OrderEvent{Type: streams.OrderIntent, ClientOrderID: "c1", Agent: "ATLAS", Venue: "binance", Symbol: "BTCUSDT", Side: streams.Buy,
		OrderType: streams.Market, Qty: dec("0.5"), Time: 1000}
	apply(streams.StreamOrders, in)
	f := *in
	f.Type, f.TradeID, f.FillQty, f.FillPrice, f.Fee, f.Time = streams.OrderFill, "t1", dec("0.5"), dec("60000"), dec("3"), 1100
	apply(streams.StreamOrders, &f)
	eq := []string{"10000", "10100", "10050", "10200", "10150"}
	for agent, scale := range map[string]string{"ATLAS": "1", "ORION": "0.5", "NOVA": "0.2"} {
		for i, e := range eq {
			v, _ := dec(e).Mul(dec(scale))
			apply(streams.StreamPortfolio, &streams.EquitySnapshot{Agent: agent, Time: int64(i) * 3600000, Capital: dec("10000"), Equity: v, Cash: v})
		}
	}
	gw := web.New(web.NewHub(), web.Options{Open: true})
	handlePortfolioQueries(gw, m, PortfolioQueryOptions{})
	srv := httptest.NewServer(gw.Handler())
	defer srv.Close()
	get := func(path string) (int, string) {
		r, err := http.Get(srv.URL + "/api/v1/queries/" + path)
		if err != nil {
			t.Fatal(err)
		}
		defer r.Body.Close()
		b, _ := io.ReadAll(r.Body)
		return r.StatusCode, string(b)
	}
	for _, path := range []string{"positions", "positions?agent=ATLAS", "positions?agent=NOBODY", "order_list", "order_list?status=open&limit=5", "fills?agent=ATLAS",
		"equity?agent=NOVA&since=3600000&until=10800000", "equity", "allocation", "allocation?profile=Conservative&threshold=0.01",
		"montecarlo?agent=ATLAS&paths=100&horizon=3&goal=10300&seed=9", "summary"} {
		code, body := get(path)
		if code != 200 {
			t.Errorf("%s: %d %s", path, code, body)
		}
		var v any
		if err := json.Unmarshal([]byte(body), &v); err != nil {
			t.Errorf("%s: %v", path, err)
		}
		if len(body) > 600 {
			body = body[:600] + "..."
		}
		t.Logf("%s → %s", path, body)
	}
	for path, param := range map[string]string{"order_list?limit=-1": "limit", "order_list?limit=x": "limit", "order_list?status=done": "status",
		"order_list?agnet=ATLAS": "agnet", "fills?offset=-2": "offset", "fills?since=5&until=1": "until", "equity?since=-1": "since",
		"allocation?profile=yolo": "profile", "allocation?threshold=2": "threshold", "montecarlo": "agent", "montecarlo?agent=ATLAS&paths=10001": "paths",
		"montecarlo?agent=ATLAS&horizon=0": "horizon", "montecarlo?agent=ATLAS&goal=-1": "goal", "montecarlo?agent=ATLAS&seed=-1": "seed",
		"montecarlo?agent=VEGA": "agent", "summary?x=1": "x", "positions?agent=A&agent=B": "agent"} {
		code, body := get(path)
		if code != 400 || !strings.Contains(body, param) {
			t.Errorf("%s: %d %s, want 400 naming %s", path, code, body, param)
		}
		t.Logf("%s → %d %s", path, code, strings.TrimSpace(body))
	}
}
