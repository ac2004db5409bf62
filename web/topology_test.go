package web

import (
	"math"
	"testing"
	"time"
)

// A counter that moves in steps (6 every second) snapshotted every 0.5 s, as the
// batcher's row count is: the rate must read 6/s at every snapshot once the window is
// full, never 0 and never 12 (the flicker of a rate over the last interval).
func TestRatesOverTheWindowDoNotFlicker(t *testing.T) {
	var topo Topologist
	start := time.Unix(1_700_000_000, 0)
	for i := 0; i <= 40; i++ { // 20 s
		now := start.Add(time.Duration(i) * 500 * time.Millisecond)
		count := int64(i/2) * 6
		top := Topology{Nodes: []Node{{ID: "batcher", Count: count}}, Edges: []Edge{{From: "model/x", To: "batcher", Count: count}}}
		topo.Rates(now, &top)
		if i == 0 {
			if top.Nodes[0].Rate != 0 {
				t.Fatalf("first snapshot: rate %v, want 0 (nothing to compare with)", top.Nodes[0].Rate)
			}
			continue
		}
		if i >= 2 && top.Nodes[0].Rate <= 0 { // once the counter has moved
			t.Fatalf("snapshot %d (count %d): rate %v, want > 0", i, count, top.Nodes[0].Rate)
		}
		if now.Sub(start) >= RateWindow+time.Second {
			// Within a window the steps add up to 6/s, give or take one step (6) over 5 s.
			if r := top.Nodes[0].Rate; math.Abs(r-6) > 6/RateWindow.Seconds()+1e-9 {
				t.Fatalf("snapshot %d (count %d): rate %.3f, want 6 ± 1.2", i, count, r)
			}
		}
		if top.Edges[0].Rate != top.Nodes[0].Rate {
			t.Fatalf("edge rate %v, node rate %v: same counter, same rate", top.Edges[0].Rate, top.Nodes[0].Rate)
		}
	}
}

// A steady counter reads its exact rate; a counter that goes back (a restarted actor) starts
// again at 0 rather than reading a negative rate.
func TestRatesSteadyAndReset(t *testing.T) {
	var topo Topologist
	start := time.Unix(1_700_000_000, 0)
	var last float64
	for i := 0; i <= 20; i++ {
		top := Topology{Nodes: []Node{{ID: "router", Count: int64(i) * 50}}} // 100/s
		topo.Rates(start.Add(time.Duration(i)*500*time.Millisecond), &top)
		last = top.Nodes[0].Rate
		if i > 0 && math.Abs(last-100) > 1e-9 {
			t.Fatalf("snapshot %d: rate %v, want 100", i, last)
		}
	}
	top := Topology{Nodes: []Node{{ID: "router", Count: 10}}}
	topo.Rates(start.Add(11*time.Second), &top)
	if top.Nodes[0].Rate != 0 {
		t.Fatalf("after the counter went back: rate %v, want 0", top.Nodes[0].Rate)
	}
	top = Topology{Nodes: []Node{{ID: "router", Count: 60}}}
	topo.Rates(start.Add(11500*time.Millisecond), &top)
	if math.Abs(top.Nodes[0].Rate-100) > 1e-9 {
		t.Fatalf("after the reset: rate %v, want 100", top.Nodes[0].Rate)
	}
}

// A node's Busy becomes its load: the share of the window it was busy (a quarter of every
// second here), never above 1, and never below the load its queue gives it.
func TestLoadFromBusyTime(t *testing.T) {
	var topo Topologist
	start := time.Unix(1_700_000_000, 0)
	var top Topology
	for i := 0; i <= 20; i++ {
		busy := time.Duration(i) * 125 * time.Millisecond // 250 ms a second
		top = Topology{Nodes: []Node{
			{ID: "agent/A", Busy: busy},
			{ID: "model/m", Busy: 2 * time.Duration(i) * 500 * time.Millisecond}, // two runs at once: 2 s a second
			{ID: "risk", Busy: busy, Load: 0.5},                                  // its queue half full
			{ID: "symbol/s", Load: 0.1},                                          // no busy time counted
		}}
		topo.Rates(start.Add(time.Duration(i)*500*time.Millisecond), &top)
	}
	want := map[string]float64{"agent/A": 0.25, "model/m": 1, "risk": 0.5, "symbol/s": 0.1}
	for _, n := range top.Nodes {
		if math.Abs(n.Load-want[n.ID]) > 1e-9 {
			t.Errorf("%s: load %v, want %v", n.ID, n.Load, want[n.ID])
		}
	}
}
