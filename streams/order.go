package streams

import (
	"crypto/sha256"
	"encoding/base32"
	"fmt"
	"strconv"
	"strings"

	"github.com/govalues/decimal"
)

// KindOrder names the order-event payload schema; KindAgent the agent-state schema.
const (
	KindOrder Kind = "order"
	KindAgent Kind = "agent"
)

// Side of an order.
type Side string

const (
	Buy  Side = "BUY"
	Sell Side = "SELL"
)

// OrderType of an order.
type OrderType string

const (
	Market OrderType = "MARKET"
	Limit  OrderType = "LIMIT"
)

// OrderEventType is one step of an order's lifecycle: intent → submitted → accepted → fill
// (partial or final) | canceled | rejected | expired.
type OrderEventType string

const (
	OrderIntent    OrderEventType = "intent"    // an agent (or a bot) wants this order
	OrderSubmitted OrderEventType = "submitted" // the risk gate passed it and it is on its way to the venue
	OrderAccepted  OrderEventType = "accepted"  // the venue acknowledged it
	OrderFill      OrderEventType = "fill"      // the venue filled some or all of it
	OrderCanceled  OrderEventType = "canceled"  // canceled (by the engine, a user or the venue)
	OrderRejected  OrderEventType = "rejected"  // refused by the risk gate or the venue
	OrderExpired   OrderEventType = "expired"   // timed out, or lost by the venue (reconcile)
)

// OrderEvent is one transition of one order, on ord.<agent>.<venue>.<symbol>.<type>. Every
// event of an order carries its full description, so a consumer can start anywhere. Its ID
// is the client order ID, the type and (for a fill) the venue's trade ID: a venue report
// that arrives twice, or a resend after a crash, is dropped by the log's deduplication.
type OrderEvent struct {
	Type          OrderEventType  `json:"type"`
	ClientOrderID string          `json:"client_order_id"`
	VenueOrderID  string          `json:"venue_order_id,omitempty"`
	Agent         string          `json:"agent"`
	Venue         string          `json:"venue"`
	Symbol        string          `json:"symbol"`
	Side          Side            `json:"side"`
	OrderType     OrderType       `json:"order_type"`
	Qty           decimal.Decimal `json:"qty"`            // ordered quantity, base asset
	Price         decimal.Decimal `json:"price,omitzero"` // limit price; zero for a market order
	ReduceOnly    bool            `json:"reduce_only,omitempty"`
	TradeID       string          `json:"trade_id,omitempty"` // fill: the venue's trade ID
	FillQty       decimal.Decimal `json:"fill_qty,omitzero"`
	FillPrice     decimal.Decimal `json:"fill_price,omitzero"`
	Fee           decimal.Decimal `json:"fee,omitzero"` // fill: in the quote asset
	// Commission is what a live venue charged for the fill, in CommissionAsset (Binance: the
	// asset received, or BNB); Fee is its value in the quote asset. The balances move by it.
	Commission      decimal.Decimal `json:"commission,omitzero"`
	CommissionAsset string          `json:"commission_asset,omitempty"`
	Maker           bool            `json:"maker,omitempty"`
	CumQty          decimal.Decimal `json:"cum_qty,omitzero"` // filled so far, this fill included
	Reason          string          `json:"reason,omitempty"` // intent: why; rejected/canceled/expired: why
	// Source says who reported the transition when it is not the normal path: "reconcile"
	// for a difference found with the venue after a restart, "bot" for a bot's intent.
	Source string `json:"source,omitempty"`
	Time   int64  `json:"time"` // event time, epoch ms: market time for intents, venue time for reports
}

// Subject returns ord.<agent>.<venue>.<symbol>.<type>, lower case.
func (o *OrderEvent) Subject() string {
	return "ord." + strings.ToLower(o.Agent) + "." + strings.ToLower(o.Venue) + "." + strings.ToLower(o.Symbol) + "." + string(o.Type)
}

// ID is <client_order_id>.<type>, with .<trade_id> for a fill.
func (o *OrderEvent) ID() string {
	if o.Type == OrderFill {
		return o.ClientOrderID + ".fill." + o.TradeID
	}
	return o.ClientOrderID + "." + string(o.Type)
}
func (o *OrderEvent) Kind() Kind                  { return KindOrder }
func (o *OrderEvent) Key() (venue, symbol string) { return o.Venue, o.Symbol }
func (o *OrderEvent) EventTime() int64            { return o.Time }

// Check reports what makes an order event unusable: a missing ID, agent, venue or symbol, an
// unknown side, type or event type, a non-positive quantity, a limit order without a price,
// a fill without a positive quantity and price.
func (o *OrderEvent) Check() error {
	switch {
	case o.ClientOrderID == "":
		return fmt.Errorf("%w: order event without client_order_id", ErrBadEvent)
	case o.Agent == "" || !isToken(o.Agent):
		return fmt.Errorf("%w: order %s: agent %q", ErrBadEvent, o.ClientOrderID, o.Agent)
	case o.Venue == "" || !isToken(o.Venue):
		return fmt.Errorf("%w: order %s: venue %q", ErrBadEvent, o.ClientOrderID, o.Venue)
	case CheckSymbol(o.Symbol) != nil:
		return fmt.Errorf("%w: order %s: %v", ErrBadEvent, o.ClientOrderID, CheckSymbol(o.Symbol))
	case o.Side != Buy && o.Side != Sell:
		return fmt.Errorf("%w: order %s: side %q (BUY or SELL)", ErrBadEvent, o.ClientOrderID, o.Side)
	case o.OrderType != Market && o.OrderType != Limit:
		return fmt.Errorf("%w: order %s: order_type %q (MARKET or LIMIT)", ErrBadEvent, o.ClientOrderID, o.OrderType)
	case !o.Qty.IsPos():
		return fmt.Errorf("%w: order %s: qty %s must be positive", ErrBadEvent, o.ClientOrderID, o.Qty)
	case o.OrderType == Limit && !o.Price.IsPos():
		return fmt.Errorf("%w: order %s: a limit order needs a positive price", ErrBadEvent, o.ClientOrderID)
	}
	switch o.Type {
	case OrderIntent, OrderSubmitted, OrderAccepted, OrderCanceled, OrderRejected, OrderExpired:
	case OrderFill:
		if o.TradeID == "" || !o.FillQty.IsPos() || !o.FillPrice.IsPos() || o.Fee.IsNeg() {
			return fmt.Errorf("%w: fill of %s needs trade_id, positive fill_qty and fill_price, and a fee ≥ 0", ErrBadEvent, o.ClientOrderID)
		}
	default:
		return fmt.Errorf("%w: order %s: event type %q", ErrBadEvent, o.ClientOrderID, o.Type)
	}
	return nil
}

func isToken(s string) bool {
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
			return false
		}
	}
	return s != ""
}

// ClientOrderID derives an order's ID from what makes its intent unique: the agent, venue,
// symbol and the agent's key for the decision (e.g. the signal it acted on). The same intent
// always gets the same ID, so a resend after a crash is recognised by the venue and by the
// log. It fits Binance's newClientOrderId rule (at most 36 of [A-Za-z0-9_-]).
func ClientOrderID(agent, venue, symbol, key string) string {
	h := sha256.Sum256([]byte(strings.ToLower(agent) + "|" + strings.ToLower(venue) + "|" + strings.ToUpper(symbol) + "|" + key))
	return "syn-" + strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(h[:])[:26])
}

// AgentState is an agent's trading state.
type AgentState string

const (
	AgentActive   AgentState = "ACTIVE"   // trades on its signals
	AgentReducing AgentState = "REDUCING" // only orders that shrink exposure
	AgentHalted   AgentState = "HALTED"   // no orders at all
)

// AgentEvent is a change of an agent's trading state, on pf.<agent>.state: a command
// (agents.halt, ...), its drawdown reaching the limit, or the kill switch.
type AgentEvent struct {
	Agent    string          `json:"agent"`
	State    AgentState      `json:"state"`
	Previous AgentState      `json:"previous"`
	Reason   string          `json:"reason"`
	Equity   decimal.Decimal `json:"equity"`
	Drawdown decimal.Decimal `json:"drawdown"` // from the peak, as a fraction (0.05 = 5%)
	Time     int64           `json:"time"`     // event time, epoch ms
	// Cause identifies what caused the change (a command ID, or "drawdown.<time>"), which
	// makes the event's ID deterministic.
	Cause string `json:"cause"`
	// CommandSeq is the CMD stream sequence of the command that caused the change (0: none):
	// after a restart, commands up to the newest one recorded have already acted.
	CommandSeq uint64 `json:"command_seq,omitempty"`
}

func (a *AgentEvent) Subject() string             { return "pf." + strings.ToLower(a.Agent) + ".state" }
func (a *AgentEvent) ID() string                  { return strings.ToLower(a.Agent) + ".state." + a.Cause }
func (a *AgentEvent) Kind() Kind                  { return KindAgent }
func (a *AgentEvent) Key() (venue, symbol string) { return "", "" }
func (a *AgentEvent) EventTime() int64            { return a.Time }

// KindKillSwitch names the kill-switch payload schema.
const KindKillSwitch Kind = "killswitch"

// KillSwitchEvent records the global kill switch turned on or off, on pf.risk.killswitch.
// While it is on the risk gate rejects every order and every agent is HALTED.
type KillSwitchEvent struct {
	On         bool   `json:"on"`
	Reason     string `json:"reason"`
	Cause      string `json:"cause"` // the command's ID
	CommandSeq uint64 `json:"command_seq"`
	Time       int64  `json:"time"`
}

func (k *KillSwitchEvent) Subject() string             { return "pf.risk.killswitch" }
func (k *KillSwitchEvent) ID() string                  { return "risk.killswitch." + k.Cause }
func (k *KillSwitchEvent) Kind() Kind                  { return KindKillSwitch }
func (k *KillSwitchEvent) Key() (venue, symbol string) { return "", "" }
func (k *KillSwitchEvent) EventTime() int64            { return k.Time }

// KindEquity names the equity-snapshot payload schema.
const KindEquity Kind = "equity"

// EquitySnapshot is an agent's account at one moment of market time, on pf.<agent>.equity:
// published at the first mark of every hour, so the equity curve and the drawdown are on
// the log for the read models. Amounts are in the quote asset.
type EquitySnapshot struct {
	Agent      string          `json:"agent"`
	Time       int64           `json:"time"` // epoch ms, the start of the hour
	Capital    decimal.Decimal `json:"capital"`
	Cash       decimal.Decimal `json:"cash"`
	Equity     decimal.Decimal `json:"equity"`
	Exposure   decimal.Decimal `json:"exposure"`
	Realized   decimal.Decimal `json:"realized"`
	Unrealized decimal.Decimal `json:"unrealized"`
	Fees       decimal.Decimal `json:"fees"`
	Drawdown   decimal.Decimal `json:"drawdown"`
	// Marks are the prices the account marked its open positions at, as of MarkTime (the
	// market time of the mark that took the snapshot): the read models value positions at
	// them, where their last fill is older.
	Marks    []Mark `json:"marks,omitempty"`
	MarkTime int64  `json:"mark_time,omitempty"`
}

// Mark is the price an account marks one position at.
type Mark struct {
	Venue  string          `json:"venue"`
	Symbol string          `json:"symbol"`
	Price  decimal.Decimal `json:"price"`
}

func (e *EquitySnapshot) Subject() string { return "pf." + strings.ToLower(e.Agent) + ".equity" }
func (e *EquitySnapshot) ID() string {
	return strings.ToLower(e.Agent) + ".equity." + strconv.FormatInt(e.Time, 10)
}
func (e *EquitySnapshot) Kind() Kind                  { return KindEquity }
func (e *EquitySnapshot) Key() (venue, symbol string) { return "", "" }
func (e *EquitySnapshot) EventTime() int64            { return e.Time }

// KindBalances names the venue-balances payload schema.
const KindBalances Kind = "balances"

// BalanceCheck compares a live venue's balances, read when the engine reconciles with it at
// start, with what the log explains: the previous check's balances plus every fill on ORD
// since that check (ORDSeq). Differences are what happened outside the engine (deposits,
// withdrawals, trades by hand). On pf.venue.<venue>.balances.
type BalanceCheck struct {
	Venue       string                     `json:"venue"`
	Balances    map[string]decimal.Decimal `json:"balances"` // free + locked per asset, at the venue
	Expected    map[string]decimal.Decimal `json:"expected,omitempty"`
	Differences map[string]decimal.Decimal `json:"differences,omitempty"` // balances − expected, non-zero only
	ORDSeq      uint64                     `json:"ord_seq"`               // the ORD sequence the balances include
	Baseline    bool                       `json:"baseline,omitempty"`    // the first check: nothing to compare with
	Time        int64                      `json:"time"`                  // wall clock, epoch ms
}

func (b *BalanceCheck) Subject() string { return "pf.venue." + strings.ToLower(b.Venue) + ".balances" }
func (b *BalanceCheck) ID() string {
	return strings.ToLower(b.Venue) + ".balances." + strconv.FormatUint(b.ORDSeq, 10) + "." + strconv.FormatInt(b.Time, 10)
}
func (b *BalanceCheck) Kind() Kind                  { return KindBalances }
func (b *BalanceCheck) Key() (venue, symbol string) { return b.Venue, "" }
func (b *BalanceCheck) EventTime() int64            { return b.Time }

// quoteAssets are the quote assets SplitSymbol knows, longest first.
var quoteAssets = []string{"FDUSD", "USDT", "USDC", "BUSD", "TUSD", "BTC", "ETH", "BNB", "EUR", "TRY"}

// SplitSymbol splits a symbol into its base and quote assets (BTCUSDT → BTC, USDT); ok is
// false when the quote asset is not one it knows.
func SplitSymbol(symbol string) (base, quote string, ok bool) {
	for _, q := range quoteAssets {
		if strings.HasSuffix(symbol, q) && len(symbol) > len(q) {
			return symbol[:len(symbol)-len(q)], q, true
		}
	}
	return "", "", false
}

// BalanceChanges adds what a fill does to an account's balances to net: the base asset by
// the quantity, the quote asset by the notional (a buy spends it, a sell receives it), and
// the commission's asset by the commission. It returns false for a symbol it cannot split.
func BalanceChanges(net map[string]decimal.Decimal, f *OrderEvent) bool {
	base, quote, ok := SplitSymbol(f.Symbol)
	if !ok {
		return false
	}
	notional, err := f.FillQty.Mul(f.FillPrice)
	if err != nil {
		return false
	}
	notional = notional.Round(8) // venues settle quote amounts to 8 decimals, as the ledger does
	qty := f.FillQty
	if f.Side == Buy {
		notional = notional.Neg()
	} else {
		qty = qty.Neg()
	}
	net[base], _ = net[base].Add(qty)
	net[quote], _ = net[quote].Add(notional)
	if f.CommissionAsset != "" {
		net[f.CommissionAsset], _ = net[f.CommissionAsset].Sub(f.Commission)
	}
	return true
}
