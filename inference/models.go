package inference

import (
	"context"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/google/renameio/v2"
)

// ErrUnknownKind means a model kind to train is not one of ModelNames.
var ErrUnknownKind = errors.New("unknown model kind")

// ErrVerify means ONNX Runtime, running an exported model, did not answer what the Go
// forward pass answers: the export is wrong and the model must not be used.
var ErrVerify = errors.New("exported model does not match the trained model")

// The model kinds Train knows.
const (
	ModelDirection = "direction" // classifier: P(close[t+H] > close[t])
	ModelRange     = "range"     // regressor: max high and min low of the next H candles, relative to close
	ModelTPSL      = "tp_sl"     // classifier: P(take profit reached before stop loss within H)
)

// ModelNames lists the model kinds, in the order `synapse train` shows them.
var ModelNames = []string{ModelDirection, ModelRange, ModelTPSL}

// InputName is the name of every model's input tensor.
const InputName = "features"

// VerifyTolerance is the largest difference Verify accepts between ONNX Runtime's outputs
// and MLP.Forward's.
const VerifyTolerance = 1e-5

// Training defaults that are not FitConfig's.
const (
	TrainFraction   = 0.8 // of the time range, the rest validates
	HoldoutFraction = 0.1 // of the training range's time, at its end, for early stopping
	DefaultSeed     = 1
)

// modelSpec is what differs between the model kinds.
type modelSpec struct {
	kind    string // classifier or regressor
	loss    Loss
	output  string   // graph output name
	outputs []string // meaning of each output column
	label   string   // description, with %d for the horizon
	target  func(r *Row) []float64
}

func specOf(model string) (modelSpec, error) {
	switch model {
	case ModelDirection:
		return modelSpec{"classifier", BCE, "probability", []string{"probability"},
			"1 if close[t+%[1]d] > close[t], else 0", func(r *Row) []float64 { return []float64{r.Direction} }}, nil
	case ModelRange:
		return modelSpec{"regressor", MSE, "range", []string{"high", "low"},
			"max(high[t+1..t+%[1]d])/close[t]-1 and min(low[t+1..t+%[1]d])/close[t]-1", func(r *Row) []float64 { return []float64{r.RangeHigh, r.RangeLow} }}, nil
	case ModelTPSL:
		return modelSpec{"classifier", BCE, "probability", []string{"probability"},
			"1 if within %[1]d candles a high reaches close[t]*(1+tp) before a low reaches close[t]*(1-sl); a candle reaching both counts as the stop loss",
			func(r *Row) []float64 { return []float64{r.TPSL} }}, nil
	}
	return modelSpec{}, fmt.Errorf("%w %q: use one of %s", ErrUnknownKind, model, strings.Join(ModelNames, ", "))
}

// TrainOptions configure Train; zero values take the defaults.
type TrainOptions struct {
	Model   string // one of ModelNames
	Name    string // of the files and the card; default Model
	Version string // default "1"
	Horizon int    // candles; DefaultHorizon
	TP, SL  float64
	Hidden  int    // hidden units; 16
	Epochs  int    // the most epochs; 30
	Seed    uint64 // DefaultSeed when 0
	// Symbol is the symbol of every file, for files whose names do not start with it.
	Symbol string
	// RuntimeLib is ONNX Runtime's library for the verification run; "" looks it up (see
	// LibraryPath).
	RuntimeLib string
	// Split, when set, is told how many rows each part of the split has, once, before the
	// first epoch.
	Split func(CardRows)
	// Progress is told of every epoch.
	Progress func(epoch int, trainLoss, holdoutLoss, validLoss float64)
	// Fitted, when set, is told once the epochs are over (early stopping may end them before
	// Epochs), before the export, its verification and the scoring.
	Fitted func()
	// CommandID is the models.train command that asked for this model, kept in the card
	// (Card.Training.CommandID); empty from the command line.
	CommandID string
}

// Trained is a trained, exported and verified model.
type Trained struct {
	MLP  *MLP
	Card Card
	ONNX []byte // the exported model; Card.SHA256 is its hash
	// Warnings say what the caller should tell the user: a symbol with no row on one side of
	// the split.
	Warnings []string
}

// Train builds the data set of files (see BuildDataset), splits it walk-forward (see
// SplitByTime, TrainFraction), trains the model kind opts.Model on the training range (the
// last HoldoutFraction of it, after an embargo, stops training early), scores it and the
// naive baseline on both ranges, exports it to ONNX and verifies the export with ONNX
// Runtime on the validation rows.
func Train(ctx context.Context, files []string, opts TrainOptions) (*Trained, error) {
	if _, err := specOf(opts.Model); err != nil {
		return nil, err // before reading any data
	}
	ds, err := BuildDataset(ctx, files, DatasetOptions{Horizon: opts.Horizon, TP: opts.TP, SL: opts.SL, Symbol: opts.Symbol})
	if err != nil {
		return nil, err
	}
	return TrainDataset(ctx, ds, opts)
}

// TrainDataset is Train on a data set already built.
func TrainDataset(ctx context.Context, ds *Dataset, opts TrainOptions) (*Trained, error) {
	spec, err := specOf(opts.Model)
	if err != nil {
		return nil, err
	}
	if opts.Name == "" {
		opts.Name = opts.Model
	}
	if opts.Version == "" {
		opts.Version = "1"
	}
	if opts.Seed == 0 {
		opts.Seed = DefaultSeed
	}
	split, err := SplitByTime(ds.Rows, TrainFraction, ds.Horizon)
	if err != nil {
		return nil, err
	}
	warnings := oneSided(split)
	// Early stopping looks at the end of the training range, behind its own embargo.
	inner, err := SplitByTime(split.Train, 1-HoldoutFraction, ds.Horizon)
	if err != nil {
		return nil, err
	}
	samples := func(rows []Row) Samples {
		s := Samples{X: make([][]float64, len(rows)), Y: make([][]float64, len(rows))}
		for i := range rows {
			s.X[i], s.Y[i] = rows[i].X, spec.target(&rows[i])
		}
		return s
	}
	fit, hold, valid := samples(inner.Train), samples(inner.Validation), samples(split.Validation)
	rows := CardRows{Fit: len(inner.Train), Holdout: len(inner.Validation), Validation: len(split.Validation),
		Embargoed: split.Embargoed + inner.Embargoed}
	if opts.Split != nil {
		opts.Split(rows)
	}
	cfg := FitConfig{Loss: spec.loss, Hidden: opts.Hidden, Epochs: opts.Epochs, Seed: opts.Seed, Progress: opts.Progress}
	fitted, err := Fit(ctx, fit, hold, valid, cfg)
	if err != nil {
		return nil, err
	}
	if opts.Fitted != nil {
		opts.Fitted()
	}
	_ = cfg.defaults() // the values Fit used, for the card

	m := fitted.MLP
	model, err := ExportONNX(m, InputName, spec.output)
	if err != nil {
		return nil, err
	}
	validX := make([][]float32, len(valid.X))
	for i, x := range valid.X {
		validX[i] = f32(x)
	}
	if err := InitRuntime(opts.RuntimeLib); err != nil {
		return nil, err
	}
	if err := Verify(m, model, spec.output, validX); err != nil {
		return nil, err
	}

	train := samples(split.Train)
	sum := sha256.Sum256(model)
	card := Card{
		CardVersion: CardVersion,
		Name:        opts.Name, Version: opts.Version, Model: opts.Model, Kind: spec.kind,
		CreatedAt: split.TrainRange.EndISO,
		SHA256:    hex.EncodeToString(sum[:]),
		Inputs:    []TensorSpec{{Name: InputName, Type: "float32", Shape: []int64{-1, int64(m.Inputs())}}},
		Outputs:   []TensorSpec{{Name: spec.output, Type: "float32", Shape: []int64{-1, int64(m.Outputs())}}},
		Features:  slices.Clone(ds.Features), OutputNames: slices.Clone(spec.outputs),
		Label:   fmt.Sprintf(spec.label, ds.Horizon),
		Horizon: ds.Horizon, Interval: "1m",
		Symbols:    ds.Symbols,
		TrainRange: split.TrainRange, ValidationRange: split.ValidationRange,
		Rows: rows,
		Training: CardTraining{
			Seed: opts.Seed, Hidden: cfg.Hidden, Activation: cfg.Activation, Output: m.Layers[len(m.Layers)-1].Activation,
			Loss: cfg.Loss, Optimizer: "adam", LearningRate: cfg.LearningRate, BatchSize: cfg.BatchSize,
			MaxEpochs: cfg.Epochs, Epochs: fitted.Epochs, BestEpoch: fitted.BestEpoch,
			TrainLoss: nums(fitted.TrainLoss), HoldoutLoss: nums(fitted.HoldoutLoss), ValidLoss: nums(fitted.ValidLoss),
			CommandID: opts.CommandID,
		},
	}
	if opts.Model == ModelTPSL {
		card.TP, card.SL = ds.TP, ds.SL
	}
	card.Metrics.Train, card.BaselineMetrics.Train = score(spec, m, train, train)
	card.Metrics.Validation, card.BaselineMetrics.Validation = score(spec, m, valid, train)
	return &Trained{MLP: m, Card: card, ONNX: model, Warnings: warnings}, nil
}

// score scores m and the naive baseline (from the training targets) on s.
func score(spec modelSpec, m *MLP, s, train Samples) (model, baseline Scores) {
	pred := make([][]float64, len(s.X))
	for i, x := range s.X {
		out := m.Forward(f32(x))
		pred[i] = make([]float64, len(out))
		for o, v := range out {
			pred[i][o] = float64(v)
		}
	}
	if spec.kind == "classifier" {
		p, y := column(pred, 0), column(s.Y, 0)
		return ClassifierScores(p, y), BaselineClassifierScores(mean(column(train.Y, 0)), y)
	}
	trainMean := make([]float64, len(spec.outputs))
	for o := range trainMean {
		trainMean[o] = mean(column(train.Y, o))
	}
	return RegressorScores(pred, s.Y, spec.outputs), BaselineRegressorScores(trainMean, s.Y, spec.outputs)
}

func nums(v []float64) []Num {
	out := make([]Num, len(v))
	for i, x := range v {
		out[i] = Num(x)
	}
	return out
}

// Verify runs model (ONNX bytes of m, input InputName, output outputName) in ONNX Runtime
// on rows and checks every output is within VerifyTolerance of m.Forward; InitRuntime must
// have been called.
func Verify(m *MLP, model []byte, outputName string, rows [][]float32) error {
	if len(rows) == 0 {
		return fmt.Errorf("%w: no rows to verify on", ErrVerify)
	}
	s, err := NewSession(model, m.Inputs(), m.Outputs(), SessionOptions{InputName: InputName, OutputName: outputName})
	if err != nil {
		return err
	}
	defer s.Close()
	const batch = 1024
	in := make([]float32, 0, batch*m.Inputs())
	for start := 0; start < len(rows); start += batch {
		part := rows[start:min(start+batch, len(rows))]
		in = in[:0]
		for _, r := range part {
			if len(r) != m.Inputs() {
				return fmt.Errorf("%w: row %d has %d values, the model takes %d", ErrShape, start, len(r), m.Inputs())
			}
			in = append(in, r...)
		}
		out, err := s.Run(in, len(part))
		if err != nil {
			return err
		}
		for i, r := range part {
			want := m.Forward(r)
			for o, w := range want {
				got := out[i*m.Outputs()+o]
				if d := math.Abs(float64(got - w)); !(d <= VerifyTolerance) {
					return fmt.Errorf("%w: row %d output %d: ONNX Runtime %g, Go %g (difference %g > %g)",
						ErrVerify, start+i, o, got, w, d, VerifyTolerance)
				}
			}
		}
	}
	return nil
}

// Write writes dir/NAME.onnx and dir/NAME.json (NAME is the card's name), creating dir.
func (t *Trained) Write(dir string) (modelPath, cardPath string, err error) {
	card, err := t.Card.Marshal()
	if err != nil {
		return "", "", err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", "", err
	}
	cardPath = filepath.Join(dir, t.Card.Name+".json")
	modelPath = ModelPath(cardPath)
	// Each file is replaced whole (written aside, then renamed): an engine deploying from
	// dir, or a train interrupted, never meets half a model.
	if err := renameio.WriteFile(modelPath, t.ONNX, 0o644); err != nil {
		return "", "", err
	}
	if err := renameio.WriteFile(cardPath, card, 0o644); err != nil {
		return "", "", err
	}
	return modelPath, cardPath, nil
}

//go:embed models/*.json models/*.onnx
var defaultModels embed.FS

// DefaultModels are the models trained on the bundled recordings (AVAXUSDT and LINKUSDT,
// February 2026), one NAME.json card and NAME.onnx per model kind, at the root of the FS.
func DefaultModels() fs.FS {
	sub, _ := fs.Sub(defaultModels, "models")
	return sub
}

// LoadDefaultModel returns the card and ONNX bytes of the bundled model name, checked like
// LoadCard.
func LoadDefaultModel(name string) (*Card, []byte, error) {
	if _, err := specOf(name); err != nil {
		return nil, nil, err
	}
	data, err := fs.ReadFile(DefaultModels(), name+".json")
	if err != nil {
		return nil, nil, err
	}
	card, err := ParseCard(data)
	if err != nil {
		return nil, nil, err
	}
	model, err := fs.ReadFile(DefaultModels(), name+".onnx")
	if err != nil {
		return nil, nil, err
	}
	return card, model, card.CheckModel(model)
}

// oneSided names the symbols whose rows all fell on one side of the split: files of
// different dates train on one symbol and validate on another, which measures neither.
func oneSided(split Split) []string {
	count := func(rows []Row) map[string]int {
		n := map[string]int{}
		for _, r := range rows {
			n[r.Symbol]++
		}
		return n
	}
	train, valid := count(split.Train), count(split.Validation)
	var out []string
	for _, sym := range slices.Sorted(maps.Keys(train)) {
		if valid[sym] == 0 {
			out = append(out, fmt.Sprintf("%s has %d training rows and none in the validation range (%s → %s): its files end before the cut; give files covering the same dates for every symbol",
				sym, train[sym], split.ValidationRange.StartISO, split.ValidationRange.EndISO))
		}
	}
	for _, sym := range slices.Sorted(maps.Keys(valid)) {
		if train[sym] == 0 {
			out = append(out, fmt.Sprintf("%s has %d validation rows and none in the training range (%s → %s): its files start after the cut; give files covering the same dates for every symbol",
				sym, valid[sym], split.TrainRange.StartISO, split.TrainRange.EndISO))
		}
	}
	return out
}
