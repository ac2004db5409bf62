package benchmarks

import (
	"context"
	"os"
	"testing"
)

// The backtest scenario runs the whole graph over the first 2,000 bundled klines, twice,
// and the two runs must agree. Set SYNAPSE_BENCH_FULL=1 to run it at its default length.
func TestBacktestScenario(t *testing.T) {
	opts := BacktestOptions{Klines: 2000}
	if os.Getenv("SYNAPSE_BENCH_FULL") != "" {
		opts = BacktestOptions{}
	}
	res, err := Backtest(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	Print(os.Stdout, res)
	if res.Figure.Value <= 0 || res.Baseline.Value <= 0 || res.Extra["clock steps"] == 0 {
		t.Fatalf("empty result: %+v", res)
	}
	if res.Extra["deterministic"] != 1 || !res.Met {
		t.Fatalf("two runs of the same klines ended with different agent results: %v", res.Extra)
	}
}
