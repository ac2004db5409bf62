package streams

import (
	"fmt"
	"strings"

	"github.com/govalues/decimal"
)

// KindCapital names the capital-move payload schema.
const KindCapital Kind = "capital"

// MoveType says why capital moved.
type MoveType string

// The reasons capital moves.
const (
	MoveRebalance    MoveType = "rebalance"    // between agents, back to a profile's weights
	MoveDistribution MoveType = "distribution" // profit swept out of an agent
	MoveAllocation   MoveType = "allocation"   // capital added or withdrawn by hand
)

// CapitalMove moves capital into (Amount > 0) or out of (Amount < 0) one agent's account, on
// pf.<agent>.capital: capital and cash change by Amount and the agent's peak is reset to its
// equity then (portfolio.Account.Move). A rebalance is several moves with one Cause that sum
// to zero; a distribution is one move out per agent that sweeps something. Amounts are in the
// quote asset. ID: <agent>.capital.<cause> (lower case agent).
type CapitalMove struct {
	Agent  string          `json:"agent"`
	Amount decimal.Decimal `json:"amount"`
	Type   MoveType        `json:"type"`
	// HighWater is the agent's high-water mark after the move: the level its equity must
	// pass before a distribution sweeps anything. A distribution sets it; any other move
	// shifts it by Amount (from the agent's capital when it had none), so that capital moved
	// in is not swept as profit.
	HighWater decimal.Decimal `json:"high_water,omitzero"`
	Reason    string          `json:"reason,omitempty"`
	// Cause identifies the decision (the command's ID, e.g. portfolio.rebalance.<id>), which
	// makes the event's ID deterministic.
	Cause string `json:"cause"`
	// CommandSeq is the CMD stream sequence of the command that moved the capital (0: none):
	// after a restart, commands up to the newest one recorded have already acted.
	CommandSeq uint64 `json:"command_seq,omitempty"`
	// Equity is the agent's equity just after the move, as the agent marked it: the peak its
	// drawdown is measured from since.
	Equity decimal.Decimal `json:"equity"`
	// AfterFills is how many fills the agent's ledger had booked when the move applied: a
	// restart replays the move after that many of the agent's fills on ORD, so the rebuilt
	// ledger equals the one that lived.
	AfterFills int   `json:"after_fills"`
	Time       int64 `json:"time"` // market time, epoch ms
	// Plan is every move of the decision, this one included (a rebalance's moves sum to
	// zero): an engine that stopped between them completes the rest when it starts again.
	Plan []PlannedMove `json:"plan,omitempty"`
}

// PlannedMove is one move of a decision's plan, with the high-water mark it leaves.
type PlannedMove struct {
	Agent     string          `json:"agent"`
	Amount    decimal.Decimal `json:"amount"`
	HighWater decimal.Decimal `json:"high_water,omitzero"`
}

// Subject returns pf.<agent>.capital, lower case.
func (c *CapitalMove) Subject() string { return "pf." + strings.ToLower(c.Agent) + ".capital" }

// ID is <agent>.capital.<cause>.
func (c *CapitalMove) ID() string                  { return strings.ToLower(c.Agent) + ".capital." + c.Cause }
func (c *CapitalMove) Kind() Kind                  { return KindCapital }
func (c *CapitalMove) Key() (venue, symbol string) { return "", "" }
func (c *CapitalMove) EventTime() int64            { return c.Time }

// Check reports what makes a capital move unusable: no agent or one that cannot be a subject
// token, no cause (its ID would not be unique), an unknown type, a zero amount, a fill count
// below zero.
func (c *CapitalMove) Check() error {
	switch {
	case !isToken(c.Agent):
		return fmt.Errorf("%w: capital move: agent %q", ErrBadEvent, c.Agent)
	case c.Cause == "":
		return fmt.Errorf("%w: capital move of %s without a cause", ErrBadEvent, c.Agent)
	case c.Type != MoveRebalance && c.Type != MoveDistribution && c.Type != MoveAllocation:
		return fmt.Errorf("%w: capital move %s: type %q (rebalance, distribution or allocation)", ErrBadEvent, c.ID(), c.Type)
	case c.Amount.IsZero():
		return fmt.Errorf("%w: capital move %s moves nothing", ErrBadEvent, c.ID())
	case c.AfterFills < 0:
		return fmt.Errorf("%w: capital move %s: after_fills %d", ErrBadEvent, c.ID(), c.AfterFills)
	}
	if len(c.Plan) == 0 {
		return nil
	}
	mine, sum := false, decimal.Zero
	for _, p := range c.Plan {
		mine = mine || p.Agent == c.Agent && p.Amount.Cmp(c.Amount) == 0
		sum, _ = sum.Add(p.Amount)
	}
	switch {
	case !mine:
		return fmt.Errorf("%w: capital move %s is not in its own plan", ErrBadEvent, c.ID())
	case c.Type == MoveRebalance && !sum.IsZero():
		return fmt.Errorf("%w: capital move %s: its rebalance's plan sums to %s, not zero", ErrBadEvent, c.ID(), sum)
	}
	return nil
}
