package inference

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/anthdm/hollywood/actor"

	"github.com/synapse-trading/synapse/actors"
	"github.com/synapse-trading/synapse/streams"
)

// ErrDeploy means a model could not be deployed: its files are missing or do not match,
// its inputs are not this build's features, or ONNX Runtime refused it. Nothing is served
// from a broken model: the version already deployed stays.
var ErrDeploy = errors.New("model deployment")

// RegistryOptions configure the model registry.
type RegistryOptions struct {
	Engine  *actor.Engine
	Batcher *Batcher
	Session SessionOptions
	// Publish puts signals on the log; Observe shows actors' states.
	Publish func(streams.Event)
	Observe func(topic string, state any)
	Logger  *slog.Logger
	// Deadline is how long a model's request may wait at the batcher (default 2 s; a
	// backtest, which must never drop one, sets hours).
	Deadline time.Duration
	// InFlight: see ModelOptions.InFlight.
	InFlight *atomic.Int64
	// Activity, when set, counts the model actors' and the ensemble's messages and busy time
	// (the graph view's rate and load).
	Activity *actors.Activity
}

// Registry is the model tier of an engine: which version of each model is live and which
// candidate runs in shadow, the model actors and the ensemble. Deployments come from
// commands on the log (models.deploy, models.promote, models.retire_shadow), so a restart
// that replays the CMD stream ends with the same versions deployed.
type Registry struct {
	opts     RegistryOptions
	mu       sync.Mutex
	live     map[string]*Deployment
	shadow   map[string]*Deployment
	actors   map[string]*actor.PID // by batcher key
	ensemble *actor.PID
}

// Deployment is one model version in service.
type Deployment struct {
	Model   string `json:"model"`
	Version string `json:"version"`
	Source  string `json:"source"` // the card's path, or "bundled"
	SHA256  string `json:"sha256"` // of the .onnx
	Card    *Card  `json:"-"`
	onnx    []byte
}

// NewRegistry returns an empty registry.
func NewRegistry(opts RegistryOptions) *Registry {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	return &Registry{opts: opts, live: map[string]*Deployment{}, shadow: map[string]*Deployment{}, actors: map[string]*actor.PID{}}
}

// Start deploys the bundled models live and spawns a live and a shadow model actor per
// model, and the ensemble. It returns the actors that must receive the symbols' 1m features.
func (r *Registry) Start() ([]*actor.PID, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.ensemble = r.opts.Engine.Spawn(NewEnsembleActor(r.opts.Publish, r.opts.Observe, r.opts.InFlight), "model", actor.WithID(EnsembleName),
		r.opts.Activity.Of(ModelTopic(EnsembleName)))
	var subscribers []*actor.PID
	for _, name := range ModelNames {
		card, onnx, err := LoadDefaultModel(name)
		if err != nil {
			return nil, fmt.Errorf("%w: bundled %s model: %v", ErrDeploy, name, err)
		}
		d := &Deployment{Model: name, Version: card.Version, Source: "bundled", SHA256: card.SHA256, Card: card, onnx: onnx}
		if err := r.deployLocked(d, name); err != nil {
			return nil, err
		}
		r.live[name] = d
		// The shadow first: the live actor tells it of each prediction it scored.
		var shadowPID *actor.PID
		for _, shadow := range []bool{true, false} {
			opts := ModelOptions{Name: name, Key: name, Shadow: shadow, Card: card, Batcher: r.opts.Batcher,
				Publish: r.opts.Publish, Observe: r.opts.Observe, Deadline: r.opts.Deadline, InFlight: r.opts.InFlight}
			if shadow {
				opts.Key = ShadowKey(name)
			} else {
				opts.Forward, opts.Compare = []*actor.PID{r.ensemble}, shadowPID
			}
			pid := r.opts.Engine.Spawn(NewModelActor(opts), "model", actor.WithID(opts.Key), r.opts.Activity.Of(ModelTopic(opts.Key)))
			r.actors[opts.Key] = pid
			subscribers = append(subscribers, pid)
			shadowPID = pid
		}
	}
	return subscribers, nil
}

// deployLocked loads d into a session and hands it to the batcher under key, and logs where
// the session runs (--inference-ep cuda may have fallen back to the CPU).
func (r *Registry) deployLocked(d *Deployment, key string) error {
	if d.Card.Model != d.Model {
		return fmt.Errorf("%w: the card at %s is a %s model, not %s", ErrDeploy, d.Source, d.Card.Model, d.Model)
	}
	if !slices.Equal(d.Card.Features, InputNames) {
		return fmt.Errorf("%w: %s takes the inputs %v; this build computes %v: retrain it with this build's `synapse train`", ErrDeploy, d.Source, d.Card.Features, InputNames)
	}
	opts := r.opts.Session
	opts.InputName, opts.OutputName = d.Card.Inputs[0].Name, d.Card.Outputs[0].Name
	s, err := NewSession(d.onnx, len(d.Card.Features), len(d.Card.OutputNames), opts)
	if err != nil {
		return fmt.Errorf("%w: %s: %v", ErrDeploy, d.Source, err)
	}
	r.opts.Batcher.Deploy(key, d.Version, s)
	r.opts.Logger.Info("model deployed", "model", key, "version", d.Version, "from", d.Source, "provider", s.Provider(), "onnxruntime", RuntimeVersion())
	return nil
}

// DeployArgs are the arguments of models.deploy.
type DeployArgs struct {
	Model string `json:"model"`
	Dir   string `json:"dir"`  // holds <model>.json and <model>.onnx
	Mode  string `json:"mode"` // live (default) or shadow
	// SHA256 pins the deployment to the .onnx the command was accepted for (the gateway
	// fills it in): a folder whose model changed since is refused when the log is
	// replayed, rather than served under the old version's name.
	SHA256 string `json:"sha256,omitempty"`
}

// ModelArgs are the arguments of models.promote and models.retire_shadow.
type ModelArgs struct {
	Model string `json:"model"`
}

// Apply carries out a models.* command; other commands are not the registry's (nil).
func (r *Registry) Apply(cmd streams.SequencedCommand) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	switch cmd.Name {
	case "models.deploy":
		var a DeployArgs
		if err := json.Unmarshal(cmd.Args, &a); err != nil {
			return fmt.Errorf("%w: models.deploy args: %v", ErrDeploy, err)
		}
		if _, known := r.live[a.Model]; !known {
			return fmt.Errorf("%w: unknown model %q (have %v)", ErrDeploy, a.Model, ModelNames)
		}
		path := filepath.Join(a.Dir, a.Model+".json")
		card, onnx, err := LoadDeployable(a.Dir, a.Model)
		if err != nil {
			return fmt.Errorf("%w: %v", ErrDeploy, err)
		}
		if a.SHA256 != "" && a.SHA256 != card.SHA256 {
			return fmt.Errorf("%w: %s holds another model than the one this command deployed (sha256 %s, now %s): the folder changed since; deploy it again to serve it",
				ErrDeploy, path, a.SHA256, card.SHA256)
		}
		d := &Deployment{Model: a.Model, Version: card.Version, Source: path, SHA256: card.SHA256, Card: card, onnx: onnx}
		switch a.Mode {
		case "", "live":
			if err := r.deployLocked(d, a.Model); err != nil {
				return err
			}
			r.live[a.Model] = d
			r.opts.Engine.Send(r.actors[a.Model], UseCard{Card: card})
		case "shadow":
			if err := r.deployLocked(d, ShadowKey(a.Model)); err != nil {
				return err
			}
			r.shadow[a.Model] = d
			r.opts.Engine.Send(r.actors[ShadowKey(a.Model)], ShadowOn{Version: d.Version, Card: card})
			r.opts.Engine.Send(r.actors[a.Model], Comparing{On: true})
		default:
			return fmt.Errorf("%w: mode %q: live or shadow", ErrDeploy, a.Mode)
		}
	case "models.promote", "models.retire_shadow":
		var a ModelArgs
		if err := json.Unmarshal(cmd.Args, &a); err != nil {
			return fmt.Errorf("%w: %s args: %v", ErrDeploy, cmd.Name, err)
		}
		d, ok := r.shadow[a.Model]
		if !ok {
			return fmt.Errorf("%w: %s: no %s model runs in shadow", ErrDeploy, cmd.Name, a.Model)
		}
		if cmd.Name == "models.promote" {
			if err := r.deployLocked(d, a.Model); err != nil {
				return err
			}
			r.live[a.Model] = d
			r.opts.Engine.Send(r.actors[a.Model], UseCard{Card: d.Card})
		}
		delete(r.shadow, a.Model)
		r.opts.Batcher.Undeploy(ShadowKey(a.Model))
		r.opts.Engine.Send(r.actors[ShadowKey(a.Model)], ShadowOff{})
		r.opts.Engine.Send(r.actors[a.Model], Comparing{On: false})
		r.opts.Logger.Info("model "+cmd.Name[len("models."):], "model", a.Model, "version", d.Version)
	}
	return nil
}

// Deployed lists the live and shadow versions, for the UI and queries.
func (r *Registry) Deployed() (live, shadow []Deployment) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, name := range ModelNames {
		if d, ok := r.live[name]; ok {
			live = append(live, *d)
		}
		if d, ok := r.shadow[name]; ok {
			shadow = append(shadow, *d)
		}
	}
	return live, shadow
}

// Stop stops the model actors and the ensemble.
func (r *Registry) Stop() {
	r.mu.Lock()
	pids := make([]*actor.PID, 0, len(r.actors)+1)
	for _, pid := range r.actors {
		pids = append(pids, pid)
	}
	if r.ensemble != nil {
		pids = append(pids, r.ensemble)
	}
	r.mu.Unlock()
	for _, pid := range pids {
		select {
		case <-r.opts.Engine.Poison(pid).Done():
		case <-time.After(5 * time.Second):
		}
	}
}
