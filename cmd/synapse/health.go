package main

import (
	"context"
	"math"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"google.golang.org/protobuf/proto"

	"github.com/synapse-trading/synapse/actors"
	"github.com/synapse-trading/synapse/inference"
	"github.com/synapse-trading/synapse/portfolio"
	"github.com/synapse-trading/synapse/streams"
	"github.com/synapse-trading/synapse/web"
)

// Health is the "health" topic and query, what the System Health page shows: the actor tree
// with each actor's restarts and queues, the log's streams with their consumers' lags, the
// throughput and the latency percentiles of each stage of the live path over the last
// minute.
type Health struct {
	Time       int64          `json:"time"` // epoch ms: the graph snapshot it was built from
	Actors     []HealthActor  `json:"actors"`
	Streams    []HealthStream `json:"streams"`
	Throughput Throughput     `json:"throughput"`
	Stages     []StageLatency `json:"stages"`
	// StagesWindowS is the span, in seconds, that Stages' counts and percentiles cover, up
	// to Time: stagesWindow (60 s) and up to a second more (the snapshots come a second
	// apart), less in the engine's first minute (its age then).
	StagesWindowS float64 `json:"stages_window_s"`
}

// HealthActor is a node of the actor tree: an actor of the graph topic (same ID), or a
// group of them (engine, models, agents, log).
type HealthActor struct {
	ID     string  `json:"id"`
	Parent string  `json:"parent"` // "" for the root, the engine
	Kind   string  `json:"kind"`
	Label  string  `json:"label"`
	Count  int64   `json:"count"`
	Rate   float64 `json:"rate"` // per second, over the graph's RateWindow
	// Restarts after a panic; null for what is not an actor (a group, a stream, the feed).
	Restarts *int    `json:"restarts"`
	Queues   []Queue `json:"queues"` // the actor's bounded queues; none for a group or a stream
	Status   string  `json:"status,omitempty"`
}

// Queue is one of an actor's queues: what waits in it now, and its bound (0: bounded by
// what feeds it rather than by a number, see the actors package's Bounds).
type Queue struct {
	Name  string `json:"name"` // market_data, desk, waiting_rows, at_batcher, rows, frames
	Depth int64  `json:"depth"`
	Bound int64  `json:"bound"`
}

// HealthStream is a stream of the log: its last sequence and the lag of each position the
// engine follows on it.
type HealthStream struct {
	Name      string        `json:"name"`
	LastSeq   uint64        `json:"last_seq"`
	Consumers []ConsumerLag `json:"consumers"`
}

// ConsumerLag is how far a follower of a stream is behind its head.
type ConsumerLag struct {
	Consumer string `json:"consumer"`
	Position uint64 `json:"position"` // the last sequence it has handled
	Lag      uint64 `json:"lag"`      // the stream's last sequence minus Position
}

// Throughput is the engine's flow, per second over the graph's RateWindow.
type Throughput struct {
	EventsRouted float64 `json:"events_routed"` // market events routed to the symbol actors
	Signals      float64 `json:"signals"`       // signals put on SIG (every model, shadows and the ensemble)
	Orders       float64 `json:"orders"`        // order intents of the agents
}

// StageLatency is a stage's latency percentiles, in µs, over the health snapshot's window
// (the last minute: Health.StagesWindowS), read from synapse_stage_latency_seconds as
// Prometheus's histogram_quantile reads it (linear within the bucket; the buckets double,
// so a percentile is exact to a factor of 2 at worst); null while the stage has no
// observation in the window.
type StageLatency struct {
	Stage string   `json:"stage"`
	Count uint64   `json:"count"`  // observations in the window
	Total uint64   `json:"total"`  // observations since the engine started
	P50Us *float64 `json:"p50_us"` // null while Count is 0
	P90Us *float64 `json:"p90_us"`
	P99Us *float64 `json:"p99_us"`
}

// engineHealth reads the engine's parts for the Health page and /metrics.
type engineHealth struct {
	log       *streams.Log
	graph     *actors.Graph
	desk      *actors.Desk
	batcher   *inference.Batcher // nil without models
	gateway   *web.Gateway
	hub       *web.Hub
	restarts  *actors.Restarts
	stages    *actors.Stages
	window    *stageWindow        // the stage percentiles' last minute
	cmdsDone  *atomic.Uint64      // the last command applied or refused
	readModel portfolio.ReadModel // follows ORD, PF and CMD (in memory or Postgres)
}

// queueOf is one queue of the actor with the graph node ID actor.
type queueOf struct {
	kind, actor string
	Queue
}

// queues lists every bounded queue of the engine's actors, by graph node ID.
func (h *engineHealth) queues() []queueOf {
	var out []queueOf
	bound := int64(h.graph.MaxInFlight())
	for sym, n := range h.graph.MailboxDepths() {
		out = append(out, queueOf{"symbol", "symbol/" + sym[0] + "/" + sym[1], Queue{"market_data", int64(n), bound}})
	}
	for id, n := range h.graph.TapDepths() {
		kind, _, _ := strings.Cut(id, "/")
		out = append(out, queueOf{kind, nodeOfPID(id), Queue{"market_data", int64(n), bound}})
	}
	for id, n := range h.desk.Queues() {
		kind, _, _ := strings.Cut(id, "/")
		out = append(out, queueOf{kind, nodeOfPID(id), Queue{"desk", n, 0}})
	}
	for _, name := range append(append([]string{}, inference.ModelNames...), modelShadows()...) {
		var ms inference.ModelState
		if h.state(inference.ModelTopic(name), &ms) {
			out = append(out, queueOf{"model", "model/" + ms.Key, Queue{"waiting_rows", int64(ms.Waiting), 0}},
				queueOf{"model", "model/" + ms.Key, Queue{"at_batcher", int64(ms.AtBatcher), 0}})
		}
	}
	if h.batcher != nil {
		if stats, err := h.batcher.Stats(time.Second); err == nil {
			for _, m := range stats.Models {
				out = append(out, queueOf{"batcher", "batcher", Queue{"rows/" + m.Key, int64(m.Queued), 0}})
			}
		}
	}
	clients, waiting := h.gateway.FramesWaiting()
	out = append(out, queueOf{"gateway", "gateway", Queue{"frames", int64(waiting), int64(clients)}})
	sort.Slice(out, func(i, j int) bool {
		if out[i].actor != out[j].actor {
			return out[i].actor < out[j].actor
		}
		return out[i].Name < out[j].Name
	})
	return out
}

// nodeOfPID is the graph node ID of a Hollywood actor ID: "symbol/binance.BTCUSDT" is
// "symbol/binance/BTCUSDT", "risk/gate" is "risk", "pair/binance:A~binance:B" is "pair/A~B".
func nodeOfPID(id string) string {
	kind, rest, _ := strings.Cut(id, "/")
	switch kind {
	case "symbol":
		return kind + "/" + strings.Replace(rest, ".", "/", 1)
	case "risk", "batcher":
		return kind
	case "pair":
		a, b, _ := strings.Cut(rest, "~")
		_, a, _ = strings.Cut(a, ":")
		_, b, _ = strings.Cut(b, ":")
		return "pair/" + a + "~" + b
	}
	return id
}

// heads reads the last sequence of every stream of the log, once for a snapshot (0 for a
// stream the log does not answer for).
func (h *engineHealth) heads(ctx context.Context) map[string]uint64 {
	out := map[string]uint64{}
	for _, s := range streams.Catalog() {
		out[s.Name], _ = h.log.LastSeq(ctx, s.Name)
	}
	return out
}

// lags lists each position the engine follows on the log, with its lag behind heads, by
// stream.
func (h *engineHealth) lags(ctx context.Context, heads map[string]uint64) map[string][]ConsumerLag {
	out := map[string][]ConsumerLag{}
	add := func(stream, consumer string, pos uint64) {
		head := heads[stream]
		out[stream] = append(out[stream], ConsumerLag{Consumer: consumer, Position: pos, Lag: head - min(pos, head)})
	}
	add(streams.StreamMarketData, "router", h.graph.Stats().LastSeq)
	add(streams.StreamCommands, "commands", h.cmdsDone.Load())
	if applied, err := h.readModel.Applied(ctx); err == nil {
		for _, s := range portfolio.Followed {
			add(s, "read model", applied[s])
		}
	}
	return out
}

// stagesWindow is how far back the Health page's stage percentiles look: far enough for a
// stage that runs once a candle (a minute of market time) to show at live speed, near enough
// that the percentiles say what happens now, not since the start (/metrics keeps the whole
// histogram, for Prometheus to take rates of).
const stagesWindow = 60 * time.Second

// stageWindow turns the cumulative synapse_stage_latency_seconds into the counts of a recent
// window: it keeps the histogram's bucket counts as they were at moments at least step
// apart, and subtracts the newest of them that is span old or older from the counts now.
type stageWindow struct {
	span, step time.Duration
	mu         sync.Mutex
	marks      []stageMark // oldest first; the first is at the engine's start, counting 0
}

// stageMark is the histogram at a moment: each stage's cumulative bucket counts.
type stageMark struct {
	at     time.Time
	counts map[string]*dto.Histogram
}

// newStageWindow starts a window over a histogram that counted nothing at start.
func newStageWindow(start time.Time, span, step time.Duration) *stageWindow {
	return &stageWindow{span: span, step: step, marks: []stageMark{{at: start}}}
}

// latencies reads h at now: the percentiles of each stage over the window that ends at now,
// and the window's span (now minus the mark it subtracts).
func (w *stageWindow) latencies(now time.Time, h *prometheus.HistogramVec) ([]StageLatency, time.Duration) {
	ch := make(chan prometheus.Metric, len(actors.StageNames))
	h.Collect(ch)
	close(ch)
	cur := map[string]*dto.Histogram{}
	for m := range ch {
		var pb dto.Metric
		if m.Write(&pb) != nil || pb.Histogram == nil {
			continue
		}
		for _, l := range pb.Label {
			if l.GetName() == "stage" {
				cur[l.GetValue()] = pb.Histogram
			}
		}
	}
	w.mu.Lock()
	if now.Sub(w.marks[len(w.marks)-1].at) >= w.step {
		w.marks = append(w.marks, stageMark{at: now, counts: cur})
	}
	for len(w.marks) > 1 && !w.marks[1].at.After(now.Add(-w.span)) {
		w.marks = w.marks[1:] // the next one is old enough to subtract
	}
	base := w.marks[0]
	w.mu.Unlock()

	out := make([]StageLatency, 0, len(actors.StageNames))
	for _, name := range actors.StageNames {
		st := StageLatency{Stage: name}
		if hist := cur[name]; hist != nil {
			recent := since(hist, base.counts[name])
			st.Count, st.Total = recent.GetSampleCount(), hist.GetSampleCount()
			if st.Count > 0 {
				us := func(q float64) *float64 { v := quantile(q, recent) * 1e6; return &v }
				st.P50Us, st.P90Us, st.P99Us = us(0.50), us(0.90), us(0.99)
			}
		}
		out = append(out, st)
	}
	return out, now.Sub(base.at)
}

// since is what histogram h counted after it was as before (nil: empty), bucket by bucket.
func since(h, before *dto.Histogram) *dto.Histogram {
	out := &dto.Histogram{SampleCount: proto.Uint64(h.GetSampleCount() - before.GetSampleCount())}
	for i, b := range h.GetBucket() {
		cum := b.GetCumulativeCount()
		if i < len(before.GetBucket()) {
			cum -= before.GetBucket()[i].GetCumulativeCount()
		}
		out.Bucket = append(out.Bucket, &dto.Bucket{UpperBound: b.UpperBound, CumulativeCount: proto.Uint64(cum)})
	}
	return out
}

// quantile is Prometheus's histogram_quantile over one histogram: the bucket holding the
// q-th observation, interpolated linearly within it (from 0 for the first bucket); the
// largest finite bound when it falls in the +Inf bucket. h must hold an observation.
func quantile(q float64, h *dto.Histogram) float64 {
	total := float64(h.GetSampleCount())
	rank := q * total
	lower, below := 0.0, 0.0
	for _, b := range h.GetBucket() {
		upper, cum := b.GetUpperBound(), float64(b.GetCumulativeCount())
		if math.IsInf(upper, 1) {
			break
		}
		if cum >= rank {
			if cum == below {
				return upper
			}
			return lower + (upper-lower)*(rank-below)/(cum-below)
		}
		lower, below = upper, cum
	}
	return lower
}

// snapshot builds the Health of the engine from the graph topic's snapshot top (with its
// rates): the tree holds every node of top, under the groups it belongs to.
func (h *engineHealth) snapshot(ctx context.Context, top web.Topology) Health {
	out := Health{Time: top.Time}
	restarts := map[string]int{}
	for pid, n := range h.restarts.Counts() {
		restarts[nodeOfPID(pid)] += n
	}
	queues := map[string][]Queue{}
	for _, q := range h.queues() {
		queues[q.actor] = append(queues[q.actor], q.Queue)
	}
	group := func(id, label string) {
		out.Actors = append(out.Actors, HealthActor{ID: id, Parent: "engine", Kind: "group", Label: label, Queues: []Queue{}})
	}
	out.Actors = append(out.Actors, HealthActor{ID: "engine", Kind: "engine", Label: "engine", Queues: []Queue{}})
	group("log", "the log (NATS JetStream)")
	group("models", "models")
	group("agents", "trading desk")
	for _, n := range top.Nodes {
		a := HealthActor{ID: n.ID, Parent: parentOf(n), Kind: n.Kind, Label: n.Label, Count: n.Count, Rate: n.Rate, Status: n.Status, Queues: queues[n.ID]}
		if a.Queues == nil {
			a.Queues = []Queue{}
		}
		if isActor(n.Kind) {
			r := restarts[n.ID]
			a.Restarts = &r
		}
		out.Actors = append(out.Actors, a)
		switch {
		case n.ID == "router":
			out.Throughput.EventsRouted = n.Rate
		case n.ID == "stream/"+streams.StreamSignals:
			out.Throughput.Signals = n.Rate
		}
	}
	for _, e := range top.Edges { // an agent's neuron counts what it receives; its intents go to the risk gate
		if strings.HasPrefix(e.From, "agent/") && e.To == "risk" {
			out.Throughput.Orders += e.Rate
		}
	}
	out.Actors = append(out.Actors, HealthActor{ID: "gateway", Parent: "engine", Kind: "gateway", Label: "websocket gateway",
		Queues: queues["gateway"]}) // not an actor (a goroutine per client): no restarts to count
	heads := h.heads(ctx)
	lags := h.lags(ctx, heads)
	for _, s := range streams.Catalog() {
		consumers := lags[s.Name]
		if consumers == nil {
			consumers = []ConsumerLag{}
		}
		out.Streams = append(out.Streams, HealthStream{Name: s.Name, LastSeq: heads[s.Name], Consumers: consumers})
	}
	var window time.Duration
	out.Stages, window = h.window.latencies(time.UnixMilli(top.Time), h.stages.Histogram)
	out.StagesWindowS = window.Round(time.Millisecond).Seconds()
	return out
}

// parentOf places a graph node in the tree: engine → feed → router → symbol and pair
// actors; models → batcher → ONNX Runtime, the model actors and the ensemble; the trading
// desk → agents and the risk gate → venues; the log → its streams.
func parentOf(n web.Node) string {
	switch n.Kind {
	case "feed":
		return "engine"
	case "router":
		return "feed"
	case "symbol", "pair":
		return "router"
	case "batcher", "model", "ensemble":
		return "models"
	case "runtime":
		return "batcher"
	case "agent", "risk":
		return "agents"
	case "venue":
		return "risk"
	case "stream":
		return "log"
	}
	return "engine"
}

// isActor reports whether a graph node of kind is a Hollywood actor (one that restarts).
func isActor(kind string) bool {
	switch kind {
	case "symbol", "pair", "batcher", "model", "ensemble", "agent", "risk", "venue":
		return true
	}
	return false
}

func (h *engineHealth) state(topic string, v any) bool {
	return topologySource{hub: h.hub}.state(topic, v)
}

// registerHealthMetrics exposes on /metrics the queues of every actor, the consumers' lags
// and the actors' restarts.
func registerHealthMetrics(reg *prometheus.Registry, h *engineHealth) error {
	if err := web.RegisterCallback(reg, "synapse_mailbox_depth", "Messages (or batches, rows, frames: see queue) waiting in each actor's bounded queues.",
		prometheus.GaugeValue, []string{"kind", "actor", "queue"}, func(emit func(float64, ...string)) {
			for _, q := range h.queues() {
				emit(float64(q.Depth), q.kind, q.actor, q.Name)
			}
		}); err != nil {
		return err
	}
	if err := web.RegisterCallback(reg, "synapse_consumer_lag", "Messages of a stream after the last one each follower of it in the engine has handled.",
		prometheus.GaugeValue, []string{"stream", "consumer"}, func(emit func(float64, ...string)) {
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			defer cancel()
			for stream, cs := range h.lags(ctx, h.heads(ctx)) {
				for _, c := range cs {
					emit(float64(c.Lag), stream, c.Consumer)
				}
			}
		}); err != nil {
		return err
	}
	return web.RegisterCallback(reg, "synapse_actor_restarts_total", "Restarts of each actor after a panic (actors never restarted are absent).",
		prometheus.CounterValue, []string{"actor"}, func(emit func(float64, ...string)) {
			for pid, n := range h.restarts.Counts() {
				emit(float64(n), nodeOfPID(pid))
			}
		})
}
