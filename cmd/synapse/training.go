package main

// Training runs: the engine carries out models.train commands as `synapse train` would
// (trainModel, the same code), one at a time in the order the CMD log holds them, on one
// goroutine of its own, so no actor waits for a training and the engine keeps trading.
// Each run's progress is the hub topic training/<command id>, for the Training page.
//
// Crash safety comes from the log: the command is on CMD before anything runs, and a
// restart applies CMD again. A run whose card (OUT/MODEL.json) records its command id
// finished before (the card is written last, whole): it is shown done and not trained
// again. A run that failed put models.train_failed on CMD after it, with the reason: it is
// shown failed and not tried again (a new models.train is a new run). No run starts before
// the commands on CMD at the start are applied, so a failure is known before its run would
// start. Any other run (one the stop interrupted) trains again from the start.
//
// How long a run has left is known for its epochs only: the data reading before them and
// the export after them have no measure to go by. A run says which of the three stages it
// is in, and while in the epochs how long they have left at the pace so far.

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/synapse-trading/synapse/inference"
	"github.com/synapse-trading/synapse/streams"
	"github.com/synapse-trading/synapse/web"
)

// The states of a training run.
const (
	runQueued  = "queued"  // on the log, waiting for the runs before it
	runRunning = "running" // in one of the stages below
	runDone    = "done"    // the model and its card are written
	runFailed  = "failed"  // Reason says why; nothing was written
)

// The stages of a running run, in order.
const (
	stageData   = "reading the data and building the features"
	stageEpochs = "training epochs"
	stageExport = "exporting, verifying with ONNX Runtime, scoring and writing the model"
)

// trainFailedCommand is the engine's record on CMD that a run failed (args trainFailed).
const trainFailedCommand = "models.train_failed"

// trainFailed is models.train_failed's args.
type trainFailed struct {
	Run      string `json:"run"` // the models.train command's id
	Reason   string `json:"reason"`
	Stage    string `json:"stage"`    // the stage it failed in
	Started  int64  `json:"started"`  // epoch ms
	Finished int64  `json:"finished"` // epoch ms
}

// TrainingRun is one models.train command and how far it got: the hub's training/<ID>
// topic and an entry of the training query.
type TrainingRun struct {
	ID     string        `json:"id"`  // the models.train command's id
	Seq    uint64        `json:"seq"` // its sequence on CMD
	Issuer string        `json:"issuer,omitempty"`
	Issued int64         `json:"issued"` // epoch ms
	Args   web.TrainArgs `json:"args"`   // model, data files, out folder, version, epochs, seed, horizon
	State  string        `json:"state"`  // queued, running, done, failed
	// Stage says what a running run does (a failed one: what it did when it failed): reading
	// the data, training epochs, or exporting and writing the model.
	Stage  string `json:"stage,omitempty"`
	Reason string `json:"reason,omitempty"` // why it failed
	// Before is true for a run that finished before this start of the engine: what is shown
	// comes from its card, or for a failed one from its models.train_failed.
	Before bool `json:"before,omitempty"`

	Rows      *inference.CardRows `json:"rows,omitempty"` // once the data set is split
	Epoch     int                 `json:"epoch"`          // epochs finished
	MaxEpochs int                 `json:"max_epochs"`     // early stopping may end the run sooner
	BestEpoch int                 `json:"best_epoch,omitempty"`
	// The loss curves so far, one value per epoch (see inference.CardTraining).
	TrainLoss   []inference.Num `json:"train_loss"`
	HoldoutLoss []inference.Num `json:"holdout_loss"`
	ValidLoss   []inference.Num `json:"validation_loss"`

	Started   int64 `json:"started,omitempty"`  // epoch ms
	Finished  int64 `json:"finished,omitempty"` // epoch ms
	ElapsedMS int64 `json:"elapsed_ms"`         // running for, as of the last update
	// EpochsETAMS is how long the epochs have left, until max_epochs at the pace so far
	// (early stopping may end them sooner), while in the epochs stage: not the whole run,
	// whose export after the epochs has no estimate.
	EpochsETAMS *int64 `json:"epochs_eta_ms,omitempty"`

	// When done: the card, the validation metrics and the naive baseline's on the same rows.
	Card            string            `json:"card,omitempty"`
	Version         string            `json:"version,omitempty"`
	SHA256          string            `json:"sha256,omitempty"`
	Metrics         *inference.Scores `json:"metrics,omitempty"`
	BaselineMetrics *inference.Scores `json:"baseline_metrics,omitempty"`

	fitStart time.Time // when the first epoch began
}

// value is an optional argument of models.train, or T's zero when it was left out: the
// default, to inference.TrainOptions.
func value[T any](p *T) T {
	var v T
	if p != nil {
		v = *p
	}
	return v
}

// trainingEpochHook, when set (by tests only), is called after each epoch of a run with the
// engine's context: a test stops the engine in the middle of a run with it.
var trainingEpochHook func(ctx context.Context, runID string, epoch int)

// trainer keeps the training runs and carries them out one at a time.
type trainer struct {
	hub    *web.Hub
	logger *slog.Logger
	ortLib string // --onnxruntime-lib, for the verification run
	// submit puts a command on CMD (a run's failure); applied waits until the commands on CMD
	// when it is called are applied.
	submit  func(context.Context, *streams.Command) (uint64, error)
	applied func(context.Context) error

	mu      sync.Mutex
	runs    []*TrainingRun // in CMD order
	byID    map[string]*TrainingRun
	pending []*TrainingRun // queued, oldest first
	wake    chan struct{}  // signalled (coalesced) when a run is queued
}

func newTrainer(hub *web.Hub, logger *slog.Logger, ortLib string, submit func(context.Context, *streams.Command) (uint64, error),
	applied func(context.Context) error) *trainer {
	return &trainer{hub: hub, logger: logger, ortLib: ortLib, submit: submit, applied: applied,
		byID: map[string]*TrainingRun{}, wake: make(chan struct{}, 1)}
}

// Apply queues a models.train command, and marks failed the run a models.train_failed names
// (other commands are not its business). It never waits: the run happens on Run's goroutine.
func (t *trainer) Apply(cmd streams.SequencedCommand) error {
	switch cmd.Name {
	case "models.train":
	case trainFailedCommand:
		return t.failedBefore(cmd)
	default:
		return nil
	}
	var a web.TrainArgs
	if err := json.Unmarshal(cmd.Args, &a); err != nil {
		return fmt.Errorf("models.train args: %w", err)
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if _, seen := t.byID[cmd.CommandID]; seen {
		return nil
	}
	r := &TrainingRun{ID: cmd.CommandID, Seq: cmd.Seq, Issuer: cmd.Issuer, Issued: cmd.Time, Args: a, State: runQueued, MaxEpochs: value(a.Epochs)}
	t.runs = append(t.runs, r)
	t.byID[r.ID] = r
	t.pending = append(t.pending, r)
	t.publishLocked(r)
	select {
	case t.wake <- struct{}{}:
	default:
	}
	return nil
}

// failedBefore applies a models.train_failed: its run, queued by the models.train before it
// on CMD, is failed and not run. The one this engine wrote as its run failed finds the run
// failed already.
func (t *trainer) failedBefore(cmd streams.SequencedCommand) error {
	var f trainFailed
	if err := json.Unmarshal(cmd.Args, &f); err != nil {
		return fmt.Errorf("%s args: %w", trainFailedCommand, err)
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	r, ok := t.byID[f.Run]
	if !ok {
		return fmt.Errorf("%s: no models.train %q before it", trainFailedCommand, f.Run)
	}
	if r.State != runQueued {
		return nil
	}
	t.pending = slices.DeleteFunc(t.pending, func(p *TrainingRun) bool { return p == r })
	r.State, r.Before, r.Stage, r.Reason, r.Started, r.Finished = runFailed, true, f.Stage, f.Reason, f.Started, f.Finished
	t.publishLocked(r)
	return nil
}

// Run carries out the queued runs, oldest first, until ctx ends: once the commands on CMD
// at its start are applied, so that it knows which runs failed before. A run that ctx
// interrupts is left as it is: the next start of the engine runs it again.
func (t *trainer) Run(ctx context.Context) error {
	if err := t.applied(ctx); err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return fmt.Errorf("training runs: waiting for the commands on the log: %w", err)
	}
	for {
		t.mu.Lock()
		var r *TrainingRun
		if len(t.pending) > 0 {
			r, t.pending = t.pending[0], t.pending[1:]
		}
		t.mu.Unlock()
		if r == nil {
			select {
			case <-ctx.Done():
				return nil
			case <-t.wake:
			}
			continue
		}
		t.train(ctx, r)
		if ctx.Err() != nil {
			return nil
		}
	}
}

// train carries out one run: nothing to do when its card is there already, else the
// training as `synapse train` does it.
func (t *trainer) train(ctx context.Context, r *TrainingRun) {
	a := r.Args
	cardPath := filepath.Join(a.Out, a.Model+".json")
	if card, _, err := inference.LoadCard(cardPath); err == nil && card.Training.CommandID == r.ID {
		t.update(r, func() {
			r.State, r.Before = runDone, true
			t.finishedFrom(r, cardPath, card)
		})
		return
	}
	t.update(r, func() { r.State, r.Stage, r.Started = runRunning, stageData, time.Now().UnixMilli() })
	t.logger.Info("training run started", "id", r.ID, "model", a.Model, "files", len(a.Data), "out", a.Out, "epochs", value(a.Epochs))
	opts := inference.TrainOptions{Model: a.Model, Version: value(a.Version), Horizon: value(a.Horizon), Epochs: value(a.Epochs), Seed: value(a.Seed),
		RuntimeLib: t.ortLib, CommandID: r.ID,
		Split: func(rows inference.CardRows) {
			t.update(r, func() { r.Rows, r.Stage, r.fitStart = &rows, stageEpochs, time.Now() })
		},
		Progress: func(epoch int, trainLoss, holdoutLoss, validLoss float64) {
			t.update(r, func() {
				r.Epoch = epoch
				r.TrainLoss = append(r.TrainLoss, inference.Num(trainLoss))
				r.HoldoutLoss = append(r.HoldoutLoss, inference.Num(holdoutLoss))
				r.ValidLoss = append(r.ValidLoss, inference.Num(validLoss))
				eta := time.Since(r.fitStart).Milliseconds() / int64(epoch) * int64(r.MaxEpochs-epoch)
				r.EpochsETAMS = &eta
			})
			if trainingEpochHook != nil {
				trainingEpochHook(ctx, r.ID, epoch)
			}
		},
		Fitted: func() { t.update(r, func() { r.Stage, r.EpochsETAMS = stageExport, nil }) },
	}
	_, _, cardPath, err := trainModel(ctx, a.Data, opts, a.Out)
	if ctx.Err() != nil {
		t.logger.Info("training run interrupted: the engine stops; it runs again at the next start", "id", r.ID)
		return
	}
	var card *inference.Card
	if err == nil {
		card, _, err = inference.LoadCard(cardPath) // what a deployment will read
	}
	if err != nil {
		var f trainFailed
		t.update(r, func() {
			r.State, r.Reason, r.EpochsETAMS, r.Finished = runFailed, err.Error(), nil, time.Now().UnixMilli()
			f = trainFailed{Run: r.ID, Reason: r.Reason, Stage: r.Stage, Started: r.Started, Finished: r.Finished}
		})
		t.logger.Error("training run failed", "id", r.ID, "model", a.Model, "stage", f.Stage, "err", err)
		t.recordFailure(ctx, f)
		return
	}
	t.update(r, func() { r.State = runDone; t.finishedFrom(r, cardPath, card) })
	t.logger.Info("training run done", "id", r.ID, "model", a.Model, "card", cardPath, "epochs", card.Training.Epochs, "best_epoch", card.Training.BestEpoch)
}

// recordFailure puts f on CMD, so that the next start shows the run failed instead of
// training it again.
func (t *trainer) recordFailure(ctx context.Context, f trainFailed) {
	args, err := json.Marshal(f)
	if err == nil {
		cmd := &streams.Command{Name: trainFailedCommand, CommandID: f.Run + ".failed", Args: args, Time: f.Finished, Issuer: "training"}
		_, err = t.submit(ctx, cmd)
	}
	if err != nil {
		t.logger.Error("a failed training run's failure is not on the log: the next start tries the run again", "id", f.Run, "err", err)
	}
}

// finishedFrom fills in a done run from its card (r's lock held).
func (t *trainer) finishedFrom(r *TrainingRun, cardPath string, card *inference.Card) {
	tr := card.Training
	rows := card.Rows
	r.Stage, r.EpochsETAMS, r.Card, r.Version, r.SHA256, r.Rows = "", nil, cardPath, card.Version, card.SHA256, &rows
	r.Epoch, r.MaxEpochs, r.BestEpoch = tr.Epochs, tr.MaxEpochs, tr.BestEpoch
	r.TrainLoss, r.HoldoutLoss, r.ValidLoss = tr.TrainLoss, tr.HoldoutLoss, tr.ValidLoss
	m, b := card.Metrics.Validation, card.BaselineMetrics.Validation
	r.Metrics, r.BaselineMetrics = &m, &b
	if r.Finished == 0 {
		r.Finished = time.Now().UnixMilli()
	}
}

// update changes r under the lock and publishes it.
func (t *trainer) update(r *TrainingRun, change func()) {
	t.mu.Lock()
	defer t.mu.Unlock()
	change()
	t.publishLocked(r)
}

func (t *trainer) publishLocked(r *TrainingRun) {
	if r.Started > 0 {
		end := r.Finished
		if end == 0 {
			end = time.Now().UnixMilli()
		}
		r.ElapsedMS = end - r.Started
	}
	_ = t.hub.Set("training/"+r.ID, snapshot(r))
}

// snapshot copies r for readers outside the lock.
func snapshot(r *TrainingRun) TrainingRun {
	c := *r
	c.Args.Data = slices.Clone(r.Args.Data)
	c.TrainLoss, c.HoldoutLoss, c.ValidLoss = slices.Clone(r.TrainLoss), slices.Clone(r.HoldoutLoss), slices.Clone(r.ValidLoss)
	return c
}

// Runs returns every run, in CMD order.
func (t *trainer) Runs() []TrainingRun {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make([]TrainingRun, 0, len(t.runs))
	for _, r := range t.runs {
		out = append(out, snapshot(r))
	}
	return out
}

// DeployedTraining is how a model the engine serves was trained, from its card.
type DeployedTraining struct {
	Model           string                 `json:"model"`
	Mode            string                 `json:"mode"` // live or shadow
	Version         string                 `json:"version"`
	Source          string                 `json:"source"` // the card's path, or "bundled"
	Rows            inference.CardRows     `json:"rows"`
	Training        inference.CardTraining `json:"training"`
	Metrics         inference.Scores       `json:"metrics"` // on the validation range
	BaselineMetrics inference.Scores       `json:"baseline_metrics"`
}

// handleTrainingQuery registers GET /api/v1/queries/training: the runs and, for the models
// deployed (models is nil without the model tier), their cards' curves and metrics.
func handleTrainingQuery(gw *web.Gateway, runs *trainer, models *inference.Registry) {
	gw.HandleQuery("training", func(r *http.Request) (any, error) {
		if _, err := params(r); err != nil {
			return nil, err
		}
		deployed := []DeployedTraining{}
		if models != nil {
			live, shadow := models.Deployed()
			add := func(mode string, list []inference.Deployment) {
				for _, d := range list {
					if d.Card == nil {
						continue
					}
					deployed = append(deployed, DeployedTraining{Model: d.Model, Mode: mode, Version: d.Version, Source: d.Source, Rows: d.Card.Rows,
						Training: d.Card.Training, Metrics: d.Card.Metrics.Validation, BaselineMetrics: d.Card.BaselineMetrics.Validation})
				}
			}
			add("live", live)
			add("shadow", shadow)
		}
		return map[string]any{"runs": runs.Runs(), "deployed": deployed}, nil
	})
}
