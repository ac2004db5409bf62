package inference

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
)

var updateModels = flag.Bool("update-models", false, "retrain the default models in models/ from the bundled recordings")

// needRuntime loads ONNX Runtime (SYNAPSE_ONNXRUNTIME_LIB or .cache/onnxruntime).
func needRuntime(t testing.TB) {
	t.Helper()
	if err := InitRuntime(""); err != nil {
		t.Fatalf("ONNX Runtime: %v", err)
	}
}

// trainAVAX trains on the first 6,000 candles of AVAXUSDT (Feb 2026), with few epochs to keep
// the race detector's run short.
func trainAVAX(t *testing.T, ds *Dataset, model string) *Trained {
	t.Helper()
	needRuntime(t)
	tr, err := TrainDataset(context.Background(), ds, TrainOptions{Model: model})
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

// Each model kind trains, exports, verifies in ONNX Runtime, and does at least as well as the
// naive baseline on its training range. The validation scores are whatever they are; they are
// only logged.
func TestTrainedModelsBeatTheBaselineOnTheTrainingRange(t *testing.T) {
	ds := buildDataset(t, avaxHead)
	for _, model := range ModelNames {
		t.Run(model, func(t *testing.T) {
			tr := trainAVAX(t, ds, model)
			c := tr.Card
			m, b := c.Metrics.Train, c.BaselineMetrics.Train
			if c.Kind == "classifier" {
				if *m.LogLoss > *b.LogLoss || *m.AUC < 0.5 {
					t.Errorf("train log loss %g (baseline %g), AUC %g", *m.LogLoss, *b.LogLoss, *m.AUC)
				}
				t.Logf("validation: AUC %.4f accuracy %.4f log loss %.4f; baseline accuracy %.4f log loss %.4f",
					*c.Metrics.Validation.AUC, *c.Metrics.Validation.Accuracy, *c.Metrics.Validation.LogLoss,
					*c.BaselineMetrics.Validation.Accuracy, *c.BaselineMetrics.Validation.LogLoss)
			} else {
				for o := range m.Outputs {
					if m.Outputs[o].R2 < b.Outputs[o].R2 || m.Outputs[o].MAE > b.Outputs[o].MAE*1.05 {
						t.Errorf("train %+v, baseline %+v", m.Outputs[o], b.Outputs[o])
					}
				}
				t.Logf("validation: %+v; baseline %+v", c.Metrics.Validation.Outputs, c.BaselineMetrics.Validation.Outputs)
			}
			if err := c.Check(); err != nil {
				t.Fatal(err)
			}
			if c.Rows.Fit+c.Rows.Holdout+c.Rows.Validation+c.Rows.Embargoed != len(ds.Rows) {
				t.Errorf("rows %+v of %d", c.Rows, len(ds.Rows))
			}
			if c.CreatedAt != c.TrainRange.EndISO || c.ValidationRange.Start <= c.TrainRange.End+int64(c.Horizon)*candleMs-1 {
				t.Errorf("created %s, ranges %+v %+v", c.CreatedAt, c.TrainRange, c.ValidationRange)
			}
		})
	}
}

// The same data and options give the same weights, ONNX bytes and card bytes.
func TestTrainIsDeterministic(t *testing.T) {
	needRuntime(t)
	opts := TrainOptions{Model: ModelDirection, Epochs: 3, Seed: 9}
	a, err := Train(context.Background(), []string{ethDay1}, opts)
	if err != nil {
		t.Fatal(err)
	}
	b, err := Train(context.Background(), []string{ethDay1}, opts)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := a.Card.Marshal()
	cb, _ := b.Card.Marshal()
	if !reflect.DeepEqual(a.MLP, b.MLP) || !bytes.Equal(a.ONNX, b.ONNX) || !bytes.Equal(ca, cb) {
		t.Fatal("two trainings on the same data differ")
	}
}

// Train tells its caller the stages as they come: the split once before the first epoch,
// every epoch, and the end of the epochs once after the last, before the export.
func TestTrainTellsItsStages(t *testing.T) {
	needRuntime(t)
	var told []string
	opts := TrainOptions{Model: ModelRange, Epochs: 2,
		Split:    func(CardRows) { told = append(told, "split") },
		Progress: func(epoch int, _, _, _ float64) { told = append(told, fmt.Sprint("epoch ", epoch)) },
		Fitted:   func() { told = append(told, "fitted") }}
	tr, err := Train(context.Background(), []string{ethDay1}, opts)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"split"}
	for e := 1; e <= tr.Card.Training.Epochs; e++ {
		want = append(want, fmt.Sprint("epoch ", e))
	}
	if want = append(want, "fitted"); !slices.Equal(told, want) {
		t.Errorf("told %q, want %q", told, want)
	}
}

// Written files load back; a model that is not the card's is refused.
func TestWriteAndLoadCard(t *testing.T) {
	needRuntime(t)
	tr, err := Train(context.Background(), []string{ethDay1}, TrainOptions{Model: ModelRange, Name: "eth-range", Epochs: 2})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	modelPath, cardPath, err := tr.Write(dir)
	if err != nil || modelPath != filepath.Join(dir, "eth-range.onnx") || cardPath != filepath.Join(dir, "eth-range.json") {
		t.Fatalf("%s %s %v", modelPath, cardPath, err)
	}
	card, model, err := LoadCard(cardPath)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(model, tr.ONNX) || card.SHA256 != tr.Card.SHA256 || card.Outputs[0].Name != "range" ||
		!reflect.DeepEqual(card.Outputs[0].Shape, []int64{-1, 2}) || !reflect.DeepEqual(card.Inputs[0].Shape, []int64{-1, int64(len(InputNames))}) {
		t.Fatalf("loaded %+v", card)
	}
	model[len(model)-1] ^= 1
	if err := os.WriteFile(modelPath, model, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, _, err := LoadCard(cardPath); !errors.Is(err, ErrCardMismatch) || !strings.Contains(err.Error(), "sha256") {
		t.Fatalf("a changed model: %v", err)
	}
	if _, _, err := LoadCard(filepath.Join(dir, "missing.json")); err == nil {
		t.Fatal("a missing card loaded")
	}
}

// Verify fails loudly when ONNX Runtime and the Go forward pass disagree.
func TestVerifyCatchesAWrongExport(t *testing.T) {
	needRuntime(t)
	m := randomMLP(1, []int{4, 3, 1}, []Activation{Tanh, Sigmoid})
	other := randomMLP(2, []int{4, 3, 1}, []Activation{Tanh, Sigmoid})
	model, err := ExportONNX(other, InputName, "probability")
	if err != nil {
		t.Fatal(err)
	}
	rows := [][]float32{{1, 2, 3, 4}, {0, 0, 0, 0}}
	if err := Verify(m, model, "probability", rows); !errors.Is(err, ErrVerify) {
		t.Fatalf("another model's export: %v", err)
	}
	own, _ := ExportONNX(m, InputName, "probability")
	if err := Verify(m, own, "probability", rows); err != nil {
		t.Fatal(err)
	}
}

func TestTrainRejectsBadInput(t *testing.T) {
	_, err := Train(context.Background(), []string{ethDay1}, TrainOptions{Model: "price"})
	if !errors.Is(err, ErrUnknownKind) || !strings.Contains(err.Error(), "direction, range, tp_sl") {
		t.Fatalf("unknown model: %v", err)
	}
	if _, err := Train(context.Background(), []string{avaxTiny}, TrainOptions{Model: ModelTPSL}); !errors.Is(err, ErrNotEnoughData) {
		t.Fatalf("short file: %v", err)
	}
}

// The bundled default models load, match their cards, and run in ONNX Runtime as in Go.
func TestDefaultModels(t *testing.T) {
	if *updateModels {
		writeDefaultModels(t)
	}
	needRuntime(t)
	ds := buildDataset(t, ethDay1)
	rows := make([][]float32, 200)
	for i := range rows {
		rows[i] = f32(ds.Rows[i].X)
	}
	for _, name := range ModelNames {
		card, model, err := LoadDefaultModel(name)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if card.Model != name || !reflect.DeepEqual(card.Features, InputNames) || card.Horizon != DefaultHorizon {
			t.Fatalf("%s: card %+v", name, card)
		}
		if _, _, err := LoadCard(filepath.Join("models", name+".json")); err != nil {
			t.Fatal(err)
		}
		s, err := NewSession(model, len(card.Features), len(card.OutputNames), SessionOptions{OutputName: card.Outputs[0].Name})
		if err != nil {
			t.Fatal(err)
		}
		in := make([]float32, 0, len(rows)*len(card.Features))
		for _, r := range rows {
			in = append(in, r...)
		}
		out, err := s.Run(in, len(rows))
		s.Close()
		if err != nil || len(out) != len(rows)*len(card.OutputNames) {
			t.Fatalf("%s: %d outputs, %v", name, len(out), err)
		}
		for i, v := range out {
			if card.Kind == "classifier" && !(v > 0 && v < 1) || card.Kind == "regressor" && !(v > -0.2 && v < 0.2) {
				t.Fatalf("%s: output %d = %g", name, i, v)
			}
		}
	}
	if _, _, err := LoadDefaultModel("nope"); !errors.Is(err, ErrUnknownKind) {
		t.Fatalf("unknown default model: %v", err)
	}
}

// writeDefaultModels retrains models/ (go test ./inference -run TestDefaultModels -update-models).
func writeDefaultModels(t *testing.T) {
	needRuntime(t)
	files := []string{"../streams/recordings/AVAXUSDT-1m-2026-02.csv.gz", "../streams/recordings/LINKUSDT-1m-2026-02.csv.gz"}
	ds := buildDataset(t, files...)
	for _, name := range ModelNames {
		tr, err := TrainDataset(context.Background(), ds, TrainOptions{Model: name})
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := tr.Write("models"); err != nil {
			t.Fatal(err)
		}
	}
}

// The bundled models are what training on the bundled data gives, byte for byte.
func TestDefaultModelsAreReproducible(t *testing.T) {
	if testing.Short() {
		t.Skip("retrains three models on 80,000 candles")
	}
	needRuntime(t)
	ds := buildDataset(t, "../streams/recordings/AVAXUSDT-1m-2026-02.csv.gz", "../streams/recordings/LINKUSDT-1m-2026-02.csv.gz")
	for _, name := range ModelNames {
		tr, err := TrainDataset(context.Background(), ds, TrainOptions{Model: name})
		if err != nil {
			t.Fatal(err)
		}
		card, model, err := LoadDefaultModel(name)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(tr.ONNX, model) {
			t.Errorf("%s: retrained ONNX differs from the bundled one (sha %s vs %s): run go test ./inference -run TestDefaultModels -update-models", name, tr.Card.SHA256, card.SHA256)
		}
		got, _ := tr.Card.Marshal()
		want, _ := fs.ReadFile(DefaultModels(), name+".json")
		if !bytes.Equal(got, want) {
			t.Errorf("%s: retrained card differs from the bundled one", name)
		}
	}
}
