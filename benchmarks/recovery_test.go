package benchmarks

import (
	"context"
	"os"
	"testing"
)

// The recovery scenario kills a live engine with events on its log, restarts it on the same
// store and compares the state, end to end, briefly (the scenario fails when they differ).
func TestRecoveryScenario(t *testing.T) {
	res, err := Recovery(context.Background(), RecoveryOptions{Events: 30_000, Symbols: 3, Progress: t.Logf})
	if err != nil {
		t.Fatal(err)
	}
	Print(os.Stdout, res)
	if res.Extra["events on the log"] != 30_000 || res.Extra["features compared"] == 0 || res.Extra["symbol × interval states compared"] < 3 {
		t.Fatalf("nothing compared: %v", res.Extra)
	}
	if res.Figure.Value <= 0 || res.Baseline.Value <= 0 {
		t.Fatalf("empty result: %+v", res)
	}
}
