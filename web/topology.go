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
	Rate  float64 `json:"rate"` // per second, over the last interval
	// Load in [0, 1]: how busy the node is (mailbox depth over its bound, queue over its cap).
	Load float64 `json:"load"`
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

// Topologist turns successive snapshots (with counters) into rates.
type Topologist struct {
	mu    sync.Mutex
	last  map[string]int64
	lastT time.Time
}

// Rates fills Rate of every node and edge from the change of Count since the previous call.
func (t *Topologist) Rates(now time.Time, top *Topology) {
	t.mu.Lock()
	defer t.mu.Unlock()
	dt := now.Sub(t.lastT).Seconds()
	next := make(map[string]int64, len(top.Nodes)+len(top.Edges))
	rate := func(key string, count int64) float64 {
		next[key] = count
		prev, ok := t.last[key]
		if !ok || dt <= 0 || count < prev {
			return 0
		}
		return float64(count-prev) / dt
	}
	for i := range top.Nodes {
		top.Nodes[i].Rate = rate("n:"+top.Nodes[i].ID, top.Nodes[i].Count)
	}
	for i := range top.Edges {
		e := &top.Edges[i]
		e.Rate = rate("e:"+e.From+">"+e.To, e.Count)
	}
	sort.Slice(top.Nodes, func(i, j int) bool { return top.Nodes[i].ID < top.Nodes[j].ID })
	t.last, t.lastT = next, now
	top.Time = now.UnixMilli()
}
