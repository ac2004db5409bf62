package portfolio_test

import (
	"errors"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/govalues/decimal"

	"github.com/synapse-trading/synapse/portfolio"
	"github.com/synapse-trading/synapse/streams"
)

func d(s string) decimal.Decimal { return decimal.MustParse(s) }

func holding(agent, equity, cash string) portfolio.Holding {
	return portfolio.Holding{Agent: agent, Equity: d(equity), Cash: d(cash)}
}

func TestDefaultProfiles(t *testing.T) {
	want := map[string][3]string{"conservative": {"0.70", "0.25", "0.05"}, "moderate": {"0.40", "0.40", "0.20"}, "aggressive": {"0.15", "0.35", "0.50"}}
	profiles := portfolio.DefaultProfiles()
	if len(profiles) != len(want) {
		t.Fatalf("%d profiles, want %d", len(profiles), len(want))
	}
	for _, p := range profiles {
		if err := p.Check(); err != nil {
			t.Error(err)
		}
		w := want[p.Name]
		for i, agent := range []string{"ATLAS", "ORION", "NOVA"} {
			if p.Targets[i].Agent != agent || p.Targets[i].Weight.Cmp(d(w[i])) != 0 {
				t.Errorf("%s: target %d is %+v, want %s %s", p.Name, i, p.Targets[i], agent, w[i])
			}
		}
	}
	if p, err := portfolio.FindProfile(profiles, "Moderate"); err != nil || p.Name != "moderate" {
		t.Errorf("FindProfile(Moderate): %+v, %v", p, err)
	}
	if _, err := portfolio.FindProfile(profiles, "yolo"); !errors.Is(err, portfolio.ErrAllocation) || !strings.Contains(err.Error(), "conservative") {
		t.Errorf("FindProfile(yolo): %v, want ErrAllocation listing the profiles", err)
	}
}

func TestProfileCheck(t *testing.T) {
	bad := map[string]portfolio.Profile{
		"no name":      {Targets: []portfolio.Target{{"ATLAS", d("1")}}},
		"no agents":    {Name: "x"},
		"sum below 1":  {Name: "x", Targets: []portfolio.Target{{"ATLAS", d("0.5")}, {"ORION", d("0.49")}}},
		"sum above 1":  {Name: "x", Targets: []portfolio.Target{{"ATLAS", d("0.5")}, {"ORION", d("0.500001")}}},
		"negative":     {Name: "x", Targets: []portfolio.Target{{"ATLAS", d("1.1")}, {"ORION", d("-0.1")}}},
		"named twice":  {Name: "x", Targets: []portfolio.Target{{"ATLAS", d("0.5")}, {"ATLAS", d("0.5")}}},
		"empty agent":  {Name: "x", Targets: []portfolio.Target{{"", d("1")}}},
		"weight above": {Name: "x", Targets: []portfolio.Target{{"ATLAS", d("2")}}},
	}
	for name, p := range bad {
		if err := p.Check(); !errors.Is(err, portfolio.ErrAllocation) {
			t.Errorf("%s: %v, want ErrAllocation", name, err)
		}
	}
	if err := (portfolio.Profile{Name: "thirds", Targets: []portfolio.Target{{"A", d("0.333333")}, {"B", d("0.333333")}, {"C", d("0.333334")}}}).Check(); err != nil {
		t.Error(err)
	}
}

func moderate(t *testing.T) portfolio.Profile {
	p, err := portfolio.FindProfile(portfolio.DefaultProfiles(), "moderate")
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestDriftAndRebalance(t *testing.T) {
	holdings := []portfolio.Holding{holding("ATLAS", "5000", "4000"), holding("ORION", "3000", "3000"), holding("NOVA", "2000", "100"),
		holding("VEGA", "99999", "99999")} // not in the profile: ignored
	a, err := portfolio.Drift(moderate(t), holdings, d("0.05"))
	if err != nil {
		t.Fatal(err)
	}
	if a.Total.Cmp(d("10000")) != 0 || a.MaxDrift.Cmp(d("0.1")) != 0 || !a.Rebalance {
		t.Errorf("total %s max drift %s rebalance %v, want 10000, 0.1, true", a.Total, a.MaxDrift, a.Rebalance)
	}
	want := map[string][4]string{"ATLAS": {"0.5", "0.1", "4000", "out"}, "ORION": {"0.3", "-0.1", "4000", "out"}, "NOVA": {"0.2", "0", "2000", "in"}}
	for _, w := range a.Weights {
		x := want[w.Agent]
		out := map[bool]string{true: "out", false: "in"}[w.Out]
		if w.Weight.Cmp(d(x[0])) != 0 || w.Drift.Cmp(d(x[1])) != 0 || w.TargetEquity.Cmp(d(x[2])) != 0 || out != x[3] {
			t.Errorf("%s: %+v, want weight %s drift %s target %s %s", w.Agent, w, x[0], x[1], x[2], x[3])
		}
	}
	moves := portfolio.Rebalance(a, "portfolio.rebalance.1", 1723161600000)
	if len(moves) != 2 || moves[0].Agent != "ATLAS" || moves[0].Amount.Cmp(d("-1000")) != 0 || moves[1].Agent != "ORION" || moves[1].Amount.Cmp(d("1000")) != 0 {
		t.Fatalf("moves %+v, want ATLAS −1000, ORION +1000", moves)
	}
	for _, m := range moves {
		if m.Type != streams.MoveRebalance || m.Cause != "portfolio.rebalance.1" || m.Time != 1723161600000 {
			t.Errorf("move %+v", m)
		}
	}
	after := apply(holdings, moves)
	b, err := portfolio.Drift(moderate(t), after, d("0.05"))
	if err != nil {
		t.Fatal(err)
	}
	if b.Rebalance || !b.MaxDrift.IsZero() || portfolio.Rebalance(b, "again", 0) != nil {
		t.Errorf("after the moves: %+v, want every weight on target and no moves", b)
	}
	// within the threshold: nothing to do
	c, _ := portfolio.Drift(moderate(t), []portfolio.Holding{holding("ATLAS", "4200", "4200"), holding("ORION", "3900", "3900"), holding("NOVA", "1900", "1900")}, d("0.05"))
	if c.Rebalance || portfolio.Rebalance(c, "x", 0) != nil {
		t.Errorf("drifts of 0.02 and 0.01 with a threshold of 0.05: %+v", c)
	}
}

func apply(holdings []portfolio.Holding, moves []streams.CapitalMove) []portfolio.Holding {
	out := append([]portfolio.Holding(nil), holdings...)
	for _, m := range moves {
		for i := range out {
			if out[i].Agent == m.Agent {
				out[i].Equity, _ = out[i].Equity.Add(m.Amount)
				out[i].Cash, _ = out[i].Cash.Add(m.Amount)
			}
		}
	}
	return out
}

// The target equities sum to the total to the last digit: what truncation leaves goes to the
// greatest target.
func TestDriftRounding(t *testing.T) {
	profiles := portfolio.DefaultProfiles()
	a, err := portfolio.Drift(profiles[0], []portfolio.Holding{holding("ATLAS", "3333.33333333", "0"), holding("ORION", "3333.33333333", "0"),
		holding("NOVA", "3333.33333335", "0")}, d("0.05"))
	if err != nil {
		t.Fatal(err)
	}
	// total 10000.00000001: 0.70 × → 7000.000000007 → 7000.00000000 (+ 0.00000001 left over), 2500.0000000025 → 2500, 500.0000000005 → 500
	want := []string{"7000.00000001", "2500", "500"}
	var sum decimal.Decimal
	for i, w := range a.Weights {
		if w.TargetEquity.Cmp(d(want[i])) != 0 {
			t.Errorf("%s target equity %s, want %s", w.Agent, w.TargetEquity, want[i])
		}
		if w.Weight.Scale() > portfolio.WeightScale {
			t.Errorf("%s weight %s has more than %d decimals", w.Agent, w.Weight, portfolio.WeightScale)
		}
		sum, _ = sum.Add(w.TargetEquity)
	}
	if sum.Cmp(a.Total) != 0 {
		t.Errorf("targets sum to %s, total %s", sum, a.Total)
	}
	if w := a.Weights[0].Weight; w.Cmp(d("0.333333")) != 0 {
		t.Errorf("ATLAS weight %s, want 0.333333 (rounded half to even at 6 decimals)", w)
	}
	if _, err := portfolio.Drift(profiles[0], []portfolio.Holding{holding("ATLAS", "0", "0")}, d("0.05")); !errors.Is(err, portfolio.ErrAllocation) {
		t.Errorf("nothing to allocate: %v, want ErrAllocation", err)
	}
	if _, err := portfolio.Drift(profiles[0], nil, d("-0.01")); !errors.Is(err, portfolio.ErrAllocation) {
		t.Errorf("negative threshold: %v, want ErrAllocation", err)
	}
}

// An agent gives at most its cash; the moves still sum to zero and nobody is pushed past its
// target.
func TestRebalanceLimitedByCash(t *testing.T) {
	holdings := []portfolio.Holding{holding("ATLAS", "6000", "300"), holding("ORION", "2000", "2000"), holding("NOVA", "2000", "2000")}
	a, err := portfolio.Drift(moderate(t), holdings, d("0.05"))
	if err != nil {
		t.Fatal(err)
	}
	moves := portfolio.Rebalance(a, "c", 0)
	// ATLAS is 2000 over but holds 300 in cash; ORION is 2000 short, NOVA on target
	if len(moves) != 2 || moves[0].Agent != "ATLAS" || moves[0].Amount.Cmp(d("-300")) != 0 || moves[1].Agent != "ORION" || moves[1].Amount.Cmp(d("300")) != 0 {
		t.Errorf("moves %+v, want ATLAS −300 and ORION +300", moves)
	}
}

func TestRebalanceProperties(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, p := range portfolio.DefaultProfiles() {
		for range 500 {
			var holdings []portfolio.Holding
			for _, tg := range p.Targets {
				eq := decimal.MustNew(int64(rng.IntN(2_000_000_000_000)), 8+rng.IntN(3)-2)
				cash := decimal.MustNew(int64(rng.IntN(2_000_000_000_000))-200_000_000_000, 8)
				holdings = append(holdings, portfolio.Holding{Agent: tg.Agent, Equity: eq, Cash: cash})
			}
			a, err := portfolio.Drift(p, holdings, decimal.MustNew(int64(rng.IntN(100)), 3))
			if err != nil {
				continue // nothing to allocate
			}
			moves := portfolio.Rebalance(a, "c", 0)
			var sum decimal.Decimal
			for _, m := range moves {
				sum, _ = sum.Add(m.Amount)
				for _, w := range a.Weights {
					if w.Agent != m.Agent {
						continue
					}
					after, _ := w.Equity.Add(m.Amount)
					if m.Amount.IsNeg() && (m.Amount.Neg().Cmp(w.Cash) > 0 || after.Cmp(w.TargetEquity) < 0) {
						t.Fatalf("%s gives %s: cash %s, equity %s, target %s", w.Agent, m.Amount, w.Cash, w.Equity, w.TargetEquity)
					}
					if m.Amount.IsPos() && after.Cmp(w.TargetEquity) > 0 {
						t.Fatalf("%s gets %s past its target %s (equity %s)", w.Agent, m.Amount, w.TargetEquity, w.Equity)
					}
				}
			}
			if !sum.IsZero() {
				t.Fatalf("moves %+v sum to %s", moves, sum)
			}
		}
	}
}

func TestDistribute(t *testing.T) {
	h := func(agent, equity, cash, hwm string) portfolio.Holding {
		return portfolio.Holding{Agent: agent, Equity: d(equity), Cash: d(cash), HighWater: d(hwm)}
	}
	dists, moves, err := portfolio.Distribute([]portfolio.Holding{
		h("ORION", "10100", "10100", "10000"),                                  // above the mark, below mark × 1.02: nothing; the mark rises
		h("ATLAS", "10500", "9000", "10000"),                                   // 300 above 10200
		h("NOVA", "9000", "9000", "10000"),                                     // below the mark: nothing, the mark stays
		h("VEGA", "10400", "100", "10000"),                                     // 200 above, 100 in cash
		h("LYRA", "10200.123456789", "20000", "10000"),                         // rounded down to 8 decimals
		{Agent: "NEW", Equity: d("5000"), Cash: d("5000"), Capital: d("4800")}, // no mark yet: starts from its capital
		h("BARE", "5000", "5000", "0"),                                         // no mark, no capital: from its equity
	}, d("0.02"), "portfolio.distribute.7", 1723161600000)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][3]string{ // swept, threshold, next high water
		"ATLAS": {"300", "10200", "10200"}, "LYRA": {"0.12345678", "10200", "10200.000000009"},
		"NEW": {"104", "4896", "4896"}, "BARE": {"0", "5100", "5000"},
		"NOVA": {"0", "10200", "10000"}, "ORION": {"0", "10200", "10100"}, "VEGA": {"100", "10200", "10300"},
	}
	if len(dists) != len(want) {
		t.Fatalf("%d distributions, want %d", len(dists), len(want))
	}
	for i, x := range dists {
		w := want[x.Agent]
		if x.Swept.Cmp(d(w[0])) != 0 || x.Threshold.Cmp(d(w[1])) != 0 || x.NextHighWater.Cmp(d(w[2])) != 0 {
			t.Errorf("%s: %+v, want swept %s threshold %s next %s", x.Agent, x, w[0], w[1], w[2])
		}
		if i > 0 && dists[i-1].Agent > x.Agent {
			t.Errorf("distributions not by agent: %s before %s", dists[i-1].Agent, x.Agent)
		}
	}
	if len(moves) != 4 {
		t.Fatalf("moves %+v, want ATLAS, LYRA, NEW and VEGA", moves)
	}
	for _, m := range moves {
		if m.Type != streams.MoveDistribution || !m.Amount.IsNeg() || m.Amount.Neg().Cmp(d(want[m.Agent][0])) != 0 ||
			m.HighWater.Cmp(d(want[m.Agent][2])) != 0 || m.Cause != "portfolio.distribute.7" {
			t.Errorf("move %+v", m)
		}
	}
	// keep 0 sweeps every profit above the mark
	_, moves, _ = portfolio.Distribute([]portfolio.Holding{h("ATLAS", "10500", "9000", "10000")}, d("0"), "c", 0)
	if len(moves) != 1 || moves[0].Amount.Cmp(d("-500")) != 0 || moves[0].HighWater.Cmp(d("10000")) != 0 {
		t.Errorf("keep 0: %+v, want −500 and the mark staying at 10000", moves)
	}
	if _, _, err := portfolio.Distribute(nil, d("-0.01"), "c", 0); !errors.Is(err, portfolio.ErrAllocation) {
		t.Errorf("negative keep: %v, want ErrAllocation", err)
	}
}

func TestHoldings(t *testing.T) {
	hs := portfolio.Holdings([]portfolio.AgentSummary{{Agent: "ATLAS", Latest: streams.EquitySnapshot{Equity: d("10"), Cash: d("4")}, HighWater: d("9")}, {Agent: "VEGA"}})
	if len(hs) != 2 || hs[0].Equity.Cmp(d("10")) != 0 || hs[0].Cash.Cmp(d("4")) != 0 || hs[0].HighWater.Cmp(d("9")) != 0 || !hs[1].Equity.IsZero() {
		t.Errorf("holdings %+v", hs)
	}
}
