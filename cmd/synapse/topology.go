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
}

// publishTopology sets the hub's "graph" topic twice a second: every actor of the engine as a
// neuron, every message path as a synapse, with rates from their counters.
func publishTopology(ctx context.Context, src topologySource) {
	var t web.Topologist
	var healthAt time.Time
	tick := time.NewTicker(500 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-tick.C:
			top := src.snapshot()
			t.Rates(now, &top)
			_ = src.hub.Set("graph", top)
			if src.health != nil && now.Sub(healthAt) >= time.Second {
				healthAt = now
				_ = src.hub.Set("health", src.health.snapshot(ctx, top))
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

func (s topologySource) snapshot() web.Topology {
	gs := s.graph.Stats()
	md, feat, sig := s.lastSeq(streams.StreamMarketData), s.lastSeq(streams.StreamFeatures), s.lastSeq(streams.StreamSignals)
	depths := s.graph.MailboxDepths()
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
			Load: float64(depths[sym]) / 64})
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
		node(web.Node{ID: id, Kind: "pair", Label: p.A.Symbol + "~" + p.B.Symbol, Count: ps.Matched, Topic: topic})
		edge("symbol/"+p.A.Venue+"/"+p.A.Symbol, id, ps.Matched)
		edge("symbol/"+p.B.Venue+"/"+p.B.Symbol, id, ps.Matched)
		edge(id, "stream/FEAT", ps.Matched)
	}
	s.desk(&top, node, edge)
	if s.batcher == nil {
		return top
	}
	stats, _ := s.batcher.Stats(time.Second)
	var rows int64
	var queued, capacity float64
	for _, m := range stats.Models {
		rows += m.Rows
		queued += float64(m.Queued)
		capacity += 4096
	}
	node(web.Node{ID: "batcher", Kind: "batcher", Label: "batcher", Count: rows, Load: queued / max(capacity, 1)})
	node(web.Node{ID: "onnxruntime", Kind: "runtime", Label: "ONNX Runtime " + inference.RuntimeVersion(), Count: rows})
	node(web.Node{ID: "stream/SIG", Kind: "stream", Label: "SIG", Count: sig})
	edge("batcher", "onnxruntime", rows)
	for _, ms := range models {
		id := "model/" + ms.Key
		label := ms.Name
		if ms.Shadow {
			label += " (shadow)"
		}
		node(web.Node{ID: id, Kind: "model", Label: label, Count: ms.Signals, Topic: inference.ModelTopic(ms.Key), Status: strings.TrimSpace(ms.LastError)})
		edge(id, "batcher", ms.Requests)
		edge(id, "stream/SIG", ms.Signals)
		if !ms.Shadow {
			edge(id, "model/"+inference.EnsembleName, ms.Signals)
		}
	}
	var ens inference.EnsembleState
	s.state(inference.ModelTopic(inference.EnsembleName), &ens)
	node(web.Node{ID: "model/" + inference.EnsembleName, Kind: "ensemble", Label: inference.EnsembleName, Count: ens.Signals, Topic: inference.ModelTopic(inference.EnsembleName)})
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
func (s topologySource) desk(top *web.Topology, node func(web.Node), edge func(from, to string, count int64)) {
	var risk actors.RiskView
	s.state("risk", &risk)
	var rejected int64
	for _, n := range risk.Rejected {
		rejected += n
	}
	status := ""
	if risk.KillSwitch {
		status = "kill switch"
	}
	ord := s.lastSeq(streams.StreamOrders)
	node(web.Node{ID: "risk", Kind: "risk", Label: "risk gate", Count: risk.Passed + rejected, Topic: "risk", Status: status})
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
		node(web.Node{ID: id, Kind: "agent", Label: a.Name, Count: v.Intents, Topic: topic, Status: st})
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
		node(web.Node{ID: id, Kind: "venue", Label: name, Count: vv.Reports, Topic: topic, Status: vv.LastError})
		edge("risk", id, vv.Submitted)
		edge(id, "stream/ORD", vv.Reports)
	}
}
