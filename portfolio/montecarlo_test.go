package portfolio_test

import (
	"context"
	"errors"
	"math"
	"reflect"
	"testing"

	"github.com/synapse-trading/synapse/portfolio"
	"github.com/synapse-trading/synapse/streams"
)

func snap(t int64, capital, equity string) streams.EquitySnapshot {
	return streams.EquitySnapshot{Agent: "ATLAS", Time: t, Capital: d(capital), Equity: d(equity)}
}

func TestReturns(t *testing.T) {
	got := portfolio.Returns([]streams.EquitySnapshot{
		snap(0, "10000", "10000"),
		snap(1, "10000", "10100"), // +1%
		snap(2, "15000", "15150"), // 5000 moved in: 10150 / 10100 − 1
		snap(3, "15000", "0"),     // −100%
		snap(4, "15000", "50"),    // from 0: left out
		snap(5, "15000", "55"),    // +10%
	})
	want := []float64{0.01, 10150.0/10100 - 1, -1, 0.1}
	if len(got) != len(want) {
		t.Fatalf("returns %v, want %v", got, want)
	}
	for i := range want {
		if math.Abs(got[i]-want[i]) > 1e-12 {
			t.Errorf("return %d: %v, want %v", i, got[i], want[i])
		}
	}
	if r := portfolio.Returns(nil); len(r) != 0 {
		t.Errorf("no snapshots: %v", r)
	}
}

var sample = []float64{0.004, -0.003, 0.0012, -0.0008, 0.002, -0.0051, 0.0033, 0.0001, -0.0015, 0.0027}

// The same returns, options and seed give the same projection, bit for bit; another seed
// another one.
func TestMonteCarloReproducible(t *testing.T) {
	ctx := context.Background()
	opts := portfolio.MonteCarloOptions{Paths: 2000, Horizon: 200, Start: 10000, Goal: 10100, Seed: 42}
	a, err := portfolio.MonteCarlo(ctx, sample, opts)
	if err != nil {
		t.Fatal(err)
	}
	b, err := portfolio.MonteCarlo(ctx, append([]float64(nil), sample...), opts)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(a, b) {
		t.Fatal("two runs with the same seed differ")
	}
	opts.Seed = 43
	c, _ := portfolio.MonteCarlo(ctx, sample, opts)
	if reflect.DeepEqual(a.Bands, c.Bands) {
		t.Error("seeds 42 and 43 gave the same bands")
	}
	if len(a.Bands) != opts.Horizon+1 || a.Samples != len(sample) || a.Paths != 2000 || a.Seed != 42 {
		t.Fatalf("%d bands, samples %d, options %+v", len(a.Bands), a.Samples, a.MonteCarloOptions)
	}
	if b0 := a.Bands[0]; b0.Step != 0 || b0.P5 != 10000 || b0.P95 != 10000 {
		t.Errorf("step 0: %+v, want every band at the start", b0)
	}
	for _, b := range a.Bands {
		if !(b.P5 <= b.P25 && b.P25 <= b.P50 && b.P50 <= b.P75 && b.P75 <= b.P95) {
			t.Fatalf("bands out of order at step %d: %+v", b.Step, b)
		}
	}
	// the spread widens with the horizon
	if last, early := a.Bands[200], a.Bands[10]; last.P95-last.P5 <= early.P95-early.P5 {
		t.Errorf("spread at step 200 (%v) not wider than at step 10 (%v)", last.P95-last.P5, early.P95-early.P5)
	}
	if a.PGoal <= 0 || a.PGoal >= 1 || a.PLoss <= 0 || a.PLoss >= 1 {
		t.Errorf("p_goal %v p_loss %v, want both strictly between 0 and 1", a.PGoal, a.PLoss)
	}
}

// With one return every path is the same compounding, and the bands are that curve.
func TestMonteCarloConstantReturn(t *testing.T) {
	p, err := portfolio.MonteCarlo(context.Background(), []float64{0.01}, portfolio.MonteCarloOptions{Paths: 7, Horizon: 50, Start: 1000, Goal: 1500, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	e := 1000.0
	for step := 1; step <= 50; step++ {
		e *= 1.01
		b := p.Bands[step]
		if b.P5 != e || b.P50 != e || b.P95 != e {
			t.Fatalf("step %d: %+v, want %v", step, b, e)
		}
	}
	// 1000 × 1.01^50 ≈ 1644.6: the goal of 1500 is reached by every path, no path loses
	if p.PGoal != 1 || p.PLoss != 0 {
		t.Errorf("p_goal %v p_loss %v, want 1 and 0", p.PGoal, p.PLoss)
	}
	p, _ = portfolio.MonteCarlo(context.Background(), []float64{-0.01}, portfolio.MonteCarloOptions{Paths: 7, Horizon: 50, Start: 1000, Goal: 1500, Seed: 1})
	if p.PGoal != 0 || p.PLoss != 1 {
		t.Errorf("falling: p_goal %v p_loss %v, want 0 and 1", p.PGoal, p.PLoss)
	}
	p, _ = portfolio.MonteCarlo(context.Background(), []float64{-0.01}, portfolio.MonteCarloOptions{Paths: 7, Horizon: 5, Start: 1000, Goal: 900, Seed: 1})
	if p.PGoal != 1 {
		t.Errorf("a goal at or below the start: p_goal %v, want 1", p.PGoal)
	}
	p, _ = portfolio.MonteCarlo(context.Background(), []float64{0.01}, portfolio.MonteCarloOptions{Start: 1000})
	if p.Paths != 1000 || p.Horizon != 720 || len(p.Bands) != 721 || p.PGoal != 0 {
		t.Errorf("defaults: %+v", p.MonteCarloOptions)
	}
}

func TestMonteCarloOptions(t *testing.T) {
	ctx := context.Background()
	bad := map[string]portfolio.MonteCarloOptions{
		"paths":       {Paths: portfolio.MaxPaths + 1, Start: 1},
		"neg paths":   {Paths: -1, Start: 1},
		"horizon":     {Horizon: portfolio.MaxHorizon + 1, Start: 1},
		"no start":    {},
		"nan start":   {Start: math.NaN()},
		"neg goal":    {Start: 1, Goal: -5},
		"inf goal":    {Start: 1, Goal: math.Inf(1)},
		"neg horizon": {Start: 1, Horizon: -3},
	}
	for name, o := range bad {
		if _, err := portfolio.MonteCarlo(ctx, sample, o); !errors.Is(err, portfolio.ErrSimulation) {
			t.Errorf("%s: %v, want ErrSimulation", name, err)
		}
	}
	if _, err := portfolio.MonteCarlo(ctx, nil, portfolio.MonteCarloOptions{Start: 1}); !errors.Is(err, portfolio.ErrSimulation) {
		t.Errorf("no returns: %v, want ErrSimulation", err)
	}
	if _, err := portfolio.MonteCarlo(ctx, []float64{math.NaN()}, portfolio.MonteCarloOptions{Start: 1}); !errors.Is(err, portfolio.ErrSimulation) {
		t.Errorf("a NaN return: %v, want ErrSimulation", err)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := portfolio.MonteCarlo(cctx, sample, portfolio.MonteCarloOptions{Start: 1, Horizon: 1000}); !errors.Is(err, context.Canceled) {
		t.Errorf("canceled: %v", err)
	}
}

// BenchmarkMonteCarlo runs the largest projection the query allows at a tenth of its horizon:
// 10000 paths × 1000 steps, 0.55 s/op on 2 cores of an AMD EPYC (so the largest query, 10000
// steps, takes about 5.5 s; a sort of the paths at each step instead of the selection of the
// ranks took 1.3 s/op).
func BenchmarkMonteCarlo(b *testing.B) {
	for b.Loop() {
		if _, err := portfolio.MonteCarlo(context.Background(), sample, portfolio.MonteCarloOptions{Paths: portfolio.MaxPaths, Horizon: 1000, Start: 10000, Seed: 1}); err != nil {
			b.Fatal(err)
		}
	}
}
