package actors

import (
	"errors"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// The stages of the live path, as the tick-to-order benchmark (benchmarks/ticktoorder.go)
// cuts it, each a label value of synapse_stage_latency_seconds:
//
//	tick_to_feature   a market event stored on the log → the 1m feature of the candle it
//	                  closed leaving its symbol actor (log, consumer, router, mailbox, actor)
//	feature_to_signal the feature leaving the symbol actor → the ensemble's signal (the
//	                  signal's latency_us: models, batcher, ONNX Runtime, ensemble)
//	signal_to_intent  the signal leaving the ensemble → its agent handing the order intent
//	                  to the log (the agent's mailbox and decision)
//	intent_ack        the intent's publish → the log's acknowledgement (persisted)
//	risk_check        the risk gate's check of an intent (limits, rate budget, kill switch)
//
// The benchmark's stage 3 (signal → intent acknowledged) is signal_to_intent + intent_ack.
const (
	StageTickToFeature   = "tick_to_feature"
	StageFeatureToSignal = "feature_to_signal"
	StageSignalToIntent  = "signal_to_intent"
	StageIntentAck       = "intent_ack"
	StageRiskCheck       = "risk_check"
)

// StageNames lists the stages in the order of the path.
var StageNames = []string{StageTickToFeature, StageFeatureToSignal, StageSignalToIntent, StageIntentAck, StageRiskCheck}

// Stages times the live path into one Prometheus histogram with a stage label. Observing is
// lock-free (an atomic add per bucket). A nil *Stages times nothing (tests, backtests).
type Stages struct {
	Histogram *prometheus.HistogramVec
	// Since: an event stored on the log before this time (the log replayed after a restart)
	// is not timed from its storage, which was not on this run's path.
	Since   time.Time
	byStage map[string]prometheus.Observer
}

// NewStages registers synapse_stage_latency_seconds on reg.
func NewStages(reg prometheus.Registerer) (*Stages, error) {
	h := prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "synapse_stage_latency_seconds",
		Help: "Latency of each stage of the live path, tick to order (stage: tick_to_feature, feature_to_signal, signal_to_intent, intent_ack, risk_check).",
		// 1 µs … 4.2 s: the risk check takes microseconds, a feature behind a replay burst seconds.
		Buckets: prometheus.ExponentialBuckets(1e-6, 2, 23),
	}, []string{"stage"})
	if reg != nil {
		if err := reg.Register(h); err != nil {
			return nil, errors.Join(errors.New("registering synapse_stage_latency_seconds"), err)
		}
	}
	s := &Stages{Histogram: h, Since: time.Now(), byStage: map[string]prometheus.Observer{}}
	for _, name := range StageNames {
		s.byStage[name] = h.WithLabelValues(name) // each series exists (at 0) from the start
	}
	return s, nil
}

// Observe records d for stage.
func (s *Stages) Observe(stage string, d time.Duration) {
	if s == nil {
		return
	}
	s.byStage[stage].Observe(d.Seconds())
}

// ObserveSince records the time from start to now for stage; a zero start records nothing.
func (s *Stages) ObserveSince(stage string, start time.Time) {
	if s == nil || start.IsZero() {
		return
	}
	s.Observe(stage, time.Since(start))
}
