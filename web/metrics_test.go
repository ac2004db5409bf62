package web

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

func TestMetricsExposeTheGatewayAndEngineCallbacks(t *testing.T) {
	reg := prometheus.NewRegistry()
	e := newEnv(t, Options{Registry: reg})
	depths := map[string]int{"symbol/binance/BTCUSDT": 3, "model/direction": 0}
	if err := RegisterCallback(reg, "synapse_mailbox_depth", "Messages waiting in an actor's mailbox.",
		prometheus.GaugeValue, []string{"actor"}, func(emit func(float64, ...string)) {
			for name, n := range depths {
				emit(float64(n), name)
			}
		}); err != nil {
		t.Fatal(err)
	}
	if err := RegisterCallback(reg, "synapse_mailbox_depth", "again", prometheus.GaugeValue, []string{"actor"}, nil); err == nil {
		t.Error("registering a name twice was accepted")
	}
	reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "synapse_replay_done", Help: "1 when the replay finished."}, func() float64 { return 1 }))

	e.call(t, "GET", "/api/v1/queries/symbols", e.viewer, "")
	e.call(t, "GET", "/api/v1/queries/symbols", "", "")
	e.call(t, "POST", "/api/v1/commands/killswitch.off", e.trader, `{}`)
	e.call(t, "POST", "/api/v1/commands/agents.halt", e.trader, `{}`)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = e.hub.Set("engine", map[string]int{"n": 1})
	c, _, err := e.dialWS(ctx, "/ws", e.viewer)
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	if _, _, err := c.Read(ctx); err != nil {
		t.Fatal(err)
	}
	// The frame counter moves once the frame's write returns, which may be just after the
	// client read it: ask until it shows (or a second passes).
	a := e.call(t, "GET", "/metrics", e.viewer, "")
	for end := time.Now().Add(time.Second); !strings.Contains(a.raw, "synapse_ws_frames_sent_total 1") && time.Now().Before(end); {
		time.Sleep(10 * time.Millisecond)
		a = e.call(t, "GET", "/metrics", e.viewer, "")
	}
	if a.status != 200 {
		t.Fatalf("/metrics: %d", a.status)
	}
	for _, want := range []string{
		`synapse_http_request_duration_seconds_count{code="200",route="GET /api/v1/queries/{name}"} 1`,
		`synapse_http_request_duration_seconds_count{code="401",route="GET /api/v1/queries/{name}"} 1`,
		`synapse_http_request_duration_seconds_count{code="202",route="POST /api/v1/commands/{name}"} 1`,
		`synapse_ws_clients 1`,
		`synapse_ws_frames_sent_total 1`,
		`synapse_ws_slow_client_disconnects_total 0`,
		`synapse_commands_total{command="killswitch.off",result="accepted"} 1`,
		`synapse_commands_total{command="agents.halt",result="invalid"} 1`,
		`synapse_mailbox_depth{actor="symbol/binance/BTCUSDT"} 3`,
		`synapse_replay_done 1`,
	} {
		if !strings.Contains(a.raw, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	if t.Failed() {
		t.Log(a.raw)
	}
	// A second gateway on the same registry shares the metrics instead of failing.
	g2 := New(NewHub(), Options{Open: true, Registry: reg})
	if g2.metrics.wsClients != e.g.metrics.wsClients {
		t.Error("the second gateway did not reuse the registered metrics")
	}
}

func TestCallbackWithWrongLabelsDoesNotPanic(t *testing.T) {
	reg := prometheus.NewRegistry()
	_ = RegisterCallback(reg, "x_lag", "lag", prometheus.GaugeValue, []string{"consumer"}, func(emit func(float64, ...string)) {
		emit(1) // no label value
	})
	if _, err := reg.Gather(); err == nil {
		t.Fatal("a sample without its label was not reported")
	}
}

// value reads a gauge or counter.
func value(t *testing.T, m prometheus.Metric) float64 {
	t.Helper()
	var d dto.Metric
	if err := m.Write(&d); err != nil {
		t.Fatal(err)
	}
	if d.Gauge != nil {
		return d.Gauge.GetValue()
	}
	return d.Counter.GetValue()
}
