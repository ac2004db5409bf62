package binance

import (
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Binance limits each IP's request weight per minute (6000 on spot), REST and WebSocket API
// together. The limiter is an http.RoundTripper under every request of the venue, the
// WebSocket API handshake included, so nothing reaches Binance without passing it:
//
//   - it counts each request's weight in the current minute (Binance's weights, weightOf)
//     and raises the count to X-MBX-USED-WEIGHT-1M when Binance reports more (other
//     clients on the IP); a request that would pass Options.WeightPerMinute is not sent
//     and fails with ErrBudget, saying when the minute ends;
//   - after HTTP 429 it sends nothing until the Retry-After time (ErrRateLimited); calls
//     wait out a short one (Options.MaxRetryWait) and try again;
//   - after HTTP 418 (the IP is banned) it sends nothing at all, the WebSocket API
//     included, until the Retry-After time, logs it at error level and fails every call
//     with ErrBanned.
//
// The user-data subscription, sent on the WebSocket API rather than through here, reserves
// its weight with reserve and reports a 429 or 418 answer with limitedUntil.
//
// It also removes Binance's usage headers from the responses once read: go-binance
// stores them in its Client without a lock, which would be a data race between the
// user-data goroutine and the engine's calls.
type limiter struct {
	base   http.RoundTripper
	budget int
	log    *slog.Logger
	now    func() time.Time

	mu           sync.Mutex
	minute       time.Time // start of the minute counted
	used         int
	backoffUntil time.Time // after a 429
	bannedUntil  time.Time // after a 418
	warnedMinute time.Time // the minute a budget refusal was last logged

	rateLimited, banned, refused atomic.Int64
}

// limitError is a request the limiter did not send, or Binance's 429 or 418.
type limitError struct {
	kind   error // ErrBudget, ErrRateLimited or ErrBanned
	until  time.Time
	sent   bool // Binance answered 429/418 to it (else it was not sent)
	used   int  // ErrBudget: weight used this minute
	budget int
	weight int
	now    time.Time
}

func (e *limitError) Error() string {
	at := fmt.Sprintf("%s (in %v)", e.until.Format("15:04:05"), e.until.Sub(e.now).Round(time.Millisecond))
	switch e.kind {
	case ErrBudget:
		return fmt.Sprintf("%v: %d of %d used this minute and the request weighs %d; it frees up at %s", e.kind, e.used, e.budget, e.weight, at)
	case ErrBanned:
		if e.sent {
			return fmt.Sprintf("%v: Binance banned this IP for too many requests until %s; nothing is sent until then", e.kind, at)
		}
		return fmt.Sprintf("%v: this IP is banned until %s; request not sent", e.kind, at)
	}
	if e.sent {
		return fmt.Sprintf("%v: Binance answered too many requests; backing off until %s", e.kind, at)
	}
	return fmt.Sprintf("%v: backing off until %s; request not sent", e.kind, at)
}

// Unwrap lets errors.Is find ErrBudget, ErrRateLimited or ErrBanned.
func (e *limitError) Unwrap() error { return e.kind }

// wsAPIConnectWeight is the request weight Binance counts for opening a WebSocket API
// connection.
const wsAPIConnectWeight = 2

// weightOf is the request weight Binance counts for a request: order 1, cancel 1, order
// query 4, openOrders 6 (80 without a symbol), myTrades 20, account 20, other REST calls
// 1, and 2 for opening a WebSocket API connection (its handshake).
func weightOf(r *http.Request) int {
	path := r.URL.Path
	switch {
	case path == "/api/v3/order":
		if r.Method == http.MethodGet {
			return 4
		}
		return 1
	case path == "/api/v3/openOrders":
		if r.URL.Query().Get("symbol") == "" {
			return 80
		}
		return 6
	case path == "/api/v3/myTrades", path == "/api/v3/account", path == "/api/v3/exchangeInfo":
		return 20
	case strings.HasSuffix(path, "/ws-api/v3"):
		return wsAPIConnectWeight
	case strings.HasPrefix(path, "/api/"):
		return 1
	}
	return 0
}

// RoundTrip sends r if the budget and Binance's limits allow it.
func (l *limiter) RoundTrip(r *http.Request) (*http.Response, error) {
	weight := weightOf(r)
	if err := l.reserve(weight); err != nil {
		if r.Body != nil {
			r.Body.Close()
		}
		return nil, err
	}
	res, err := l.base.RoundTrip(r)
	if err != nil {
		return nil, err
	}
	if v := res.Header.Get("X-Mbx-Used-Weight-1m"); v != "" {
		if n, err := strconv.Atoi(v); err == nil {
			l.observe(n)
		}
	}
	for _, h := range []string{"X-Mbx-Used-Weight", "X-Mbx-Used-Weight-1m", "X-Mbx-Order-Count-10s", "X-Mbx-Order-Count-1d"} {
		res.Header.Del(h)
	}
	if res.StatusCode == http.StatusTooManyRequests || res.StatusCode == http.StatusTeapot {
		body, _ := io.ReadAll(io.LimitReader(res.Body, 4096))
		res.Body.Close()
		return nil, l.limited(res.StatusCode, res.Header.Get("Retry-After"), body)
	}
	return res, nil
}

// CloseIdleConnections closes the idle connections of the transport underneath.
func (l *limiter) CloseIdleConnections() {
	if c, ok := l.base.(interface{ CloseIdleConnections() }); ok {
		c.CloseIdleConnections()
	}
}

// reserve counts weight in the current minute, or says why the request may not go.
func (l *limiter) reserve(weight int) error {
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	if now.Before(l.bannedUntil) {
		return &limitError{kind: ErrBanned, until: l.bannedUntil, now: now}
	}
	if now.Before(l.backoffUntil) {
		return &limitError{kind: ErrRateLimited, until: l.backoffUntil, now: now}
	}
	if weight == 0 {
		return nil
	}
	if m := now.Truncate(time.Minute); !m.Equal(l.minute) {
		l.minute, l.used = m, 0
	}
	if l.used+weight > l.budget {
		l.refused.Add(1)
		err := &limitError{kind: ErrBudget, until: l.minute.Add(time.Minute), used: l.used, budget: l.budget, weight: weight, now: now}
		if !l.warnedMinute.Equal(l.minute) {
			l.warnedMinute = l.minute
			l.log.Warn("binance: request-weight budget spent, requests refused until the minute ends",
				"used", l.used, "budget", l.budget, "frees_at", err.until)
		}
		return err
	}
	l.used += weight
	return nil
}

// observe raises this minute's count to what Binance reports.
func (l *limiter) observe(used int) {
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	if m := now.Truncate(time.Minute); !m.Equal(l.minute) {
		l.minute, l.used = m, 0
	}
	l.used = max(l.used, used)
}

// limited records a 429 or 418 whose Retry-After header (seconds, or an HTTP date) says
// how long it lasts, and returns its error.
func (l *limiter) limited(status int, retryAfter string, body []byte) error {
	now := l.now()
	var until time.Time
	if secs, err := strconv.Atoi(strings.TrimSpace(retryAfter)); err == nil && secs >= 0 {
		until = now.Add(time.Duration(secs) * time.Second)
	} else if at, err := http.ParseTime(retryAfter); err == nil {
		until = at
	}
	return l.limitedUntil(status, until, body)
}

// limitedUntil records a 429 or 418 that lasts until the given time (zero: unknown, taken
// as 1 s for a 429 and as Binance's shortest ban, 2 minutes, for a 418) and returns its
// error.
func (l *limiter) limitedUntil(status int, until time.Time, body []byte) error {
	now := l.now()
	if until.IsZero() {
		until = now.Add(time.Second)
		if status == http.StatusTeapot {
			until = now.Add(2 * time.Minute)
		}
	}
	wait := until.Sub(now)
	l.mu.Lock()
	defer l.mu.Unlock()
	if status == http.StatusTeapot {
		l.banned.Add(1)
		l.bannedUntil = until
		l.log.Error("binance: IP BANNED by Binance (HTTP 418) for exceeding the request limits: nothing will be sent until the ban ends",
			"until", until, "retry_after", wait.String(), "answer", string(body))
		return &limitError{kind: ErrBanned, until: until, sent: true, now: now}
	}
	l.rateLimited.Add(1)
	l.backoffUntil = until
	l.log.Warn("binance: rate limited (HTTP 429), backing off", "until", until, "retry_after", wait.String(), "answer", string(body))
	return &limitError{kind: ErrRateLimited, until: until, sent: true, now: now}
}
