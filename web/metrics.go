package web

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// gatewayMetrics are the gateway's own Prometheus metrics.
type gatewayMetrics struct {
	requests        *prometheus.HistogramVec // by route pattern and status code
	wsClients       prometheus.Gauge
	framesSent      prometheus.Counter
	slowDisconnects prometheus.Counter
	commands        *prometheus.CounterVec // by command and result
}

func newGatewayMetrics(reg prometheus.Registerer) (*gatewayMetrics, error) {
	m := &gatewayMetrics{
		requests: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "synapse_http_request_duration_seconds",
			Help:    "Time to answer an HTTP request, by route pattern and status code (websocket connections are not counted here).",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 10},
		}, []string{"route", "code"}),
		wsClients: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "synapse_ws_clients", Help: "Websocket clients connected now.",
		}),
		framesSent: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "synapse_ws_frames_sent_total", Help: "Websocket frames written to clients.",
		}),
		slowDisconnects: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "synapse_ws_slow_client_disconnects_total", Help: "Websocket clients disconnected because a frame waited longer than the write timeout.",
		}),
		commands: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "synapse_commands_total", Help: "Commands received, by command and result (accepted, invalid, forbidden, rate_limited, unknown, refused).",
		}, []string{"command", "result"}),
	}
	var errs []error
	m.requests = register(reg, m.requests, &errs)
	m.wsClients = register(reg, m.wsClients, &errs)
	m.framesSent = register(reg, m.framesSent, &errs)
	m.slowDisconnects = register(reg, m.slowDisconnects, &errs)
	m.commands = register(reg, m.commands, &errs)
	return m, errors.Join(errs...)
}

// register registers c, or returns the collector already registered under its name (two
// gateways on one registry share their metrics).
func register[C prometheus.Collector](reg prometheus.Registerer, c C, errs *[]error) C {
	if err := reg.Register(c); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			if existing, ok := are.ExistingCollector.(C); ok {
				return existing
			}
		}
		*errs = append(*errs, err)
	}
	return c
}

// Registry is the Prometheus registry /metrics serves (Options.Registry, or the gateway's
// own). Register engine metrics on it:
//
//   - a single value read at scrape time: reg.MustRegister(prometheus.NewGaugeFunc(
//     prometheus.GaugeOpts{Name: "synapse_log_published_total", Help: "..."},
//     func() float64 { return float64(log.PublishStats().Published) }))
//     (prometheus.NewCounterFunc for values that only grow);
//   - a family whose label values change (a mailbox per actor, a lag per consumer):
//     web.RegisterCallback, below;
//   - latencies the engine observes itself: a prometheus.NewHistogramVec registered here,
//     with Observe(seconds) on the hot path (it is lock-free).
func (g *Gateway) Registry() *prometheus.Registry { return g.reg }

// RegisterCallback registers the metric family name whose samples collect produces at each
// scrape: collect calls emit(value, labelValues...) once per sample, with one label value
// per name in labels. typ is prometheus.GaugeValue (depths, lags) or
// prometheus.CounterValue (sequences, totals). For example the mailbox depth of every actor:
//
//	web.RegisterCallback(reg, "synapse_mailbox_depth", "Messages waiting in an actor's mailbox.",
//		prometheus.GaugeValue, []string{"actor"}, func(emit func(float64, ...string)) {
//			for name, n := range engine.MailboxDepths() {
//				emit(float64(n), name)
//			}
//		})
//
// collect runs on the scraping goroutine: it must be safe to call concurrently with the
// engine and quick.
func RegisterCallback(reg prometheus.Registerer, name, help string, typ prometheus.ValueType, labels []string, collect func(emit func(value float64, labelValues ...string))) error {
	c := &callbackCollector{desc: prometheus.NewDesc(name, help, labels, nil), typ: typ, collect: collect}
	if err := reg.Register(c); err != nil {
		return fmt.Errorf("registering metric %s: %w", name, err)
	}
	return nil
}

type callbackCollector struct {
	desc    *prometheus.Desc
	typ     prometheus.ValueType
	collect func(emit func(float64, ...string))
}

func (c *callbackCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

func (c *callbackCollector) Collect(ch chan<- prometheus.Metric) {
	c.collect(func(v float64, lv ...string) {
		m, err := prometheus.NewConstMetric(c.desc, c.typ, v, lv...)
		if err != nil {
			m = prometheus.NewInvalidMetric(c.desc, err) // reported by /metrics, not a panic
		}
		ch <- m
	})
}

// metricsHandler serves the registry in the Prometheus text format.
func (g *Gateway) metricsHandler() http.Handler {
	return promhttp.HandlerFor(g.reg, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError})
}

// instrument times every request but websocket ones into synapse_http_request_duration_seconds,
// labelled by the route pattern that matched ("none" for 404s without one).
func (g *Gateway) instrument(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if isUpgrade(r) {
			next.ServeHTTP(w, r)
			return
		}
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w}
		next.ServeHTTP(rec, r)
		route := r.Pattern // set by the ServeMux on this request
		if route == "" {
			route = "none"
		}
		code := rec.status
		if code == 0 {
			code = http.StatusOK
		}
		g.metrics.requests.WithLabelValues(route, strconv.Itoa(code)).Observe(time.Since(start).Seconds())
	})
}

// statusRecorder remembers the status code written.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (s *statusRecorder) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	return s.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection.
func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }

// Flush passes flushes on (promhttp and streaming answers use them).
func (s *statusRecorder) Flush() {
	if f, ok := s.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Hijack passes hijacking on.
func (s *statusRecorder) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	return http.NewResponseController(s.ResponseWriter).Hijack()
}
