package benchmarks

import (
	"context"
	"os"
	"testing"
	"time"
)

// TestMain lets this test binary be the fanout scenario's client process too.
func TestMain(m *testing.M) {
	ClientProcess()
	os.Exit(m.Run())
}

// The fanout scenario runs end to end, briefly: 50 websocket clients on the real gateway
// while the real engine trades; every client must stay connected and receive frames at
// about the rate asked for.
func TestFanoutScenario(t *testing.T) {
	opts := FanoutOptions{Clients: 50, Rounds: 1, TickToOrder: TickToOrderOptions{Rate: 2000, Duration: 2 * time.Second, Symbols: 2, TradesPerMinute: 10}}
	res, err := Fanout(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	Print(os.Stdout, res)
	if res.Latency == nil || res.Latency.Count == 0 || res.Figure.Value <= 0 || res.Baseline.Value <= 0 {
		t.Fatalf("empty result: %+v", res)
	}
	if res.Extra["clients connected"] != 50 || res.Extra["clients closed by the gateway"] != 0 {
		t.Fatalf("clients: %v", res.Extra)
	}
	// 10 updates/s asked; the symbols' state changes with every tick, so each client gets
	// a frame about every 100 ms (fewer on a loaded machine, never more).
	if f := res.Extra["frames per client per second"]; f < 3 || f > 10.5 {
		t.Fatalf("%.1f frames per client per second, want about 10", f)
	}
}
