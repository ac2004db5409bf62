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
	e, err := actor.NewEngine(actor.NewEngineConfig())
	if err != nil {
		t.Fatal(err)
	}
	b, err := NewBatcher(e, BatcherOptions{})
	if err != nil {
		t.Fatal(err)
	}
	out := &published{states: map[string]any{}}
	reg := NewRegistry(RegistryOptions{Engine: e, Batcher: b, Publish: out.publish, Observe: out.observe})
	subs, err := reg.Start()
	if err != nil {
		t.Fatal(err)
	}
	feed := func(fs []*streams.Feature) {
		for _, f := range fs {
			for _, pid := range subs {
				e.Send(pid, f)
			}
			time.Sleep(200 * time.Microsecond) // a steady stream, so the swaps land mid-flow
		}
	}
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
	reg.Stop()
	b.Stop()
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

// A signal's latency starts when the symbol actor emitted the candle's features, not when
// the model actor got them.
func TestSignalLatencyStartsAtTheFeature(t *testing.T) {
	initRuntime(t)
	features := realFeatures(t, "../streams/recordings/ETHUSDT-1m-2022-08-14.csv.gz")[:101]
	e, _ := actor.NewEngine(actor.NewEngineConfig())
	b, _ := NewBatcher(e, BatcherOptions{})
	defer b.Stop()
	out := &published{states: map[string]any{}}
	reg := NewRegistry(RegistryOptions{Engine: e, Batcher: b, Publish: out.publish, Observe: out.observe})
	subs, err := reg.Start()
	if err != nil {
		t.Fatal(err)
	}
	defer reg.Stop()
	isLast := func(s *streams.Signal) bool { return s.FeatureTime == features[100].OpenTime }
	features[100].Emitted = time.Now().Add(-50 * time.Millisecond)
	for _, f := range features { // the first hundred warm the inputs up
		for _, pid := range subs {
			e.Send(pid, f)
		}
	}
	waitFor(t, 10*time.Second, "the last candle's signals", func() bool { return out.count(isLast) == 4 })
	out.mu.Lock()
	defer out.mu.Unlock()
	for _, s := range out.signals {
		if isLast(s) && (s.LatencyUs < 50_000 || s.LatencyUs > 2_000_000) {
			t.Errorf("%s: latency %d µs, want from the feature's emission 50 ms ago", s.Model, s.LatencyUs)
		}
	}
}
