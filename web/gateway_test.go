package web

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
)

func TestWebsocketStreamsLatestStatePerTopic(t *testing.T) {
	hub := NewHub()
	_ = hub.Set("symbol/binance/BTCUSDT", map[string]string{"last_price": "1"})
	_ = hub.Set("other", 1)
	srv := httptest.NewServer(New(hub, Options{MinInterval: 10 * time.Millisecond}).Handler())
	defer srv.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(srv.URL, "http")+"/ws?topics=symbol/", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	read := func() []Update {
		t.Helper()
		_, data, err := c.Read(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var u []Update
		if err := json.Unmarshal(data, &u); err != nil {
			t.Fatal(err)
		}
		return u
	}
	first := read()
	if len(first) != 1 || first[0].Topic != "symbol/binance/BTCUSDT" || string(first[0].Data) != `{"last_price":"1"}` {
		t.Fatalf("first frame = %+v (the filtered current state)", first)
	}
	// Many updates while the client is not reading: it gets the latest, not a backlog.
	for i := 2; i <= 500; i++ {
		_ = hub.Set("symbol/binance/BTCUSDT", map[string]int{"last_price": i})
	}
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		u := read()
		if len(u) == 1 && string(u[0].Data) == `{"last_price":500}` {
			return
		}
	}
	t.Fatal("the latest value never arrived")
}

func TestWebsocketRejectsForeignOrigin(t *testing.T) {
	srv := httptest.NewServer(New(NewHub(), Options{}).Handler())
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, resp, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(srv.URL, "http")+"/ws",
		&websocket.DialOptions{HTTPHeader: http.Header{"Origin": {"https://evil.example"}}})
	if err == nil {
		t.Fatal("a foreign origin was accepted")
	}
	if resp != nil && resp.StatusCode != http.StatusForbidden {
		t.Fatalf("status %d, want 403", resp.StatusCode)
	}
}

func TestPageQueriesAndHealth(t *testing.T) {
	g := New(NewHub(), Options{})
	g.HandleQuery("symbols", func(*http.Request) (any, error) { return []string{"BTCUSDT"}, nil })
	srv := httptest.NewServer(g.Handler())
	defer srv.Close()
	for path, want := range map[string]string{
		"/":                         "SYNAPSE",
		"/healthz":                  `"ok"`,
		"/api/v1/queries/symbols":   `["BTCUSDT"]`,
		"/api/v1/queries/no-such-q": `no query`,
	} {
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(body), want) {
			t.Errorf("%s: %q does not contain %q", path, body, want)
		}
	}
}

func TestListenOnTakenPortIsAClearError(t *testing.T) {
	a := New(NewHub(), Options{Addr: "127.0.0.1:0"})
	if err := a.Listen(); err != nil {
		t.Fatal(err)
	}
	defer a.ln.Close()
	b := New(NewHub(), Options{Addr: a.Addr()})
	err := b.Listen()
	if err == nil || !strings.Contains(err.Error(), "--http") {
		t.Fatalf("err = %v, want one naming --http", err)
	}
}
