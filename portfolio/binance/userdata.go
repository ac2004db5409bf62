package binance

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strconv"
	"time"

	"github.com/coder/websocket"
	"github.com/jpillora/backoff"

	"github.com/synapse-trading/synapse/streams"
)

// The user-data stream: a connection to Binance's WebSocket API (Options.StreamURL), read
// with coder/websocket (go-binance's websocket helpers leave goroutines behind), on which
// the venue subscribes to the account's events with userDataStream.subscribe.signature:
//
//	{"id":"syn-subscribe-<ms>","method":"userDataStream.subscribe.signature",
//	 "params":{"apiKey":"<key>","timestamp":<ms>,"signature":"<hex>"}}
//
// signed as every SIGNED WebSocket API request: HMAC-SHA256 with the secret key of the
// parameters but the signature, sorted by name, written name=value and joined by '&'
// ("apiKey=<key>&timestamp=<ms>"), in hex. Binance answers {"id":...,"status":200,
// "result":{"subscriptionId":N}} and then pushes {"subscriptionId":N,"event":{...}} frames,
// the executionReports among them. (Binance removed the listenKey endpoints,
// /api/v3/userDataStream, on 2026-02-20; a subscription needs no keepalive and lasts as
// long as its connection, at most 24 hours.)
//
// When the connection drops, or Binance ends the subscription (eventStreamTerminated),
// the venue reconnects with backoff, subscribes again with a fresh timestamp and then
// catches up: it reads every order it tracks that is not done (GET /api/v3/order, and GET
// /api/v3/myTrades when Binance filled more than was reported) and reports what it
// missed, so no fill is lost.

const (
	methodSubscribe  = "userDataStream.subscribe.signature"
	subscribeWeight  = 2                // Binance's request weight of the subscription
	subscribeTimeout = 10 * time.Second // dialling and subscribing, together
)

// errStreamTerminated ends a connection whose subscription Binance ended; the venue
// reconnects and subscribes again.
var errStreamTerminated = errors.New("binance ended the user-data subscription (eventStreamTerminated)")

// connect opens a WebSocket API connection and subscribes it to the user-data stream.
func (v *Venue) connect(ctx context.Context) (*websocket.Conn, error) {
	ctx, cancel := context.WithTimeout(ctx, subscribeTimeout)
	defer cancel()
	conn, _, err := websocket.Dial(ctx, v.opts.StreamURL, &websocket.DialOptions{HTTPClient: v.wsHTTP})
	if err != nil {
		var le *limitError
		if errors.As(err, &le) {
			return nil, fmt.Errorf("dialling the WebSocket API: %w", le)
		}
		return nil, fmt.Errorf("dialling the WebSocket API at %s: %w", v.opts.StreamURL, err)
	}
	conn.SetReadLimit(1 << 20)
	id, err := v.subscribe(ctx, conn)
	if err != nil {
		conn.CloseNow()
		return nil, err
	}
	v.counters.connects.Add(1)
	v.log.Info("binance: user-data stream subscribed", "subscription_id", id)
	return conn, nil
}

// subscribe sends userDataStream.subscribe.signature on conn, with a timestamp on
// Binance's clock, and waits for its answer; it returns the subscription's ID.
func (v *Venue) subscribe(ctx context.Context, conn *websocket.Conn) (int64, error) {
	if err := v.limits.reserve(subscribeWeight); err != nil {
		return 0, fmt.Errorf("subscribing to the user-data stream: %w", err)
	}
	ts := time.Now().UnixMilli() - v.client.TimeOffset
	id := "syn-subscribe-" + strconv.FormatInt(ts, 10)
	if err := conn.Write(ctx, websocket.MessageText, subscribeRequest(id, v.opts.APIKey, v.opts.SecretKey, ts)); err != nil {
		return 0, fmt.Errorf("sending the user-data subscription: %w", err)
	}
	for {
		_, data, err := conn.Read(ctx)
		if err != nil {
			return 0, fmt.Errorf("waiting for the answer to the user-data subscription (is StreamURL %s the WebSocket API?): %w", v.opts.StreamURL, err)
		}
		if answer, ok := decodeAnswer(data, id); ok {
			return v.subscribed(answer, data)
		}
	}
}

// subscribeRequest is the signed userDataStream.subscribe.signature request.
func subscribeRequest(id, apiKey, secret string, timestamp int64) []byte {
	params := url.Values{"apiKey": {apiKey}, "timestamp": {strconv.FormatInt(timestamp, 10)}}
	req, _ := json.Marshal(map[string]any{"id": id, "method": methodSubscribe, "params": map[string]any{
		"apiKey": apiKey, "timestamp": timestamp, "signature": sign(secret, params)}})
	return req
}

// sign is the signature of a SIGNED request with an HMAC key: HMAC-SHA256 with the secret
// key of the parameters sorted by name, as name=value joined by '&', in hex.
func sign(secret string, params url.Values) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(params.Encode()))
	return hex.EncodeToString(mac.Sum(nil))
}

// wsAnswer is the WebSocket API's answer to a request.
type wsAnswer struct {
	Status int `json:"status"`
	Result *struct {
		SubscriptionID *int64 `json:"subscriptionId"`
	} `json:"result"`
	Error *struct {
		Code int64  `json:"code"`
		Msg  string `json:"msg"`
		Data struct {
			RetryAfter int64 `json:"retryAfter"` // 429 and 418: when the backoff or ban ends, in ms
		} `json:"data"`
	} `json:"error"`
	RateLimits []struct {
		Type        string `json:"rateLimitType"`
		Interval    string `json:"interval"`
		IntervalNum int    `json:"intervalNum"`
		Count       int    `json:"count"`
	} `json:"rateLimits"`
}

// decodeAnswer reads data as the answer to request id (or to a request Binance could not
// read, id null); ok is false for any other message.
func decodeAnswer(data []byte, id string) (answer wsAnswer, ok bool) {
	var head struct {
		ID json.RawMessage `json:"id"`
	}
	if json.Unmarshal(data, &head) != nil || len(head.ID) == 0 {
		return answer, false
	}
	want, _ := json.Marshal(id)
	if !bytes.Equal(head.ID, want) && string(head.ID) != "null" {
		return answer, false
	}
	if json.Unmarshal(data, &answer) != nil || answer.Status == 0 {
		return answer, false
	}
	return answer, true
}

// subscribed reads the answer to the subscription: the subscription's ID, or why Binance
// refused it. A 429 or 418 backs the venue off as a REST one does.
func (v *Venue) subscribed(answer wsAnswer, data []byte) (int64, error) {
	for _, l := range answer.RateLimits {
		if l.Type == "REQUEST_WEIGHT" && l.Interval == "MINUTE" && l.IntervalNum == 1 {
			v.limits.observe(l.Count)
		}
	}
	if answer.Status == 200 && answer.Result != nil && answer.Result.SubscriptionID != nil {
		return *answer.Result.SubscriptionID, nil
	}
	if answer.Status == 429 || answer.Status == 418 {
		var until time.Time
		if answer.Error != nil && answer.Error.Data.RetryAfter > 0 {
			until = time.UnixMilli(answer.Error.Data.RetryAfter)
		}
		return 0, fmt.Errorf("subscribing to the user-data stream: %w", v.limits.limitedUntil(answer.Status, until, data))
	}
	if answer.Error == nil {
		return 0, fmt.Errorf("subscribing to the user-data stream: Binance answered status %d without a subscription", answer.Status)
	}
	return 0, subscribeRefused(answer.Status, answer.Error.Code, answer.Error.Msg)
}

// subscribeRefused says why Binance refused the subscription and how to fix it; a refusal
// of the keys wraps ErrKeys.
func subscribeRefused(status int, code int64, msg string) error {
	refused := fmt.Sprintf("Binance refused the user-data subscription (status %d, %d: %s)", status, code, msg)
	switch code {
	case codeBadSignature:
		return fmt.Errorf("%w: %s: the secret key does not sign for this API key: set %s to the secret key of the API key in %s "+
			"(the venue signs with HMAC-SHA256: use an HMAC API key, not an Ed25519 or RSA one)", ErrKeys, refused, EnvAPISecret, EnvAPIKey)
	case codeBadAPIKeyFormat, codeRejectedAPIKey:
		return fmt.Errorf("%w: %s: check %s, and that the key is enabled, allows this IP and may trade spot", ErrKeys, refused, EnvAPIKey)
	case codeTimestamp:
		return fmt.Errorf("%s: this machine's clock is more than 5 s off Binance's: synchronise it (NTP)", refused)
	}
	return errors.New(refused)
}

// stream reads the user-data connection until Close, reconnecting and subscribing again
// whenever it drops or its subscription ends.
func (v *Venue) stream(conn *websocket.Conn) {
	defer v.wg.Done()
	delays := &backoff.Backoff{Min: v.opts.MinBackoff, Max: v.opts.MaxBackoff, Factor: 2, Jitter: true}
	var delay time.Duration
	for {
		if conn != nil {
			began := time.Now()
			err := v.read(conn)
			conn.CloseNow()
			if v.ctx.Err() != nil {
				return
			}
			if time.Since(began) >= time.Minute {
				delays.Reset()
			}
			delay = delays.Duration()
			v.log.Warn("binance: user-data stream lost, reconnecting", "err", err, "in", delay.String())
		}
		if streams.Sleep(v.ctx, delay) != nil {
			return
		}
		v.counters.reconnects.Add(1)
		var err error
		if conn, err = v.connect(v.ctx); err != nil {
			if v.ctx.Err() != nil {
				return
			}
			delay = delays.Duration()
			var le *limitError
			if errors.As(err, &le) { // no use trying before the budget, backoff or ban ends
				delay = max(delay, le.until.Sub(v.limits.now()))
			}
			level := slog.LevelWarn
			if errors.Is(err, ErrKeys) { // no fill is reported until the keys are fixed
				level = slog.LevelError
			}
			v.log.Log(v.ctx, level, "binance: user-data stream reconnect failed", "err", err, "attempt", int(delays.Attempt()), "next_in", delay.String())
			continue
		}
		v.catchUp()
	}
}

// read handles the connection's messages until it fails; a ping unanswered for
// PingInterval closes it.
func (v *Venue) read(conn *websocket.Conn) error {
	ctx, stop := context.WithCancel(v.ctx)
	pinger := make(chan struct{})
	defer func() {
		stop()
		<-pinger
	}()
	go func() {
		defer close(pinger)
		tick := time.NewTicker(v.opts.PingInterval)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			pctx, cancel := context.WithTimeout(ctx, v.opts.PingInterval)
			err := conn.Ping(pctx)
			cancel()
			if err != nil && ctx.Err() == nil {
				v.log.Warn("binance: user-data stream did not answer a ping, reconnecting", "err", err)
				conn.CloseNow()
				return
			}
		}
	}()
	for {
		_, data, err := conn.Read(ctx)
		if err != nil {
			return err
		}
		v.counters.frames.Add(1)
		event, ex, err := decodeUserFrame(data)
		if err != nil {
			v.counters.malformed.Add(1)
			const show = 200
			v.log.Warn("binance: malformed user-data message skipped", "err", err, "message", string(data[:min(len(data), show)]))
			continue
		}
		switch event {
		case eventExecutionReport:
			v.onExecution(ex)
		case eventStreamTerminated:
			return errStreamTerminated
		}
	}
}

// catchUp starts a catch-up pass, retried with backoff until it succeeds; a newer pass
// replaces a running one. It does nothing once the venue is closed.
func (v *Venue) catchUp() {
	v.mu.Lock()
	if v.closed {
		v.mu.Unlock()
		return
	}
	v.catchGen++
	gen := v.catchGen
	v.wg.Add(1)
	v.mu.Unlock()
	go func() {
		defer v.wg.Done()
		delays := &backoff.Backoff{Min: v.opts.MinBackoff, Max: v.opts.MaxBackoff, Factor: 2, Jitter: true}
		for {
			err := v.catchUpPass(v.ctx)
			if err == nil {
				v.counters.catchUps.Add(1)
				return
			}
			if v.ctx.Err() != nil {
				return
			}
			// Past a budget, backoff or ban there is no point trying before it ends.
			delay := delays.Duration()
			var le *limitError
			if errors.As(err, &le) {
				delay = max(delay, le.until.Sub(v.limits.now()))
			}
			v.log.Warn("binance: catching up on missed reports failed; retrying", "err", err, "in", delay.String())
			if streams.Sleep(v.ctx, delay) != nil {
				return
			}
			v.mu.Lock()
			stale := gen != v.catchGen
			v.mu.Unlock()
			if stale {
				return
			}
		}
	}()
}

// catchUpPass reads every tracked order that is not done and reports what was missed.
func (v *Venue) catchUpPass(ctx context.Context) error {
	v.mu.Lock()
	var todo []*tracked
	for _, t := range v.orders {
		if !t.done() {
			todo = append(todo, t)
		}
	}
	v.mu.Unlock()
	var errs []error
	for _, t := range todo {
		if _, err := v.refresh(ctx, t, ""); err != nil {
			errs = append(errs, fmt.Errorf("order %s: %w", t.tmpl.ClientOrderID, err))
		}
	}
	return errors.Join(errs...)
}
