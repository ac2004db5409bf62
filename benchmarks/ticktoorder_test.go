package benchmarks

import (
	"context"
	"os"
	"testing"
	"time"
)

// The tick-to-order scenario runs end to end on the real engine, briefly: two symbols whose
// candles close every 20 ticks, so the models warm up within the second. Set
// SYNAPSE_BENCH_FULL=1 to run it at its default length and print the table.
func TestTickToOrderScenario(t *testing.T) {
	opts := TickToOrderOptions{Rate: 2000, Duration: 2 * time.Second, Symbols: 2, TradesPerMinute: 10}
	if os.Getenv("SYNAPSE_BENCH_FULL") != "" {
		opts = TickToOrderOptions{}
	}
	res, err := TickToOrder(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	Print(os.Stdout, res)
	if res.Latency == nil || res.Latency.Count == 0 || res.Figure.Value <= 0 || res.Baseline.Value <= 0 {
		t.Fatalf("empty result: %+v", res)
	}
	if res.Extra["intents not matched to a candle"] != 0 {
		t.Fatalf("intents timed at no candle close: %v", res.Extra)
	}
	if res.Extra["ticks sent"]+res.Extra["ticks dropped (scheduler late)"] != opts.Rate*opts.Duration.Seconds() && opts.Rate > 0 {
		t.Fatalf("ticks sent and dropped do not add up: %v", res.Extra)
	}
}
