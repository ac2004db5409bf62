package benchmarks

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/synapse-trading/synapse/migrations/testdb"
)

// The projection scenario runs end to end, briefly, on the test Postgres: the projector writes
// exactly the rows raw COPY writes (Projection checks the count), the lag phase commits every
// event, and the CPU accounting covers both processes.
func TestProjectionScenario(t *testing.T) {
	testdb.Connect(t) // fails under CI=true when Postgres is unreachable
	opts := ProjectionOptions{DatabaseURL: testdb.URL(), Orders: 1000, Rounds: 1, Rate: 2000, Duration: time.Second}
	res, err := Projection(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	Print(os.Stdout, res)
	if res.Figure.Value <= 0 || res.Baseline.Value <= 0 || res.Latency == nil || res.Latency.Count == 0 {
		t.Fatalf("empty result: %+v", res)
	}
	x := res.Extra
	if x["rows"] < 2000 || x["lag batches committed"] == 0 || x["projector CPU s, this process"] <= 0 || x["raw COPY s"] <= 0 {
		t.Fatalf("extra: %v", x)
	}
	if x["lag head − applied max (events)"] > opts.Rate*opts.Duration.Seconds() {
		t.Fatalf("the projector fell behind by more than the whole load: %v", x)
	}
}
