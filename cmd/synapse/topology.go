package main

import (
	"context"
	"encoding/json"
	"strings"
	"time"

	"github.com/synapse-trading/synapse/actors"
	"github.com/synapse-trading/synapse/inference"
	"github.com/synapse-trading/synapse/streams"
	"github.com/synapse-trading/synapse/web"
)

// topologySource is what the "graph" topic is drawn from.
type topologySource struct {
	feed    string // replay, live or synthetic
	log     *streams.Log
	graph   *actors.Graph
	hub     *web.Hub
	batcher *inference.Batcher // nil without models
	pairs   []actors.Pair
	agents  []*actors.Agent
	health  *engineHealth // the "health" topic, built from every other snapshot
	// activity counts the messages and busy time of the actors whose mailboxes have no bound
	// to measure a depth against: agents, risk gate, venues, models, ensemble, pairs.
	activity *actors.Activity
}

// publishTopology sets the hub's "graph" topic twice a second: every actor of the engine as a
// neuron, every message path as a synapse, with rates from their counters; every second the
// "health" topic, and the "batcher" topic (the batcher's counters and histograms, as the
// models query has them).
func publishTopology(ctx context.Context, src topologySource) {
	var t web.Topologist
	var everySecond time.Time
	tick := time.NewTicker(500 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-tick.C:
			var stats *inference.BatcherStats
			if src.batcher != nil {
				if s, err := src.batcher.Stats(time.Second); err == nil {
					stats = &s
				}
			}
			top := src.snapshot(stats)
			t.Rates(now, &top)
			_ = src.hub.Set("graph", top)
			if now.Sub(everySecond) < time.Second {
				continue
			}
			everySecond = now
			if src.health != nil {
				_ = src.hub.Set("health", src.health.snapshot(ctx, top))
			}
			if stats != nil {
				_ = src.hub.Set("batcher", stats)
			}
		}
	}
}

func (s topologySource) lastSeq(stream string) int64 {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	seq, _ := s.log.LastSeq(ctx, stream) // 0 when the log does not answer
	return int64(seq)
}

func (s topologySource) state(topic string, v any) bool {
	raw, ok := s.hub.Get(topic)
	return ok && json.Unmarshal(raw, v) == nil
}

// snapshot is the graph with its counters; stats are the batcher's (nil without models, or
// when it did not answer). A neuron's count is what its actor received (its rate, the
// messages reaching it); its load the depth of its bounded mailbox over the bound, or the
// share of time it was busy, whichever is higher.
func (s topologySource) snapshot(stats *inference.BatcherStats) web.Topology {
	gs := s.graph.Stats()
	md, feat, sig := s.lastSeq(streams.StreamMarketData), s.lastSeq(streams.StreamFeatures), s.lastSeq(streams.StreamSignals)
	depths := s.graph.MailboxDepths()
	taps, bound := s.graph.TapDepths(), float64(max(s.graph.MaxInFlight(), 1))
	activity := s.activity.Counts() // by actor ID
	top := web.Topology{}
	node := func(n web.Node) { top.Nodes = append(top.Nodes, n) }
	edge := func(from, to string, count int64) {
		top.Edges = append(top.Edges, web.Edge{From: from, To: to, Count: count})
	}

	node(web.Node{ID: "feed", Kind: "feed", Label: s.feed, Count: md, Topic: "engine"})
	node(web.Node{ID: "stream/MD", Kind: "stream", Label: "MD", Count: md})
	node(web.Node{ID: "router", Kind: "router", Label: "router", Count: gs.Routed, Topic: "engine"})
	node(web.Node{ID: "stream/FEAT", Kind: "stream", Label: "FEAT", Count: feat})
	edge("feed", "stream/MD", md)
	edge("stream/MD", "router", gs.Routed)

	var models []inference.ModelState
	for _, name := range append(append([]string{}, inference.ModelNames...), modelShadows()...) {
		var ms inference.ModelState
		if s.state(inference.ModelTopic(name), &ms) && (!ms.Shadow || ms.Active) { // a shadow actor only while a candidate runs in it
			models = append(models, ms)
		}
	}
	for _, sym := range s.graph.Symbols() {
		topic := actors.SymbolTopic(sym[0], sym[1])
		var st actors.SymbolState
		s.state(topic, &st)
		id := "symbol/" + sym[0] + "/" + sym[1]
		status := ""
		if st.Restarts > 0 {
			status = "restarted"
		} else if st.BookLevels > 0 && !st.BookSynced {
			status = "book resync"
		}
		node(web.Node{ID: id, Kind: "symbol", Label: sym[1], Count: st.Events, Topic: topic, Status: status,
			Load: float64(depths[sym]) / bound})
		edge("router", id, st.Events)
		edge(id, "stream/FEAT", st.Events)
		for _, ms := range models {
			if n := ms.PerSymbol[sym[0]+"/"+sym[1]]; n > 0 {
				edge(id, "model/"+ms.Key, n)
			}
		}
	}
	for _, p := range s.pairs {
		var ps actors.PairState
		topic := actors.PairTopic(p)
		s.state(topic, &ps)
		id := "pair/" + p.A.Symbol + "~" + p.B.Symbol
		act := activity["pair/"+p.A.String()+"~"+p.B.String()]
		node(web.Node{ID: id, Kind: "pair", Label: p.A.Symbol + "~" + p.B.Symbol, Count: act.Received, Busy: act.Busy, Topic: topic})
		edge("symbol/"+p.A.Venue+"/"+p.A.Symbol, id, ps.Matched)
		edge("symbol/"+p.B.Venue+"/"+p.B.Symbol, id, ps.Matched)
		edge(id, "stream/FEAT", ps.Matched)
	}
	s.desk(&top, node, edge, activity, taps, bound)
	if stats == nil {
		return top
	}
	var rows int64
	var queued, capacity float64
	var running time.Duration
	for _, m := range stats.Models {
		rows += m.Rows
		queued += float64(m.Queued)
		capacity += 4096
		running += m.RunTime
	}
	node(web.Node{ID: "batcher", Kind: "batcher", Label: "batcher", Count: rows, Load: queued / max(capacity, 1)})
	// ONNX Runtime's load: the share of time a batch ran.
	node(web.Node{ID: "onnxruntime", Kind: "runtime", Label: "ONNX Runtime " + inference.RuntimeVersion(), Count: rows, Busy: running})
	node(web.Node{ID: "stream/SIG", Kind: "stream", Label: "SIG", Count: sig})
	edge("batcher", "onnxruntime", rows)
	for _, ms := range models {
		id := "model/" + ms.Key
		label := ms.Name
		if ms.Shadow {
			label += " (shadow)"
		}
		act := activity[inference.ModelTopic(ms.Key)] // its actor's ID
		node(web.Node{ID: id, Kind: "model", Label: label, Count: act.Received, Busy: act.Busy, Topic: inference.ModelTopic(ms.Key), Status: strings.TrimSpace(ms.LastError)})
		edge(id, "batcher", ms.Requests)
		edge(id, "stream/SIG", ms.Signals)
		if !ms.Shadow {
			edge(id, "model/"+inference.EnsembleName, ms.Signals)
		}
	}
	var ens inference.EnsembleState
	s.state(inference.ModelTopic(inference.EnsembleName), &ens)
	act := activity[inference.ModelTopic(inference.EnsembleName)]
	node(web.Node{ID: "model/" + inference.EnsembleName, Kind: "ensemble", Label: inference.EnsembleName, Count: act.Received, Busy: act.Busy,
		Topic: inference.ModelTopic(inference.EnsembleName)})
	edge("model/"+inference.EnsembleName, "stream/SIG", ens.Signals)
	return top
}

func modelShadows() []string {
	out := make([]string, 0, len(inference.ModelNames))
	for _, n := range inference.ModelNames {
		out = append(out, inference.ShadowKey(n))
	}
	return out
}

// desk adds the trading tier: the agents, the risk gate, the venues and the ORD stream.
// activity is by actor ID, taps the market data batches waiting for the risk gate and the
// venues (bounded by bound).
func (s topologySource) desk(top *web.Topology, node func(web.Node), edge func(from, to string, count int64),
	activity map[string]actors.ActivityCount, taps map[string]int, bound float64) {
	var risk actors.RiskView
	s.state("risk", &risk)
	status := ""
	if risk.KillSwitch {
		status = "kill switch"
	}
	ord := s.lastSeq(streams.StreamOrders)
	act := activity["risk/gate"]
	node(web.Node{ID: "risk", Kind: "risk", Label: "risk gate", Count: act.Received, Busy: act.Busy, Load: float64(taps["risk/gate"]) / bound,
		Topic: "risk", Status: status})
	node(web.Node{ID: "stream/ORD", Kind: "stream", Label: "ORD", Count: ord})
	venues := map[string]bool{}
	for _, a := range s.agents {
		venues[a.Execution] = true
		var v actors.AgentView
		topic := actors.AgentTopic(a.Name)
		s.state(topic, &v)
		id := "agent/" + a.Name
		st := ""
		if v.State != "" && v.State != streams.AgentActive {
			st = string(v.State)
		}
		act := activity[id] // the agent's actor ID is its node's
		node(web.Node{ID: id, Kind: "agent", Label: a.Name, Count: act.Received, Busy: act.Busy, Topic: topic, Status: st})
		for _, m := range a.Models {
			edge("model/"+m, id, v.Signals)
		}
		edge(id, "risk", v.Intents)
		edge(id, "stream/ORD", v.Intents)
	}
	for name := range venues {
		var vv actors.VenueView
		topic := "venue/" + name
		s.state(topic, &vv)
		id := "venue/" + name
		act := activity[id]
		node(web.Node{ID: id, Kind: "venue", Label: name, Count: act.Received, Busy: act.Busy, Load: float64(taps[id]) / bound,
			Topic: topic, Status: vv.LastError})
		edge("risk", id, vv.Submitted)
		edge(id, "stream/ORD", vv.Reports)
	}
}
