package inference

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// batcherMetrics are the batching actor's Prometheus metrics, labelled by model key.
type batcherMetrics struct {
	batchSize, queueWait, runTime *prometheus.HistogramVec
	rows                          *prometheus.CounterVec
	drops                         *prometheus.CounterVec
}

// modelMetrics are one model's children of batcherMetrics, looked up once per model.
type modelMetrics struct {
	batchSize, queueWait, runTime prometheus.Observer
	rows                          prometheus.Counter
	drops                         *prometheus.CounterVec // curried with the model's label: by reason
}

// newBatcherMetrics makes the metrics and registers them on reg (nil: kept unregistered).
func newBatcherMetrics(reg *prometheus.Registry) (*batcherMetrics, error) {
	latency := prometheus.ExponentialBuckets(10e-6, 2, 16) // 10µs … 330ms
	m := &batcherMetrics{
		batchSize: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "synapse_batcher_batch_rows",
			Help:    "Rows per model run formed by the inference batcher.",
			Buckets: prometheus.ExponentialBuckets(1, 2, 11), // 1 … 1024
		}, []string{"model"}),
		queueWait: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "synapse_batcher_queue_wait_seconds",
			Help:    "Time from the batcher receiving a request to its batch starting.",
			Buckets: latency,
		}, []string{"model"}),
		runTime: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "synapse_batcher_run_seconds",
			Help:    "ONNX Runtime time of one batch.",
			Buckets: latency,
		}, []string{"model"}),
		rows: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "synapse_batcher_rows_total",
			Help: "Rows run by the inference batcher (rate() of it is rows/s).",
		}, []string{"model"}),
		drops: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "synapse_batcher_drops_total",
			Help: "Requests answered without running, by reason: deadline, queue_full, shape, overloaded (refused by Submit); and rows a model actor dropped before asking: stale.",
		}, []string{"model", "reason"}),
	}
	if reg != nil {
		for _, c := range []prometheus.Collector{m.batchSize, m.queueWait, m.runTime, m.rows, m.drops} {
			if err := reg.Register(c); err != nil {
				return nil, fmt.Errorf("inference: registering the batcher's metrics: %w (one registry per batcher)", err)
			}
		}
	}
	return m, nil
}

// dropReasons are the reasons of synapse_batcher_drops_total, each shown at 0 from a
// model's deployment on, so that a dashboard sees the series before the first drop.
var dropReasons = []string{"deadline", "queue_full", "shape", "overloaded", "stale"}

func (m *batcherMetrics) model(key string) *modelMetrics {
	l := prometheus.Labels{"model": key}
	for _, reason := range dropReasons {
		m.drops.WithLabelValues(key, reason)
	}
	return &modelMetrics{
		batchSize: m.batchSize.With(l),
		queueWait: m.queueWait.With(l),
		runTime:   m.runTime.With(l),
		rows:      m.rows.With(l),
		drops:     m.drops.MustCurryWith(l),
	}
}
