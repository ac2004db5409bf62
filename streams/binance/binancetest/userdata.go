package binancetest

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/coder/websocket"
)

// The user-data stream, as Binance serves it since it removed the listenKey endpoints on
// 2026-02-20: a client connects to the WebSocket API (/ws-api/v3) and sends
//
//	{"id":...,"method":"userDataStream.subscribe.signature",
//	 "params":{"apiKey":...,"timestamp":...,"signature":...}}
//
// signed like every SIGNED WebSocket API request: HMAC-SHA256 with the secret key of the
// parameters but the signature, sorted by name and written name=value joined by '&'
// ("apiKey=...&timestamp=..."), as hex. The answer is {"id":...,"status":200,
// "result":{"subscriptionId":N},"rateLimits":[...]}, or Binance's error layout and code
// (-1022 bad signature, -2014/-2015 bad API key, -1021 stale timestamp, -1102 a missing
// parameter, -2035 already subscribed). From then on every change of every order of the
// account is pushed on that connection as {"subscriptionId":N,"event":{executionReport}}.
// As on Binance, nothing is replayed: a frame made while no subscription is open is lost
// (TradingStats.UserFramesLost), and a client learns what it missed by asking REST.
//
// POST, PUT and DELETE /api/v3/userDataStream answer 410 Gone, as Binance's do now.

// Methods and event types of the WebSocket API the fake knows.
const (
	methodSubscribeSignature = "userDataStream.subscribe.signature"
	eventStreamTerminated    = "eventStreamTerminated"
	wsAPIConnectWeight       = 2 // Binance counts 2 for opening a WebSocket API connection
	subscribeWeight          = 2 // and 2 for userDataStream.subscribe.signature
)

// executionReport is Binance's order-update frame, field for field and in Binance's order
// (https://github.com/binance/binance-spot-api-docs, user-data-stream.md). Conditional
// fields (trailing stops, strategies, prevented matches) are left out, as Binance does for
// plain orders.
type executionReport struct {
	Event             string  `json:"e"`
	Time              int64   `json:"E"`
	Symbol            string  `json:"s"`
	ClientOrderID     string  `json:"c"`
	Side              string  `json:"S"`
	Type              string  `json:"o"`
	TimeInForce       string  `json:"f"`
	Qty               string  `json:"q"`
	Price             string  `json:"p"`
	StopPrice         string  `json:"P"`
	IcebergQty        string  `json:"F"`
	OrderListID       int64   `json:"g"`
	OrigClientOrderID string  `json:"C"`
	ExecutionType     string  `json:"x"`
	Status            string  `json:"X"`
	RejectReason      string  `json:"r"`
	OrderID           int64   `json:"i"`
	LastQty           string  `json:"l"`
	CumQty            string  `json:"z"`
	LastPrice         string  `json:"L"`
	Commission        string  `json:"n"`
	CommissionAsset   *string `json:"N"` // null when the execution has no commission
	TransactTime      int64   `json:"T"`
	TradeID           int64   `json:"t"` // -1 when the execution is not a trade
	Ignore            int64   `json:"I"`
	OnBook            bool    `json:"w"`
	Maker             bool    `json:"m"`
	IgnoreM           bool    `json:"M"`
	Created           int64   `json:"O"`
	CumQuoteQty       string  `json:"Z"`
	LastQuoteQty      string  `json:"Y"`
	QuoteOrderQty     string  `json:"Q"`
	WorkingTime       int64   `json:"W,omitempty"` // only for an order that went on the book
	STPMode           string  `json:"V"`
}

// wsSession is one open WebSocket API connection: the frames waiting to be written and
// its user-data subscription. Guarded by trading.mu.
type wsSession struct {
	queue      [][]byte
	wake       chan struct{} // signalled (buffer 1) when the queue grows
	drop       chan struct{} // closed by DropUserStream or Pause
	dropped    bool
	subscribed bool  // a user-data subscription is active
	subID      int64 // its subscriptionId
	nextSubID  int64
}

// push queues a frame to s. Call with trading.mu held.
func (s *wsSession) push(frame []byte) {
	s.queue = append(s.queue, frame)
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// WebSocketAPIURL is the WebSocket API endpoint, e.g. "ws://127.0.0.1:40123/ws-api/v3"
// (Binance: wss://ws-api.binance.com:443/ws-api/v3), where a client subscribes to the
// user-data stream with userDataStream.subscribe.signature.
func (s *Server) WebSocketAPIURL() string { return s.WebsocketURL() + "/ws-api/v3" }

// DropUserStream closes every open WebSocket API connection at once, without a close
// handshake, as a network fault would; it returns how many it closed. Frames made before
// the client subscribes again are lost.
func (s *Server) DropUserStream() int {
	t := s.trade
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.dropAll()
}

// Pause closes the WebSocket API connections and refuses new ones (HTTP 503) until Resume,
// as if the client could not reach Binance: orders still fill meanwhile, and the frames
// are lost.
func (s *Server) Pause() {
	t := s.trade
	t.mu.Lock()
	defer t.mu.Unlock()
	t.paused = true
	t.dropAll()
}

// Resume accepts WebSocket API connections again.
func (s *Server) Resume() {
	t := s.trade
	t.mu.Lock()
	defer t.mu.Unlock()
	t.paused = false
}

// TerminateUserStream ends every active user-data subscription as Binance does (e.g. after
// userDataStream.unsubscribe or session.logout): each gets an eventStreamTerminated event
// and no more events; the connection stays open. It returns how many it ended.
func (s *Server) TerminateUserStream() int {
	t := s.trade
	t.mu.Lock()
	defer t.mu.Unlock()
	n := 0
	now := time.Now().UnixMilli()
	for c := range t.sessions {
		if !c.subscribed {
			continue
		}
		c.push(mustJSON(map[string]any{"subscriptionId": c.subID, "event": map[string]any{"e": eventStreamTerminated, "E": now}}))
		c.subscribed = false
		n++
	}
	return n
}

// dropAll closes every WebSocket API connection. Call with t.mu held.
func (t *trading) dropAll() int {
	n := len(t.sessions)
	for c := range t.sessions {
		c.dropped = true
		close(c.drop)
		delete(t.sessions, c)
	}
	t.stats.UserStreamDrops += n
	return n
}

// publish queues an event (an executionReport) to every active subscription, wrapped as
// the WebSocket API sends it; with none, it is lost. Call with t.mu held.
func (t *trading) publish(event []byte) {
	sent := false
	for c := range t.sessions {
		if !c.subscribed {
			continue
		}
		sent = true
		c.push(mustJSON(struct {
			SubscriptionID int64           `json:"subscriptionId"`
			Event          json.RawMessage `json:"event"`
		}{c.subID, event}))
	}
	if sent {
		t.stats.UserFramesSent++
	} else {
		t.stats.UserFramesLost++
	}
}

// report builds the executionReport of execution type x of o: tr is the trade of a
// TRADE, cancelID the cancel's own client order ID of a CANCELED (then "c" carries it
// and "C" the order's). Call with t.mu held.
func (t *trading) report(o *order, x string, tr *trade, cancelID string, now int64) []byte {
	const zero = "0.00000000"
	r := executionReport{
		Event: "executionReport", Time: now, Symbol: o.symbol.Name, ClientOrderID: o.clientID,
		Side: o.side, Type: o.typ, TimeInForce: "GTC", Qty: amount(o.qty), Price: amount(o.price),
		StopPrice: zero, IcebergQty: zero, OrderListID: -1, ExecutionType: x, Status: o.status,
		RejectReason: "NONE", OrderID: o.id, LastQty: zero, CumQty: amount(o.executed), LastPrice: zero,
		Commission: "0", TransactTime: now, TradeID: -1, Ignore: 10000000 + o.id*10 + int64(t.stats.Trades),
		OnBook: o.typ == "LIMIT" && o.open(), Created: o.created, CumQuoteQty: amount(o.quoteQty),
		LastQuoteQty: zero, QuoteOrderQty: zero, STPMode: "EXPIRE_MAKER",
	}
	if o.typ == "LIMIT" {
		r.WorkingTime = o.created
	}
	if x == "CANCELED" {
		r.ClientOrderID, r.OrigClientOrderID = cancelID, o.clientID
	}
	if tr != nil {
		asset := tr.commissionAsset
		r.LastQty, r.LastPrice, r.Commission, r.CommissionAsset = amount(tr.qty), amount(tr.price), amount(tr.commission), &asset
		r.TradeID, r.Maker, r.LastQuoteQty, r.TransactTime = tr.id, tr.maker, amount(tr.quoteQty), tr.time
	}
	return mustJSON(r)
}

// serveListenKeyGone answers the removed listenKey endpoints (POST, PUT and DELETE
// /api/v3/userDataStream) with 410 Gone, as Binance has since 2026-02-20.
func (s *Server) serveListenKeyGone(w http.ResponseWriter, _ *http.Request) {
	t := s.trade
	t.mu.Lock()
	t.stats.ListenKeyRequests++
	t.mu.Unlock()
	writeJSON(w, http.StatusGone, map[string]any{"code": -1,
		"msg": "The listenKey user data stream was removed; subscribe with userDataStream.subscribe.signature on the WebSocket API."})
}

// serveWebSocketAPI serves one WebSocket API connection: it answers the client's requests
// (userDataStream.subscribe.signature) and writes the events of its subscription.
func (s *Server) serveWebSocketAPI(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		http.Error(w, "server closing", http.StatusServiceUnavailable)
		return
	}
	s.conns.Add(1)
	s.mu.Unlock()
	defer s.conns.Done()

	sess := &wsSession{wake: make(chan struct{}, 1), drop: make(chan struct{})}
	t := s.trade
	t.mu.Lock()
	paused := t.paused
	if !paused {
		t.sessions[sess] = struct{}{}
		t.stats.UserConnections++
		t.addWeight(wsAPIConnectWeight)
	}
	t.mu.Unlock()
	if paused {
		http.Error(w, "WebSocket API paused by the test", http.StatusServiceUnavailable)
		return
	}
	c, err := websocket.Accept(w, r, nil)
	if err != nil {
		t.mu.Lock()
		delete(t.sessions, sess)
		t.mu.Unlock()
		return
	}
	c.SetReadLimit(1 << 16)
	ctx, cancel := context.WithCancel(context.Background())
	reading := make(chan struct{})
	go func() { // requests in; reading also answers the client's pings
		defer close(reading)
		defer cancel()
		for {
			_, data, err := c.Read(ctx)
			if err != nil {
				return
			}
			t.mu.Lock()
			if !sess.dropped {
				sess.push(t.answer(sess, data))
			}
			t.mu.Unlock()
		}
	}()
	defer func() {
		c.CloseNow() // dropped or done: cut the connection without a close handshake
		cancel()
		<-reading
		t.mu.Lock()
		delete(t.sessions, sess)
		t.mu.Unlock()
	}()

	for {
		t.mu.Lock()
		queue := sess.queue
		sess.queue = nil
		t.mu.Unlock()
		for _, f := range queue {
			select {
			case <-sess.drop:
				return
			default:
			}
			if err := c.Write(ctx, websocket.MessageText, f); err != nil {
				return
			}
		}
		select {
		case <-sess.wake:
		case <-sess.drop:
			return
		case <-ctx.Done():
			return
		case <-s.closing:
			return
		}
	}
}

// wsRequest is one WebSocket API request.
type wsRequest struct {
	ID     json.RawMessage            `json:"id"`
	Method string                     `json:"method"`
	Params map[string]json.RawMessage `json:"params"`
}

// answer handles one request of sess and returns its answer. Call with t.mu held.
func (t *trading) answer(sess *wsSession, data []byte) []byte {
	var req wsRequest
	err := json.Unmarshal(data, &req)
	weight := 1
	if err == nil && req.Method == methodSubscribeSignature {
		weight = subscribeWeight
	}
	used := t.addWeight(weight)
	switch {
	case err != nil || req.Method == "":
		return wsAnswer(req.ID, nil, badRequest(-1000, "An unknown error occurred while processing the request."), used)
	case req.Method != methodSubscribeSignature:
		return wsAnswer(req.ID, nil, badRequest(-1020, "This operation is not supported."), used)
	}
	if aerr := t.checkSignature(req.Params); aerr != nil {
		t.stats.AuthErrors++
		return wsAnswer(req.ID, nil, aerr, used)
	}
	if sess.subscribed {
		return wsAnswer(req.ID, nil, badRequest(-2035, "User Data Stream subscription already active."), used)
	}
	sess.subscribed, sess.subID = true, sess.nextSubID
	sess.nextSubID++
	t.stats.UserSubscriptions++
	return wsAnswer(req.ID, map[string]int64{"subscriptionId": sess.subID}, nil, used)
}

// checkSignature checks a SIGNED WebSocket API request's parameters, in Binance's order:
// the API key, the signature (HMAC-SHA256 with the secret key of every other parameter,
// sorted by name, as name=value joined by '&', in hex), then the timestamp, within
// recvWindow (default 5000 ms) of now and at most 1 s ahead. Call with t.mu held.
func (t *trading) checkSignature(params map[string]json.RawMessage) *apiError {
	values := make(map[string]string, len(params))
	for name, raw := range params {
		var s string
		if json.Unmarshal(raw, &s) != nil {
			s = string(raw) // a number (timestamp, recvWindow) as written
		}
		values[name] = s
	}
	key := values["apiKey"]
	if key == "" {
		return mandatory("apiKey")
	}
	if t.account.APIKey == "" || !hmac.Equal([]byte(key), []byte(t.account.APIKey)) {
		return &apiError{status: http.StatusUnauthorized, code: -2015, msg: "Invalid API-key, IP, or permissions for action."}
	}
	signature := values["signature"]
	if signature == "" {
		return mandatory("signature")
	}
	names := make([]string, 0, len(values))
	for name := range values {
		if name != "signature" {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	pairs := make([]string, len(names))
	for i, name := range names {
		pairs[i] = name + "=" + values[name]
	}
	mac := hmac.New(sha256.New, []byte(t.account.SecretKey))
	mac.Write([]byte(strings.Join(pairs, "&")))
	if !hmac.Equal([]byte(strings.ToLower(signature)), []byte(hex.EncodeToString(mac.Sum(nil)))) {
		return badRequest(-1022, "Signature for this request is not valid.")
	}
	ts, err := strconv.ParseInt(values["timestamp"], 10, 64)
	if err != nil {
		return mandatory("timestamp")
	}
	window := int64(5000)
	if rw, ok := values["recvWindow"]; ok {
		if window, err = strconv.ParseInt(rw, 10, 64); err != nil {
			return mandatory("recvWindow")
		}
	}
	now := time.Now().UnixMilli()
	if ts > now+1000 || now-ts > window {
		return badRequest(-1021, "Timestamp for this request is outside of the recvWindow.")
	}
	return nil
}

// wsAnswer is a WebSocket API answer: the request's id, the result or the error, and the
// request weight used this minute.
func wsAnswer(id json.RawMessage, result any, aerr *apiError, used int) []byte {
	if len(id) == 0 {
		id = json.RawMessage("null")
	}
	v := map[string]any{"id": id, "status": http.StatusOK,
		"rateLimits": []map[string]any{{"rateLimitType": "REQUEST_WEIGHT", "interval": "MINUTE", "intervalNum": 1, "limit": 6000, "count": used}}}
	if aerr != nil {
		v["status"], v["error"] = aerr.status, map[string]any{"code": aerr.code, "msg": aerr.msg}
	} else {
		v["result"] = result
	}
	return mustJSON(v)
}
