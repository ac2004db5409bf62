package binance

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"strings"
	"testing"
	"time"
)

// sign reproduces the HMAC example of Binance's WebSocket API documentation ("SIGNED
// request example (HMAC)": the parameters sorted by name, name=value joined by '&').
func TestSignMatchesBinanceExample(t *testing.T) {
	params := url.Values{
		"apiKey": {"vmPUZE6mv9SD5VNHk4HlWFsOr6aKE2zvsw0MuIgwCIPy6utIco14y7Ju91duEh8A"}, "newOrderRespType": {"ACK"},
		"price": {"52000.00"}, "quantity": {"0.01000000"}, "recvWindow": {"100"}, "side": {"SELL"}, "symbol": {"BTCUSDT"},
		"timeInForce": {"GTC"}, "timestamp": {"1645423376532"}, "type": {"LIMIT"},
	}
	const want = "cc15477742bd704c29492d96c7ead9414dfd8e0ec4a00f947bb5bb454ddbd08a"
	if got := sign("NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j", params); got != want {
		t.Errorf("signature %s, want %s", got, want)
	}
}

// The subscription request carries the key, the timestamp as a number and the signature of
// "apiKey=<key>&timestamp=<ms>".
func TestSubscribeRequest(t *testing.T) {
	var req struct {
		ID     string `json:"id"`
		Method string `json:"method"`
		Params struct {
			APIKey    string `json:"apiKey"`
			Timestamp int64  `json:"timestamp"`
			Signature string `json:"signature"`
		} `json:"params"`
	}
	if err := json.Unmarshal(subscribeRequest("syn-subscribe-1", "k3y", "s3cret", 1700000000123), &req); err != nil {
		t.Fatal(err)
	}
	want := sign("s3cret", url.Values{"timestamp": {"1700000000123"}, "apiKey": {"k3y"}})
	if req.ID != "syn-subscribe-1" || req.Method != "userDataStream.subscribe.signature" || req.Params.APIKey != "k3y" ||
		req.Params.Timestamp != 1700000000123 || req.Params.Signature != want {
		t.Errorf("request %+v, want signature %s", req, want)
	}
}

// The answer to the subscription: its ID; Binance's refusals with the fix; a 429 or 418
// backs the venue off; the weight Binance reports is counted.
func TestSubscribeAnswer(t *testing.T) {
	now := time.Date(2026, 11, 22, 12, 0, 10, 0, time.UTC)
	v := &Venue{limits: &limiter{base: answer(200, nil), budget: 100, log: slog.New(slog.NewTextHandler(io.Discard, nil)),
		now: func() time.Time { return now }}}
	read := func(data string) (int64, error) {
		t.Helper()
		a, ok := decodeAnswer([]byte(data), "sub")
		if !ok {
			t.Fatalf("%s not read as the answer", data)
		}
		return v.subscribed(a, []byte(data))
	}
	for _, other := range []string{`{"subscriptionId":0,"event":{"e":"executionReport"}}`, `{"id":"other","status":200,"result":{}}`, `nope`} {
		if _, ok := decodeAnswer([]byte(other), "sub"); ok {
			t.Errorf("%s read as the answer", other)
		}
	}
	limits := `"rateLimits":[{"rateLimitType":"REQUEST_WEIGHT","interval":"MINUTE","intervalNum":1,"limit":6000,"count":42}]`
	if id, err := read(`{"id":"sub","status":200,"result":{"subscriptionId":3},` + limits + `}`); err != nil || id != 3 {
		t.Errorf("accepted: %d %v", id, err)
	}
	if v.limits.used != 42 {
		t.Errorf("weight %d after Binance reported 42", v.limits.used)
	}
	_, err := read(`{"id":"sub","status":401,"error":{"code":-2015,"msg":"Invalid API-key, IP, or permissions for action."}}`)
	if !errors.Is(err, ErrKeys) || !strings.Contains(err.Error(), EnvAPIKey) {
		t.Errorf("-2015: %v", err)
	}
	_, err = read(`{"id":null,"status":400,"error":{"code":-1021,"msg":"Timestamp for this request is outside of the recvWindow."}}`)
	if errors.Is(err, ErrKeys) || !strings.Contains(err.Error(), "NTP") {
		t.Errorf("-1021: %v", err)
	}
	retryAfter := now.Add(5 * time.Second).UnixMilli()
	_, err = read(fmt.Sprintf(`{"id":"sub","status":429,"error":{"code":-1003,"msg":"Too much request weight used","data":{"retryAfter":%d}}}`, retryAfter))
	if !errors.Is(err, ErrRateLimited) || !v.limits.backoffUntil.Equal(time.UnixMilli(retryAfter)) {
		t.Errorf("429: %v, backing off until %v", err, v.limits.backoffUntil)
	}
	_, err = read(`{"id":"sub","status":418,"error":{"code":-1003,"msg":"Way too much request weight used; IP banned"}}`)
	if !errors.Is(err, ErrBanned) || !v.limits.bannedUntil.Equal(now.Add(2*time.Minute)) {
		t.Errorf("418: %v, banned until %v", err, v.limits.bannedUntil)
	}
}
