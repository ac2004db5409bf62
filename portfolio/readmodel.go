package portfolio

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/govalues/decimal"

	"github.com/synapse-trading/synapse/streams"
)

// ErrQuery means a query's parameters are wrong (a negative limit, an unknown status); the
// HTTP layer answers 400 with the message.
var ErrQuery = errors.New("query")

// ParamError is a bad query parameter, named: it wraps ErrQuery, and the HTTP layer's 400
// gives Name as its field.
type ParamError struct {
	Name, Msg string
}

// BadParam returns the error of a bad parameter.
func BadParam(name, msg string) error { return &ParamError{Name: name, Msg: msg} }

func (e *ParamError) Error() string { return ErrQuery.Error() + ": " + e.Name + ": " + e.Msg }

// Unwrap makes it an ErrQuery.
func (e *ParamError) Unwrap() error { return ErrQuery }

// Param names the parameter.
func (e *ParamError) Param() string { return e.Name }

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
	// Total is every agent's account together, with the drawdown of the total from its own
	// peak.
	Total(ctx context.Context) (Total, error)
	// CapitalMoves lists an agent's capital moves ("" for every agent's) in [since, until) of
	// market time (0: open), in log order.
	CapitalMoves(ctx context.Context, agent string, since, until int64) ([]streams.CapitalMove, error)
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
	// Latest is the newest equity snapshot (zero before the first), with the capital moves
	// logged after it applied: each moves capital, cash and equity by its amount and resets
	// the drawdown to 0, as it did the agent's ledger. (Moves before the first snapshot are
	// in that snapshot.)
	Latest     streams.EquitySnapshot `json:"latest"`
	Orders     int                    `json:"orders"`
	OpenOrders int                    `json:"open_orders"`
	Fills      int                    `json:"fills"`
	Fees       decimal.Decimal        `json:"fees"`     // Σ fill fees
	Realized   decimal.Decimal        `json:"realized"` // Σ positions' realized PnL
	Moved      decimal.Decimal        `json:"moved"`    // Σ its capital moves: capital moved in, less out
	// HighWater is the high-water mark its newest capital move left; before any, its capital
	// (Latest's; 0 before its first snapshot). The next distribution sweeps only what is above
	// it.
	HighWater decimal.Decimal `json:"high_water"`
}

// LatestAfterMoves is an agent's newest snapshot with the capital moves logged after it
// applied (AgentSummary.Latest): capital, cash and equity moved by their sum, the drawdown 0,
// as the moves did to the agent's ledger.
func LatestAfterMoves(latest streams.EquitySnapshot, moved decimal.Decimal) streams.EquitySnapshot {
	latest.Capital, _ = latest.Capital.Add(moved)
	latest.Cash, _ = latest.Cash.Add(moved)
	latest.Equity, _ = latest.Equity.Add(moved)
	latest.Drawdown = decimal.Decimal{}
	return latest
}

// Total is every agent's account together: the sums of the agents' Latest (their newest
// snapshots, with the capital moves since), and the drawdown of the total from its own peak.
//
// The peak is the highest point of the total's equity curve: at each time an agent's snapshot
// was taken, the sum over the agents of their newest snapshot then, each counted as its equity
// less the capital moved into its agent since the agent's first snapshot (equity − capital +
// the first snapshot's capital). Capital moves are not gains or losses: a rebalance moves
// nothing in total, and a distribution paid out is not a drawdown. Last is the curve's newest
// point, and Drawdown = (Peak − Last) / Peak, rounded half-to-even to 6 decimals, as an
// agent's is. With no capital moved, the curve is the sum of the agents' equity.
type Total struct {
	Agents     int             `json:"agents"` // the agents summed (every agent of Agents)
	Time       int64           `json:"time"`   // the newest snapshot's time (0: none yet)
	Capital    decimal.Decimal `json:"capital"`
	Cash       decimal.Decimal `json:"cash"`
	Equity     decimal.Decimal `json:"equity"`
	Exposure   decimal.Decimal `json:"exposure"`
	Realized   decimal.Decimal `json:"realized"`
	Unrealized decimal.Decimal `json:"unrealized"`
	Fees       decimal.Decimal `json:"fees"`
	Moved      decimal.Decimal `json:"moved"` // Σ capital moves: 0 but for distributions and allocations
	Peak       decimal.Decimal `json:"peak"`
	Last       decimal.Decimal `json:"last"`
	Drawdown   decimal.Decimal `json:"drawdown"`
	// MaxDrawdown is the deepest drawdown along the curve: the largest (running peak − point)
	// ÷ running peak, rounded as Drawdown is (see MaxDrawdown).
	MaxDrawdown decimal.Decimal `json:"max_drawdown"`
}

// TotalOf sums the agents' summaries and measures the drawdown from peak to last, the highest
// and the newest point of the total's curve (see Total): the one computation both read models
// share.
func TotalOf(agents []AgentSummary, peak, last decimal.Decimal) Total {
	t := Total{Agents: len(agents), Peak: peak, Last: last, Drawdown: drawdown(peak, last)}
	for _, a := range agents {
		l := a.Latest
		t.Time = max(t.Time, l.Time)
		t.Capital, _ = t.Capital.Add(l.Capital)
		t.Cash, _ = t.Cash.Add(l.Cash)
		t.Equity, _ = t.Equity.Add(l.Equity)
		t.Exposure, _ = t.Exposure.Add(l.Exposure)
		t.Realized, _ = t.Realized.Add(l.Realized)
		t.Unrealized, _ = t.Unrealized.Add(l.Unrealized)
		t.Fees, _ = t.Fees.Add(l.Fees)
		t.Moved, _ = t.Moved.Add(a.Moved)
	}
	return t
}

// CurvePoint is one point of the total's equity curve (see Total).
type CurvePoint struct {
	Time  int64           `json:"time"`
	Value decimal.Decimal `json:"value"`
}

// TotalCurve builds the total's curve (see Total) from every agent's snapshots: at each time
// a snapshot was taken, the sum over the agents of their newest snapshot then, each counted as
// equity − capital + its agent's first capital. Snapshots may come in any order; one agent has
// at most one per time. It returns the points oldest first, and the highest (the first of
// equals) and the newest values.
func TotalCurve(snaps []streams.EquitySnapshot) (curve []CurvePoint, peak, last decimal.Decimal) {
	sorted := slices.Clone(snaps)
	slices.SortFunc(sorted, func(a, b streams.EquitySnapshot) int {
		return cmp.Or(cmp.Compare(a.Time, b.Time), cmp.Compare(a.Agent, b.Agent))
	})
	first := map[string]decimal.Decimal{} // each agent's first capital
	value := map[string]decimal.Decimal{} // each agent's newest point
	var total decimal.Decimal
	for i, s := range sorted {
		base, seen := first[s.Agent]
		if !seen {
			base = s.Capital
			first[s.Agent] = base
		}
		v, _ := s.Equity.Sub(s.Capital)
		v, _ = v.Add(base)
		step, _ := v.Sub(value[s.Agent])
		value[s.Agent] = v
		total, _ = total.Add(step)
		if i+1 < len(sorted) && sorted[i+1].Time == s.Time {
			continue // the other agents' snapshots of this time first
		}
		curve = append(curve, CurvePoint{Time: s.Time, Value: total})
		if len(curve) == 1 || total.Cmp(peak) > 0 {
			peak = total
		}
		last = total
	}
	return curve, peak, last
}

// MaxDrawdown is the deepest drawdown along a curve (oldest first): at each point the
// drawdown from the highest point before it or at it, as Drawdown measures it, the largest of
// them. The Portfolio page draws the same series from the equity snapshots.
func MaxDrawdown(curve []CurvePoint) decimal.Decimal {
	var peak, deepest decimal.Decimal
	for i, p := range curve {
		if i == 0 || p.Value.Cmp(peak) > 0 {
			peak = p.Value
		}
		if dd := drawdown(peak, p.Value); dd.Cmp(deepest) > 0 {
			deepest = dd
		}
	}
	return deepest
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
	return BadParam("status", fmt.Sprintf("%s is not an order status (intent, submitted, accepted, partially_filled, filled, canceled, rejected, expired, or open)", q.Status))
}

// Normalize checks a query's paging and fills in the default limit.
func (q *FillQuery) Normalize() error { return page(&q.Limit, q.Offset) }

func page(limit *int, offset int) error {
	switch {
	case *limit < 0 || *limit > 1000:
		return BadParam("limit", "must be 1 to 1000")
	case offset < 0:
		return BadParam("offset", "must not be negative")
	case *limit == 0:
		*limit = 100
	}
	return nil
}
