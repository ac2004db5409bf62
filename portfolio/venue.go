package portfolio

import (
	"context"

	"github.com/govalues/decimal"

	"github.com/synapse-trading/synapse/streams"
)

// Venue is where orders go: the paper exchange or a real exchange adapter. The engine's
// venue actor is its only caller, from one goroutine, so an implementation needs no locks
// for calls; reports it makes from its own goroutines (a user-data stream) go through the
// Report function it was built with, which is safe to call from any goroutine.
//
// Every report is an order event (accepted, fill, canceled, rejected, expired) for an order
// the engine submitted, carrying the order's description (Order.Event builds one). A venue
// reports each transition at least once; the log's deduplication and Order.Apply make a
// repeat harmless.
type Venue interface {
	// Name is the venue's name on subjects: "paper", "binance".
	Name() string
	// Submit sends a new order (its status is submitted). An error means the venue could
	// not be asked (network, rate budget); the engine then rejects the order with it.
	Submit(ctx context.Context, o *Order) error
	// Cancel asks the venue to cancel an open order; the venue reports canceled (or a fill,
	// if it raced).
	Cancel(ctx context.Context, o *Order) error
	// Market lets a simulated venue fill resting orders against market data (trades, klines,
	// book updates), in log order. A real venue ignores it.
	Market(ev streams.Event)
	// Reconcile is called once after a restart with the orders the log says are not
	// terminal. The venue reports, as order events with Source "reconcile", every difference
	// it finds (a fill or a cancel that happened while the engine was down, an order it does
	// not know), and returns the balances it holds (nil when it holds none of its own).
	Reconcile(ctx context.Context, open []*Order) (map[string]decimal.Decimal, error)
	// Close releases connections; pending reports may be dropped.
	Close() error
}

// Report delivers a venue's order events to the engine.
type Report func(*streams.OrderEvent)
