package inference

import (
	"fmt"
	"slices"

	"github.com/prometheus/client_golang/prometheus"
)

// The histograms' bucket bounds, shared by the Prometheus metrics and ModelStats' plain copies.
var (
	batchRowBounds = prometheus.ExponentialBuckets(1, 2, 11)     // 1 … 1024 rows
	latencyBounds  = prometheus.ExponentialBuckets(10e-6, 2, 16) // 10µs … 330ms, in seconds
)

// Histogram is one of a model's batcher histograms as plain counts, for the UI (the models
// query): Counts[i] observations were at most Bounds[i] and above Bounds[i-1]; the last of the
// len(Bounds)+1 counts holds those above the last bound. The bounds are the Prometheus
// metric's, but the counts are per bucket, not cumulative.
type Histogram struct {
	Bounds []float64 `json:"bounds"`
	Counts []int64   `json:"counts"`
}

func newHistogram(bounds []float64) Histogram {
	return Histogram{Bounds: bounds, Counts: make([]int64, len(bounds)+1)}
}

// observe counts v in its bucket.
func (h Histogram) observe(v float64) {
	i, _ := slices.BinarySearch(h.Bounds, v) // the first bound ≥ v: v is at most it
	h.Counts[i]++
}

// clone copies the counts (the bounds are shared and never change).
func (h Histogram) clone() Histogram {
	return Histogram{Bounds: h.Bounds, Counts: slices.Clone(h.Counts)}
}

// Total is the number of observations.
func (h Histogram) Total() int64 {
	var n int64
	for _, c := range h.Counts {
		n += c
	}
	return n
}

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
	m := &batcherMetrics{
		batchSize: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "synapse_batcher_batch_rows",
			Help:    "Rows per model run formed by the inference batcher.",
			Buckets: batchRowBounds,
		}, []string{"model"}),
		queueWait: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "synapse_batcher_queue_wait_seconds",
			Help:    "Time from the batcher receiving a request to its batch starting.",
			Buckets: latencyBounds,
		}, []string{"model"}),
		runTime: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "synapse_batcher_run_seconds",
			Help:    "ONNX Runtime time of one batch.",
			Buckets: latencyBounds,
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
