package streams

import (
	"strconv"
	"strings"
	"time"
)

// KindSignal names the signal payload schema.
const KindSignal Kind = "signal"

// Signal is one model prediction for one symbol, published on sig.<model>.<venue>.<symbol>
// (or sig.shadow.<model>.<venue>.<symbol> for a candidate running in shadow, which agents
// never read).
type Signal struct {
	Model   string `json:"model"`
	Version string `json:"version"`
	Shadow  bool   `json:"shadow,omitempty"`
	Venue   string `json:"venue"`
	Symbol  string `json:"symbol"`
	// FeatureTime is the open time (epoch ms) of the 1m candle whose features the model used.
	FeatureTime int64 `json:"feature_time"`
	// Prediction holds the model's outputs, named by the model card's outputs: for example
	// {"probability": 0.61} for a classifier, {"high": 0.004, "low": -0.003} for the range
	// model.
	Prediction map[string]float64 `json:"prediction"`
	// Confidence in [0, 1]: for a classifier |2p - 1|, for the ensemble the agreement of its
	// members.
	Confidence float64 `json:"confidence"`
	// LatencyUs is the time from the symbol actor emitting the candle's features to this
	// signal, in µs: the hop to the model actor, its queue at the batcher and the ONNX Runtime
	// run included; for the ensemble, to its combined signal.
	LatencyUs int64 `json:"latency_us"`
	// Members are, for the ensemble, the versions of the models whose signals it combined.
	Members map[string]string `json:"members,omitempty"`
	// Emitted is when the model (or the ensemble) emitted it, on this process's clock: where
	// the signal_to_intent stage starts. Not on the log (zero in a decoded event).
	Emitted time.Time `json:"-"`
}

// Subject returns sig.<model>.<venue>.<symbol>, or sig.shadow.<model>.<venue>.<symbol>.
func (s *Signal) Subject() string {
	prefix := "sig."
	if s.Shadow {
		prefix = "sig.shadow."
	}
	return prefix + s.Model + "." + strings.ToLower(s.Venue) + "." + strings.ToLower(s.Symbol)
}

// ID is the subject's tokens after sig., the version and the feature time.
func (s *Signal) ID() string {
	return strings.TrimPrefix(s.Subject(), "sig.") + "." + s.Version + "." + strconv.FormatInt(s.FeatureTime, 10)
}
func (s *Signal) Kind() Kind                  { return KindSignal }
func (s *Signal) Key() (venue, symbol string) { return s.Venue, s.Symbol }
func (s *Signal) EventTime() int64            { return s.FeatureTime }
