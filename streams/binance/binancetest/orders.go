package binancetest

// The trading half of the fake: one spot account with API-key and HMAC-SHA256 signature
// checks, its balances, orders and trades, and the user-data stream (userdata.go). It
// answers as Binance's spot API does, field for field:
//
//   - POST /api/v3/order (MARKET, or LIMIT GTC; newOrderRespType ACK, RESULT or FULL),
//     DELETE /api/v3/order, GET /api/v3/order (by orderId or origClientOrderId),
//     GET /api/v3/openOrders, GET /api/v3/myTrades, GET /api/v3/account (SIGNED);
//   - the WebSocket API at /ws-api/v3 (WebSocketAPIURL): userDataStream.subscribe.signature
//     (SIGNED), then the account's executionReport events on that connection;
//   - POST, PUT and DELETE /api/v3/userDataStream, the listenKey endpoints Binance removed
//     on 2026-02-20, answer 410 Gone.
//
// The test decides how orders fill: a market order fills at once at its symbol's price
// (SetSymbol) in Symbol.Parts partial fills; a limit order rests until FillOrder fills some
// of it. CancelOutside, ExpireOrder and PlaceOutside act as a user on the website or the
// exchange itself would. Balances move with every fill, with Account.Commission charged on
// each one. FailNext, SetUsedWeight, DropUserStream, Pause and TerminateUserStream make it
// misbehave.
//
// Errors use Binance's codes and messages: -2010 for an order the account cannot pay or a
// duplicate open newClientOrderId, -2011 for a cancel of an unknown or closed order,
// -2013 for a query of an unknown order, -1022 for a bad signature, -2014/-2015 for a
// missing or wrong API key, -1021 for a stale timestamp, -1003 for 429 and 418, -2035 for
// a second user-data subscription on one WebSocket API connection.

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/govalues/decimal"
)

// Account configures the fake's trading account. Set it with SetAccount before trading.
type Account struct {
	// APIKey and SecretKey are what requests must carry: the X-MBX-APIKEY header (REST) or
	// the apiKey parameter (WebSocket API), and an HMAC-SHA256 signature of the parameters
	// with SecretKey.
	APIKey, SecretKey string
	// Balances are the free balances by asset to start with, e.g. {"USDT": 10000}.
	Balances map[string]decimal.Decimal
	// Commission is the fee rate of every fill, e.g. 0.001; zero charges nothing.
	Commission decimal.Decimal
	// CommissionAsset, when set (e.g. "BNB"), is the asset fees are paid in, as
	// notional × Commission units of it (a fake's simplification: one unit of it is worth
	// one unit of the quote asset). Empty: Binance's default, fees in the asset received
	// (the base asset on a buy, the quote asset on a sell).
	CommissionAsset string
}

// Symbol is a tradable pair of the fake and how its market orders fill.
type Symbol struct {
	Name  string // e.g. "BTCUSDT"
	Base  string // e.g. "BTC"
	Quote string // e.g. "USDT"
	// Price is where market orders fill.
	Price decimal.Decimal
	// Parts is the number of partial fills a market order fills in (at least 1): equal
	// parts at the quantity's scale, the last one taking the remainder.
	Parts int
}

// OrderInfo is the fake's view of one order, for tests to inspect.
type OrderInfo struct {
	OrderID       int64
	ClientOrderID string
	Symbol        string
	Side          string // BUY or SELL
	Type          string // MARKET or LIMIT
	Status        string // NEW, PARTIALLY_FILLED, FILLED, CANCELED, EXPIRED
	Qty           decimal.Decimal
	Price         decimal.Decimal
	Executed      decimal.Decimal
}

// Balance is one asset of the account.
type Balance struct {
	Free, Locked decimal.Decimal
}

// TradingStats count what the trading half did.
type TradingStats struct {
	Requests          int // trading REST requests received (FailNext answers included)
	Failed            int // requests answered 429 or 418 by FailNext
	AuthErrors        int // requests refused for their key, signature or timestamp
	OrdersPlaced      int // orders created (PlaceOutside included)
	Duplicates        int // orders refused as a duplicate open newClientOrderId
	Rejected          int // orders refused for balance or parameters
	Cancels           int // orders canceled (CancelOutside included)
	Trades            int // fills
	ListenKeyRequests int // requests to the removed /api/v3/userDataStream (answered 410 Gone)
	UserConnections   int // WebSocket API connections accepted
	UserSubscriptions int // userDataStream.subscribe.signature requests accepted
	UserFramesSent    int // executionReport events queued to an active subscription
	UserFramesLost    int // executionReport events made while no subscription was active
	UserStreamDrops   int // WebSocket API connections closed by DropUserStream or Pause
	UsedWeightMinute  int // request weight counted in the current minute
}

// failure is the fault FailNext arms.
type failure struct {
	n          int
	status     int
	retryAfter time.Duration
}

type order struct {
	id          int64
	clientID    string
	symbol      Symbol
	side, typ   string
	qty, price  decimal.Decimal
	executed    decimal.Decimal
	quoteQty    decimal.Decimal // Σ fill notional
	status      string
	created     int64
	updated     int64
	lockedAsset string
	locked      decimal.Decimal // still locked for this order
}

func (o *order) open() bool { return o.status == "NEW" || o.status == "PARTIALLY_FILLED" }

type trade struct {
	id              int64
	order           *order
	price, qty      decimal.Decimal
	quoteQty        decimal.Decimal
	commission      decimal.Decimal
	commissionAsset string
	time            int64
	maker           bool
}

// trading is the state of the trading half; its own mutex guards it.
type trading struct {
	mu       sync.Mutex
	account  Account
	symbols  map[string]Symbol
	free     map[string]decimal.Decimal
	locked   map[string]decimal.Decimal
	orders   []*order
	byClient map[string]*order // the latest order of each newClientOrderId
	trades   []*trade
	fail     failure
	window   int64 // minute of the weight count (unix seconds / 60)
	used     int
	stats    TradingStats

	sessions map[*wsSession]struct{} // open WebSocket API connections
	paused   bool
}

const (
	firstOrderID = 1001
	firstTradeID = 5001
	moneyScale   = 8 // Binance's decimals for amounts
)

// routeTrading adds the trading half's routes to the server's mux.
func (s *Server) routeTrading(mux *http.ServeMux) {
	s.trade = &trading{
		symbols:  map[string]Symbol{},
		free:     map[string]decimal.Decimal{},
		locked:   map[string]decimal.Decimal{},
		byClient: map[string]*order{},
		sessions: map[*wsSession]struct{}{},
	}
	mux.HandleFunc("/api/v3/order", s.serveOrder)
	mux.HandleFunc("/api/v3/openOrders", s.serveOpenOrders)
	mux.HandleFunc("/api/v3/myTrades", s.serveMyTrades)
	mux.HandleFunc("/api/v3/account", s.serveAccount)
	mux.HandleFunc("/api/v3/userDataStream", s.serveListenKeyGone)
	mux.HandleFunc("/ws-api/v3", s.serveWebSocketAPI)
}

// SetAccount sets the account's keys, fee and starting balances (replacing any balances).
func (s *Server) SetAccount(a Account) {
	t := s.trade
	t.mu.Lock()
	defer t.mu.Unlock()
	t.account = a
	t.free, t.locked = map[string]decimal.Decimal{}, map[string]decimal.Decimal{}
	for asset, amount := range a.Balances {
		t.free[asset] = amount
	}
}

// SetSymbol adds or changes a tradable symbol; market orders on it fill at sym.Price.
func (s *Server) SetSymbol(sym Symbol) {
	if sym.Parts < 1 {
		sym.Parts = 1
	}
	t := s.trade
	t.mu.Lock()
	defer t.mu.Unlock()
	t.symbols[sym.Name] = sym
}

// FailNext answers the next n trading REST requests with status (429 or 418), a
// Retry-After header of retryAfter (whole seconds, rounded up) and Binance's -1003 body.
func (s *Server) FailNext(n, status int, retryAfter time.Duration) {
	t := s.trade
	t.mu.Lock()
	defer t.mu.Unlock()
	t.fail = failure{n: n, status: status, retryAfter: retryAfter}
}

// SetUsedWeight sets the request weight counted in the current minute, as if other
// clients on the same IP had used it; X-MBX-USED-WEIGHT-1M (REST) and the rateLimits of
// WebSocket API answers report it from then on.
func (s *Server) SetUsedWeight(w int) {
	t := s.trade
	t.mu.Lock()
	defer t.mu.Unlock()
	t.window, t.used = time.Now().Unix()/60, w
}

// FillOrder fills qty of the open order clientID at price, as the maker (a resting limit
// order meeting a taker): balances move, a trade is recorded and an executionReport TRADE
// goes to the user-data stream.
func (s *Server) FillOrder(clientID string, qty, price decimal.Decimal) error {
	t := s.trade
	t.mu.Lock()
	defer t.mu.Unlock()
	o := t.byClient[clientID]
	if o == nil || !o.open() {
		return fmt.Errorf("binancetest: FillOrder: no open order %q", clientID)
	}
	rest, _ := o.qty.Sub(o.executed)
	if !qty.IsPos() || qty.Cmp(rest) > 0 || !price.IsPos() {
		return fmt.Errorf("binancetest: FillOrder %s: qty %s of %s remaining at %s", clientID, qty, rest, price)
	}
	now := time.Now().UnixMilli()
	t.fill(o, qty, price, true, now)
	return nil
}

// CancelOutside cancels the open order clientID as a user on Binance's website would: the
// executionReport carries a new client order ID of the website's and the order's in "C".
func (s *Server) CancelOutside(clientID string) error {
	t := s.trade
	t.mu.Lock()
	defer t.mu.Unlock()
	o := t.byClient[clientID]
	if o == nil || !o.open() {
		return fmt.Errorf("binancetest: CancelOutside: no open order %q", clientID)
	}
	t.cancel(o, "web_"+randomID(24), time.Now().UnixMilli())
	return nil
}

// ExpireOrder expires the open order clientID as the exchange would (e.g. in maintenance).
func (s *Server) ExpireOrder(clientID string) error {
	t := s.trade
	t.mu.Lock()
	defer t.mu.Unlock()
	o := t.byClient[clientID]
	if o == nil || !o.open() {
		return fmt.Errorf("binancetest: ExpireOrder: no open order %q", clientID)
	}
	now := time.Now().UnixMilli()
	t.unlock(o)
	o.status, o.updated = "EXPIRED", now
	t.publish(t.report(o, "EXPIRED", nil, "", now))
	return nil
}

// PlaceOutside places a resting limit order as a user on the website would (its client ID
// starts with "web_"), skipping the balance check; it returns the client ID.
func (s *Server) PlaceOutside(symbol, side string, qty, price decimal.Decimal) (string, error) {
	t := s.trade
	t.mu.Lock()
	defer t.mu.Unlock()
	sym, ok := t.symbols[symbol]
	if !ok {
		return "", fmt.Errorf("binancetest: PlaceOutside: unknown symbol %q (SetSymbol first)", symbol)
	}
	now := time.Now().UnixMilli()
	o := &order{id: firstOrderID + int64(len(t.orders)), clientID: "web_" + randomID(24), symbol: sym,
		side: side, typ: "LIMIT", qty: qty, price: price, status: "NEW", created: now, updated: now}
	t.orders = append(t.orders, o)
	t.byClient[o.clientID] = o
	t.stats.OrdersPlaced++
	t.publish(t.report(o, "NEW", nil, "", now))
	return o.clientID, nil
}

// Order returns the latest order with clientID.
func (s *Server) Order(clientID string) (OrderInfo, bool) {
	t := s.trade
	t.mu.Lock()
	defer t.mu.Unlock()
	o := t.byClient[clientID]
	if o == nil {
		return OrderInfo{}, false
	}
	return o.info(), true
}

// Orders lists every order in the order it was placed.
func (s *Server) Orders() []OrderInfo {
	t := s.trade
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make([]OrderInfo, len(t.orders))
	for i, o := range t.orders {
		out[i] = o.info()
	}
	return out
}

// Balances returns every asset the account holds or held.
func (s *Server) Balances() map[string]Balance {
	t := s.trade
	t.mu.Lock()
	defer t.mu.Unlock()
	out := map[string]Balance{}
	for asset, free := range t.free {
		out[asset] = Balance{Free: free, Locked: t.locked[asset]}
	}
	for asset, locked := range t.locked {
		out[asset] = Balance{Free: t.free[asset], Locked: locked}
	}
	return out
}

// TradingStats returns the trading half's counters so far.
func (s *Server) TradingStats() TradingStats {
	t := s.trade
	t.mu.Lock()
	defer t.mu.Unlock()
	st := t.stats
	if t.window == time.Now().Unix()/60 {
		st.UsedWeightMinute = t.used
	}
	return st
}

func (o *order) info() OrderInfo {
	return OrderInfo{OrderID: o.id, ClientOrderID: o.clientID, Symbol: o.symbol.Name, Side: o.side, Type: o.typ,
		Status: o.status, Qty: o.qty, Price: o.price, Executed: o.executed}
}

// request is one authenticated trading request: its parameters, query and body together.
type request struct {
	params url.Values
}

// apiError is an answer in Binance's error layout.
type apiError struct {
	status int
	code   int
	msg    string
}

func (e *apiError) write(w http.ResponseWriter) {
	writeJSON(w, e.status, map[string]any{"code": e.code, "msg": e.msg})
}

func badRequest(code int, msg string) *apiError {
	return &apiError{status: http.StatusBadRequest, code: code, msg: msg}
}

func mandatory(name string) *apiError {
	return badRequest(-1102, "Mandatory parameter '"+name+"' was not sent, was empty/null, or malformed.")
}

// admit runs the checks every trading request goes through, in Binance's order: the method
// (one of methods), FailNext, the API key, the signature and timestamp (every endpoint here
// is signed), then counts the request's weight. It writes the refusal itself and returns nil
// when the request may not go on.
func (s *Server) admit(w http.ResponseWriter, r *http.Request, methods ...string) *request {
	if !slices.Contains(methods, r.Method) {
		writeJSON(w, http.StatusMethodNotAllowed, map[string]any{"code": -1, "msg": "method not allowed"})
		return nil
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		badRequest(-1000, "An unknown error occurred while processing the request.").write(w)
		return nil
	}
	t := s.trade
	t.mu.Lock()
	defer t.mu.Unlock()
	t.stats.Requests++
	if t.fail.n > 0 {
		t.fail.n--
		t.stats.Failed++
		secs := int64((t.fail.retryAfter + time.Second - 1) / time.Second)
		w.Header().Set("Retry-After", strconv.FormatInt(secs, 10))
		msg := "Too many requests; current limit of IP(127.0.0.1) is 6000 requests per minute. Please use the websocket for live updates to avoid polling the API."
		if t.fail.status == http.StatusTeapot {
			until := time.Now().Add(time.Duration(secs) * time.Second).UnixMilli()
			msg = fmt.Sprintf("Way too many requests; IP(127.0.0.1) banned until %d. Please use the websocket for live updates to avoid bans.", until)
		}
		(&apiError{status: t.fail.status, code: -1003, msg: msg}).write(w)
		return nil
	}
	req, aerr := t.authenticate(r, body)
	if aerr != nil {
		t.stats.AuthErrors++
		aerr.write(w)
		return nil
	}
	t.countWeight(w, weightOf(r.Method, r.URL.Path, req.params))
	return req
}

// authenticate checks the API key and the signature (every REST endpoint here is SIGNED):
// HMAC-SHA256 with the secret key of the query string (without signature) followed by the
// body, as hex; and the timestamp, within recvWindow (default 5000 ms) of now, at most 1 s
// ahead. Call with t.mu held.
func (t *trading) authenticate(r *http.Request, body []byte) (*request, *apiError) {
	key := r.Header.Get("X-MBX-APIKEY")
	if key == "" {
		return nil, &apiError{status: http.StatusUnauthorized, code: -2014, msg: "API-key format invalid."}
	}
	if t.account.APIKey == "" || !hmac.Equal([]byte(key), []byte(t.account.APIKey)) {
		return nil, &apiError{status: http.StatusUnauthorized, code: -2015, msg: "Invalid API-key, IP, or permissions for action."}
	}
	var kept []string
	signature := ""
	for _, part := range strings.Split(r.URL.RawQuery, "&") {
		if v, ok := strings.CutPrefix(part, "signature="); ok {
			signature = v
			continue
		}
		if part != "" {
			kept = append(kept, part)
		}
	}
	query := strings.Join(kept, "&")
	params, err := url.ParseQuery(query)
	if err != nil {
		return nil, badRequest(-1100, "Illegal characters found in a parameter.")
	}
	form, err := url.ParseQuery(string(body))
	if err != nil {
		return nil, badRequest(-1100, "Illegal characters found in a parameter.")
	}
	for k, vs := range form {
		params[k] = append(params[k], vs...)
	}
	if signature == "" {
		return nil, mandatory("signature")
	}
	mac := hmac.New(sha256.New, []byte(t.account.SecretKey))
	mac.Write([]byte(query))
	mac.Write(body)
	want := hex.EncodeToString(mac.Sum(nil))
	if !hmac.Equal([]byte(strings.ToLower(signature)), []byte(want)) {
		return nil, badRequest(-1022, "Signature for this request is not valid.")
	}
	ts, err := strconv.ParseInt(params.Get("timestamp"), 10, 64)
	if err != nil {
		return nil, mandatory("timestamp")
	}
	window := int64(5000)
	if rw := params.Get("recvWindow"); rw != "" {
		if window, err = strconv.ParseInt(rw, 10, 64); err != nil {
			return nil, mandatory("recvWindow")
		}
	}
	now := time.Now().UnixMilli()
	if ts > now+1000 || now-ts > window {
		return nil, badRequest(-1021, "Timestamp for this request is outside of the recvWindow.")
	}
	return &request{params: params}, nil
}

// weightOf is the request weight Binance counts for a trading request.
func weightOf(method, path string, params url.Values) int {
	switch path {
	case "/api/v3/order":
		if method == http.MethodGet {
			return 4
		}
		return 1
	case "/api/v3/openOrders":
		if params.Get("symbol") == "" {
			return 80
		}
		return 6
	case "/api/v3/myTrades", "/api/v3/account":
		return 20
	}
	return 1
}

// addWeight adds w to the current minute's request weight and returns the total. Call with
// t.mu held.
func (t *trading) addWeight(w int) int {
	if minute := time.Now().Unix() / 60; minute != t.window {
		t.window, t.used = minute, 0
	}
	t.used += w
	return t.used
}

// countWeight adds w to the current minute's weight and reports the total in
// X-MBX-USED-WEIGHT-1M. Call with t.mu held.
func (t *trading) countWeight(rw http.ResponseWriter, w int) {
	rw.Header().Set("X-MBX-USED-WEIGHT-1M", strconv.Itoa(t.addWeight(w)))
}

func (s *Server) serveOrder(w http.ResponseWriter, r *http.Request) {
	req := s.admit(w, r, http.MethodPost, http.MethodDelete, http.MethodGet)
	if req == nil {
		return
	}
	t := s.trade
	t.mu.Lock()
	var body any
	var aerr *apiError
	switch r.Method {
	case http.MethodPost:
		body, aerr = t.place(req.params)
	case http.MethodDelete:
		body, aerr = t.cancelRequest(req.params)
	default:
		body, aerr = t.query(req.params)
	}
	t.mu.Unlock()
	if aerr != nil {
		aerr.write(w)
		return
	}
	writeJSON(w, http.StatusOK, body)
}

// place handles POST /api/v3/order. Call with t.mu held.
func (t *trading) place(p url.Values) (any, *apiError) {
	sym, ok := t.symbols[p.Get("symbol")]
	if p.Get("symbol") == "" {
		return nil, mandatory("symbol")
	}
	if !ok {
		return nil, badRequest(-1121, "Invalid symbol.")
	}
	side, typ := p.Get("side"), p.Get("type")
	if side != "BUY" && side != "SELL" {
		return nil, mandatory("side")
	}
	if typ != "MARKET" && typ != "LIMIT" {
		return nil, badRequest(-1116, "Invalid orderType.")
	}
	qty, err := decimal.Parse(p.Get("quantity"))
	if err != nil || !qty.IsPos() {
		return nil, mandatory("quantity")
	}
	var price decimal.Decimal
	if typ == "LIMIT" {
		if price, err = decimal.Parse(p.Get("price")); err != nil || !price.IsPos() {
			return nil, mandatory("price")
		}
		if tif := p.Get("timeInForce"); tif != "GTC" {
			return nil, mandatory("timeInForce")
		}
	} else if p.Get("price") != "" {
		return nil, badRequest(-1106, "Parameter 'price' sent when not required.")
	}
	clientID := p.Get("newClientOrderId")
	if clientID == "" {
		clientID = randomID(22)
	}
	if !validClientID(clientID) {
		return nil, badRequest(-1100, "Illegal characters found in parameter 'newClientOrderId'; legal range is '^[a-zA-Z0-9-_]{1,36}$'.")
	}
	if prev := t.byClient[clientID]; prev != nil && prev.open() {
		t.stats.Duplicates++
		return nil, badRequest(-2010, "Duplicate order sent.")
	}
	// Funds: a buy needs the quote asset (at the limit price, or the market price), a sell
	// the base asset. A limit order locks them while it rests.
	need, asset := qty, sym.Base
	if side == "BUY" {
		at := price
		if typ == "MARKET" {
			at = sym.Price
		}
		need, _ = qty.Mul(at)
		need, asset = need.Ceil(moneyScale), sym.Quote
	}
	if t.free[asset].Cmp(need) < 0 {
		t.stats.Rejected++
		return nil, badRequest(-2010, "Account has insufficient balance for requested action.")
	}
	now := time.Now().UnixMilli()
	o := &order{id: firstOrderID + int64(len(t.orders)), clientID: clientID, symbol: sym, side: side, typ: typ,
		qty: qty, price: price, status: "NEW", created: now, updated: now}
	if typ == "LIMIT" {
		t.free[asset], _ = t.free[asset].Sub(need)
		t.locked[asset], _ = t.locked[asset].Add(need)
		o.lockedAsset, o.locked = asset, need
	}
	t.orders = append(t.orders, o)
	t.byClient[clientID] = o
	t.stats.OrdersPlaced++
	t.publish(t.report(o, "NEW", nil, "", now))

	var fills []*trade
	if typ == "MARKET" {
		for _, part := range split(qty, sym.Parts) {
			fills = append(fills, t.fill(o, part, sym.Price, false, now))
		}
	}
	return orderResponse(o, p.Get("newOrderRespType"), fills, now), nil
}

// split cuts qty into n parts at its scale (at least 8 decimals): n−1 equal ones, the last
// taking the remainder. Parts that would be zero are left out.
func split(qty decimal.Decimal, n int) []decimal.Decimal {
	scale := max(qty.Scale(), moneyScale)
	part, err := qty.Quo(decimal.MustNew(int64(n), 0))
	if err != nil || n <= 1 {
		return []decimal.Decimal{qty}
	}
	part = part.Trunc(scale)
	var out []decimal.Decimal
	rest := qty
	for i := 0; i < n-1 && part.IsPos(); i++ {
		out = append(out, part)
		rest, _ = rest.Sub(part)
	}
	return append(out, rest)
}

// fill executes qty of o at price: balances move, the trade is recorded and reported.
// Call with t.mu held.
func (t *trading) fill(o *order, qty, price decimal.Decimal, maker bool, now int64) *trade {
	sym := o.symbol
	notional, _ := qty.Mul(price)
	notional = notional.Round(moneyScale)
	// The fee: a share of what the account receives, or of the notional in CommissionAsset.
	feeAsset, feeBase := sym.Base, qty
	if o.side == "SELL" {
		feeAsset, feeBase = sym.Quote, notional
	}
	if t.account.CommissionAsset != "" {
		feeAsset, feeBase = t.account.CommissionAsset, notional
	}
	fee, _ := feeBase.Mul(t.account.Commission)
	fee = fee.Round(moneyScale)

	filled, _ := o.executed.Add(qty)
	last := filled.Cmp(o.qty) == 0
	// What the order spends: released from its lock when it rests, else from free.
	spendAsset, spend := sym.Base, qty
	if o.side == "BUY" {
		spendAsset, spend = sym.Quote, notional
	}
	if o.typ == "LIMIT" {
		release := spend
		if o.side == "BUY" {
			release, _ = qty.Mul(o.price)
			release = release.Round(moneyScale)
		}
		if last || release.Cmp(o.locked) > 0 {
			release = o.locked
		}
		o.locked, _ = o.locked.Sub(release)
		t.locked[spendAsset], _ = t.locked[spendAsset].Sub(release)
		t.free[spendAsset], _ = t.free[spendAsset].Add(release) // then spent below
	}
	t.free[spendAsset], _ = t.free[spendAsset].Sub(spend)
	getAsset, get := sym.Base, qty
	if o.side == "SELL" {
		getAsset, get = sym.Quote, notional
	}
	t.free[getAsset], _ = t.free[getAsset].Add(get)
	t.free[feeAsset], _ = t.free[feeAsset].Sub(fee)

	tr := &trade{id: firstTradeID + int64(len(t.trades)), order: o, price: price, qty: qty, quoteQty: notional,
		commission: fee, commissionAsset: feeAsset, time: now, maker: maker}
	t.trades = append(t.trades, tr)
	t.stats.Trades++
	o.executed = filled
	o.quoteQty, _ = o.quoteQty.Add(notional)
	o.updated = now
	o.status = "PARTIALLY_FILLED"
	if last {
		o.status = "FILLED"
	}
	t.publish(t.report(o, "TRADE", tr, "", now))
	return tr
}

// unlock releases what a resting order still locks. Call with t.mu held.
func (t *trading) unlock(o *order) {
	if o.locked.IsPos() {
		t.locked[o.lockedAsset], _ = t.locked[o.lockedAsset].Sub(o.locked)
		t.free[o.lockedAsset], _ = t.free[o.lockedAsset].Add(o.locked)
		o.locked = decimal.Decimal{}
	}
}

// cancel cancels o; cancelID is the cancel's own client order ID. Call with t.mu held.
func (t *trading) cancel(o *order, cancelID string, now int64) {
	t.unlock(o)
	o.status, o.updated = "CANCELED", now
	t.stats.Cancels++
	t.publish(t.report(o, "CANCELED", nil, cancelID, now))
}

// lookup finds the order a request names by orderId or origClientOrderId.
func (t *trading) lookup(p url.Values) (*order, *apiError) {
	if p.Get("symbol") == "" {
		return nil, mandatory("symbol")
	}
	var o *order
	if id := p.Get("orderId"); id != "" {
		n, err := strconv.ParseInt(id, 10, 64)
		if err != nil {
			return nil, mandatory("orderId")
		}
		if i := n - firstOrderID; i >= 0 && i < int64(len(t.orders)) {
			o = t.orders[i]
		}
	} else if id := p.Get("origClientOrderId"); id != "" {
		o = t.byClient[id]
	} else {
		return nil, badRequest(-1102, "Param 'origClientOrderId' or 'orderId' must be sent, but both were empty/null!")
	}
	if o != nil && o.symbol.Name != p.Get("symbol") {
		o = nil
	}
	return o, nil
}

// cancelRequest handles DELETE /api/v3/order. Call with t.mu held.
func (t *trading) cancelRequest(p url.Values) (any, *apiError) {
	o, aerr := t.lookup(p)
	if aerr != nil {
		return nil, aerr
	}
	if o == nil || !o.open() {
		return nil, badRequest(-2011, "Unknown order sent.")
	}
	cancelID := p.Get("newClientOrderId")
	if cancelID == "" {
		cancelID = randomID(22)
	}
	now := time.Now().UnixMilli()
	t.cancel(o, cancelID, now)
	return map[string]any{
		"symbol": o.symbol.Name, "origClientOrderId": o.clientID, "orderId": o.id, "orderListId": -1,
		"clientOrderId": cancelID, "transactTime": now, "price": amount(o.price), "origQty": amount(o.qty),
		"executedQty": amount(o.executed), "origQuoteOrderQty": amount(decimal.Decimal{}),
		"cummulativeQuoteQty": amount(o.quoteQty), "status": o.status, "timeInForce": "GTC",
		"type": o.typ, "side": o.side, "selfTradePreventionMode": "EXPIRE_MAKER",
	}, nil
}

// query handles GET /api/v3/order. Call with t.mu held.
func (t *trading) query(p url.Values) (any, *apiError) {
	o, aerr := t.lookup(p)
	if aerr != nil {
		return nil, aerr
	}
	if o == nil {
		return nil, badRequest(-2013, "Order does not exist.")
	}
	return orderView(o), nil
}

// orderView is an order as GET /api/v3/order and openOrders show it.
func orderView(o *order) map[string]any {
	v := map[string]any{
		"symbol": o.symbol.Name, "orderId": o.id, "orderListId": -1, "clientOrderId": o.clientID,
		"price": amount(o.price), "origQty": amount(o.qty), "executedQty": amount(o.executed),
		"cummulativeQuoteQty": amount(o.quoteQty), "status": o.status, "timeInForce": "GTC",
		"type": o.typ, "side": o.side, "stopPrice": amount(decimal.Decimal{}), "icebergQty": amount(decimal.Decimal{}),
		"time": o.created, "updateTime": o.updated, "isWorking": true, "workingTime": o.created,
		"origQuoteOrderQty": amount(decimal.Decimal{}), "selfTradePreventionMode": "EXPIRE_MAKER",
	}
	return v
}

// orderResponse is POST /api/v3/order's answer in the requested type (FULL by default
// for MARKET and LIMIT orders, as on Binance).
func orderResponse(o *order, respType string, fills []*trade, now int64) map[string]any {
	v := map[string]any{"symbol": o.symbol.Name, "orderId": o.id, "orderListId": -1, "clientOrderId": o.clientID, "transactTime": now}
	if respType == "ACK" {
		return v
	}
	for k, x := range map[string]any{
		"price": amount(o.price), "origQty": amount(o.qty), "executedQty": amount(o.executed),
		"origQuoteOrderQty": amount(decimal.Decimal{}), "cummulativeQuoteQty": amount(o.quoteQty),
		"status": o.status, "timeInForce": "GTC", "type": o.typ, "side": o.side,
		"workingTime": o.created, "selfTradePreventionMode": "EXPIRE_MAKER",
	} {
		v[k] = x
	}
	if respType == "RESULT" {
		return v
	}
	list := make([]map[string]any, len(fills))
	for i, f := range fills {
		list[i] = map[string]any{"price": amount(f.price), "qty": amount(f.qty), "commission": amount(f.commission),
			"commissionAsset": f.commissionAsset, "tradeId": f.id}
	}
	v["fills"] = list
	return v
}

func (s *Server) serveOpenOrders(w http.ResponseWriter, r *http.Request) {
	req := s.admit(w, r, http.MethodGet)
	if req == nil {
		return
	}
	t := s.trade
	t.mu.Lock()
	symbol := req.params.Get("symbol")
	out := []map[string]any{}
	for _, o := range t.orders {
		if o.open() && (symbol == "" || o.symbol.Name == symbol) {
			out = append(out, orderView(o))
		}
	}
	t.mu.Unlock()
	writeJSON(w, http.StatusOK, out)
}

// serveMyTrades answers GET /api/v3/myTrades: the symbol's trades, oldest first, filtered
// by orderId, fromId, startTime and endTime, at most limit (default 500, at most 1000).
func (s *Server) serveMyTrades(w http.ResponseWriter, r *http.Request) {
	req := s.admit(w, r, http.MethodGet)
	if req == nil {
		return
	}
	p := req.params
	symbol := p.Get("symbol")
	orderID, ok1 := intParam(p.Get("orderId"), -1)
	fromID, ok2 := intParam(p.Get("fromId"), -1)
	start, ok3 := intParam(p.Get("startTime"), -1)
	end, ok4 := intParam(p.Get("endTime"), -1)
	limit, ok5 := intParam(p.Get("limit"), 500)
	if symbol == "" || !ok1 || !ok2 || !ok3 || !ok4 || !ok5 {
		mandatory("symbol").write(w)
		return
	}
	t := s.trade
	t.mu.Lock()
	out := []map[string]any{}
	for _, tr := range t.trades {
		o := tr.order
		if o.symbol.Name != symbol || (orderID >= 0 && o.id != orderID) || (fromID >= 0 && tr.id < fromID) ||
			(start >= 0 && tr.time < start) || (end >= 0 && tr.time > end) || len(out) >= int(min(max(limit, 1), 1000)) {
			continue
		}
		out = append(out, map[string]any{
			"symbol": symbol, "id": tr.id, "orderId": o.id, "orderListId": -1, "price": amount(tr.price),
			"qty": amount(tr.qty), "quoteQty": amount(tr.quoteQty), "commission": amount(tr.commission),
			"commissionAsset": tr.commissionAsset, "time": tr.time, "isBuyer": o.side == "BUY",
			"isMaker": tr.maker, "isBestMatch": true,
		})
	}
	t.mu.Unlock()
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) serveAccount(w http.ResponseWriter, r *http.Request) {
	req := s.admit(w, r, http.MethodGet)
	if req == nil {
		return
	}
	omitZero := req.params.Get("omitZeroBalances") == "true"
	t := s.trade
	t.mu.Lock()
	assets := map[string]bool{}
	for a := range t.free {
		assets[a] = true
	}
	for a := range t.locked {
		assets[a] = true
	}
	names := make([]string, 0, len(assets))
	for a := range assets {
		names = append(names, a)
	}
	sort.Strings(names)
	balances := []map[string]string{}
	for _, a := range names {
		free, locked := t.free[a], t.locked[a]
		if omitZero && free.IsZero() && locked.IsZero() {
			continue
		}
		balances = append(balances, map[string]string{"asset": a, "free": amount(free), "locked": amount(locked)})
	}
	rate := amount(t.account.Commission)
	t.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{
		"makerCommission": 10, "takerCommission": 10, "buyerCommission": 0, "sellerCommission": 0,
		"commissionRates": map[string]string{"maker": rate, "taker": rate, "buyer": amount(decimal.Decimal{}), "seller": amount(decimal.Decimal{})},
		"canTrade":        true, "canWithdraw": true, "canDeposit": true, "brokered": false,
		"requireSelfTradePrevention": false, "preventSor": false,
		"updateTime": time.Now().UnixMilli(), "accountType": "SPOT", "balances": balances,
		"permissions": []string{"SPOT"}, "uid": 354937868,
	})
}

// amount writes a decimal as Binance does, with (at least) 8 decimals: "0.10000000".
func amount(d decimal.Decimal) string {
	if d.Scale() < moneyScale {
		d = d.Pad(moneyScale)
	}
	return d.String()
}

func validClientID(id string) bool {
	if len(id) == 0 || len(id) > 36 {
		return false
	}
	for _, r := range id {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
			return false
		}
	}
	return true
}

func randomID(n int) string {
	const letters = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	b := make([]byte, n)
	for i := range b {
		b[i] = letters[rand.N(len(letters))]
	}
	return string(b)
}
