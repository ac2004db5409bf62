package portfolio

import (
	"context"
	"errors"
	"fmt"

	"github.com/govalues/decimal"

	"github.com/synapse-trading/synapse/streams"
)

// ErrQuery means a query's parameters are wrong (a negative limit, an unknown status); the
// HTTP layer answers 400 with the message.
var ErrQuery = errors.New("query")

// ReadModel is the query side of the engine: orders, fills, positions, equity and agent
// summaries, folded from the ORD, PF and CMD streams. Two implementations answer the same
// queries the same way: an in-memory one rebuilt from the log (the default) and the
// Postgres projection (with --database-url). A shared conformance suite tests both.
type ReadModel interface {
	// Orders lists orders, newest first (by created time, then client order ID).
	Orders(ctx context.Context, q OrderQuery) (Page[Order], error)
	// Fills lists fills, newest first (by time, then client order ID and trade ID).
	Fills(ctx context.Context, q FillQuery) (Page[Fill], error)
	// Positions lists the positions of an agent ("" for all), by agent, venue, symbol.
	Positions(ctx context.Context, agent string) ([]Position, error)
	// Equity lists an agent's equity snapshots in [since, until) of market time (0: open),
	// oldest first.
	Equity(ctx context.Context, agent string, since, until int64) ([]streams.EquitySnapshot, error)
	// Agents summarises every agent seen on the log, by name.
	Agents(ctx context.Context) ([]AgentSummary, error)
	// Applied is the last stream sequence folded in, per stream name (ORD, PF, CMD).
	Applied(ctx context.Context) (map[string]uint64, error)
}

// OrderQuery filters and pages orders. Empty fields do not filter; Limit 0 means 100, the
// most is 1000.
type OrderQuery struct {
	Agent  string `json:"agent"`
	Venue  string `json:"venue"`
	Symbol string `json:"symbol"`
	Status Status `json:"status"` // one Status, or "open" for every non-terminal one
	Since  int64  `json:"since"`  // created at or after, epoch ms
	Until  int64  `json:"until"`  // created before
	Limit  int    `json:"limit"`
	Offset int    `json:"offset"`
}

// FillQuery filters and pages fills, like OrderQuery.
type FillQuery struct {
	Agent  string `json:"agent"`
	Venue  string `json:"venue"`
	Symbol string `json:"symbol"`
	Since  int64  `json:"since"`
	Until  int64  `json:"until"`
	Limit  int    `json:"limit"`
	Offset int    `json:"offset"`
}

// Page is one page of a list and the total count of what the filter matched.
type Page[T any] struct {
	Items  []T `json:"items"`
	Total  int `json:"total"`
	Limit  int `json:"limit"`
	Offset int `json:"offset"`
}

// Fill is one fill of an order.
type Fill struct {
	ClientOrderID string          `json:"client_order_id"`
	TradeID       string          `json:"trade_id"`
	Agent         string          `json:"agent"`
	Venue         string          `json:"venue"`
	Symbol        string          `json:"symbol"`
	Side          streams.Side    `json:"side"`
	Qty           decimal.Decimal `json:"qty"`
	Price         decimal.Decimal `json:"price"`
	Fee           decimal.Decimal `json:"fee"`
	Maker         bool            `json:"maker"`
	Time          int64           `json:"time"`
}

// AgentSummary is one agent as the read model knows it.
type AgentSummary struct {
	Agent  string             `json:"agent"`
	State  streams.AgentState `json:"state"`
	Reason string             `json:"reason,omitempty"`
	// Latest is the newest equity snapshot (zero before the first).
	Latest     streams.EquitySnapshot `json:"latest"`
	Orders     int                    `json:"orders"`
	OpenOrders int                    `json:"open_orders"`
	Fills      int                    `json:"fills"`
	Fees       decimal.Decimal        `json:"fees"`     // Σ fill fees
	Realized   decimal.Decimal        `json:"realized"` // Σ positions' realized PnL
}

// Normalize checks a query's paging and filters and fills in the default limit.
func (q *OrderQuery) Normalize() error {
	if err := page(&q.Limit, q.Offset); err != nil {
		return err
	}
	switch q.Status {
	case "", "open", StatusIntent, StatusSubmitted, StatusAccepted, StatusPartiallyFilled, StatusFilled, StatusCanceled, StatusRejected, StatusExpired:
		return nil
	}
	return fmt.Errorf("%w: status: %s is not an order status (intent, submitted, accepted, partially_filled, filled, canceled, rejected, expired, or open)", ErrQuery, q.Status)
}

// Normalize checks a query's paging and fills in the default limit.
func (q *FillQuery) Normalize() error { return page(&q.Limit, q.Offset) }

func page(limit *int, offset int) error {
	switch {
	case *limit < 0 || *limit > 1000:
		return fmt.Errorf("%w: limit: must be 1 to 1000", ErrQuery)
	case offset < 0:
		return fmt.Errorf("%w: offset: must not be negative", ErrQuery)
	case *limit == 0:
		*limit = 100
	}
	return nil
}
