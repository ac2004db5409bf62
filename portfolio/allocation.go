package portfolio

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/govalues/decimal"

	"github.com/synapse-trading/synapse/streams"
)

// ErrAllocation means a profile or an allocation cannot be worked out: weights that do not sum
// to 1, an unknown profile, nothing to allocate. The message says which.
var ErrAllocation = errors.New("allocation")

// DefaultProfile is the profile an allocation query or a portfolio.rebalance command uses
// when it names none.
const DefaultProfile = "moderate"

// DefaultThreshold is the drift tolerated when none is given: five points of weight.
var DefaultThreshold = decimal.MustNew(5, 2)

// AllocationDefaults fills in what is unset of an allocation's settings: the default
// profiles, DefaultProfile and DefaultThreshold (the desk and the allocation query share them).
func AllocationDefaults(profiles *[]Profile, profile *string, threshold *decimal.Decimal) {
	if *profiles == nil {
		*profiles = DefaultProfiles()
	}
	if *profile == "" {
		*profile = DefaultProfile
	}
	if threshold.IsZero() {
		*threshold = DefaultThreshold
	}
}

// WeightScale is the number of decimals of a weight (0.123456 = 12.3456%): an agent's weight
// is its equity ÷ the total, rounded half-to-even to it, as a drawdown is.
const WeightScale = 6

// Target is one agent's share of a profile's capital.
type Target struct {
	Agent  string          `json:"agent" yaml:"agent"`
	Weight decimal.Decimal `json:"weight" yaml:"weight"` // 0 to 1
}

// Profile is a risk profile: how the capital is shared between the agents. Its weights sum
// to exactly 1.
type Profile struct {
	Name    string   `json:"name" yaml:"name"`
	Targets []Target `json:"targets" yaml:"targets"`
}

// DefaultProfiles are the three mixes of the steady ATLAS (trend-following, the least
// drawdown), the balanced ORION and the fast NOVA (the most risk):
//
//	conservative  70% ATLAS  25% ORION   5% NOVA
//	moderate      40% ATLAS  40% ORION  20% NOVA
//	aggressive    15% ATLAS  35% ORION  50% NOVA
//
// A config may replace them (the agents' names must then match its agents).
func DefaultProfiles() []Profile {
	p := func(name, atlas, orion, nova string) Profile {
		return Profile{Name: name, Targets: []Target{{"ATLAS", decimal.MustParse(atlas)}, {"ORION", decimal.MustParse(orion)},
			{"NOVA", decimal.MustParse(nova)}}}
	}
	return []Profile{p("conservative", "0.70", "0.25", "0.05"), p("moderate", "0.40", "0.40", "0.20"), p("aggressive", "0.15", "0.35", "0.50")}
}

// FindProfile returns the profile named name (case-insensitive) among profiles.
func FindProfile(profiles []Profile, name string) (Profile, error) {
	names := make([]string, 0, len(profiles))
	for _, p := range profiles {
		if strings.EqualFold(p.Name, name) {
			return p, nil
		}
		names = append(names, p.Name)
	}
	return Profile{}, fmt.Errorf("%w: no profile %q (have %s)", ErrAllocation, name, strings.Join(names, ", "))
}

// Check reports what makes a profile unusable: no name, no agent, an agent named twice or
// not at all, a weight outside [0, 1], weights that do not sum to exactly 1.
func (p Profile) Check() error {
	if p.Name == "" {
		return fmt.Errorf("%w: a profile without a name", ErrAllocation)
	}
	if len(p.Targets) == 0 {
		return fmt.Errorf("%w: profile %s: no agents", ErrAllocation, p.Name)
	}
	one := decimal.MustNew(1, 0)
	var sum decimal.Decimal
	seen := map[string]bool{}
	for _, t := range p.Targets {
		if t.Agent == "" || seen[t.Agent] {
			return fmt.Errorf("%w: profile %s: agent %q is empty or named twice", ErrAllocation, p.Name, t.Agent)
		}
		seen[t.Agent] = true
		if t.Weight.IsNeg() || t.Weight.Cmp(one) > 0 {
			return fmt.Errorf("%w: profile %s: %s's weight %s is not between 0 and 1", ErrAllocation, p.Name, t.Agent, t.Weight)
		}
		var err error
		if sum, err = sum.Add(t.Weight); err != nil {
			return fmt.Errorf("%w: profile %s: %v", ErrAllocation, p.Name, err)
		}
	}
	if sum.Cmp(one) != 0 {
		return fmt.Errorf("%w: profile %s: weights sum to %s, not 1", ErrAllocation, p.Name, sum)
	}
	return nil
}

// Holding is what an agent has now, as its latest equity snapshot (or its ledger) says.
type Holding struct {
	Agent   string          `json:"agent"`
	Equity  decimal.Decimal `json:"equity"`
	Cash    decimal.Decimal `json:"cash"` // what may move out of it: its positions stay
	Capital decimal.Decimal `json:"capital"`
	// HighWater is the level its equity must pass before a distribution sweeps anything
	// (Distribute; zero: none yet, its capital is); unused by Drift.
	HighWater decimal.Decimal `json:"high_water,omitzero"`
}

// Holdings takes every agent's latest equity snapshot (with the capital moves since) and
// high-water mark from the read model's summaries.
func Holdings(agents []AgentSummary) []Holding {
	out := make([]Holding, 0, len(agents))
	for _, a := range agents {
		out = append(out, Holding{Agent: a.Agent, Equity: a.Latest.Equity, Cash: a.Latest.Cash, Capital: a.Latest.Capital, HighWater: a.HighWater})
	}
	return out
}

// Weight is one agent's place in an allocation.
type Weight struct {
	Agent  string          `json:"agent"`
	Equity decimal.Decimal `json:"equity"`
	Cash   decimal.Decimal `json:"cash"`
	Target decimal.Decimal `json:"target"` // the profile's weight
	Weight decimal.Decimal `json:"weight"` // equity ÷ total, rounded to WeightScale
	Drift  decimal.Decimal `json:"drift"`  // weight − target
	// TargetEquity is the total × target, rounded down to MoneyScale; the cents rounding
	// leaves go to the agent with the greatest target (the first named on a tie), so the
	// targets sum to the total exactly.
	TargetEquity decimal.Decimal `json:"target_equity"`
	Out          bool            `json:"out"` // |drift| > threshold
}

// Allocation compares the agents' actual weights with a profile's targets.
type Allocation struct {
	Profile   string          `json:"profile"`
	Threshold decimal.Decimal `json:"threshold"`
	Total     decimal.Decimal `json:"total"` // Σ equity of the profile's agents
	Weights   []Weight        `json:"weights"`
	MaxDrift  decimal.Decimal `json:"max_drift"` // the greatest |drift|
	// Rebalance is true when some agent's drift is beyond the threshold.
	Rebalance bool `json:"rebalance"`
}

// Drift weighs the holdings of a profile's agents (others are ignored; an agent with no
// holding has equity 0) against its targets. threshold is the |drift| tolerated (0.05: five
// points of weight). The total must be positive.
func Drift(p Profile, holdings []Holding, threshold decimal.Decimal) (Allocation, error) {
	if err := p.Check(); err != nil {
		return Allocation{}, err
	}
	if threshold.IsNeg() || threshold.Cmp(decimal.MustNew(1, 0)) > 0 {
		return Allocation{}, fmt.Errorf("%w: threshold %s is not between 0 and 1", ErrAllocation, threshold)
	}
	byAgent := map[string]Holding{}
	for _, h := range holdings {
		byAgent[h.Agent] = h
	}
	a := Allocation{Profile: p.Name, Threshold: threshold}
	for _, t := range p.Targets {
		h := byAgent[t.Agent]
		var err error
		if a.Total, err = a.Total.Add(h.Equity); err != nil {
			return Allocation{}, fmt.Errorf("%w: %v", ErrAllocation, err)
		}
		a.Weights = append(a.Weights, Weight{Agent: t.Agent, Equity: h.Equity, Cash: h.Cash, Target: t.Weight})
	}
	if !a.Total.IsPos() {
		return Allocation{}, fmt.Errorf("%w: profile %s: its agents' equity sums to %s: nothing to allocate", ErrAllocation, p.Name, a.Total)
	}
	var assigned decimal.Decimal
	largest := 0
	for i := range a.Weights {
		w := &a.Weights[i]
		q, err := w.Equity.Quo(a.Total)
		if err != nil {
			return Allocation{}, fmt.Errorf("%w: %v", ErrAllocation, err)
		}
		w.Weight = q.Round(WeightScale)
		w.Drift, _ = w.Weight.Sub(w.Target)
		te, err := a.Total.Mul(w.Target)
		if err != nil {
			return Allocation{}, fmt.Errorf("%w: %v", ErrAllocation, err)
		}
		w.TargetEquity = te.Trunc(MoneyScale)
		assigned, _ = assigned.Add(w.TargetEquity)
		if w.Target.Cmp(a.Weights[largest].Target) > 0 {
			largest = i
		}
		if d := w.Drift.Abs(); d.Cmp(a.MaxDrift) > 0 {
			a.MaxDrift = d
		}
		w.Out = w.Drift.Abs().Cmp(threshold) > 0
		a.Rebalance = a.Rebalance || w.Out
	}
	rest, _ := a.Total.Sub(assigned)
	a.Weights[largest].TargetEquity, _ = a.Weights[largest].TargetEquity.Add(rest)
	return a, nil
}

// Rebalance returns the capital moves that bring a's weights back to its targets, or none
// when no drift is beyond the threshold. Each agent above its target equity gives the excess,
// at most its cash (its positions stay; a negative cash gives nothing); what is given goes to
// the agents below their target, the greatest shortfall first (by name on a tie), each up to
// its shortfall. The moves sum to zero exactly, are listed by agent name, and leave out
// agents that neither give nor get. cause and t become the events' Cause and Time.
func Rebalance(a Allocation, cause string, t int64) []streams.CapitalMove {
	if !a.Rebalance {
		return nil
	}
	type gap struct {
		agent  string
		amount decimal.Decimal // > 0
	}
	var givers, takers []gap
	var pool decimal.Decimal
	for _, w := range a.Weights {
		d, _ := w.Equity.Sub(w.TargetEquity)
		switch d.Sign() {
		case 1:
			give := d
			if w.Cash.Cmp(give) < 0 {
				give = w.Cash
			}
			if give.IsPos() {
				givers = append(givers, gap{w.Agent, give})
				pool, _ = pool.Add(give)
			}
		case -1:
			takers = append(takers, gap{w.Agent, d.Neg()})
		}
	}
	var need decimal.Decimal
	for _, g := range takers {
		need, _ = need.Add(g.amount)
	}
	// When the cash could give more than the takers need (the excess of some is held in
	// positions elsewhere it cannot be), the givers give less: in the order of the greatest
	// gift first, each what is still needed.
	slices.SortFunc(givers, func(x, y gap) int { return cmp.Or(y.amount.Cmp(x.amount), cmp.Compare(x.agent, y.agent)) })
	slices.SortFunc(takers, func(x, y gap) int { return cmp.Or(y.amount.Cmp(x.amount), cmp.Compare(x.agent, y.agent)) })
	var moves []streams.CapitalMove
	left := need
	if pool.Cmp(need) < 0 {
		left = pool
	}
	total := left
	for _, g := range givers {
		if !left.IsPos() {
			break
		}
		give := g.amount
		if left.Cmp(give) < 0 {
			give = left
		}
		left, _ = left.Sub(give)
		moves = append(moves, streams.CapitalMove{Agent: g.agent, Amount: give.Neg(), Type: streams.MoveRebalance, Cause: cause, Time: t,
			Reason: "rebalance to " + a.Profile})
	}
	left = total
	for _, g := range takers {
		if !left.IsPos() {
			break
		}
		take := g.amount
		if left.Cmp(take) < 0 {
			take = left
		}
		left, _ = left.Sub(take)
		moves = append(moves, streams.CapitalMove{Agent: g.agent, Amount: take, Type: streams.MoveRebalance, Cause: cause, Time: t,
			Reason: "rebalance to " + a.Profile})
	}
	slices.SortFunc(moves, func(x, y streams.CapitalMove) int { return cmp.Compare(x.Agent, y.Agent) })
	return moves
}

// Distribution is what a profit sweep does to one agent.
type Distribution struct {
	Agent     string          `json:"agent"`
	Equity    decimal.Decimal `json:"equity"`
	HighWater decimal.Decimal `json:"high_water"`
	Threshold decimal.Decimal `json:"threshold"` // HighWater × (1 + keep)
	Swept     decimal.Decimal `json:"swept"`     // ≥ 0
	// NextHighWater is max(HighWater, equity after the sweep): what the agent kept above the
	// mark is not swept again, and a loss must be made up before the next sweep.
	NextHighWater decimal.Decimal `json:"next_high_water"`
}

// Distribute works out a periodic profit sweep: of each agent's equity, the part above its
// high-water mark × (1 + keep) is swept out, rounded down to MoneyScale (never more than
// there is) and at most its cash. keep (≥ 0) is the growth an agent keeps each period: 0
// sweeps every profit above the mark. An agent with no high-water mark yet (zero) starts from
// its capital, what it was given: the profit it made since is swept (with no capital either,
// from its equity: nothing is). It returns every agent's distribution (by name) and a move
// out for each that sweeps something, carrying the agent's next high-water mark.
func Distribute(holdings []Holding, keep decimal.Decimal, cause string, t int64) ([]Distribution, []streams.CapitalMove, error) {
	if keep.IsNeg() {
		return nil, nil, fmt.Errorf("%w: keep %s must not be negative", ErrAllocation, keep)
	}
	factor, err := decimal.MustNew(1, 0).Add(keep)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %v", ErrAllocation, err)
	}
	sorted := slices.Clone(holdings)
	slices.SortFunc(sorted, func(x, y Holding) int { return cmp.Compare(x.Agent, y.Agent) })
	var dists []Distribution
	var moves []streams.CapitalMove
	for _, h := range sorted {
		d := Distribution{Agent: h.Agent, Equity: h.Equity, HighWater: h.HighWater}
		if !d.HighWater.IsPos() {
			d.HighWater = h.Capital
		}
		if !d.HighWater.IsPos() {
			d.HighWater = h.Equity
		}
		if d.Threshold, err = d.HighWater.Mul(factor); err != nil {
			return nil, nil, fmt.Errorf("%w: %s: %v", ErrAllocation, h.Agent, err)
		}
		if over, _ := h.Equity.Sub(d.Threshold); over.IsPos() {
			d.Swept = over.Trunc(MoneyScale)
			if h.Cash.Cmp(d.Swept) < 0 {
				d.Swept = h.Cash.Trunc(MoneyScale)
			}
			if d.Swept.IsNeg() {
				d.Swept = decimal.Decimal{}
			}
		}
		after, _ := h.Equity.Sub(d.Swept)
		d.NextHighWater = d.HighWater
		if after.Cmp(d.NextHighWater) > 0 {
			d.NextHighWater = after
		}
		dists = append(dists, d)
		if d.Swept.IsPos() {
			moves = append(moves, streams.CapitalMove{Agent: h.Agent, Amount: d.Swept.Neg(), Type: streams.MoveDistribution, HighWater: d.NextHighWater,
				Reason: fmt.Sprintf("distribution: equity %s above %s (high water %s × (1 + %s))", h.Equity, d.Threshold, d.HighWater, keep),
				Cause:  cause, Time: t})
		}
	}
	return dists, moves, nil
}
