package portfolio

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"

	"github.com/synapse-trading/synapse/streams"
)

// ErrSimulation means a Monte Carlo projection cannot run: too few returns, bad options.
var ErrSimulation = errors.New("simulation")

// The bounds of a projection: paths × horizon draws, a sort of the paths at every step.
const (
	MaxPaths   = 10000
	MaxHorizon = 10000
)

// Returns is the realized return series of an equity curve: for each two consecutive
// snapshots (oldest first, as ReadModel.Equity lists them), (equity − capital moved in since
// the previous one) ÷ previous equity − 1, so that a capital move is not mistaken for a
// gain or a loss. Pairs whose previous equity is not positive are left out. One return per
// snapshot interval (an hour): a gap in the snapshots makes one longer step.
//
// Returns are float64: a projection is a model of what may happen, not the ledger.
func Returns(snaps []streams.EquitySnapshot) []float64 {
	out := make([]float64, 0, max(0, len(snaps)-1))
	for i := 1; i < len(snaps); i++ {
		prev, _ := snaps[i-1].Equity.Float64()
		eq, _ := snaps[i].Equity.Float64()
		c0, _ := snaps[i-1].Capital.Float64()
		c1, _ := snaps[i].Capital.Float64()
		if prev <= 0 {
			continue
		}
		r := (eq-(c1-c0))/prev - 1
		if !math.IsNaN(r) && !math.IsInf(r, 0) {
			out = append(out, r)
		}
	}
	return out
}

// MonteCarloOptions configure a projection.
type MonteCarloOptions struct {
	// Paths is the number of simulated futures, 1 to MaxPaths. Default 1000.
	Paths int `json:"paths"`
	// Horizon is the number of steps (snapshot intervals: hours) ahead, 1 to MaxHorizon.
	// Default 720 (30 days).
	Horizon int `json:"horizon"`
	// Start is the equity the paths start from; required (> 0).
	Start float64 `json:"start"`
	// Goal is an equity to reach; 0: none.
	Goal float64 `json:"goal,omitempty"`
	// Seed makes the projection reproducible: the same returns, options and seed give the
	// same projection, bit for bit.
	Seed uint64 `json:"seed"`
}

// Band is the distribution of the paths' equity after Step steps: its 5th, 25th, 50th, 75th
// and 95th percentiles (linear between the closest ranks).
type Band struct {
	Step int     `json:"step"`
	P5   float64 `json:"p5"`
	P25  float64 `json:"p25"`
	P50  float64 `json:"p50"`
	P75  float64 `json:"p75"`
	P95  float64 `json:"p95"`
}

// Projection is the outcome of a Monte Carlo run.
type Projection struct {
	MonteCarloOptions
	Samples int    `json:"samples"` // returns drawn from
	Bands   []Band `json:"bands"`   // step 0 (the start) to Horizon
	// PGoal is the share of paths whose equity reached Goal at some step (1 when Goal ≤
	// Start; 0 without a goal).
	PGoal float64 `json:"p_goal"`
	// PLoss is the share of paths that end below Start.
	PLoss float64 `json:"p_loss"`
}

// MonteCarlo projects equity by bootstrapping: each path starts at opts.Start and at every
// step multiplies its equity by (1 + a return drawn uniformly, with replacement, from
// returns). Draws come from a PCG generator seeded with opts.Seed, step by step and path by
// path, so a projection is reproducible. It stops with ctx's error if ctx ends first.
func MonteCarlo(ctx context.Context, returns []float64, opts MonteCarloOptions) (Projection, error) {
	if opts.Paths == 0 {
		opts.Paths = 1000
	}
	if opts.Horizon == 0 {
		opts.Horizon = 720
	}
	switch {
	case len(returns) == 0:
		return Projection{}, fmt.Errorf("%w: no returns to draw from: it takes two equity snapshots (two hours of trading) or more", ErrSimulation)
	case opts.Paths < 1 || opts.Paths > MaxPaths:
		return Projection{}, fmt.Errorf("%w: paths: %d is not between 1 and %d", ErrSimulation, opts.Paths, MaxPaths)
	case opts.Horizon < 1 || opts.Horizon > MaxHorizon:
		return Projection{}, fmt.Errorf("%w: horizon: %d is not between 1 and %d", ErrSimulation, opts.Horizon, MaxHorizon)
	case !(opts.Start > 0) || math.IsInf(opts.Start, 0):
		return Projection{}, fmt.Errorf("%w: start: the equity to start from must be positive, not %v", ErrSimulation, opts.Start)
	case opts.Goal < 0 || math.IsNaN(opts.Goal) || math.IsInf(opts.Goal, 0):
		return Projection{}, fmt.Errorf("%w: goal: %v must be a positive equity, or 0 for none", ErrSimulation, opts.Goal)
	}
	for _, r := range returns {
		if math.IsNaN(r) || math.IsInf(r, 0) {
			return Projection{}, fmt.Errorf("%w: a return is %v", ErrSimulation, r)
		}
	}
	rng := rand.New(rand.NewPCG(opts.Seed, 0x9e3779b97f4a7c15))
	p := Projection{MonteCarloOptions: opts, Samples: len(returns), Bands: make([]Band, 0, opts.Horizon+1)}
	equity := make([]float64, opts.Paths)
	for i := range equity {
		equity[i] = opts.Start
	}
	reached := make([]bool, opts.Paths)
	goal := opts.Goal > 0
	hits := 0
	if goal && opts.Goal <= opts.Start {
		hits = opts.Paths
		for i := range reached {
			reached[i] = true
		}
	}
	sorted := make([]float64, opts.Paths)
	var ranks []int // the ranks percentile reads: only those need to be in place
	for _, q := range []float64{0.05, 0.25, 0.50, 0.75, 0.95} {
		lo := int(q * float64(opts.Paths-1))
		ranks = append(ranks, lo, min(lo+1, opts.Paths-1))
	}
	slices.Sort(ranks)
	ranks = slices.Compact(ranks)
	p.Bands = append(p.Bands, Band{P5: opts.Start, P25: opts.Start, P50: opts.Start, P75: opts.Start, P95: opts.Start})
	for step := 1; step <= opts.Horizon; step++ {
		if step%64 == 0 && ctx.Err() != nil {
			return Projection{}, ctx.Err()
		}
		for i := range equity {
			equity[i] *= 1 + returns[rng.IntN(len(returns))]
			if goal && !reached[i] && equity[i] >= opts.Goal {
				reached[i] = true
				hits++
			}
		}
		copy(sorted, equity)
		selectRanks(sorted, ranks)
		p.Bands = append(p.Bands, Band{Step: step, P5: percentile(sorted, 0.05), P25: percentile(sorted, 0.25),
			P50: percentile(sorted, 0.50), P75: percentile(sorted, 0.75), P95: percentile(sorted, 0.95)})
	}
	if goal {
		p.PGoal = float64(hits) / float64(opts.Paths)
	}
	losses := 0
	for _, e := range equity {
		if e < opts.Start {
			losses++
		}
	}
	p.PLoss = float64(losses) / float64(opts.Paths)
	return p, nil
}

// selectRanks rearranges a so that a[k], for each k of the sorted ranks, holds the value a
// full sort would put there (multi-quickselect with three-way partitions: linear time on
// average, and equal values do not make it quadratic).
func selectRanks(a []float64, ranks []int) {
	if len(ranks) == 0 || len(a) < 2 {
		return
	}
	if len(a) <= 16 {
		slices.Sort(a)
		return
	}
	x, y, z := a[0], a[len(a)/2], a[len(a)-1] // median of three
	pivot := max(min(x, y), min(max(x, y), z))
	lt, i, gt := 0, 0, len(a) // a[:lt] < pivot, a[lt:i] == pivot, a[gt:] > pivot
	for i < gt {
		switch {
		case a[i] < pivot:
			a[lt], a[i] = a[i], a[lt]
			lt++
			i++
		case a[i] > pivot:
			gt--
			a[gt], a[i] = a[i], a[gt]
		default:
			i++
		}
	}
	left, _ := slices.BinarySearch(ranks, lt)
	right, _ := slices.BinarySearch(ranks, gt)
	selectRanks(a[:lt], ranks[:left])
	high := slices.Clone(ranks[right:])
	for j := range high {
		high[j] -= gt
	}
	selectRanks(a[gt:], high)
}

// percentile of values whose ranks around q × (n − 1) are in place, linear between the closest ranks (position q × (n − 1)).
func percentile(sorted []float64, q float64) float64 {
	pos := q * float64(len(sorted)-1)
	lo := int(pos)
	if lo >= len(sorted)-1 {
		return sorted[len(sorted)-1]
	}
	frac := pos - float64(lo)
	return sorted[lo] + frac*(sorted[lo+1]-sorted[lo])
}
