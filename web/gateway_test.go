package web

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
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
	srv := httptest.NewServer(New(hub, Options{Open: true, MinInterval: 10 * time.Millisecond}).Handler())
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
	srv := httptest.NewServer(New(NewHub(), Options{Open: true}).Handler())
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
	g := New(NewHub(), Options{Open: true})
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

func TestWebsocketAllowsConfiguredOrigins(t *testing.T) {
	e := newEnv(t, Options{OriginPatterns: []string{"dash.example.com"}})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	dial := func(origin string) (int, error) {
		h := http.Header{"Authorization": {"Bearer " + e.viewer}, "Origin": {origin}}
		c, resp, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(e.srv.URL, "http")+"/ws", &websocket.DialOptions{HTTPHeader: h})
		if c != nil {
			c.CloseNow()
		}
		if resp == nil {
			return 0, err
		}
		return resp.StatusCode, err
	}
	if code, err := dial("https://dash.example.com"); code != http.StatusSwitchingProtocols {
		t.Errorf("allowed origin: %d %v", code, err)
	}
	if code, _ := dial(e.srv.URL); code != http.StatusSwitchingProtocols {
		t.Errorf("own origin: %d", code)
	}
	if code, _ := dial("https://evil.example"); code != http.StatusForbidden {
		t.Errorf("foreign origin: %d, want 403", code)
	}
}

// Many clients read while one does not: the slow one is closed with a reason, the others
// keep receiving.
func TestSlowClientIsDisconnectedOthersKeepReceiving(t *testing.T) {
	e := newEnv(t, Options{MinInterval: 2 * time.Millisecond, WriteTimeout: 300 * time.Millisecond})
	_ = e.hub.Set("small/x", 0)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	const readers = 200
	final := make(chan error, readers)
	for range readers {
		c, _, err := e.dialWS(ctx, "/ws?topics=small/", e.viewer)
		if err != nil {
			t.Fatal(err)
		}
		defer c.CloseNow()
		go func() {
			for {
				_, data, err := c.Read(ctx)
				if err != nil {
					final <- err
					return
				}
				if strings.Contains(string(data), `"final"`) {
					final <- nil
					return
				}
			}
		}()
	}
	_ = e.hub.Set("big/x", "") // a topic the slow client subscribes to exists
	slow, _, err := e.dialWS(ctx, "/ws?topics=big/", e.viewer)
	if err != nil {
		t.Fatal(err)
	}
	defer slow.CloseNow()
	slow.SetReadLimit(-1)
	checkFor(t, 10*time.Second, "all clients connected", func() bool {
		return value(t, e.g.metrics.wsClients) == readers+1
	})

	// Big frames the slow client never reads, until its socket buffers are full.
	big := strings.Repeat("x", 512<<10)
	i := 0
	checkFor(t, 20*time.Second, "the slow client was disconnected", func() bool {
		i++
		_ = e.hub.Set("big/x", fmt.Sprint(i, big))
		return value(t, e.g.metrics.slowDisconnects) == 1
	})
	// Reading again, it drains what was sent and then gets the close frame with the reason.
	var closeErr error
	for closeErr == nil {
		_, _, closeErr = slow.Read(ctx)
	}
	if websocket.CloseStatus(closeErr) != websocket.StatusPolicyViolation || !strings.Contains(closeErr.Error(), "client too slow") {
		t.Errorf("slow client got %v, want 1008 \"client too slow\"", closeErr)
	}

	_ = e.hub.Set("small/x", "final")
	for range readers {
		if err := <-final; err != nil {
			t.Fatalf("a reading client lost its stream: %v", err)
		}
	}
	if n := value(t, e.g.metrics.slowDisconnects); n != 1 {
		t.Errorf("%v slow disconnects, want 1", n)
	}
	checkFor(t, 5*time.Second, "the slow client is gone from the gauge", func() bool {
		return value(t, e.g.metrics.wsClients) <= readers
	})
}

func TestGarbageOnTheWebsocketDoesNotBreakTheServer(t *testing.T) {
	e := newEnv(t, Options{})
	_ = e.hub.Set("engine", 1)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	// A data message: the protocol is server to client only.
	c, _, err := e.dialWS(ctx, "/ws", e.viewer)
	if err != nil {
		t.Fatal(err)
	}
	_ = c.Write(ctx, websocket.MessageText, []byte(`{"subscribe": [garbage`))
	for err == nil {
		_, _, err = c.Read(ctx)
	}
	if websocket.CloseStatus(err) != websocket.StatusPolicyViolation {
		t.Errorf("data message: %v, want 1008", err)
	}
	c.CloseNow()

	// An oversized message.
	c, _, err = e.dialWS(ctx, "/ws", e.viewer)
	if err != nil {
		t.Fatal(err)
	}
	_ = c.Write(ctx, websocket.MessageBinary, make([]byte, 1<<20))
	for err == nil {
		_, _, err = c.Read(ctx)
	}
	if websocket.CloseStatus(err) != websocket.StatusMessageTooBig {
		t.Errorf("oversized message: %v, want 1009", err)
	}
	c.CloseNow()

	// Raw bytes that are not websocket frames after a valid handshake, and a broken handshake.
	for _, garbage := range []string{"\xff\xff\xff\xffnot a frame\r\n\x00\x81", ""} {
		conn, err := net.Dial("tcp", strings.TrimPrefix(e.srv.URL, "http://"))
		if err != nil {
			t.Fatal(err)
		}
		_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
		fmt.Fprintf(conn, "GET /ws HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"+
			"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n%s", e.viewer, garbage)
		if garbage == "" {
			fmt.Fprint(conn, "\r\n\r\n\x00\x01GARBAGE HTTP/9\r\n\r\n")
		}
		_, _ = io.Copy(io.Discard, conn) // the server ends the connection
		conn.Close()
	}

	// The server still serves websockets and requests.
	c, _, err = e.dialWS(ctx, "/ws", e.viewer)
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	if _, data, err := c.Read(ctx); err != nil || !strings.Contains(string(data), `"engine"`) {
		t.Fatalf("after garbage: %s %v", data, err)
	}
	if a := e.call(t, "GET", "/healthz", "", ""); a.status != 200 {
		t.Fatalf("healthz after garbage: %d", a.status)
	}
	checkFor(t, 5*time.Second, "the broken clients are gone", func() bool {
		return value(t, e.g.metrics.wsClients) == 1
	})
}

// A query that fails for the engine's own reason is a 500; a bad parameter is a 400.
func TestQueryFailuresAreNotBadRequests(t *testing.T) {
	g := New(NewHub(), Options{Open: true})
	g.HandleQuery("broken", func(*http.Request) (any, error) { return nil, fmt.Errorf("%w: database down", ErrQueryFailed) })
	g.HandleQuery("picky", func(*http.Request) (any, error) { return nil, errors.New("limit: must be 1 to 1000") })
	srv := httptest.NewServer(g.Handler())
	defer srv.Close()
	for path, want := range map[string]int{"/api/v1/queries/broken": 500, "/api/v1/queries/picky": 400} {
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("%s: %d, want %d", path, resp.StatusCode, want)
		}
	}
}

func TestEncodeFrameIsTheJSONOfTheUpdates(t *testing.T) {
	updates := []Update{
		{Topic: "symbol/binance/BTCUSDT", Data: json.RawMessage(`{"price":"97000.12","n":[1,2]}`)},
		{Topic: `odd "topic" ü`, Data: json.RawMessage(`null`)},
	}
	want, err := json.Marshal(updates)
	if err != nil {
		t.Fatal(err)
	}
	if got := encodeFrame(updates); string(got) != string(want) {
		t.Fatalf("frame\n%s\nwant\n%s", got, want)
	}
	if got := encodeFrame(nil); string(got) != "[]" {
		t.Fatalf("empty frame %s", got)
	}
}

// Under /api/ a wrong method or path is answered in JSON like the API's other errors: 405
// naming the methods the endpoint takes, or 404 pointing at the API.
func TestAPIAnswersWrongRoutesInJSON(t *testing.T) {
	e := newEnv(t, Options{})
	for _, tc := range []struct {
		method, path string
		status       int
		allow        string
	}{
		{"POST", "/api/v1/queries/engine", 405, "GET"},
		{"DELETE", "/api/v1/queries/engine", 405, "GET"},
		{"GET", "/api/v1/commands/killswitch.on", 405, "POST"},
		{"PUT", "/api/v1/tokens", 405, "GET, POST"},
		{"GET", "/api/v2/queries/engine", 404, ""},
		{"POST", "/api/v1/commands/", 404, ""},
		{"GET", "/api/nothing", 404, ""},
	} {
		a := e.call(t, tc.method, tc.path, e.admin, "")
		if msg, _ := a.body["error"].(string); a.status != tc.status || msg == "" || a.header.Get("Allow") != tc.allow {
			t.Errorf("%s %s: %d Allow %q %s; want %d Allow %q and a JSON error", tc.method, tc.path, a.status, a.header.Get("Allow"), a.raw, tc.status, tc.allow)
		}
	}
	if a := e.call(t, "GET", "/api/v1/queries/symbols", e.admin, ""); a.status != 200 {
		t.Errorf("a query: %d %s", a.status, a.raw)
	}
}
