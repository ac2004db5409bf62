package inference

import (
	"math"
	"slices"
	"sync/atomic"
	"time"

	"github.com/anthdm/hollywood/actor"

	"github.com/synapse-trading/synapse/streams"
)

// EnsembleName is the ensemble's model name on its signals.
const EnsembleName = "ensemble"

// EnsembleVersion is the version of the combining rule below.
const EnsembleVersion = "1"

// ensembleActor combines, per symbol and candle, the live signals of the direction, range and
// tp_sl models into one signal (sig.ensemble.<venue>.<symbol>):
//
//	p_direction  the direction model's probability that the close is higher after the horizon
//	p_tp_sl      the tp_sl model's probability that the take-profit is hit before the stop
//	p_range      0.5 + (high + low) / (2 (high - low)), clamped to [0, 1]: where the expected
//	             range leans (0.5 when the expected rise and fall are equal)
//	probability  their mean; confidence = 1 - 2 × their standard deviation (agreement),
//	             clamped to [0, 1]
//
// It is a fixed rule, not a trained model: the members' cards say how good each is. Its
// producers are the three model actors, one signal per candle each, so its mailbox grows
// no faster than they publish; candles it cannot complete are dropped once a newer candle of
// the same symbol completes (counted).
type ensembleActor struct {
	inFlight *atomic.Int64 // see ModelOptions.InFlight
	publish  func(streams.Event)
	observe  func(topic string, state any)
	pending  map[ensembleKey]*ensembleVotes
	state    EnsembleState
	dirty    bool
	ticker   actor.SendRepeater
	ticking  bool
}

type ensembleTick struct{}

type ensembleKey struct {
	venue, symbol string
	feature       int64
}

type ensembleVotes struct {
	direction, tpsl, rng *streams.Signal
	received             time.Time
}

// EnsembleState is what the ensemble shows (topic model/ensemble).
type EnsembleState struct {
	Signals    int64 `json:"signals"`
	Incomplete int64 `json:"incomplete"` // candles dropped because a member's signal never came
}

// NewEnsembleActor returns the producer of the ensemble actor.
func NewEnsembleActor(publish func(streams.Event), observe func(topic string, state any), inFlight *atomic.Int64) actor.Producer {
	return func() actor.Receiver {
		return &ensembleActor{publish: publish, observe: observe, inFlight: inFlight, pending: map[ensembleKey]*ensembleVotes{}}
	}
}

func (a *ensembleActor) Receive(c *actor.Context) {
	switch c.Message().(type) {
	case actor.Started:
		if a.observe != nil {
			a.ticker, a.ticking = c.SendRepeat(c.PID(), ensembleTick{}, 250*time.Millisecond), true
		}
		return
	case ensembleTick:
		if a.dirty {
			a.dirty = false
			a.observe(ModelTopic(EnsembleName), a.state)
		}
		return
	case actor.Stopped:
		if a.ticking {
			a.ticker.Stop()
			a.ticking = false
		}
		if a.observe != nil {
			a.observe(ModelTopic(EnsembleName), a.state)
		}
		return
	}
	sig, ok := c.Message().(*streams.Signal)
	if !ok {
		return
	}
	if a.inFlight != nil {
		defer a.inFlight.Add(-1)
	}
	if sig.Shadow {
		return
	}
	k := ensembleKey{sig.Venue, sig.Symbol, sig.FeatureTime}
	v := a.pending[k]
	if v == nil {
		if len(a.pending) >= maxEnsemblePending {
			a.dropStale()
		}
		v = &ensembleVotes{received: time.Now()}
		a.pending[k] = v
	}
	switch sig.Model {
	case ModelDirection:
		v.direction = sig
	case ModelTPSL:
		v.tpsl = sig
	case ModelRange:
		v.rng = sig
	default:
		return
	}
	if v.direction == nil || v.tpsl == nil || v.rng == nil {
		return
	}
	delete(a.pending, k)
	for old := range a.pending { // older candles of this symbol will not complete now
		if old.venue == k.venue && old.symbol == k.symbol && old.feature < k.feature {
			delete(a.pending, old)
			a.state.Incomplete++
		}
	}
	a.combine(k, v)
}

// maxEnsemblePending bounds the candles waiting for a member's signal (a member that keeps
// failing would otherwise let them pile up).
const maxEnsemblePending = 4096

// dropStale drops the older half of the waiting candles, counted as incomplete.
func (a *ensembleActor) dropStale() {
	times := make([]time.Time, 0, len(a.pending))
	for _, v := range a.pending {
		times = append(times, v.received)
	}
	slices.SortFunc(times, func(x, y time.Time) int { return x.Compare(y) })
	cut := times[len(times)/2]
	for k, v := range a.pending {
		if v.received.Before(cut) {
			delete(a.pending, k)
			a.state.Incomplete++
			a.dirty = true
		}
	}
}

func (a *ensembleActor) combine(k ensembleKey, v *ensembleVotes) {
	pDir := v.direction.Prediction["probability"]
	pTPSL := v.tpsl.Prediction["probability"]
	high, low := v.rng.Prediction["high"], v.rng.Prediction["low"]
	pRange := 0.5
	if high > low {
		pRange = math.Max(0, math.Min(1, 0.5+(high+low)/(2*(high-low))))
	}
	ps := []float64{pDir, pTPSL, pRange}
	mean := (pDir + pTPSL + pRange) / 3
	var variance float64
	for _, p := range ps {
		variance += (p - mean) * (p - mean)
	}
	confidence := math.Max(0, math.Min(1, 1-2*math.Sqrt(variance/3)))
	latency := max(v.direction.LatencyUs, v.tpsl.LatencyUs, v.rng.LatencyUs) + time.Since(v.received).Microseconds()
	sig := &streams.Signal{Model: EnsembleName, Version: EnsembleVersion, Venue: k.venue, Symbol: k.symbol, FeatureTime: k.feature,
		Prediction: map[string]float64{"probability": mean, "direction": pDir, "tp_sl": pTPSL, "range_lean": pRange},
		Confidence: confidence, LatencyUs: latency, Emitted: time.Now(),
		Members: map[string]string{ModelDirection: v.direction.Version, ModelTPSL: v.tpsl.Version, ModelRange: v.rng.Version}}
	a.state.Signals++
	a.dirty = true
	if a.publish != nil {
		a.publish(sig)
	}
}
