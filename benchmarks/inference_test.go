package benchmarks

import (
	"context"
	"os"
	"testing"
	"time"
)

// The inference scenario runs end to end on a real ONNX Runtime session, briefly; set
// SYNAPSE_BENCH_FULL=1 to run it at its default length and print the table.
func TestInferenceScenario(t *testing.T) {
	opts := InferenceOptions{Duration: 100 * time.Millisecond, Loads: []int{1, 64}}
	if os.Getenv("SYNAPSE_BENCH_FULL") != "" {
		opts = InferenceOptions{}
	}
	res, err := Inference(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	Print(os.Stdout, res)
	if res.Figure.Value <= 0 || res.Baseline.Value <= 0 || res.Latency == nil || res.Latency.Count == 0 {
		t.Fatalf("empty result: %+v", res)
	}
	if res.Extra["mean batch @64"] <= 1 {
		t.Fatalf("no batching at 64 requesters: %v", res.Extra)
	}
	for _, k := range []string{"p50 µs @1", "p99 µs @64", "window p99 µs @64", "raw ORT rows/s @ mean batch", "batched / raw ORT %"} {
		if _, ok := res.Extra[k]; !ok {
			t.Fatalf("Extra lacks %q: %v", k, res.Extra)
		}
	}
}
