package binancetest

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	gobinance "github.com/adshao/go-binance/v2"
	"github.com/adshao/go-binance/v2/common"
	"github.com/coder/websocket"
	"github.com/govalues/decimal"
)

const (
	testKey    = "fake-key-123"
	testSecret = "fake-secret-456"
)

func dec(s string) decimal.Decimal { return decimal.MustParse(s) }

// tradingServer is a fake with an account of 100000 USDT and 2 BTC, a 0.1% fee, and
// BTCUSDT market orders filling at 50000 in 3 parts.
func tradingServer(t *testing.T) (*Server, *gobinance.Client) {
	t.Helper()
	srv := NewServer(Options{})
	t.Cleanup(srv.Close)
	srv.SetAccount(Account{APIKey: testKey, SecretKey: testSecret, Commission: dec("0.001"),
		Balances: map[string]decimal.Decimal{"USDT": dec("100000"), "BTC": dec("2")}})
	srv.SetSymbol(Symbol{Name: "BTCUSDT", Base: "BTC", Quote: "USDT", Price: dec("50000"), Parts: 3})
	c := gobinance.NewClient(testKey, testSecret)
	c.BaseURL = srv.URL()
	return srv, c
}

func apiCode(t *testing.T, err error) (int64, string) {
	t.Helper()
	var e *common.APIError
	if !errors.As(err, &e) {
		t.Fatalf("error %v is not Binance's", err)
	}
	return e.Code, e.Message
}

// sign is Binance's HMAC-SHA256 signature of payload with secret, in hex.
func sign(secret, payload string) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(payload))
	return hex.EncodeToString(mac.Sum(nil))
}

// subscribeRequest is a userDataStream.subscribe.signature request signed with secret.
func subscribeRequest(id any, key, secret string, ts int64) map[string]any {
	return map[string]any{"id": id, "method": "userDataStream.subscribe.signature", "params": map[string]any{
		"apiKey": key, "timestamp": ts, "signature": sign(secret, fmt.Sprintf("apiKey=%s&timestamp=%d", key, ts))}}
}

// wsClient is a WebSocket API connection to the fake.
type wsClient struct {
	t    *testing.T
	conn *websocket.Conn
}

func dialWSAPI(t *testing.T, srv *Server) *wsClient {
	t.Helper()
	conn, _, err := websocket.Dial(context.Background(), srv.WebSocketAPIURL(), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.CloseNow() })
	return &wsClient{t: t, conn: conn}
}

// send writes one request.
func (c *wsClient) send(req any) {
	c.t.Helper()
	if err := c.conn.Write(context.Background(), websocket.MessageText, mustJSON(req)); err != nil {
		c.t.Fatal(err)
	}
}

// next reads the next frame.
func (c *wsClient) next() map[string]any {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, data, err := c.conn.Read(ctx)
	if err != nil {
		c.t.Fatalf("reading the WebSocket API: %v", err)
	}
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		c.t.Fatal(err)
	}
	return m
}

// call sends a request and reads its answer.
func (c *wsClient) call(req any) map[string]any {
	c.t.Helper()
	c.send(req)
	return c.next()
}

// errorCode is the status and Binance error code of a WebSocket API answer (0 if none).
func errorCode(answer map[string]any) (status, code int) {
	status = int(answer["status"].(float64))
	if e, ok := answer["error"].(map[string]any); ok {
		code = int(e["code"].(float64))
	}
	return status, code
}

// userStream subscribes to the user-data stream on a new WebSocket API connection and
// returns a function reading its next event, unwrapped.
func userStream(t *testing.T, srv *Server) func() map[string]any {
	t.Helper()
	c := dialWSAPI(t, srv)
	answer := c.call(subscribeRequest("sub-1", testKey, testSecret, time.Now().UnixMilli()))
	result, _ := answer["result"].(map[string]any)
	if answer["id"] != "sub-1" || answer["status"] != float64(200) || result["subscriptionId"] != float64(0) {
		t.Fatalf("subscribe answer %v", answer)
	}
	return func() map[string]any {
		t.Helper()
		f := c.next()
		event, ok := f["event"].(map[string]any)
		if !ok || f["subscriptionId"] != float64(0) {
			t.Fatalf("frame %v is not an event of subscription 0", f)
		}
		return event
	}
}

// A market order fills in parts; its FULL answer, its frames, the trades, the account and
// go-binance's own decoding of the frames agree.
func TestMarketOrderOverGoBinance(t *testing.T) {
	srv, c := tradingServer(t)
	next := userStream(t, srv)
	ctx := context.Background()
	res, err := c.NewCreateOrderService().Symbol("BTCUSDT").Side(gobinance.SideTypeBuy).Type(gobinance.OrderTypeMarket).
		Quantity("0.3").NewClientOrderID("syn-abc").NewOrderRespType(gobinance.NewOrderRespTypeFULL).Do(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != gobinance.OrderStatusTypeFilled || len(res.Fills) != 3 || res.ExecutedQuantity != "0.30000000" ||
		res.Fills[0].Quantity != "0.10000000" || res.Fills[0].Commission != "0.00010000" || res.Fills[0].CommissionAsset != "BTC" {
		t.Fatalf("answer %+v", res)
	}
	newFrame := next()
	if newFrame["e"] != "executionReport" || newFrame["x"] != "NEW" || newFrame["c"] != "syn-abc" || newFrame["N"] != nil ||
		newFrame["q"] != "0.30000000" || newFrame["t"] != float64(-1) || newFrame["n"] != "0" {
		t.Errorf("NEW frame %v", newFrame)
	}
	for i := range 3 {
		f := next()
		data, _ := json.Marshal(f)
		var u gobinance.WsOrderUpdate
		if err := json.Unmarshal(data, &u); err != nil {
			t.Fatal(err)
		}
		want := []string{"0.10000000", "0.20000000", "0.30000000"}[i]
		if u.ExecutionType != "TRADE" || u.FilledVolume != want || u.LatestVolume != "0.10000000" || u.LatestPrice != "50000.00000000" ||
			u.FeeAsset != "BTC" || u.FeeCost != "0.00010000" || u.TradeId != res.Fills[i].TradeID || u.Id != res.OrderID {
			t.Errorf("TRADE frame %d: %+v", i, u)
		}
		for _, k := range []string{"q", "p", "l", "z", "L", "n", "Z", "Y", "Q", "P", "F"} {
			if _, ok := f[k].(string); !ok {
				t.Errorf("frame field %s = %#v, Binance sends a string", k, f[k])
			}
		}
	}
	trades, err := c.NewListTradesService().Symbol("BTCUSDT").OrderId(res.OrderID).Do(ctx)
	if err != nil || len(trades) != 3 || trades[2].QuoteQuantity != "5000.00000000" || !trades[0].IsBuyer || trades[0].IsMaker {
		t.Fatalf("myTrades %+v, %v", trades, err)
	}
	acct, err := c.NewGetAccountService().Do(ctx)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, b := range acct.Balances {
		got[b.Asset] = b.Free
	}
	if got["BTC"] != "2.29970000" || got["USDT"] != "85000.00000000" {
		t.Errorf("balances %v, want BTC 2.2997 (0.3 less 0.0003 fee) and USDT 85000", got)
	}
}

// A limit order rests and locks its funds; FillOrder fills it as maker; a duplicate open
// client ID is refused; cancels, queries and outside cancels answer as Binance does.
func TestLimitOrderLifecycle(t *testing.T) {
	srv, c := tradingServer(t)
	next := userStream(t, srv)
	ctx := context.Background()
	place := func() (*gobinance.CreateOrderResponse, error) {
		return c.NewCreateOrderService().Symbol("BTCUSDT").Side(gobinance.SideTypeSell).Type(gobinance.OrderTypeLimit).
			TimeInForce(gobinance.TimeInForceTypeGTC).Quantity("1").Price("60000").NewClientOrderID("syn-lim").Do(ctx)
	}
	res, err := place()
	if err != nil || res.Status != gobinance.OrderStatusTypeNew {
		t.Fatalf("%+v, %v", res, err)
	}
	if b := srv.Balances()["BTC"]; b.Free.Cmp(dec("1")) != 0 || b.Locked.Cmp(dec("1")) != 0 {
		t.Errorf("BTC %+v, want 1 free and 1 locked", b)
	}
	if _, err := place(); err == nil {
		t.Fatal("a duplicate open client ID was accepted")
	} else if code, msg := apiCode(t, err); code != -2010 || msg != "Duplicate order sent." {
		t.Errorf("duplicate: %d %s", code, msg)
	}
	if len(srv.Orders()) != 1 || srv.TradingStats().Duplicates != 1 {
		t.Errorf("%d orders, stats %+v", len(srv.Orders()), srv.TradingStats())
	}
	next() // NEW
	if err := srv.FillOrder("syn-lim", dec("0.4"), dec("60000")); err != nil {
		t.Fatal(err)
	}
	trade := next()
	if trade["x"] != "TRADE" || trade["X"] != "PARTIALLY_FILLED" || trade["m"] != true || trade["N"] != "USDT" || trade["n"] != "24.00000000" {
		t.Errorf("TRADE frame %v", trade)
	}
	o, err := c.NewGetOrderService().Symbol("BTCUSDT").OrigClientOrderID("syn-lim").Do(ctx)
	if err != nil || o.ExecutedQuantity != "0.40000000" || o.Status != gobinance.OrderStatusTypePartiallyFilled {
		t.Fatalf("query %+v, %v", o, err)
	}
	open, err := c.NewListOpenOrdersService().Do(ctx)
	if err != nil || len(open) != 1 || open[0].ClientOrderID != "syn-lim" {
		t.Fatalf("openOrders %+v, %v", open, err)
	}
	if err := srv.CancelOutside("syn-lim"); err != nil {
		t.Fatal(err)
	}
	canceled := next()
	if canceled["x"] != "CANCELED" || canceled["C"] != "syn-lim" || !strings.HasPrefix(canceled["c"].(string), "web_") {
		t.Errorf("CANCELED frame %v", canceled)
	}
	if b := srv.Balances()["BTC"]; b.Free.Cmp(dec("1.6")) != 0 || !b.Locked.IsZero() {
		t.Errorf("BTC %+v after the cancel, want 1.6 free", b)
	}
	_, err = c.NewCancelOrderService().Symbol("BTCUSDT").OrigClientOrderID("syn-lim").Do(ctx)
	if code, _ := apiCode(t, err); code != -2011 {
		t.Errorf("cancel of a canceled order: %d", code)
	}
	_, err = c.NewGetOrderService().Symbol("BTCUSDT").OrigClientOrderID("syn-none").Do(ctx)
	if code, msg := apiCode(t, err); code != -2013 || msg != "Order does not exist." {
		t.Errorf("query of an unknown order: %d %s", code, msg)
	}
	// The client ID is free again once the order is closed, as on Binance.
	if res, err := place(); err != nil || res.OrderID == o.OrderID {
		t.Errorf("placing again after the cancel: %+v, %v", res, err)
	}
	res2, err := c.NewCancelOrderService().Symbol("BTCUSDT").OrigClientOrderID("syn-lim").Do(ctx)
	if err != nil || res2.Status != gobinance.OrderStatusTypeCanceled || res2.OrigClientOrderID != "syn-lim" {
		t.Errorf("cancel %+v, %v", res2, err)
	}
}

func TestAuthentication(t *testing.T) {
	srv, _ := tradingServer(t)
	ctx := context.Background()
	for _, tc := range []struct {
		key, secret string
		code        int64
	}{{"wrong", testSecret, -2015}, {testKey, "wrong", -1022}, {"", testSecret, -2014}} {
		c := gobinance.NewClient(tc.key, tc.secret)
		c.BaseURL = srv.URL()
		_, err := c.NewGetAccountService().Do(ctx)
		if code, _ := apiCode(t, err); code != tc.code {
			t.Errorf("key %q secret %q: code %d, want %d", tc.key, tc.secret, code, tc.code)
		}
	}
	c := gobinance.NewClient(testKey, testSecret)
	c.BaseURL = srv.URL()
	c.TimeOffset = 60000 // a clock a minute late
	_, err := c.NewGetAccountService().Do(ctx)
	if code, _ := apiCode(t, err); code != -1021 {
		t.Errorf("stale timestamp: %d", code)
	}
	if srv.TradingStats().AuthErrors != 4 {
		t.Errorf("stats %+v", srv.TradingStats())
	}
}

// FailNext answers 429 and 418 with Retry-After; every answer reports the used weight.
func TestFailNextAndWeight(t *testing.T) {
	srv, _ := tradingServer(t)
	get := func() *http.Response {
		query := fmt.Sprintf("timestamp=%d", time.Now().UnixMilli())
		req, _ := http.NewRequest(http.MethodGet, srv.URL()+"/api/v3/account?"+query+"&signature="+sign(testSecret, query), nil)
		req.Header.Set("X-MBX-APIKEY", testKey)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res
	}
	srv.FailNext(2, http.StatusTooManyRequests, 1500*time.Millisecond)
	for range 2 {
		if res := get(); res.StatusCode != 429 || res.Header.Get("Retry-After") != "2" {
			t.Errorf("status %d Retry-After %q", res.StatusCode, res.Header.Get("Retry-After"))
		}
	}
	srv.FailNext(1, http.StatusTeapot, time.Minute)
	if res := get(); res.StatusCode != 418 || res.Header.Get("Retry-After") != "60" {
		t.Errorf("status %d", res.StatusCode)
	}
	res := get()
	if res.StatusCode != 200 || res.Header.Get("X-MBX-USED-WEIGHT-1M") == "" {
		t.Errorf("status %d, weight %q", res.StatusCode, res.Header.Get("X-MBX-USED-WEIGHT-1M"))
	}
	srv.SetUsedWeight(1000)
	if res := get(); res.Header.Get("X-MBX-USED-WEIGHT-1M") != "1020" {
		t.Errorf("weight %q after SetUsedWeight(1000) and a request of 20", res.Header.Get("X-MBX-USED-WEIGHT-1M"))
	}
	if st := srv.TradingStats(); st.Failed != 3 || st.Requests != 5 {
		t.Errorf("stats %+v", st)
	}
}

// The WebSocket API checks a subscription's key, signature and timestamp as Binance does
// and answers with Binance's codes; the listenKey endpoints answer 410 Gone.
func TestWebSocketAPISubscription(t *testing.T) {
	srv, _ := tradingServer(t)
	c := dialWSAPI(t, srv)
	now := time.Now().UnixMilli()
	missing := subscribeRequest(7, testKey, testSecret, now)
	delete(missing["params"].(map[string]any), "signature")
	for _, tc := range []struct {
		what         string
		req          map[string]any
		status, code int
	}{
		{"wrong secret", subscribeRequest(1, testKey, "wrong", now), 400, -1022},
		{"wrong key", subscribeRequest(2, "wrong", testSecret, now), 401, -2015},
		{"no signature", missing, 400, -1102},
		{"a minute late", subscribeRequest(3, testKey, testSecret, now-60000), 400, -1021},
		{"unknown method", map[string]any{"id": 4, "method": "session.logon"}, 400, -1020},
	} {
		answer := c.call(tc.req)
		if status, code := errorCode(answer); status != tc.status || code != tc.code || fmt.Sprint(answer["id"]) != fmt.Sprint(tc.req["id"]) {
			t.Errorf("%s: %v, want status %d code %d", tc.what, answer, tc.status, tc.code)
		}
	}
	// Every parameter but the signature is signed, sorted by name.
	ts := time.Now().UnixMilli()
	withWindow := map[string]any{"id": "w", "method": "userDataStream.subscribe.signature", "params": map[string]any{
		"apiKey": testKey, "timestamp": ts, "recvWindow": 10000,
		"signature": sign(testSecret, fmt.Sprintf("apiKey=%s&recvWindow=10000&timestamp=%d", testKey, ts))}}
	answer := c.call(withWindow)
	limits, _ := answer["rateLimits"].([]any)
	if status, _ := errorCode(answer); status != 200 || answer["result"].(map[string]any)["subscriptionId"] != float64(0) || len(limits) != 1 {
		t.Fatalf("good subscription: %v", answer)
	}
	if status, code := errorCode(c.call(subscribeRequest(5, testKey, testSecret, time.Now().UnixMilli()))); status != 400 || code != -2035 {
		t.Errorf("a second subscription on the connection: %d %d", status, code)
	}
	if st := srv.TradingStats(); st.AuthErrors != 4 || st.UserSubscriptions != 1 || st.UserConnections != 1 {
		t.Errorf("stats %+v", st)
	}
	for _, method := range []string{http.MethodPost, http.MethodPut, http.MethodDelete} {
		req, _ := http.NewRequest(method, srv.URL()+"/api/v3/userDataStream", nil)
		req.Header.Set("X-MBX-APIKEY", testKey)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusGone {
			t.Errorf("%s /api/v3/userDataStream: %d, want 410 Gone", method, res.StatusCode)
		}
	}
	if n := srv.TradingStats().ListenKeyRequests; n != 3 {
		t.Errorf("%d listenKey requests counted", n)
	}
}

// Frames made while no one listens are lost; DropUserStream and Pause cut the stream;
// TerminateUserStream ends the subscription.
func TestUserStreamFaults(t *testing.T) {
	srv, c := tradingServer(t)
	next := userStream(t, srv)
	ctx := context.Background()
	_, err := c.NewCreateOrderService().Symbol("BTCUSDT").Side(gobinance.SideTypeBuy).Type(gobinance.OrderTypeLimit).
		TimeInForce(gobinance.TimeInForceTypeGTC).Quantity("1").Price("40000").NewClientOrderID("syn-a").Do(ctx)
	if err != nil {
		t.Fatal(err)
	}
	next()
	if n := srv.DropUserStream(); n != 1 {
		t.Fatalf("dropped %d connections", n)
	}
	if err := srv.FillOrder("syn-a", dec("0.5"), dec("40000")); err != nil {
		t.Fatal(err)
	}
	if st := srv.TradingStats(); st.UserFramesLost != 1 || st.UserStreamDrops != 1 {
		t.Errorf("stats %+v", st)
	}
	srv.Pause()
	if _, _, err := websocket.Dial(ctx, srv.WebSocketAPIURL(), nil); err == nil {
		t.Error("a WebSocket API connection was accepted while paused")
	}
	srv.Resume()
	next = userStream(t, srv)
	if err := srv.ExpireOrder("syn-a"); err != nil {
		t.Fatal(err)
	}
	if f := next(); f["x"] != "EXPIRED" || f["z"] != "0.50000000" {
		t.Errorf("EXPIRED frame %v", f)
	}
	if n := srv.TerminateUserStream(); n != 1 {
		t.Fatalf("terminated %d subscriptions", n)
	}
	if f := next(); f["e"] != "eventStreamTerminated" {
		t.Errorf("frame %v, want eventStreamTerminated", f)
	}
	if _, err := srv.PlaceOutside("BTCUSDT", "BUY", dec("0.1"), dec("30000")); err != nil {
		t.Fatal(err)
	}
	if st := srv.TradingStats(); st.UserFramesLost != 2 {
		t.Errorf("an event after the subscription ended was not lost: %+v", st)
	}
}

// Single market-data streams are still served at /ws/<stream>, next to the WebSocket API.
func TestSingleMarketStreamStillServed(t *testing.T) {
	srv := NewServer(Options{})
	defer srv.Close()
	srv.SendRaw("btcusdt@trade", []byte(`{"e":"trade"}`))
	c, _, err := websocket.Dial(context.Background(), srv.WebsocketURL()+"/ws/btcusdt@trade", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, msg, err := c.Read(ctx); err != nil || string(msg) != `{"e":"trade"}` {
		t.Errorf("read %q, %v", msg, err)
	}
}

func TestSplit(t *testing.T) {
	for _, tc := range []struct {
		qty  string
		n    int
		want string
	}{{"0.3", 3, "0.10000000 0.10000000 0.10000000"}, {"1", 3, "0.33333333 0.33333333 0.33333334"}, {"0.00000002", 3, "0.00000000"}} {
		var got []string
		for _, p := range split(dec(tc.qty), tc.n) {
			got = append(got, amount(p))
		}
		if tc.qty == "0.00000002" {
			if len(got) != 1 || got[0] != "0.00000002" {
				t.Errorf("split(%s, %d) = %v, want the whole quantity in one part", tc.qty, tc.n, got)
			}
			continue
		}
		if strings.Join(got, " ") != tc.want {
			t.Errorf("split(%s, %d) = %v, want %s", tc.qty, tc.n, got, tc.want)
		}
	}
}
