package web

import (
	"sort"
	"sync"
	"time"
)

// Node is one neuron of the UI's actor graph: an actor, a stream of the log, a feed, a venue.
type Node struct {
	ID    string `json:"id"`
	Kind  string `json:"kind"` // feed, stream, router, symbol, pair, model, batcher, ensemble, gateway
	Label string `json:"label"`
	// Count is the node's own monotonic counter (events applied, requests served, messages
	// stored); the topology turns it into Rate.
	Count int64   `json:"count"`
	Rate  float64 `json:"rate"` // per second, over the last RateWindow
	// Load in [0, 1]: how busy the node is (mailbox depth over its bound, queue over its cap),
	// at least the share of time it was busy when it has a Busy.
	Load float64 `json:"load"`
	// Busy is the node's time spent working so far (an actor's time in its Receive, ONNX
	// Runtime's run time), a monotonic counter: the topology turns it into the share of the
	// last RateWindow it was busy, the Load when that is higher.
	Busy time.Duration `json:"-"`
	// Topic is the hub topic holding the node's live state, if any (for hover and detail).
	Topic  string `json:"topic,omitempty"`
	Status string `json:"status,omitempty"` // e.g. "restarted 1×", "book resync"
}

// Edge is a synapse: messages flow From → To. Its rate is the rate of the counter named by
// Counter (the receiving side's own count, or a count the builder gives).
type Edge struct {
	From  string  `json:"from"`
	To    string  `json:"to"`
	Count int64   `json:"count"`
	Rate  float64 `json:"rate"`
}

// Topology is the "graph" topic: the live actor graph as neurons and synapses.
type Topology struct {
	Time  int64  `json:"time"` // epoch ms of the snapshot
	Nodes []Node `json:"nodes"`
	Edges []Edge `json:"edges"`
}

// RateWindow is how far back a rate looks: the counters behind the graph move in steps (a
// model's state is shown every 250 ms, the batcher's counts on each batch), so a rate over
// the last snapshot interval alone reads 0 after a step and twice the real rate after the
// next; over a few seconds it reads the real rate.
const RateWindow = 5 * time.Second

// Topologist turns successive snapshots (with counters) into rates.
type Topologist struct {
	mu      sync.Mutex
	samples map[string][]countAt // per node ("n:ID") and edge ("e:FROM>TO"), oldest first
}

type countAt struct {
	t     time.Time
	count int64
}

// Rates fills Rate of every node and edge: the change of its Count over the last RateWindow
// (over the time since its first snapshot while it is younger than that), per second; and a
// node's Load from its Busy the same way, as a share of the time.
func (t *Topologist) Rates(now time.Time, top *Topology) {
	t.mu.Lock()
	defer t.mu.Unlock()
	next := make(map[string][]countAt, len(top.Nodes)+len(top.Edges))
	rate := func(key string, count int64) float64 {
		kept := t.samples[key]
		// Keep the newest sample at least RateWindow old, and those after it.
		from := 0
		for from+1 < len(kept) && now.Sub(kept[from+1].t) >= RateWindow {
			from++
		}
		kept = kept[from:]
		if len(kept) > 0 && count < kept[len(kept)-1].count {
			kept = nil // the counter went back (an actor restarted): start again
		}
		next[key] = append(kept, countAt{now, count})
		if len(kept) == 0 {
			return 0
		}
		dt := now.Sub(kept[0].t).Seconds()
		if dt <= 0 {
			return 0
		}
		return float64(count-kept[0].count) / dt
	}
	for i := range top.Nodes {
		n := &top.Nodes[i]
		n.Rate = rate("n:"+n.ID, n.Count)
		if n.Busy > 0 {
			busy := rate("b:"+n.ID, int64(n.Busy)) / float64(time.Second) // seconds busy per second
			n.Load = max(n.Load, min(busy, 1))
		}
	}
	for i := range top.Edges {
		e := &top.Edges[i]
		e.Rate = rate("e:"+e.From+">"+e.To, e.Count)
	}
	sort.Slice(top.Nodes, func(i, j int) bool { return top.Nodes[i].ID < top.Nodes[j].ID })
	t.samples = next
	top.Time = now.UnixMilli()
}
