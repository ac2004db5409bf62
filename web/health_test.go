package web

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"
)

func TestReadyzFollowsReady(t *testing.T) {
	var ready atomic.Bool
	e := newEnv(t, Options{Ready: func() error {
		if !ready.Load() {
			return errors.New("replay not caught up: 120 of 5000 events")
		}
		return nil
	}})
	if a := e.call(t, "GET", "/readyz", "", ""); a.status != 503 || !strings.Contains(a.raw, "not caught up") {
		t.Fatalf("not ready: %d %s", a.status, a.raw)
	}
	if a := e.call(t, "GET", "/healthz", "", ""); a.status != 200 {
		t.Fatalf("healthz while not ready: %d", a.status)
	}
	ready.Store(true)
	if a := e.call(t, "GET", "/readyz", "", ""); a.status != 200 || a.body["status"] != "ready" {
		t.Fatalf("ready: %d %s", a.status, a.raw)
	}
}

// When the gateway stops, /readyz answers 503 and every websocket client is told the server
// goes away (1001), so the UI reconnects instead of seeing a broken connection.
func TestShutdownTellsReadyzAndWebsockets(t *testing.T) {
	hub := NewHub()
	_ = hub.Set("engine", 1)
	g := New(hub, Options{Open: true, Addr: "127.0.0.1:0", MinInterval: 5 * time.Millisecond, Logger: slog.New(slog.DiscardHandler)})
	if err := g.Listen(); err != nil {
		t.Fatal(err)
	}
	ctx, stop := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- g.Serve(ctx) }()
	dctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(dctx, "ws://"+g.Addr()+"/ws", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	if _, _, err := c.Read(dctx); err != nil {
		t.Fatal(err)
	}
	stop()
	_, _, err = c.Read(dctx)
	var ce websocket.CloseError
	if !errors.As(err, &ce) || ce.Code != websocket.StatusGoingAway {
		t.Fatalf("at shutdown the client read %v, want a 1001 close", err)
	}
	w := httptest.NewRecorder()
	g.Handler().ServeHTTP(w, httptest.NewRequest("GET", "/readyz", nil))
	if w.Code != 503 || !strings.Contains(w.Body.String(), "shutting down") {
		t.Fatalf("/readyz while stopping: %d %s", w.Code, w.Body)
	}
	if err := <-served; err != nil {
		t.Fatal(err)
	}
}

// A request body that trickles in is cut off after bodyTimeout with 408: it holds a
// connection no longer.
func TestSlowBodyTimesOut(t *testing.T) {
	defer func(d time.Duration) { bodyTimeout = d }(bodyTimeout)
	bodyTimeout = 200 * time.Millisecond
	sub := &submitted{}
	srv := httptest.NewServer(New(NewHub(), Options{Open: true, Submit: sub.submit, Logger: slog.New(slog.DiscardHandler)}).Handler())
	defer srv.Close()
	conn, err := net.Dial("tcp", strings.TrimPrefix(srv.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "POST /api/v1/commands/killswitch.on HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{\"reason\":")
	_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("no answer to a stalled body: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestTimeout || len(sub.all()) != 0 {
		t.Fatalf("stalled body: %d, %d commands submitted", resp.StatusCode, len(sub.all()))
	}
}
