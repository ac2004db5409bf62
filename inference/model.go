package inference

import (
	"cmp"
	"maps"
	"math"
	"slices"
	"sync/atomic"
	"time"

	"github.com/anthdm/hollywood/actor"

	"github.com/synapse-trading/synapse/streams"
)

// ModelOptions configure a model actor.
type ModelOptions struct {
	// Name is the model's name on its signals' subjects (direction, range, tp_sl).
	Name string
	// Key is the batcher's key for the model: Name for the live model, ShadowKey(Name) for a
	// candidate in shadow.
	Key string
	// Shadow publishes on sig.shadow.<model>...; a shadow actor sends nothing until it is
	// told a candidate is deployed (ShadowOn).
	Shadow bool
	// Card describes the model: output names, classifier or regressor, horizon.
	Card *Card
	// Batcher serves the requests.
	Batcher *Batcher
	// Deadline is how long a request may wait at the batcher. Default 2 s.
	Deadline time.Duration
	// MaxInFlight bounds the requests of one symbol at the batcher. Default 64: enough that a
	// replay at full speed gets a prediction for every candle, while a model slower than the
	// features keeps only the newest rows waiting.
	MaxInFlight int
	// Publish puts a signal on the log; Forward also hands it to these actors (the ensemble).
	Publish func(streams.Event)
	Forward []*actor.PID
	// Compare, on a live model actor, is its shadow's actor: while a candidate runs there
	// (Comparing), it is told each prediction the live model scored (LiveScored), so the
	// candidate's accuracy is compared with live's on the rows both scored.
	Compare *actor.PID
	// Observe shows the actor's state (topic model/<key>) at most every ObserveEvery.
	Observe      func(topic string, state any)
	ObserveEvery time.Duration
	// InFlight, when set (a backtest), counts messages sent and not handled yet: the actor
	// takes one off for each feature and reply it handles and adds one for each request and
	// forwarded signal, so the backtest's clock can wait for the graph to settle.
	InFlight *atomic.Int64
}

// ShadowKey is the batcher key of model name's candidate in shadow.
func ShadowKey(name string) string { return name + "@shadow" }

// ShadowOn starts a shadow model actor on a candidate deployed at the batcher under
// ShadowKey; ShadowOff stops it. UseCard tells a live model actor the card of a version just
// hot-swapped in.
type ShadowOn struct {
	Version string
	Card    *Card
}
type ShadowOff struct{}

// Comparing tells a live model actor whether a candidate runs in its shadow: it sends its
// scored predictions there (ModelOptions.Compare) only then.
type Comparing struct{ On bool }
type UseCard struct{ Card *Card }

// LiveScored is one prediction of the live model scored: its row (the symbol and the open
// time of the candle it predicted from) and whether its direction was right. The live model
// actor sends each to its shadow's actor (ModelOptions.Compare).
type LiveScored struct {
	Venue, Symbol string
	FeatureTime   int64
	Correct       bool
}

// compareWindow is how many rows of a symbol one model's score waits for the other's: the
// live model and its shadow score a row a horizon after it (up to 1,440 candles apart when
// their horizons differ), and a row the other never scores (dropped there) goes after it.
const compareWindow = 4096

// ModelState is what a model actor shows (the UI's "model/<key>" topic).
type ModelState struct {
	Key      string `json:"key"`
	Name     string `json:"name"`
	Shadow   bool   `json:"shadow"`
	Active   bool   `json:"active"`
	Version  string `json:"version"` // of the last signal
	Symbols  int    `json:"symbols"`
	Features int64  `json:"features"` // 1m features received
	// PerSymbol counts the features received from each symbol ("venue/SYMBOL").
	PerSymbol map[string]int64 `json:"per_symbol"`
	Requests  int64            `json:"requests"`  // requests sent to the batcher
	Coalesced int64            `json:"coalesced"` // input rows replaced by a newer one while a request was in flight
	Signals   int64            `json:"signals"`
	Errors    int64            `json:"errors"` // requests answered with an error (deadline, no model, ...)
	LastError string           `json:"last_error,omitempty"`
	Scored    int64            `json:"scored"`   // classifier predictions whose outcome is known
	Accuracy  *float64         `json:"accuracy"` // live accuracy of the predicted direction over Scored; null while none is scored
	LatencyUs int64            `json:"latency_us"`
	// Waiting are the input rows waiting for a place at the batcher (at most MaxInFlight per
	// symbol), AtBatcher the requests the batcher has not answered yet: the actor's queues.
	Waiting   int `json:"waiting"`
	AtBatcher int `json:"at_batcher"`
	// Compared, on a shadow, counts the rows both it and the live model scored since it was
	// deployed; ComparedAccuracy is its accuracy over those rows and LiveComparedAccuracy
	// the live model's over the same rows: the like-for-like pair to promote or retire on
	// (the live model's own Accuracy counts every row since the engine started, the
	// shadow's only its own). Null while no row is compared.
	Compared             int64    `json:"compared"`
	ComparedAccuracy     *float64 `json:"compared_accuracy"`
	LiveComparedAccuracy *float64 `json:"live_compared_accuracy"`
}

// modelActor keeps each symbol's input window from the 1m features, asks the batcher for a
// prediction of each row and publishes a signal per prediction. At most MaxInFlight requests
// per symbol are at the batcher; rows arriving beyond that wait, and when MaxInFlight rows
// wait too the oldest waiting row is dropped (drop-stale, counted as Coalesced): a slow model
// never queues stale work, and the actor's requests at the batcher are bounded by
// MaxInFlight × its symbols.
type modelActor struct {
	opts    ModelOptions
	pid     *actor.PID
	engine  *actor.Engine
	active  bool
	nextID  uint64
	symbols map[[2]string]*symbolModel
	waiting map[uint64]*requested // requests at the batcher, by ID
	state   ModelState
	shown   time.Time
	dirty   bool
	ticker  actor.SendRepeater
	ticking bool

	// right counts the scored predictions that were right; comparedRight and liveRight the
	// compared rows this shadow and the live model were right on: the accuracies are these
	// over their counts, exactly, whatever the order the rows came in.
	right, comparedRight, liveRight int64
	// comparing: a candidate runs in this live model's shadow (Comparing).
	comparing bool
}

// modelTick makes the actor show a state that changed since it was last shown.
type modelTick struct{}

// symbolModel is a model actor's state for one symbol.
type symbolModel struct {
	venue, symbol string
	inputs        *InputBuilder
	inFlight      int             // requests at the batcher
	waiting       []*pendingInput // rows waiting for a place at the batcher, oldest first
	predictions   []prediction    // classifier predictions awaiting their outcome
	// recent are a classifier's newest closes of the symbol, oldest first (see remember);
	// forgot is the open time of the newest one let go of.
	recent []closeAt
	forgot int64
	// unpaired are the rows (by open time) one side scored and the other not yet, on a
	// shadow while it runs; unpairedOrder their open times, oldest first, to drop the
	// oldest past compareWindow.
	unpaired      map[int64]sideScore
	unpairedOrder []int64
}

// sideScore is a row scored by one side of a comparison: the live model or the shadow.
type sideScore struct {
	live, correct bool
}

type requested struct {
	symbol *symbolModel
	input  *pendingInput
}

type pendingInput struct {
	row      []float32
	feature  int64 // open time of the candle
	close    float64
	received time.Time
}

type closeAt struct {
	openTime int64
	close    float64
}

type prediction struct {
	openTime int64
	close    float64
	up       bool
}

// NewModelActor returns the producer of a model actor.
func NewModelActor(opts ModelOptions) actor.Producer {
	if opts.Deadline <= 0 {
		opts.Deadline = 2 * time.Second
	}
	if opts.ObserveEvery <= 0 {
		opts.ObserveEvery = 250 * time.Millisecond
	}
	if opts.MaxInFlight <= 0 {
		opts.MaxInFlight = 64
	}
	return func() actor.Receiver {
		return &modelActor{opts: opts, active: !opts.Shadow, symbols: map[[2]string]*symbolModel{}, waiting: map[uint64]*requested{},
			state: ModelState{Key: opts.Key, Name: opts.Name, Shadow: opts.Shadow, Active: !opts.Shadow, PerSymbol: map[string]int64{}}}
	}
}

// ModelTopic is the UI topic of a model actor.
func ModelTopic(key string) string { return "model/" + key }

func (a *modelActor) Receive(c *actor.Context) {
	switch msg := c.Message().(type) {
	case actor.Started:
		a.pid, a.engine = c.PID(), c.Engine()
		if a.opts.Observe != nil {
			a.ticker, a.ticking = c.SendRepeat(c.PID(), modelTick{}, a.opts.ObserveEvery), true
		}
		a.observe(true)
	case modelTick:
		if a.dirty {
			a.observe(true)
		}
	case *streams.Feature:
		a.feature(msg)
		a.inFlight(-1)
	case BatchReply:
		a.reply(msg)
		a.inFlight(-1)
	case LiveScored:
		if a.active && a.opts.Shadow {
			a.compare(a.symbol(msg.Venue, msg.Symbol), msg.FeatureTime, sideScore{live: true, correct: msg.Correct})
		}
		a.inFlight(-1)
	case UseCard:
		a.opts.Card = msg.Card
	case ShadowOn:
		a.opts.Card = msg.Card
		a.active, a.state.Active, a.state.Version = true, true, msg.Version
		a.state.Scored, a.state.Accuracy, a.right = 0, nil, 0
		a.state.Compared, a.state.ComparedAccuracy, a.state.LiveComparedAccuracy = 0, nil, nil
		a.comparedRight, a.liveRight = 0, 0
		for _, s := range a.symbols {
			s.predictions, s.unpaired, s.unpairedOrder = nil, nil, nil
		}
		a.observe(true)
	case Comparing:
		a.comparing = msg.On
	case ShadowOff:
		a.active, a.state.Active = false, false
		a.observe(true)
	case actor.Stopped:
		if a.ticking {
			a.ticker.Stop()
			a.ticking = false
		}
		a.observe(true)
	}
}

func (a *modelActor) feature(f *streams.Feature) {
	if f.Interval != "1m" {
		return
	}
	s := a.symbol(f.Venue, f.Symbol)
	a.state.Features++
	a.state.PerSymbol[f.Venue+"/"+f.Symbol]++
	closePrice, _ := f.Close.Float64()
	a.score(s, f.OpenTime, closePrice)
	a.remember(s, f.OpenTime, closePrice)
	x, ok := s.inputs.Add(f)
	if !ok || !a.active {
		return
	}
	row := make([]float32, len(x))
	for i, v := range x {
		row[i] = float32(v)
	}
	received := f.Emitted // the candle's features left the symbol actor
	if received.IsZero() {
		received = time.Now()
	}
	in := &pendingInput{row: row, feature: f.OpenTime, close: closePrice, received: received}
	a.dirty = true
	if s.inFlight >= a.opts.MaxInFlight {
		if len(s.waiting) >= a.opts.MaxInFlight {
			s.waiting = s.waiting[1:]
			a.state.Coalesced++
			a.opts.Batcher.Dropped(a.opts.Key, "stale", 1)
		}
		s.waiting = append(s.waiting, in)
		return
	}
	a.send(s, in)
}

// symbol is the actor's state of a symbol, made at its first message.
func (a *modelActor) symbol(venue, symbol string) *symbolModel {
	key := [2]string{venue, symbol}
	s, ok := a.symbols[key]
	if !ok {
		s = &symbolModel{venue: venue, symbol: symbol, inputs: NewInputBuilder()}
		a.symbols[key] = s
		a.state.Symbols = len(a.symbols)
	}
	return s
}

func (a *modelActor) send(s *symbolModel, in *pendingInput) {
	a.nextID++
	s.inFlight++
	a.waiting[a.nextID] = &requested{symbol: s, input: in}
	a.state.Requests++
	a.inFlight(1)
	err := a.opts.Batcher.Submit(BatchRequest{Model: a.opts.Key, ID: a.nextID, Input: in.row, Deadline: in.received.Add(a.opts.Deadline), ReplyTo: a.pid})
	if err != nil { // the batcher refused it (overloaded or stopped): this row is dropped, the next one will try
		delete(a.waiting, a.nextID)
		a.inFlight(-1)
		s.inFlight--
		a.state.Errors++
		a.state.LastError = err.Error()
	}
}

func (a *modelActor) reply(r BatchReply) {
	req, ok := a.waiting[r.ID]
	if !ok {
		return
	}
	delete(a.waiting, r.ID)
	s := req.symbol
	s.inFlight--
	a.dirty = true
	if r.Err != nil {
		a.state.Errors++
		a.state.LastError = r.Err.Error()
	} else if len(r.Output) == len(a.opts.Card.OutputNames) {
		a.publish(s, req.input, r)
	}
	if len(s.waiting) > 0 {
		next := s.waiting[0]
		s.waiting = s.waiting[1:]
		a.send(s, next)
	}
	a.observe(false)
}

func (a *modelActor) publish(s *symbolModel, in *pendingInput, r BatchReply) {
	sig := &streams.Signal{Model: a.opts.Name, Version: r.Version, Shadow: a.opts.Shadow, Venue: s.venue, Symbol: s.symbol,
		FeatureTime: in.feature, Prediction: make(map[string]float64, len(r.Output)),
		LatencyUs: time.Since(in.received).Microseconds(), Emitted: time.Now()}
	for i, name := range a.opts.Card.OutputNames {
		sig.Prediction[name] = float64(r.Output[i])
	}
	if a.opts.Card.Kind == "classifier" {
		p := float64(r.Output[0])
		sig.Confidence = math.Abs(2*p - 1)
		a.predicted(s, prediction{openTime: in.feature, close: in.close, up: p > 0.5})
	} else if outs := a.opts.Card.Metrics.Validation.Outputs; len(outs) > 0 {
		// A regressor's confidence is the least share of variance it explained on validation.
		r2 := 1.0
		for _, o := range outs {
			r2 = math.Min(r2, float64(o.R2))
		}
		if !math.IsNaN(r2) {
			sig.Confidence = math.Max(0, r2)
		}
	}
	a.state.Signals++
	a.state.Version = r.Version
	a.state.LatencyUs = sig.LatencyUs
	if a.opts.Publish != nil {
		a.opts.Publish(sig)
	}
	a.inFlight(int64(len(a.opts.Forward)))
	for _, pid := range a.opts.Forward {
		a.engine.Send(pid, sig)
	}
}

func (a *modelActor) inFlight(n int64) {
	if a.opts.InFlight != nil {
		a.opts.InFlight.Add(n)
	}
}

// score settles the predictions whose horizon has passed by the candle opening at openTime:
// the live accuracy of the predicted direction (for a direction classifier, its label; for
// tp_sl, whether the price rose).
func (a *modelActor) score(s *symbolModel, openTime int64, closePrice float64) {
	if a.opts.Card.Kind != "classifier" || len(s.predictions) == 0 {
		return
	}
	horizon := int64(a.opts.Card.Horizon) * 60_000
	settled := 0
	for _, p := range s.predictions {
		if openTime < p.openTime+horizon {
			break
		}
		settled++
		a.settle(s, p, closePrice)
	}
	s.predictions = s.predictions[settled:]
}

// predicted scores a classifier's prediction once its horizon's candle (the first at or
// after it) is known: at once when the answer came after that candle, which the symbol's
// recent closes still hold, else when the candle comes (score). Either way the outcome is
// that candle's close, whenever the answer came: the live model and its shadow score a row
// alike.
func (a *modelActor) predicted(s *symbolModel, p prediction) {
	target := p.openTime + int64(a.opts.Card.Horizon)*60_000
	i, _ := slices.BinarySearchFunc(s.recent, target, func(c closeAt, t int64) int { return cmp.Compare(c.openTime, t) })
	switch {
	case i == len(s.recent): // not yet
		s.predictions = append(s.predictions, p)
	case i > 0 || s.forgot < target:
		a.settle(s, p, s.recent[i].close)
	default: // the candle was forgotten (an answer over 2×MaxInFlight candles late): not scored
	}
}

// remember keeps a candle's close among the symbol's newest 2×MaxInFlight: an answer comes
// at most that many candles of its symbol after its row (the actor keeps no more rows
// waiting or at the batcher).
func (a *modelActor) remember(s *symbolModel, openTime int64, closePrice float64) {
	if a.opts.Card.Kind != "classifier" {
		return
	}
	s.recent = append(s.recent, closeAt{openTime, closePrice})
	if keep := 2 * a.opts.MaxInFlight; len(s.recent) >= 2*keep {
		s.forgot = s.recent[len(s.recent)-keep-1].openTime
		s.recent = append(s.recent[:0], s.recent[len(s.recent)-keep:]...)
	}
}

// settle scores prediction p by the close of its horizon's candle: the live accuracy, and
// the comparison of a shadow with the live model.
func (a *modelActor) settle(s *symbolModel, p prediction, closePrice float64) {
	correct := (closePrice > p.close) == p.up
	a.state.Scored++
	a.right += count(correct)
	a.state.Accuracy = share(a.right, a.state.Scored)
	switch {
	case a.opts.Shadow && a.active:
		a.compare(s, p.openTime, sideScore{correct: correct})
	case a.comparing && a.opts.Compare != nil:
		a.inFlight(1)
		a.engine.Send(a.opts.Compare, LiveScored{Venue: s.venue, Symbol: s.symbol, FeatureTime: p.openTime, Correct: correct})
	}
}

func count(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

// share is right out of n, a value of its own: the states already observed keep theirs.
func share(right, n int64) *float64 {
	v := float64(right) / float64(n)
	return &v
}

// compare adds a shadow's row scored by one side: with the other side's score of the same
// row, both count in the comparison; else it waits for it, among the symbol's newest
// compareWindow rows.
func (a *modelActor) compare(s *symbolModel, openTime int64, score sideScore) {
	other, ok := s.unpaired[openTime]
	if ok && other.live != score.live {
		delete(s.unpaired, openTime)
		live, shadow := other, score
		if score.live {
			live, shadow = score, other
		}
		a.state.Compared++
		a.comparedRight += count(shadow.correct)
		a.liveRight += count(live.correct)
		a.state.ComparedAccuracy = share(a.comparedRight, a.state.Compared)
		a.state.LiveComparedAccuracy = share(a.liveRight, a.state.Compared)
		a.dirty = true
		return
	}
	if s.unpaired == nil {
		s.unpaired = map[int64]sideScore{}
	}
	s.unpaired[openTime] = score
	if ok {
		return // the same side again: its newer score
	}
	s.unpairedOrder = append(s.unpairedOrder, openTime)
	if len(s.unpairedOrder) > compareWindow {
		delete(s.unpaired, s.unpairedOrder[0])
		s.unpairedOrder = s.unpairedOrder[1:]
	}
}

func (a *modelActor) observe(force bool) {
	if a.opts.Observe == nil {
		return
	}
	if now := time.Now(); force || now.Sub(a.shown) >= a.opts.ObserveEvery {
		a.shown, a.dirty = now, false
		st := a.state
		st.PerSymbol = maps.Clone(a.state.PerSymbol) // the observer keeps it; the actor goes on counting
		for _, s := range a.symbols {
			st.Waiting += len(s.waiting)
		}
		st.AtBatcher = len(a.waiting)
		a.opts.Observe(ModelTopic(a.opts.Key), st)
	}
}
