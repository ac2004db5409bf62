package portfolio

import (
	"fmt"
	"maps"

	"github.com/govalues/decimal"

	"github.com/synapse-trading/synapse/streams"
)

// Status is where an order is in its lifecycle.
type Status string

const (
	StatusIntent          Status = "intent"
	StatusSubmitted       Status = "submitted"
	StatusAccepted        Status = "accepted"
	StatusPartiallyFilled Status = "partially_filled"
	StatusFilled          Status = "filled"
	StatusCanceled        Status = "canceled"
	StatusRejected        Status = "rejected"
	StatusExpired         Status = "expired"
)

// Terminal reports whether nothing more can happen to an order in this status.
func (s Status) Terminal() bool {
	return s == StatusFilled || s == StatusCanceled || s == StatusRejected || s == StatusExpired
}

// Order is the state of one order, folded from its events on the log.
type Order struct {
	ClientOrderID string              `json:"client_order_id"`
	VenueOrderID  string              `json:"venue_order_id,omitempty"`
	Agent         string              `json:"agent"`
	Venue         string              `json:"venue"`
	Symbol        string              `json:"symbol"`
	Side          streams.Side        `json:"side"`
	Type          streams.OrderType   `json:"type"`
	Qty           decimal.Decimal     `json:"qty"`
	Price         decimal.Decimal     `json:"price"`
	ReduceOnly    bool                `json:"reduce_only,omitempty"`
	Status        Status              `json:"status"`
	Filled        decimal.Decimal     `json:"filled"`
	Notional      decimal.Decimal     `json:"notional"` // Σ fill qty × price, each at MoneyScale as booked, in the quote asset
	Fees          decimal.Decimal     `json:"fees"`
	Reason        string              `json:"reason,omitempty"`
	Created       int64               `json:"created"` // event time of the intent
	Updated       int64               `json:"updated"`
	Fills         int                 `json:"fills"`
	trades        map[string]struct{} // trade IDs applied, so a repeated fill is not counted twice
}

// NewOrder starts an order from its intent.
func NewOrder(intent *streams.OrderEvent) (*Order, error) {
	if intent.Type != streams.OrderIntent {
		return nil, fmt.Errorf("%w: an order starts with an intent, not %s", ErrTransition, intent.Type)
	}
	if err := intent.Check(); err != nil {
		return nil, err
	}
	return &Order{ClientOrderID: intent.ClientOrderID, Agent: intent.Agent, Venue: intent.Venue, Symbol: intent.Symbol,
		Side: intent.Side, Type: intent.OrderType, Qty: intent.Qty, Price: intent.Price, ReduceOnly: intent.ReduceOnly,
		Status: StatusIntent, Reason: intent.Reason, Created: intent.Time, Updated: intent.Time}, nil
}

// Clone returns a copy that shares nothing with o.
func (o *Order) Clone() *Order {
	c := *o
	c.trades = maps.Clone(o.trades)
	return &c
}

// Event returns an event of type t for this order, carrying its description.
func (o *Order) Event(t streams.OrderEventType, time int64) *streams.OrderEvent {
	return &streams.OrderEvent{Type: t, ClientOrderID: o.ClientOrderID, VenueOrderID: o.VenueOrderID, Agent: o.Agent, Venue: o.Venue,
		Symbol: o.Symbol, Side: o.Side, OrderType: o.Type, Qty: o.Qty, Price: o.Price, ReduceOnly: o.ReduceOnly, CumQty: o.Filled, Time: time}
}

// Remaining is the quantity not filled yet.
func (o *Order) Remaining() decimal.Decimal {
	r, _ := o.Qty.Sub(o.Filled)
	return r
}

// Open reports whether the order may still fill.
func (o *Order) Open() bool { return !o.Status.Terminal() }

// Apply folds one event into the order. Events that cannot follow the current status are an
// error wrapping ErrTransition and change nothing; a fill already applied (same trade ID)
// is ignored and reported as applied=false. Venues may report out of the usual order (a
// fill before the ack), so a fill or a cancel also accepts a submitted order.
func (o *Order) Apply(ev *streams.OrderEvent) (applied bool, err error) {
	if ev.ClientOrderID != o.ClientOrderID {
		return false, fmt.Errorf("%w: event of %s applied to %s", ErrTransition, ev.ClientOrderID, o.ClientOrderID)
	}
	bad := func() (bool, error) {
		return false, fmt.Errorf("%w: %s of order %s in status %s", ErrTransition, ev.Type, o.ClientOrderID, o.Status)
	}
	switch ev.Type {
	case streams.OrderIntent:
		return false, nil // the intent made the order; a repeat changes nothing
	case streams.OrderSubmitted:
		if o.Status != StatusIntent {
			return bad()
		}
		o.Status = StatusSubmitted
	case streams.OrderAccepted:
		switch o.Status {
		case StatusSubmitted, StatusIntent:
			o.Status = StatusAccepted
		case StatusAccepted, StatusPartiallyFilled, StatusFilled:
			// an ack that arrives after the first fill changes nothing but the venue's ID
		default:
			return bad()
		}
	case streams.OrderFill:
		if o.Status.Terminal() && o.Status != StatusCanceled && o.Status != StatusExpired {
			return bad()
		}
		// A fill reported after a cancel or expiry (it raced the cancel, or reconcile found
		// it) still happened: it is booked and the status stays terminal.
		if _, seen := o.trades[ev.TradeID]; seen {
			return false, nil
		}
		filled, err := o.Filled.Add(ev.FillQty)
		if err != nil || filled.Cmp(o.Qty) > 0 {
			return false, fmt.Errorf("%w: fill %s of order %s: %s filled of %s", ErrTransition, ev.TradeID, o.ClientOrderID, filled, o.Qty)
		}
		notional, err := ev.FillQty.Mul(ev.FillPrice)
		if err != nil {
			return false, fmt.Errorf("%w: fill %s: %v", ErrTransition, ev.TradeID, err)
		}
		// Each fill's notional to the money scale, as the ledger books it (Account.Fill) and as
		// Binance reports a quote quantity: the order's notional is the sum of its fills' costs.
		if o.Notional, err = o.Notional.Add(notional.Round(MoneyScale)); err != nil {
			return false, fmt.Errorf("%w: fill %s: %v", ErrTransition, ev.TradeID, err)
		}
		if o.Fees, err = o.Fees.Add(ev.Fee); err != nil {
			return false, fmt.Errorf("%w: fill %s: %v", ErrTransition, ev.TradeID, err)
		}
		if o.trades == nil {
			o.trades = map[string]struct{}{}
		}
		o.trades[ev.TradeID] = struct{}{}
		o.Filled = filled
		o.Fills++
		if !o.Status.Terminal() {
			o.Status = StatusPartiallyFilled
			if filled.Cmp(o.Qty) == 0 {
				o.Status = StatusFilled
			}
		}
	case streams.OrderCanceled, streams.OrderExpired, streams.OrderRejected:
		if o.Status.Terminal() {
			if o.Status == Status(ev.Type) {
				return false, nil // said twice
			}
			return bad()
		}
		if ev.Type == streams.OrderRejected && o.Status != StatusIntent && o.Status != StatusSubmitted {
			return bad()
		}
		o.Status = Status(ev.Type)
		o.Reason = ev.Reason
	default:
		return bad()
	}
	if ev.VenueOrderID != "" {
		o.VenueOrderID = ev.VenueOrderID
	}
	if ev.Time > o.Updated {
		o.Updated = ev.Time
	}
	return true, nil
}

// AvgPrice is the average fill price (zero before the first fill).
func (o *Order) AvgPrice() decimal.Decimal {
	if o.Filled.IsZero() {
		return decimal.Decimal{}
	}
	p, err := o.Notional.Quo(o.Filled)
	if err != nil {
		return decimal.Decimal{}
	}
	return p
}
