package main

import (
	"fmt"
	"math"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"google.golang.org/protobuf/proto"

	"github.com/synapse-trading/synapse/actors"
	"github.com/synapse-trading/synapse/web"
)

// scrape reads the engine's /metrics.
func scrape(addr string) (map[string]*dto.MetricFamily, error) {
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	parser := expfmt.NewTextParser(model.UTF8Validation)
	return parser.TextToMetricFamilies(resp.Body)
}

func label(m *dto.Metric, name string) string {
	for _, l := range m.GetLabel() {
		if l.GetName() == name {
			return l.GetValue()
		}
	}
	return ""
}

// The real engine, trading on paper from a replay, exposes on /metrics the stage latencies
// of its live path (every stage observed), the queue of every kind of actor, the lag of
// every follower of the log; the health query answers the same, with the actor tree holding
// every neuron of the graph topic.
func TestMetricsAndHealthOfTheRealEngine(t *testing.T) {
	dir := t.TempDir()
	addr, stop := runEngine(t, "--data-dir", dir, "--speed", "3000", "--replay", recDir+"ETHUSDT-1m-2022-08-14.csv.gz")
	defer stop()

	// While the replay flows, every actor's neuron shows it: a rate of the messages it receives
	// (an agent's at least what its synapses from the models carry) and a load.
	checkFor(t, 60*time.Second, func() error {
		var g web.Topology
		if err := getJSON(addr, "/api/v1/queries/state?topic=graph", &g); err != nil {
			return err
		}
		into := map[string]float64{} // the rate of the signals reaching each agent
		for _, e := range g.Edges {
			if strings.HasPrefix(e.From, "model/") && strings.HasPrefix(e.To, "agent/") {
				into[e.To] += e.Rate
			}
		}
		seen := map[string]int{}
		for _, n := range g.Nodes {
			switch n.Kind {
			case "agent", "model", "ensemble", "risk", "venue", "runtime":
			default:
				continue
			}
			seen[n.Kind]++
			if (n.Kind != "runtime" && n.Rate <= 0) || n.Load <= 0 || n.Load > 1 {
				return fmt.Errorf("%s: rate %v, load %v under traffic", n.ID, n.Rate, n.Load)
			}
			if n.Kind == "agent" && (into[n.ID] <= 0 || n.Rate < into[n.ID]) {
				return fmt.Errorf("%s: rate %v, its synapses from the models carry %v", n.ID, n.Rate, into[n.ID])
			}
		}
		for _, kind := range []string{"agent", "model", "ensemble", "risk", "venue", "runtime"} {
			if seen[kind] == 0 {
				return fmt.Errorf("no %s neuron in the graph: %v", kind, seen)
			}
		}
		return nil
	})
	// The batcher's stats and the portfolio summary are topics too.
	checkFor(t, 10*time.Second, func() error {
		var b struct{ Models []struct{ Key string } }
		var p PortfolioSummary
		if err := getJSON(addr, "/api/v1/queries/state?topic=batcher", &b); err != nil {
			return err
		}
		if err := getJSON(addr, "/api/v1/queries/state?topic=portfolio", &p); err != nil {
			return err
		}
		if len(b.Models) == 0 || len(p.Agents) == 0 {
			return fmt.Errorf("batcher topic %+v, portfolio topic %+v", b, p)
		}
		return nil
	})
	var fams map[string]*dto.MetricFamily
	checkFor(t, 90*time.Second, func() error {
		var err error
		if fams, err = scrape(addr); err != nil {
			return err
		}
		h := fams["synapse_stage_latency_seconds"]
		if h == nil {
			return fmt.Errorf("no synapse_stage_latency_seconds")
		}
		for _, m := range h.GetMetric() {
			if m.GetHistogram().GetSampleCount() == 0 {
				return fmt.Errorf("stage %s: no observation yet", label(m, "stage"))
			}
		}
		if len(h.GetMetric()) != len(actors.StageNames) {
			return fmt.Errorf("%d stages, want %v", len(h.GetMetric()), actors.StageNames)
		}
		return nil
	})
	// Every engine metric README.md lists (but the Postgres projection's: no --database-url).
	for _, name := range []string{"synapse_stage_latency_seconds", "synapse_mailbox_depth", "synapse_consumer_lag",
		"synapse_stream_last_sequence", "synapse_events_routed_total", "synapse_md_consumer_lag", "synapse_symbol_mailbox_batches",
		"synapse_batcher_batch_rows", "synapse_batcher_queue_wait_seconds", "synapse_batcher_run_seconds", "synapse_batcher_rows_total",
		"synapse_batcher_drops_total", "synapse_http_request_duration_seconds", "synapse_ws_clients"} {
		if len(fams[name].GetMetric()) == 0 {
			t.Errorf("/metrics has no %s", name)
		}
	}
	for _, m := range fams["synapse_stage_latency_seconds"].GetMetric() {
		hist := m.GetHistogram()
		if mean := hist.GetSampleSum() / float64(hist.GetSampleCount()); mean <= 0 || mean > 60 {
			t.Errorf("stage %s: mean %v s over %d observations", label(m, "stage"), mean, hist.GetSampleCount())
		}
	}

	lastSeq := map[string]float64{}
	for _, m := range fams["synapse_stream_last_sequence"].GetMetric() {
		lastSeq[label(m, "stream")] = m.GetGauge().GetValue()
	}
	lags := map[string]float64{}
	for _, m := range fams["synapse_consumer_lag"].GetMetric() {
		s, v := label(m, "stream"), m.GetGauge().GetValue()
		lags[s+"/"+label(m, "consumer")] = v
		if v < 0 || v > lastSeq[s] {
			t.Errorf("lag of %s/%s: %v (the stream's last sequence %v)", s, label(m, "consumer"), v, lastSeq[s])
		}
	}
	for _, want := range []string{"MD/router", "CMD/commands", "ORD/read model", "PF/read model", "CMD/read model"} {
		if _, ok := lags[want]; !ok {
			t.Errorf("no synapse_consumer_lag for %s: %v", want, lags)
		}
	}
	if lastSeq["MD"] == 0 || lastSeq["ORD"] == 0 {
		t.Errorf("last sequences %v: the replay and the trades should be on the log", lastSeq)
	}

	kinds := map[string]int{}
	for _, m := range fams["synapse_mailbox_depth"].GetMetric() {
		kinds[label(m, "kind")]++
		if v := m.GetGauge().GetValue(); v < 0 || (label(m, "queue") == "market_data" && v > 64) {
			t.Errorf("depth of %s %s: %v", label(m, "actor"), label(m, "queue"), v)
		}
	}
	for _, kind := range []string{"symbol", "model", "batcher", "agent", "risk", "venue", "gateway"} {
		if kinds[kind] == 0 {
			t.Errorf("no synapse_mailbox_depth of a %s actor: %v", kind, kinds)
		}
	}

	// The health query: the same stages, the tree of the graph's neurons.
	checkFor(t, 10*time.Second, func() error {
		var h Health
		var g web.Topology
		if err := getJSON(addr, "/api/v1/queries/health", &h); err != nil {
			return err
		}
		if err := getJSON(addr, "/api/v1/queries/state?topic=graph", &g); err != nil {
			return err
		}
		if g.Time != h.Time {
			return fmt.Errorf("graph snapshot %d, health built from %d", g.Time, h.Time)
		}
		parents := map[string]string{}
		for _, a := range h.Actors {
			parents[a.ID] = a.Parent
		}
		for _, n := range g.Nodes {
			if strings.HasSuffix(n.ID, "@shadow") {
				t.Fatalf("graph node %s: no model runs in shadow", n.ID)
			}
			p, ok := parents[n.ID]
			if !ok {
				t.Fatalf("graph node %s is not in the health tree", n.ID)
			}
			for hops := 0; p != "engine"; hops++ { // every actor hangs from the engine
				if p, ok = parents[p]; !ok || hops > 5 {
					t.Fatalf("%s does not hang from the engine: %v", n.ID, parents)
				}
			}
		}
		if h.StagesWindowS <= 0 || h.StagesWindowS > (stagesWindow+2*time.Second).Seconds() {
			t.Fatalf("stage percentiles over %v s, want the last %s at most", h.StagesWindowS, stagesWindow)
		}
		for _, s := range h.Stages {
			if s.Count > s.Total {
				t.Fatalf("stage %+v: more in the window than in all", s)
			}
			if s.Count == 0 { // a snapshot from before the scrape above
				return fmt.Errorf("stage %s: no observation in the health snapshot yet", s.Stage)
			}
			if *s.P50Us > *s.P90Us || *s.P90Us > *s.P99Us {
				t.Fatalf("stage %+v: want p50 ≤ p90 ≤ p99", s)
			}
		}
		return nil
	})
}

// The Health page's percentiles are the last minute's: after a burst of slow observations,
// a minute of fast ones gives fast percentiles, while /metrics' histogram keeps them all.
func TestStagePercentilesCoverTheLastMinute(t *testing.T) {
	stages, err := actors.NewStages(nil)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	w := newStageWindow(start, stagesWindow, time.Second)
	at := func(s int) time.Time { return start.Add(time.Duration(s) * time.Second) }
	byStage := func(now time.Time) (map[string]StageLatency, time.Duration) {
		list, span := w.latencies(now, stages.Histogram)
		out := map[string]StageLatency{}
		for _, st := range list {
			out[st.Stage] = st
		}
		return out, span
	}
	if got, span := byStage(at(1)); got[actors.StageRiskCheck].Count != 0 || got[actors.StageRiskCheck].P50Us != nil || span != time.Second {
		t.Fatalf("nothing observed yet: %+v over %s", got[actors.StageRiskCheck], span)
	}
	for range 500 { // a burst of slow checks in the second second
		stages.Observe(actors.StageRiskCheck, 2*time.Second)
	}
	byStage(at(2))
	// Then a fast one every 100 ms of the next minute and more, read every second.
	for s := 3; s <= 62; s++ {
		for range 10 {
			stages.Observe(actors.StageRiskCheck, 10*time.Microsecond)
		}
		got, span := byStage(at(s))
		st := got[actors.StageRiskCheck]
		if s == 40 { // the burst is 38 s old: in the window, its 500 above the 380 fast
			if span != 40*time.Second || st.Count != 880 || *st.P50Us < 1e6 {
				t.Fatalf("40 s in: %+v over %s, want the burst's 2 s as the median of 880", st, span)
			}
		}
	}
	got, span := byStage(at(62))
	st := got[actors.StageRiskCheck]
	if span != stagesWindow || st.Count != 600 || st.Total != 1100 {
		t.Fatalf("%+v over %s: want the 600 fast observations of the last %s of 1,100", st, span, stagesWindow)
	}
	for _, p := range []*float64{st.P50Us, st.P90Us, st.P99Us} {
		if p == nil || *p > 16 { // the bucket of 10 µs ends at 16 µs
			t.Fatalf("%+v: want every percentile of the last minute's 10 µs observations ≤ 16 µs", st)
		}
	}
	if other := got[actors.StageTickToFeature]; other.Count != 0 || other.P99Us != nil {
		t.Errorf("a stage never observed: %+v", other)
	}
	// /metrics' histogram still counts every observation since the start.
	var pb dto.Metric
	if err := stages.Histogram.WithLabelValues(actors.StageRiskCheck).(prometheus.Metric).Write(&pb); err != nil {
		t.Fatal(err)
	}
	if n := pb.GetHistogram().GetSampleCount(); n != 1100 {
		t.Errorf("the cumulative histogram counts %d, want 1100", n)
	}
	if n := len(w.marks); n > int(stagesWindow/time.Second)+2 {
		t.Errorf("%d marks kept for a %s window a second apart", n, stagesWindow)
	}
}

// quantile reads a histogram as Prometheus's histogram_quantile does.
func TestQuantileOfAHistogram(t *testing.T) {
	h := &dto.Histogram{SampleCount: proto.Uint64(100), Bucket: []*dto.Bucket{
		{UpperBound: proto.Float64(1), CumulativeCount: proto.Uint64(50)},
		{UpperBound: proto.Float64(2), CumulativeCount: proto.Uint64(90)},
		{UpperBound: proto.Float64(4), CumulativeCount: proto.Uint64(99)},
		{UpperBound: proto.Float64(math.Inf(1)), CumulativeCount: proto.Uint64(100)},
	}}
	for _, c := range []struct{ q, want float64 }{
		{0.25, 0.5}, // half-way into the first bucket, from 0
		{0.50, 1},
		{0.70, 1.5},
		{0.99, 4},
		{1, 4}, // in +Inf: the largest finite bound
	} {
		if got := quantile(c.q, h); math.Abs(got-c.want) > 1e-9 {
			t.Errorf("quantile(%v) = %v, want %v", c.q, got, c.want)
		}
	}
}
