package binance

import (
	"context"
	"errors"
	"fmt"
	"time"

	gobinance "github.com/adshao/go-binance/v2"
	"github.com/govalues/decimal"

	"github.com/synapse-trading/synapse/portfolio"
	"github.com/synapse-trading/synapse/streams"
)

// Reconcile compares the orders the engine's log says are open with Binance, after a
// restart, and reports every difference as order events with Source "reconcile":
//
//   - an order Binance knows (GET /api/v3/order by its client order ID): accepted if the
//     log has it as submitted; every trade (GET /api/v3/myTrades by its order ID) when
//     Binance's filled quantity differs from the log's (the engine drops the trades it
//     has by trade ID); canceled, expired or rejected if it ended while the engine was
//     down. An order still open is tracked from then on, so its stream reports flow.
//   - an order Binance does not know (-2013): reported expired, "not at the venue after a
//     restart". The rule is to expire it, never to resend it: a submit the crash cut off
//     is stale by the time the engine is back, and the agent decides afresh on the next
//     signal. (The alternative, resending one created within the last 30 s, is not done.)
//
// It then lists the open orders at Binance (GET /api/v3/openOrders, weight 80) and logs,
// as a warning, every "syn-" order the engine did not list (Stats.Untracked): the engine
// placed it and lost track of it; a person decides what to do with it. Last, it returns
// the balances (GET /api/v3/account): free + locked per asset, assets with nothing left
// out.
//
// Reconcile goes on past an order it cannot read and returns the errors together
// (wrapping portfolio.ErrVenue) with nil balances. Calling it again is safe: every report
// it makes is idempotent for the engine.
func (v *Venue) Reconcile(ctx context.Context, open []*portfolio.Order) (map[string]decimal.Decimal, error) {
	v.mu.Lock()
	if v.closed {
		v.mu.Unlock()
		return nil, fmt.Errorf("%w: %w: reconcile", portfolio.ErrVenue, ErrClosed)
	}
	v.mu.Unlock()
	var errs []error
	listed := make(map[string]bool, len(open))
	for _, o := range open {
		listed[o.ClientOrderID] = true
		if err := v.reconcileOrder(ctx, o); err != nil {
			errs = append(errs, fmt.Errorf("order %s: %w", o.ClientOrderID, err))
		}
	}
	if err := v.reportUntracked(ctx, listed); err != nil {
		errs = append(errs, fmt.Errorf("open orders: %w", err))
	}
	var account *gobinance.Account
	err := v.call(ctx, func(ctx context.Context) (err error) {
		account, err = v.client.NewGetAccountService().Do(ctx)
		return err
	})
	var balances map[string]decimal.Decimal
	if err == nil {
		balances, err = balancesFrom(account)
	}
	if err != nil {
		errs = append(errs, fmt.Errorf("balances: %w", clean(err)))
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("%w: binance: reconcile: %w", portfolio.ErrVenue, errors.Join(errs...))
	}
	return balances, nil
}

// reconcileOrder compares one order of the log with Binance.
func (v *Venue) reconcileOrder(ctx context.Context, o *portfolio.Order) error {
	v.mu.Lock()
	t := v.orders[o.ClientOrderID]
	if t == nil {
		// Tracked before it is read, so stream reports from now on are not missed.
		t = newTracked(o)
		v.orders[o.ClientOrderID] = t
	}
	v.mu.Unlock()
	st, err := v.queryOrder(ctx, o.Symbol, o.ClientOrderID)
	if code, _, ok := apiErrorOf(err); ok && code == codeNoSuchOrder {
		v.mu.Lock()
		v.finish(t, streams.OrderExpired, reasonNotAtVenue, time.Now().UnixMilli(), sourceReconcile)
		v.mu.Unlock()
		return nil
	}
	if err != nil {
		return clean(err)
	}
	return v.settle(ctx, t, st, sourceReconcile)
}

// reportUntracked logs the open "syn-" orders at Binance the engine did not list.
func (v *Venue) reportUntracked(ctx context.Context, listed map[string]bool) error {
	var res []*gobinance.Order
	err := v.call(ctx, func(ctx context.Context) (err error) {
		res, err = v.client.NewListOpenOrdersService().Do(ctx)
		return err
	})
	if err != nil {
		return clean(err)
	}
	open, err := openOrdersFrom(res)
	if err != nil {
		return err
	}
	for _, o := range open {
		if !isEngineOrder(o.clientID) || listed[o.clientID] {
			continue
		}
		v.counters.untracked.Add(1)
		v.log.Warn("binance: open order at Binance placed by the engine that the engine does not know; cancel it or adopt it by hand",
			"client_order_id", o.clientID, "order_id", o.orderID, "symbol", o.symbol, "side", o.side,
			"qty", o.qty.String(), "price", o.price.String(), "executed", o.executed.String(), "status", o.status)
	}
	return nil
}
