package binance

// Every conversion between go-binance's types and the venue's own is in this file: outside
// it the package uses only go-binance's Client, its services and their answers, handed
// straight to the functions here, and no go-binance type leaves the package. Amounts are parsed exactly with decimal.Parse; trailing zeros of
// Binance's 8-decimal strings are trimmed (the value is unchanged).

import (
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"

	gobinance "github.com/adshao/go-binance/v2"
	"github.com/adshao/go-binance/v2/common"
	"github.com/govalues/decimal"

	"github.com/synapse-trading/synapse/portfolio"
	"github.com/synapse-trading/synapse/streams"
)

// orderState is what Binance says of one order: an order, cancel or query answer.
type orderState struct {
	orderID  int64
	clientID string
	status   string // Binance's: NEW, PARTIALLY_FILLED, FILLED, CANCELED, PENDING_CANCEL, REJECTED, EXPIRED, EXPIRED_IN_MATCH
	executed decimal.Decimal
	time     int64
	fills    []fill // an order answer's fills (newOrderRespType FULL), oldest first
}

// fill is one trade of an order, its fee converted to the quote asset.
type fill struct {
	tradeID  int64
	qty      decimal.Decimal
	price    decimal.Decimal
	fee      decimal.Decimal // in the quote asset
	feeOther bool            // the fee was paid in a third asset (e.g. BNB) and counts 0 here
	// commission is what Binance charged, in commissionAsset (the balances move by it).
	commission      decimal.Decimal
	commissionAsset string
	maker           bool
	time            int64
}

// execution is one executionReport of the user-data stream.
type execution struct {
	kind     string // x: NEW, TRADE, CANCELED, REJECTED, EXPIRED, TRADE_PREVENTION, ...
	status   string // X
	clientID string // the order's client ID (for a cancel, "C", the canceled order's)
	symbol   string
	orderID  int64
	reason   string // r
	cum      decimal.Decimal
	fill     fill // TRADE only
	time     int64
}

// sideOf and typeOf are an order's side and type in go-binance's terms.
func sideOf(s streams.Side) gobinance.SideType { return gobinance.SideType(s) }

func typeOf(t streams.OrderType) gobinance.OrderType {
	if t == streams.Limit {
		return gobinance.OrderTypeLimit
	}
	return gobinance.OrderTypeMarket
}

// amount formats an order's quantity or price for Binance: a plain decimal string.
func amount(d decimal.Decimal) string { return d.String() }

// parseAmount reads one of Binance's decimal strings; "" is zero.
func parseAmount(field, s string) (decimal.Decimal, error) {
	if s == "" {
		return decimal.Decimal{}, nil
	}
	d, err := decimal.Parse(s)
	if err != nil {
		return decimal.Decimal{}, fmt.Errorf("field %s: %q is not a decimal", field, s)
	}
	return d.Trim(0), nil
}

// feeInQuote converts a commission n paid in asset to the quote asset of symbol: as is
// when asset is the quote, n × price rounded to portfolio.MoneyScale when it is the base,
// and 0 (other = true) for a third asset such as BNB. Binance charges fees in the base,
// the quote or BNB only, so a symbol's quote is the asset it ends with and its base the
// one it starts with (BNBUSDT, ETHBNB work too).
func feeInQuote(symbol, asset string, n, price decimal.Decimal) (fee decimal.Decimal, other bool, err error) {
	switch {
	case n.IsZero() || asset == "":
		return decimal.Decimal{}, false, nil
	case strings.HasSuffix(symbol, asset) && len(asset) < len(symbol):
		return n, false, nil
	case strings.HasPrefix(symbol, asset) && len(asset) < len(symbol):
		q, err := n.Mul(price)
		if err != nil {
			return decimal.Decimal{}, false, fmt.Errorf("fee %s %s × %s: %v", n, asset, price, err)
		}
		return q.Round(portfolio.MoneyScale), false, nil
	}
	return decimal.Decimal{}, true, nil
}

// stateFromCreate converts POST /api/v3/order's answer (FULL: with its fills).
func stateFromCreate(symbol string, r *gobinance.CreateOrderResponse) (orderState, error) {
	st := orderState{orderID: r.OrderID, clientID: r.ClientOrderID, status: string(r.Status), time: r.TransactTime}
	var err error
	if st.executed, err = parseAmount("executedQty", r.ExecutedQuantity); err != nil {
		return st, err
	}
	for _, f := range r.Fills {
		qty, err := parseAmount("fills.qty", f.Quantity)
		if err != nil {
			return st, err
		}
		price, err := parseAmount("fills.price", f.Price)
		if err != nil {
			return st, err
		}
		n, err := parseAmount("fills.commission", f.Commission)
		if err != nil {
			return st, err
		}
		fee, other, err := feeInQuote(symbol, f.CommissionAsset, n, price)
		if err != nil {
			return st, err
		}
		// Fills in the order's own answer matched on arrival: the order was the taker.
		st.fills = append(st.fills, fill{tradeID: f.TradeID, qty: qty, price: price, fee: fee, feeOther: other, time: r.TransactTime,
			commission: n, commissionAsset: f.CommissionAsset})
	}
	return st, nil
}

// stateFromOrder converts GET /api/v3/order's answer (and each of openOrders').
func stateFromOrder(r *gobinance.Order) (orderState, error) {
	st := orderState{orderID: r.OrderID, clientID: r.ClientOrderID, status: string(r.Status), time: max(r.UpdateTime, r.Time)}
	var err error
	st.executed, err = parseAmount("executedQty", r.ExecutedQuantity)
	return st, err
}

// stateFromCancel converts DELETE /api/v3/order's answer.
func stateFromCancel(r *gobinance.CancelOrderResponse) (orderState, error) {
	st := orderState{orderID: r.OrderID, clientID: r.OrigClientOrderID, status: string(r.Status), time: r.TransactTime}
	var err error
	st.executed, err = parseAmount("executedQty", r.ExecutedQuantity)
	return st, err
}

// openOrder is an order of GET /api/v3/openOrders, for Reconcile's log.
type openOrder struct {
	orderState
	symbol, side string
	qty, price   decimal.Decimal
}

func openOrdersFrom(rs []*gobinance.Order) ([]openOrder, error) {
	out := make([]openOrder, 0, len(rs))
	for _, r := range rs {
		st, err := stateFromOrder(r)
		if err != nil {
			return nil, err
		}
		o := openOrder{orderState: st, symbol: r.Symbol, side: string(r.Side)}
		if o.qty, err = parseAmount("origQty", r.OrigQuantity); err != nil {
			return nil, err
		}
		if o.price, err = parseAmount("price", r.Price); err != nil {
			return nil, err
		}
		out = append(out, o)
	}
	return out, nil
}

// fillsFromTrades converts GET /api/v3/myTrades' answer, oldest trade first.
func fillsFromTrades(symbol string, ts []*gobinance.TradeV3) ([]fill, error) {
	out := make([]fill, 0, len(ts))
	for _, t := range ts {
		qty, err := parseAmount("qty", t.Quantity)
		if err != nil {
			return nil, err
		}
		price, err := parseAmount("price", t.Price)
		if err != nil {
			return nil, err
		}
		n, err := parseAmount("commission", t.Commission)
		if err != nil {
			return nil, err
		}
		fee, other, err := feeInQuote(symbol, t.CommissionAsset, n, price)
		if err != nil {
			return nil, err
		}
		out = append(out, fill{tradeID: t.ID, qty: qty, price: price, fee: fee, feeOther: other, maker: t.IsMaker, time: t.Time,
			commission: n, commissionAsset: t.CommissionAsset})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].tradeID < out[j].tradeID })
	return out, nil
}

// balancesFrom converts GET /api/v3/account's balances: free + locked per asset, the
// assets with nothing left out.
func balancesFrom(a *gobinance.Account) (map[string]decimal.Decimal, error) {
	out := map[string]decimal.Decimal{}
	for _, b := range a.Balances {
		free, err := parseAmount("free", b.Free)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", b.Asset, err)
		}
		locked, err := parseAmount("locked", b.Locked)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", b.Asset, err)
		}
		total, err := free.Add(locked)
		if err != nil {
			return nil, fmt.Errorf("%s: %v", b.Asset, err)
		}
		if !total.IsZero() {
			out[b.Asset] = total
		}
	}
	return out, nil
}

// Events of the user-data stream the venue acts on.
const (
	eventExecutionReport  = "executionReport"
	eventStreamTerminated = "eventStreamTerminated" // Binance ended the subscription
)

// decodeUserFrame reads one user-data message: its event type and, for an
// executionReport, the execution. A frame wrapped as the WebSocket API sends it
// ({"subscriptionId":..,"event":{...}}) is unwrapped first; any other message (an answer
// to a request) has no event type.
func decodeUserFrame(data []byte) (event string, ex *execution, err error) {
	var head struct {
		Event   string          `json:"e"`
		Time    int64           `json:"E"`
		Wrapped json.RawMessage `json:"event"`
	}
	if err := json.Unmarshal(data, &head); err != nil {
		return "", nil, fmt.Errorf("not a JSON object: %v", err)
	}
	if head.Event == "" && len(head.Wrapped) > 0 {
		return decodeUserFrame(head.Wrapped)
	}
	if head.Event != eventExecutionReport {
		return head.Event, nil, nil
	}
	var u gobinance.WsOrderUpdate
	if err := json.Unmarshal(data, &u); err != nil {
		return head.Event, nil, fmt.Errorf("executionReport: %v", err)
	}
	ex = &execution{kind: u.ExecutionType, status: u.Status, clientID: u.ClientOrderId, symbol: u.Symbol,
		orderID: u.Id, reason: u.RejectReason, time: u.TransactionTime}
	if u.OrigCustomOrderId != "" {
		ex.clientID = u.OrigCustomOrderId // a cancel: "c" is the cancel's own ID
	}
	if ex.time == 0 {
		ex.time = head.Time
	}
	if ex.cum, err = parseAmount("z", u.FilledVolume); err != nil {
		return head.Event, nil, fmt.Errorf("executionReport: %v", err)
	}
	if ex.kind != "TRADE" {
		return head.Event, ex, nil
	}
	f := fill{tradeID: u.TradeId, maker: u.IsMaker, time: ex.time}
	if f.qty, err = parseAmount("l", u.LatestVolume); err == nil {
		f.price, err = parseAmount("L", u.LatestPrice)
	}
	var n decimal.Decimal
	if err == nil {
		n, err = parseAmount("n", u.FeeCost)
	}
	if err == nil {
		f.fee, f.feeOther, err = feeInQuote(u.Symbol, u.FeeAsset, n, f.price)
		f.commission, f.commissionAsset = n, u.FeeAsset
	}
	if err != nil {
		return head.Event, nil, fmt.Errorf("executionReport: %v", err)
	}
	if u.TradeId < 0 || !f.qty.IsPos() || !f.price.IsPos() {
		return head.Event, nil, fmt.Errorf("executionReport: TRADE without a trade ID, quantity or price")
	}
	ex.fill = f
	return head.Event, ex, nil
}

// apiErrorOf returns the code and message of an error Binance answered with.
func apiErrorOf(err error) (code int64, msg string, ok bool) {
	var e *common.APIError
	if errors.As(err, &e) && e.IsValid() {
		return e.Code, e.Message, true
	}
	return 0, "", false
}

// Binance's error codes the venue acts on.
const (
	codeUnknown          = -1000 // an unknown error: the outcome of the request is unknown
	codeDisconnected     = -1001 // internal error: the outcome is unknown
	codeUnexpectedResp   = -1006 // an unexpected answer from the message bus: the outcome is unknown
	codeTimeout          = -1007 // timeout waiting for the backend: the outcome is unknown
	codeNewOrderRejected = -2010 // insufficient balance, duplicate order, ...
	codeCancelRejected   = -2011 // unknown or closed order
	codeNoSuchOrder      = -2013 // order does not exist
	codeTimestamp        = -1021 // the timestamp is outside the recvWindow
	codeBadSignature     = -1022 // the signature is not valid for the API key
	codeBadAPIKeyFormat  = -2014 // API-key format invalid
	codeRejectedAPIKey   = -2015 // invalid API key, IP, or permissions for action
)

// outcomeUnknown reports whether err leaves open whether Binance executed the request:
// a network failure, an answer that is not Binance's error layout, or one of the codes
// Binance documents as "execution status unknown".
func outcomeUnknown(err error) bool {
	if err == nil {
		return false
	}
	var le *limitError
	if errors.As(err, &le) {
		return false
	}
	code, _, ok := apiErrorOf(err)
	if !ok {
		return true
	}
	switch code {
	case codeUnknown, codeDisconnected, codeUnexpectedResp, codeTimeout:
		return true
	}
	return false
}

// duplicateOrder reports whether Binance refused a new order because an open order has
// the same client order ID.
func duplicateOrder(code int64, msg string) bool {
	return code == codeNewOrderRejected && strings.Contains(strings.ToLower(msg), "duplicate")
}

// venueOrderID is Binance's order ID as the engine keeps it.
func venueOrderID(id int64) string {
	if id == 0 {
		return ""
	}
	return strconv.FormatInt(id, 10)
}

// parseVenueOrderID reads an order's VenueOrderID back (0 when there is none).
func parseVenueOrderID(s string) int64 {
	n, _ := strconv.ParseInt(s, 10, 64)
	return n
}
