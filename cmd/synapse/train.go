package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/synapse-trading/synapse/inference"
)

func cmdTrain(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("train", stderr)
	var files listFlag
	fs.Var(&files, "data", "market data file(s) to learn from: 1m kline CSVs (or captures); also accepted as arguments")
	model := fs.String("model", "", "model to train: "+strings.Join(inference.ModelNames, ", "))
	out := fs.String("out", "", "directory to write MODEL.onnx and the model card MODEL.json into")
	version := fs.String("version", "1", "version written in the model card")
	horizon := fs.Int("horizon", inference.DefaultHorizon, "label horizon in 1m candles")
	epochs := fs.Int("epochs", 30, "the most training epochs (early stopping may end sooner)")
	hidden := fs.Int("hidden", 16, "hidden units")
	seed := fs.Uint64("seed", 0, "random seed (0: the default; the same seed and data give the same bytes)")
	ortLib := fs.String("onnxruntime-lib", "", "ONNX Runtime's libonnxruntime.so.1, for the verification run")
	quiet := fs.Bool("quiet", false, "no progress lines")
	symbol := fs.String("symbol", "", "the symbol of every file, when the file names do not tell it (e.g. BTCUSDT)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: synapse train --data FILE... --model NAME --out DIR\n\ntrains NAME on the features of FILE (walk-forward split, no look-ahead), exports DIR/NAME.onnx, checks ONNX Runtime reproduces it, and writes the model card DIR/NAME.json")
		fs.PrintDefaults()
	}
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	files = append(files, pos...)
	switch {
	case len(files) == 0:
		fs.Usage()
		return fmt.Errorf("%w: --data FILE is required", errUsage)
	case *model == "":
		return fmt.Errorf("%w: --model is required: one of %s", errUsage, strings.Join(inference.ModelNames, ", "))
	case !slices.Contains(inference.ModelNames, *model):
		return fmt.Errorf("%w: --model %q: one of %s", errUsage, *model, strings.Join(inference.ModelNames, ", "))
	case *out == "":
		return fmt.Errorf("%w: --out DIR is required", errUsage)
	}
	if err := checkSymbols("--symbol", *symbol); err != nil {
		return err
	}
	for _, f := range []struct {
		name string
		v    int
	}{{"--horizon", *horizon}, {"--epochs", *epochs}, {"--hidden", *hidden}} {
		if f.v == 0 { // the options read 0 as "the default": said here, it is a mistake
			return fmt.Errorf("%w: %s 0: it must be at least 1 (leave it out for the default)", errUsage, f.name)
		}
	}
	opts := inference.TrainOptions{Symbol: *symbol, Model: *model, Version: *version, Horizon: *horizon, Epochs: *epochs, Hidden: *hidden, Seed: *seed, RuntimeLib: *ortLib}
	if !*quiet {
		opts.Progress = func(epoch int, trainLoss, holdoutLoss, validLoss float64) {
			fmt.Fprintf(stderr, "epoch %3d/%d  train loss %.5f  holdout loss %.5f (early stopping)  validation loss %.5f\n",
				epoch, *epochs, trainLoss, holdoutLoss, validLoss)
		}
	}
	trained, modelPath, cardPath, err := trainModel(ctx, files, opts, *out)
	if err != nil {
		return err
	}
	for _, s := range trained.Card.Symbols {
		if s.Missing > 0 {
			fmt.Fprintf(stderr, "synapse train: warning: %s 1m klines lack %d candle(s): the indicators run across the holes as if the candles were contiguous; %d row(s) whose label window spans them were left out\n",
				s.Symbol, s.Missing, s.Gaps)
		}
	}
	for _, w := range trained.Warnings {
		fmt.Fprintf(stderr, "synapse train: warning: %s\n", w)
	}
	metrics, _ := json.Marshal(trained.Card.Metrics.Validation)
	baseline, _ := json.Marshal(trained.Card.BaselineMetrics.Validation)
	fmt.Fprintf(stdout, "wrote %s and %s (verified with ONNX Runtime %s)\nvalidation %s → %s\n  model:    %s\n  baseline: %s\n",
		modelPath, cardPath, inference.RuntimeVersion(), trained.Card.ValidationRange.StartISO, trained.Card.ValidationRange.EndISO, metrics, baseline)
	return nil
}

// trainModel is training as `synapse train` and the engine's models.train runs do it: train
// on files (inference.Train: the walk-forward split, the fit, the ONNX export verified with
// ONNX Runtime, the card), then write out/NAME.onnx and out/NAME.json, each replaced whole.
// The card is written last: once it is there, the model beside it is complete.
func trainModel(ctx context.Context, files []string, opts inference.TrainOptions, out string) (trained *inference.Trained, modelPath, cardPath string, err error) {
	if trained, err = inference.Train(ctx, files, opts); err != nil {
		return nil, "", "", err
	}
	if modelPath, cardPath, err = trained.Write(out); err != nil {
		return nil, "", "", err
	}
	return trained, modelPath, cardPath, nil
}
