package inference

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/anthdm/hollywood/actor"

	"github.com/synapse-trading/synapse/actors"
	"github.com/synapse-trading/synapse/streams"
	"github.com/synapse-trading/synapse/streams/replay"
)

// realFeatures computes the 1m features of a bundled recording with the symbol-actor code.
func realFeatures(t *testing.T, path string) []*streams.Feature {
	t.Helper()
	rp, err := replay.Open([]string{path}, replay.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer rp.Close()
	var out []*streams.Feature
	var sym *actors.Symbol
	for {
		rec, err := rp.Next(context.Background())
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		if sym == nil {
			v, s := rec.Event.Key()
			sym, _ = actors.NewSymbol(v, s)
		}
		_ = sym.Apply(rec.Event, func(f *streams.Feature) {
			if f.Interval == "1m" {
				f.Emitted = time.Time{} // fed later: each request's latency and deadline start when it is
				out = append(out, f)
			}
		})
	}
}

type published struct {
	mu      sync.Mutex
	signals []*streams.Signal
	states  map[string]any
}

func (p *published) publish(ev streams.Event) {
	if s, ok := ev.(*streams.Signal); ok {
		p.mu.Lock()
		p.signals = append(p.signals, s)
		p.mu.Unlock()
	}
}

func (p *published) observe(topic string, v any) {
	p.mu.Lock()
	p.states[topic] = v
	p.mu.Unlock()
}

func (p *published) count(match func(*streams.Signal) bool) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	for _, s := range p.signals {
		if match(s) {
			n++
		}
	}
	return n
}

func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// writeVersion copies a bundled model into dir with another version in its card.
func writeVersion(t *testing.T, name, version string) string {
	t.Helper()
	card, onnx, err := LoadDefaultModel(name)
	if err != nil {
		t.Fatal(err)
	}
	card.Version = version
	data, err := card.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, name+".json"), data, 0o644)
	os.WriteFile(filepath.Join(dir, name+".onnx"), onnx, 0o644)
	return dir
}

func command(t *testing.T, name string, args any) streams.SequencedCommand {
	t.Helper()
	c, err := streams.NewCommand(name, args, "test")
	if err != nil {
		t.Fatal(err)
	}
	return streams.SequencedCommand{Command: c}
}

// Signals flow from features through the batcher; a candidate runs in shadow on its own
// subject; promoting it hot-swaps the live model while features keep coming, and no request
// is lost or fails.
func TestRegistryShadowPromoteAndHotSwap(t *testing.T) {
	initRuntime(t)
	features := realFeatures(t, "../streams/recordings/ETHUSDT-1m-2022-08-14.csv.gz")
	reg, out, feed := startRegistry(t)
	isLive := func(version string) func(*streams.Signal) bool {
		return func(s *streams.Signal) bool { return s.Model == "direction" && !s.Shadow && s.Version == version }
	}

	feed(features[:400])
	waitFor(t, 10*time.Second, "live signals of every model and the ensemble", func() bool {
		return out.count(isLive("1")) > 300 && out.count(func(s *streams.Signal) bool { return s.Model == EnsembleName }) > 300
	})

	if err := reg.Apply(command(t, "models.deploy", DeployArgs{Model: "direction", Dir: writeVersion(t, "direction", "2"), Mode: "shadow"})); err != nil {
		t.Fatal(err)
	}
	feed(features[400:700])
	waitFor(t, 10*time.Second, "shadow signals", func() bool {
		return out.count(func(s *streams.Signal) bool {
			return s.Shadow && s.Version == "2" && strings.HasPrefix(s.Subject(), "sig.shadow.direction.")
		}) > 200
	})
	if n := out.count(isLive("2")); n != 0 {
		t.Fatalf("%d live signals from the shadow version before promotion", n)
	}

	done := make(chan struct{})
	go func() { feed(features[700:]); close(done) }()
	time.Sleep(20 * time.Millisecond)
	if err := reg.Apply(command(t, "models.promote", ModelArgs{Model: "direction"})); err != nil {
		t.Fatal(err)
	}
	<-done
	waitFor(t, 10*time.Second, "live signals from the promoted version", func() bool { return out.count(isLive("2")) > 100 })
	// The ensemble names the member versions it combined.
	waitFor(t, 10*time.Second, "ensemble signals combining the promoted version", func() bool {
		return out.count(func(s *streams.Signal) bool {
			return s.Model == EnsembleName && s.Members[ModelDirection] == "2" && s.Members[ModelTPSL] == "1" && s.Members[ModelRange] == "1"
		}) > 0
	})
	live, shadow := reg.Deployed()
	if len(shadow) != 0 || live[0].Model != "direction" || live[0].Version != "2" {
		t.Fatalf("deployed: live %+v, shadow %+v", live, shadow)
	}
	waitFor(t, 10*time.Second, "every request answered", func() bool {
		out.mu.Lock()
		defer out.mu.Unlock()
		st, ok := out.states[ModelTopic("direction")].(ModelState)
		return ok && st.Requests == st.Signals+st.Errors && st.Features == int64(len(features))
	})
	out.mu.Lock()
	st := out.states[ModelTopic("direction")].(ModelState)
	out.mu.Unlock()
	if st.Errors != 0 || st.Coalesced != 0 {
		t.Fatalf("direction model: %d errors (%s), %d rows dropped", st.Errors, st.LastError, st.Coalesced)
	}
}

// startRegistry starts a registry of the bundled models on a real engine and batcher, both
// stopped when the test ends. out holds what it publishes; feed sends features to every
// model actor as a steady stream (so that deployments land mid-flow).
func startRegistry(t *testing.T) (*Registry, *published, func([]*streams.Feature)) {
	t.Helper()
	e, err := actor.NewEngine(actor.NewEngineConfig())
	if err != nil {
		t.Fatal(err)
	}
	b, err := NewBatcher(e, BatcherOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Stop)
	out := &published{states: map[string]any{}}
	reg := NewRegistry(RegistryOptions{Engine: e, Batcher: b, Publish: out.publish, Observe: out.observe})
	subs, err := reg.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(reg.Stop) // before the batcher's: cleanups run last first
	feed := func(fs []*streams.Feature) {
		for _, f := range fs {
			for _, pid := range subs {
				e.Send(pid, f)
			}
			time.Sleep(200 * time.Microsecond)
		}
	}
	return reg, out, feed
}

func TestRegistryRefusesBrokenDeployments(t *testing.T) {
	initRuntime(t)
	e, _ := actor.NewEngine(actor.NewEngineConfig())
	b, _ := NewBatcher(e, BatcherOptions{})
	defer b.Stop()
	reg := NewRegistry(RegistryOptions{Engine: e, Batcher: b})
	if _, err := reg.Start(); err != nil {
		t.Fatal(err)
	}
	defer reg.Stop()
	// A card whose model was replaced: refused, the live version stays.
	dir := writeVersion(t, "direction", "3")
	_, other, _ := LoadDefaultModel("range")
	os.WriteFile(filepath.Join(dir, "direction.onnx"), other, 0o644)
	for name, args := range map[string]any{
		"mismatched card": DeployArgs{Model: "direction", Dir: dir, Mode: "live"},
		"missing files":   DeployArgs{Model: "direction", Dir: t.TempDir()},
		"unknown model":   DeployArgs{Model: "weather", Dir: dir},
		"bad mode":        DeployArgs{Model: "direction", Dir: writeVersion(t, "direction", "4"), Mode: "sometimes"},
		// the folder's model is not the one the command was accepted for
		"changed since": DeployArgs{Model: "direction", Dir: writeVersion(t, "direction", "5"), SHA256: strings.Repeat("ab", 32)},
	} {
		if err := reg.Apply(command(t, "models.deploy", args)); !errors.Is(err, ErrDeploy) {
			t.Errorf("%s: err = %v, want ErrDeploy", name, err)
		}
	}
	if err := reg.Apply(command(t, "models.promote", ModelArgs{Model: "direction"})); !errors.Is(err, ErrDeploy) {
		t.Errorf("promote without a shadow: %v", err)
	}
	bad := command(t, "models.deploy", nil)
	bad.Args = json.RawMessage(`{"model": 7}`)
	if err := reg.Apply(bad); !errors.Is(err, ErrDeploy) {
		t.Errorf("bad args: %v", err)
	}
	if live, _ := reg.Deployed(); live[0].Version != "1" {
		t.Fatalf("live direction is %s after refused deployments", live[0].Version)
	}
	// Pinned to the model the folder holds: deployed.
	card, _, _ := LoadDefaultModel("direction")
	if err := reg.Apply(command(t, "models.deploy", DeployArgs{Model: "direction", Dir: writeVersion(t, "direction", "6"), SHA256: card.SHA256})); err != nil {
		t.Fatalf("pinned deployment: %v", err)
	}
	if live, _ := reg.Deployed(); live[0].Version != "6" || live[0].SHA256 != card.SHA256 {
		t.Fatalf("live direction %+v after a pinned deployment", live[0])
	}
	if err := reg.Apply(command(t, "agents.halt", nil)); err != nil {
		t.Fatalf("another tier's command: %v", err)
	}
}

// A member that never answers cannot make the ensemble hold candles without bound.
func TestEnsembleBoundsIncompleteCandles(t *testing.T) {
	e, _ := actor.NewEngine(actor.NewEngineConfig())
	out := &published{states: map[string]any{}}
	pid := e.Spawn(NewEnsembleActor(out.publish, out.observe, nil), "ensemble")
	for i := 0; i < 3*maxEnsemblePending; i++ {
		e.Send(pid, &streams.Signal{Model: ModelDirection, Version: "1", Venue: "binance", Symbol: "BTCUSDT",
			FeatureTime: int64(i) * 60_000, Prediction: map[string]float64{"probability": 0.6}})
	}
	<-e.Poison(pid).Done()
	waitFor(t, 5*time.Second, "the ensemble's state", func() bool {
		out.mu.Lock()
		defer out.mu.Unlock()
		st, ok := out.states[ModelTopic(EnsembleName)].(EnsembleState)
		return ok && st.Incomplete >= int64(maxEnsemblePending)
	})
}

// A classifier's live accuracy is settled once a prediction's horizon has passed, by the
// first candle at or after it: null until then, the mean of the settled outcomes after.
func TestModelLiveAccuracy(t *testing.T) {
	a := &modelActor{opts: ModelOptions{Card: &Card{Kind: "classifier", Horizon: 2}}}
	s := &symbolModel{predictions: []prediction{
		{openTime: 0, close: 100, up: true},        // settled at 120_000: 101 > 100, right
		{openTime: 60_000, close: 102, up: true},   // settled at 180_000: 99 < 102, wrong
		{openTime: 120_000, close: 101, up: false}, // settled at 240_000: 99 < 101, right
	}}
	a.score(s, 60_000, 105)
	if a.state.Scored != 0 || a.state.Accuracy != nil {
		t.Fatalf("before any horizon passed: %d scored, accuracy %v", a.state.Scored, a.state.Accuracy)
	}
	a.score(s, 120_000, 101)
	first := a.state.Accuracy
	a.score(s, 180_000, 99)
	if a.state.Scored != 2 || *a.state.Accuracy != 0.5 || *first != 1 {
		t.Fatalf("after two: %d scored, accuracy %v (first %v)", a.state.Scored, *a.state.Accuracy, *first)
	}
	a.score(s, 300_000, 99) // a candle missing: the next one settles it
	if a.state.Scored != 3 || math.Abs(*a.state.Accuracy-2.0/3) > 1e-15 || len(s.predictions) != 0 {
		t.Fatalf("after three: %d scored, accuracy %v, %d left", a.state.Scored, *a.state.Accuracy, len(s.predictions))
	}
}

// An answer that comes after its horizon's candle is scored by that candle's close, not by
// the next candle's: the outcome does not depend on how late the batcher answered. One later
// than the closes kept is not scored.
func TestLateAnswerScoredByItsHorizonsCandle(t *testing.T) {
	a := &modelActor{opts: ModelOptions{Card: &Card{Kind: "classifier", Horizon: 2}, MaxInFlight: 2}}
	s := &symbolModel{}
	for i, c := range []float64{100, 101, 99, 105} { // candles 0..3
		a.remember(s, int64(i)*60_000, c)
	}
	a.predicted(s, prediction{openTime: 0, close: 100, up: true}) // horizon's candle: 2 (99 < 100): wrong
	if a.state.Scored != 1 || *a.state.Accuracy != 0 {
		t.Fatalf("scored %d, accuracy %v: want the candle at the horizon (99), not the newest (105)", a.state.Scored, deref(a.state.Accuracy))
	}
	a.predicted(s, prediction{openTime: 3 * 60_000, close: 105, up: true}) // its candle is to come
	if a.state.Scored != 1 || len(s.predictions) != 1 {
		t.Fatalf("a prediction before its horizon's candle: scored %d, waiting %d", a.state.Scored, len(s.predictions))
	}
	for i := 4; i < 12; i++ { // past 2×MaxInFlight: candle 2 is forgotten
		a.score(s, int64(i)*60_000, 110)
		a.remember(s, int64(i)*60_000, 110)
	}
	if a.state.Scored != 2 || *a.state.Accuracy != 0.5 {
		t.Fatalf("scored %d, accuracy %v after the waiting one's candle", a.state.Scored, deref(a.state.Accuracy))
	}
	a.predicted(s, prediction{openTime: 0, close: 100, up: true})
	if a.state.Scored != 2 {
		t.Fatalf("an answer whose horizon's candle is forgotten was scored")
	}
}

// A signal's latency starts when the symbol actor emitted the candle's features, not when
// the model actor got them.
func TestSignalLatencyStartsAtTheFeature(t *testing.T) {
	initRuntime(t)
	features := realFeatures(t, "../streams/recordings/ETHUSDT-1m-2022-08-14.csv.gz")[:101]
	_, out, feed := startRegistry(t)
	isLast := func(s *streams.Signal) bool { return s.FeatureTime == features[100].OpenTime }
	features[100].Emitted = time.Now().Add(-50 * time.Millisecond)
	feed(features) // the first hundred warm the inputs up
	waitFor(t, 10*time.Second, "the last candle's signals", func() bool { return out.count(isLast) == 4 })
	out.mu.Lock()
	defer out.mu.Unlock()
	for _, s := range out.signals {
		if isLast(s) && (s.LatencyUs < 50_000 || s.LatencyUs > 2_000_000) {
			t.Errorf("%s: latency %d µs, want from the feature's emission 50 ms ago", s.Model, s.LatencyUs)
		}
	}
}

// A shadow is compared with the live model on the same rows: the live model's accuracy since
// the engine started counts rows the shadow never saw, so the pair to promote or retire on is
// both models' accuracy over the rows both scored. The same weights deployed in shadow after
// the live model has scored rows: the pair is equal, over every row the shadow scored, while
// the live model's own figure still counts its earlier rows.
func TestShadowComparedWithLiveOnTheSameRows(t *testing.T) {
	initRuntime(t)
	features := realFeatures(t, "../streams/recordings/ETHUSDT-1m-2022-08-14.csv.gz")
	reg, out, feed := startRegistry(t)
	state := func(key string) ModelState {
		out.mu.Lock()
		defer out.mu.Unlock()
		st, _ := out.states[ModelTopic(key)].(ModelState)
		return st
	}

	feed(features[:500])
	waitFor(t, 10*time.Second, "the live models to score rows", func() bool {
		return state(ModelDirection).Scored > 300 && state(ModelTPSL).Scored > 300
	})
	for _, m := range []string{ModelDirection, ModelTPSL} {
		if err := reg.Apply(command(t, "models.deploy", DeployArgs{Model: m, Dir: writeVersion(t, m, "2"), Mode: "shadow"})); err != nil {
			t.Fatal(err)
		}
	}
	feed(features[500:])
	for _, m := range []string{ModelDirection, ModelTPSL} {
		waitFor(t, 10*time.Second, m+": every row the shadow scored compared", func() bool {
			sh, lv := state(ShadowKey(m)), state(m)
			return sh.Features == int64(len(features)) && lv.Features == int64(len(features)) && sh.Scored > 300 && sh.Compared == sh.Scored
		})
		sh, lv := state(ShadowKey(m)), state(m)
		// ONNX Runtime's float results for one row may differ in the last bits with the batch
		// it ran in: a probability within them of 0.5 can fall on either side for the live
		// model and its copy. Such rows are told apart by the signals; any other row counts
		// the same for both.
		flips, largest := flipped(out, m)
		if largest > 1e-5 {
			t.Fatalf("%s: the same weights answered rows %g apart", m, largest)
		}
		if sh.ComparedAccuracy == nil || sh.LiveComparedAccuracy == nil ||
			math.Abs(*sh.ComparedAccuracy-*sh.LiveComparedAccuracy)*float64(sh.Compared) > float64(flips)+1e-9 {
			t.Errorf("%s: the same weights on the same %d rows (%d on the other side of 0.5 by float noise): shadow %v, live %v",
				m, sh.Compared, flips, deref(sh.ComparedAccuracy), deref(sh.LiveComparedAccuracy))
		}
		if *sh.ComparedAccuracy != *sh.Accuracy {
			t.Errorf("%s: shadow accuracy %v over its %d rows, %v over the same %d compared", m, *sh.Accuracy, sh.Scored, *sh.ComparedAccuracy, sh.Compared)
		}
		if lv.Scored < sh.Compared+300 || lv.Compared != 0 || lv.LiveComparedAccuracy != nil {
			t.Errorf("%s: live scored %d since the start, compared %d (%v): want its own figure over more rows than the %d compared", m, lv.Scored, lv.Compared, lv.LiveComparedAccuracy, sh.Compared)
		}
		t.Logf("%s: shadow %.4f vs live %.4f on the same %d rows; live since the start %.4f of %d", m, *sh.ComparedAccuracy, *sh.LiveComparedAccuracy, sh.Compared, *lv.Accuracy, lv.Scored)
	}
	// Retired and deployed again: the comparison starts over.
	if err := reg.Apply(command(t, "models.retire_shadow", ModelArgs{Model: ModelDirection})); err != nil {
		t.Fatal(err)
	}
	if err := reg.Apply(command(t, "models.deploy", DeployArgs{Model: ModelDirection, Dir: writeVersion(t, ModelDirection, "3"), Mode: "shadow"})); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "the new shadow's state", func() bool {
		sh := state(ShadowKey(ModelDirection))
		return sh.Active && sh.Version == "3"
	})
	if sh := state(ShadowKey(ModelDirection)); sh.Compared != 0 || sh.ComparedAccuracy != nil || sh.Scored != 0 {
		t.Fatalf("a new shadow starts with the comparison of the last: %+v", sh)
	}
}

// flipped counts the rows on which model's live and shadow signals fall on either side of
// 0.5, and returns the largest difference of their probabilities on a row.
func flipped(out *published, model string) (flips int, largest float64) {
	out.mu.Lock()
	defer out.mu.Unlock()
	live := map[int64]float64{}
	for _, s := range out.signals {
		if s.Model == model && !s.Shadow {
			live[s.FeatureTime] = s.Prediction["probability"]
		}
	}
	for _, s := range out.signals {
		if s.Model != model || !s.Shadow {
			continue
		}
		p, ok := live[s.FeatureTime]
		if !ok {
			continue
		}
		q := s.Prediction["probability"]
		largest = math.Max(largest, math.Abs(p-q))
		if (p > 0.5) != (q > 0.5) {
			flips++
		}
	}
	return flips, largest
}

func deref(p *float64) any {
	if p == nil {
		return nil
	}
	return *p
}
