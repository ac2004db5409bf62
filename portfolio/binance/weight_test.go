package binance

import (
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestWeightOf(t *testing.T) {
	for _, tc := range []struct {
		method, url string
		want        int
	}{
		{"POST", "/api/v3/order", 1}, {"DELETE", "/api/v3/order", 1}, {"GET", "/api/v3/order?symbol=X", 4},
		{"GET", "/api/v3/openOrders", 80}, {"GET", "/api/v3/openOrders?symbol=BTCUSDT", 6},
		{"GET", "/api/v3/myTrades?symbol=X&orderId=1", 20}, {"GET", "/api/v3/account", 20},
		{"GET", "/api/v3/time", 1}, {"GET", "/ws-api/v3", 2}, {"GET", "/favicon.ico", 0},
	} {
		r := httptest.NewRequest(tc.method, "http://x"+tc.url, nil)
		if got := weightOf(r); got != tc.want {
			t.Errorf("%s %s: weight %d, want %d", tc.method, tc.url, got, tc.want)
		}
	}
}

// roundTrip is a transport answering with a fixed status and headers.
type roundTrip func(*http.Request) (*http.Response, error)

func (f roundTrip) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func answer(status int, headers map[string]string) roundTrip {
	return func(r *http.Request) (*http.Response, error) {
		h := http.Header{}
		for k, v := range headers {
			h.Set(k, v)
		}
		return &http.Response{StatusCode: status, Header: h, Body: io.NopCloser(strings.NewReader(`{}`)), Request: r}, nil
	}
}

func TestLimiter(t *testing.T) {
	now := time.Date(2025, 3, 1, 12, 0, 59, 0, time.UTC)
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	l := &limiter{base: answer(200, map[string]string{"X-MBX-USED-WEIGHT-1M": "30"}), budget: 40, log: quiet, now: func() time.Time { return now }}
	get := func(path string) error {
		res, err := l.RoundTrip(httptest.NewRequest("GET", "http://x"+path, nil))
		if err == nil {
			if res.Header.Get("X-Mbx-Used-Weight-1m") != "" {
				t.Error("the usage header reached go-binance")
			}
			res.Body.Close()
		}
		return err
	}
	if err := get("/api/v3/account"); err != nil { // 20, then Binance says 30
		t.Fatal(err)
	}
	if err := get("/api/v3/order"); err != nil { // 34
		t.Fatal(err)
	}
	err := get("/api/v3/order") // 38 ok
	if err != nil {
		t.Fatal(err)
	}
	err = get("/api/v3/order")
	var le *limitError
	if !errors.As(err, &le) || !errors.Is(err, ErrBudget) || !le.until.Equal(now.Add(time.Second)) {
		t.Fatalf("over budget: %v", err)
	}
	now = now.Add(time.Second) // a new minute
	l.base = answer(429, map[string]string{"Retry-After": "7"})
	if err := get("/api/v3/order"); !errors.Is(err, ErrRateLimited) || !strings.Contains(err.Error(), "Binance answered") {
		t.Fatalf("429: %v", err)
	}
	l.base = answer(200, nil)
	now = now.Add(6 * time.Second)
	if err := get("/api/v3/order"); !errors.Is(err, ErrRateLimited) || !strings.Contains(err.Error(), "in 1s") {
		t.Errorf("during the backoff: %v", err)
	}
	now = now.Add(time.Second)
	if err := get("/api/v3/order"); err != nil {
		t.Errorf("after the backoff: %v", err)
	}
	l.base = answer(418, nil) // no Retry-After: Binance's shortest ban, 2 minutes
	if err := get("/api/v3/order"); !errors.Is(err, ErrBanned) || !l.bannedUntil.Equal(now.Add(2*time.Minute)) {
		t.Errorf("418: %v, until %v", err, l.bannedUntil)
	}
	l.base = answer(200, nil)
	if err := get("/ws-api/v3"); !errors.Is(err, ErrBanned) {
		t.Errorf("the WebSocket API while banned: %v", err)
	}
	if l.rateLimited.Load() != 1 || l.banned.Load() != 1 || l.refused.Load() != 1 {
		t.Errorf("counters %d %d %d", l.rateLimited.Load(), l.banned.Load(), l.refused.Load())
	}
}
