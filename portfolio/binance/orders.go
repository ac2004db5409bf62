package binance

import (
	"strconv"
	"time"

	"github.com/govalues/decimal"

	"github.com/synapse-trading/synapse/portfolio"
	"github.com/synapse-trading/synapse/streams"
)

// sourceReconcile marks the reports Reconcile makes (streams.OrderEvent.Source).
const sourceReconcile = "reconcile"

// Reasons the venue gives.
const (
	reasonCanceledOnRequest = "canceled on request"
	reasonCanceledOutside   = "canceled at the venue, outside the engine"
	reasonExpired           = "expired at the venue"
	reasonNotAtVenue        = "not at the venue after a restart"
	reasonSubmitLost        = "not at the venue: the submit's outcome was unknown and Binance does not know the order"
)

// tracked is what the venue knows of one order it placed or was handed by Reconcile, so
// that every transition is reported once, whichever path (the order's answer, the
// user-data stream, a catch-up query) brings it first. Guarded by Venue.mu.
type tracked struct {
	tmpl          streams.OrderEvent // the order's description (Order.Event); Type, Time, ... set per report
	orderID       int64              // Binance's, 0 until known
	accepted      bool
	trades        map[int64]struct{} // trade IDs reported
	cum           decimal.Decimal    // filled quantity reported
	venueExecuted decimal.Decimal    // filled quantity Binance has reported (may run ahead of cum)
	closed        bool               // filled, canceled, rejected or expired
	closedAt      time.Time
	cancelAsked   bool
	unsure        bool // the submit's outcome was unknown: the order may not exist
}

// done reports whether nothing more is to be reported: closed, and every fill Binance
// reported has been reported too (a catch-up fetches the trades otherwise).
func (t *tracked) done() bool { return t.closed && t.cum.Cmp(t.venueExecuted) >= 0 }

// newTracked starts tracking o as the engine's log describes it.
func newTracked(o *portfolio.Order) *tracked {
	t := &tracked{tmpl: *o.Event(streams.OrderAccepted, 0), trades: map[int64]struct{}{},
		orderID: parseVenueOrderID(o.VenueOrderID), cum: o.Filled, venueExecuted: o.Filled}
	t.accepted = o.Status != portfolio.StatusIntent && o.Status != portfolio.StatusSubmitted
	if o.Status.Terminal() {
		t.closed, t.closedAt = true, time.Now()
	}
	return t
}

// event returns a report of type typ for t. Call with v.mu held.
func (v *Venue) event(t *tracked, typ streams.OrderEventType, at int64, source string) *streams.OrderEvent {
	ev := t.tmpl
	ev.Type, ev.Time, ev.Source, ev.CumQty = typ, at, source, t.cum
	if ev.Time == 0 {
		ev.Time = time.Now().UnixMilli()
	}
	if t.orderID != 0 {
		ev.VenueOrderID = venueOrderID(t.orderID)
	}
	return &ev
}

func (v *Venue) emit(ev *streams.OrderEvent) {
	v.counters.reports.Add(1)
	v.log.Debug("binance: order event", "type", ev.Type, "client_order_id", ev.ClientOrderID, "venue_order_id", ev.VenueOrderID,
		"trade_id", ev.TradeID, "cum_qty", ev.CumQty.String(), "reason", ev.Reason, "source", ev.Source)
	v.report(ev)
}

// accept reports accepted, once. Call with v.mu held.
func (v *Venue) accept(t *tracked, at int64, source string) {
	if t.accepted || t.closed {
		return // already said, or too late: an order's end is its last report
	}
	t.accepted = true
	v.emit(v.event(t, streams.OrderAccepted, at, source))
}

// fill reports a trade, once per trade ID, with cum the order's filled quantity after it.
// A trade that arrives after a cancel or an expiry (it raced it) is reported too. Call
// with v.mu held.
func (v *Venue) fill(t *tracked, f fill, cum decimal.Decimal, source string) {
	if _, seen := t.trades[f.tradeID]; seen {
		return
	}
	t.trades[f.tradeID] = struct{}{}
	if cum.Cmp(t.cum) > 0 {
		t.cum = cum
	}
	if cum.Cmp(t.venueExecuted) > 0 {
		t.venueExecuted = cum
	}
	if f.feeOther {
		v.counters.otherAssetFees.Add(1)
	}
	ev := v.event(t, streams.OrderFill, f.time, source)
	ev.TradeID = strconv.FormatInt(f.tradeID, 10)
	ev.FillQty, ev.FillPrice, ev.Fee, ev.Maker, ev.CumQty = f.qty, f.price, f.fee, f.maker, cum
	ev.Commission, ev.CommissionAsset = f.commission, f.commissionAsset
	v.emit(ev)
	if !t.closed && t.cum.Cmp(t.tmpl.Qty) >= 0 {
		t.closed, t.closedAt = true, time.Now()
	}
}

// finish reports the order's end (canceled, rejected or expired), once: the first end
// wins. Call with v.mu held.
func (v *Venue) finish(t *tracked, typ streams.OrderEventType, reason string, at int64, source string) {
	if t.closed {
		return
	}
	if typ == streams.OrderRejected && t.accepted {
		v.log.Warn("binance: a rejection of an order already accepted, ignored", "client_order_id", t.tmpl.ClientOrderID, "reason", reason)
		return
	}
	t.closed, t.closedAt = true, time.Now()
	ev := v.event(t, typ, at, source)
	ev.Reason = reason
	v.emit(ev)
}

// apply reports what a state of the order at Binance (an order answer, a query) shows
// that was not reported yet; trades, when given, are all of the order's trades, oldest
// first. Call with v.mu held.
func (v *Venue) apply(t *tracked, st orderState, trades []fill, source string) {
	if st.orderID != 0 {
		t.orderID = st.orderID
	}
	if st.executed.Cmp(t.venueExecuted) > 0 {
		t.venueExecuted = st.executed
	}
	t.unsure = false
	if st.status != "REJECTED" {
		v.accept(t, st.time, source)
	}
	var cum decimal.Decimal
	for _, f := range trades {
		cum, _ = cum.Add(f.qty)
		v.fill(t, f, cum, source)
	}
	switch st.status {
	case "CANCELED":
		v.finish(t, streams.OrderCanceled, t.cancelReason(), st.time, source)
	case "EXPIRED", "EXPIRED_IN_MATCH":
		v.finish(t, streams.OrderExpired, reasonExpired, st.time, source)
	case "REJECTED":
		v.finish(t, streams.OrderRejected, "rejected by the venue", st.time, source)
	}
}

// onExecution reports what one executionReport says. Orders the engine did not place
// (no "syn-" prefix) are ignored; "syn-" orders this venue does not track (placed before
// a restart, before Reconcile hands them over) are counted and left to Reconcile.
func (v *Venue) onExecution(ex *execution) {
	if !isEngineOrder(ex.clientID) {
		v.counters.ignored.Add(1)
		return
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	t := v.orders[ex.clientID]
	if t == nil {
		v.counters.unknown.Add(1)
		v.log.Info("binance: report of an order this venue does not track, left to Reconcile",
			"client_order_id", ex.clientID, "execution", ex.kind, "status", ex.status)
		return
	}
	if ex.orderID != 0 {
		t.orderID = ex.orderID
	}
	if ex.cum.Cmp(t.venueExecuted) > 0 {
		t.venueExecuted = ex.cum
	}
	switch ex.kind {
	case "NEW":
		t.unsure = false
		v.accept(t, ex.time, "")
	case "TRADE":
		t.unsure = false
		v.fill(t, ex.fill, ex.cum, "")
	case "CANCELED":
		v.finish(t, streams.OrderCanceled, t.cancelReason(), ex.time, "")
	case "EXPIRED", "TRADE_PREVENTION":
		reason := reasonExpired
		if ex.reason != "" && ex.reason != "NONE" {
			reason += ": " + ex.reason
		}
		v.finish(t, streams.OrderExpired, reason, ex.time, "")
	case "REJECTED":
		v.finish(t, streams.OrderRejected, "rejected by the venue: "+ex.reason, ex.time, "")
	}
}

func (t *tracked) cancelReason() string {
	if t.cancelAsked {
		return reasonCanceledOnRequest
	}
	return reasonCanceledOutside
}

// isEngineOrder reports whether a client order ID is one the engine made
// (streams.ClientOrderID).
func isEngineOrder(clientID string) bool {
	return len(clientID) > 4 && clientID[:4] == "syn-"
}

// sweep forgets orders done for longer than Options.Retention. Call with v.mu held.
func (v *Venue) sweep() {
	cutoff := time.Now().Add(-v.opts.Retention)
	for id, t := range v.orders {
		if t.done() && t.closedAt.Before(cutoff) {
			delete(v.orders, id)
		}
	}
}
