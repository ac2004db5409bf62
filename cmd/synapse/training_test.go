package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/synapse-trading/synapse/inference"
)

const trainingDay = recDir + "ETHUSDT-1m-2022-08-14.csv.gz"

// post sends a command to the engine at addr (run with --no-auth) and returns the status and
// the decoded answer.
func post(t *testing.T, addr, name, body string) (int, map[string]any) {
	t.Helper()
	resp, err := http.Post("http://"+addr+"/api/v1/commands/"+name, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

type trainingAnswer struct {
	Runs     []TrainingRun      `json:"runs"`
	Deployed []DeployedTraining `json:"deployed"`
}

func trainingRuns(t *testing.T, addr string) trainingAnswer {
	t.Helper()
	var a trainingAnswer
	if err := getJSON(addr, "/api/v1/queries/training", &a); err != nil {
		t.Fatal(err)
	}
	return a
}

// waitRun waits until the run id is in state and returns it.
func waitRun(t *testing.T, addr, id, state string, within time.Duration) TrainingRun {
	t.Helper()
	var run TrainingRun
	checkFor(t, within, func() error {
		for _, r := range trainingRuns(t, addr).Runs {
			if r.ID == id {
				run = r
				if r.State == state {
					return nil
				}
				return fmt.Errorf("run %s is %s (%s) %s", id, r.State, r.Stage, r.Reason)
			}
		}
		return fmt.Errorf("no run %s", id)
	})
	return run
}

func trainBody(model, out string, epochs int) string {
	return fmt.Sprintf(`{"model":%q,"data":[%q],"out":%q,"version":"7","epochs":%d,"seed":3}`, model, trainingDay, out, epochs)
}

// models.train through a real engine: refused with the field named when wrong, on the log
// when right, trained by the same code as `synapse train`, published as it goes, deployable,
// not trained again after a restart, and trained again when the engine stopped mid-run.
func TestTrainingRunsInTheEngine(t *testing.T) {
	dir, models := t.TempDir(), t.TempDir()
	out := filepath.Join(models, "direction-v7") // made by the run
	aFile := filepath.Join(models, "a-file")
	if err := os.WriteFile(aFile, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	args := []string{"--data-dir", dir, "--speed", "max", "--replay", trainingDay}
	addr, stop := runEngine(t, args...)

	// Bad arguments: 400 naming the field, nothing on the log.
	for body, field := range map[string]string{
		`{"data":["` + trainingDay + `"],"out":"` + out + `"}`:                                      "model",
		`{"model":"weather","data":["` + trainingDay + `"],"out":"` + out + `"}`:                    "model",
		`{"model":"direction","data":[],"out":"` + out + `"}`:                                       "data",
		`{"model":"direction","data":["/no/such/file.csv"],"out":"` + out + `"}`:                    "data[0]",
		`{"model":"direction","data":["` + trainingDay + `","` + models + `"],"out":"` + out + `"}`: "data[1]",
		`{"model":"direction","data":["` + trainingDay + `"]}`:                                      "out",
		`{"model":"direction","data":["` + trainingDay + `"],"out":"` + aFile + `/sub"}`:            "out",
		`{"model":"direction","data":["` + trainingDay + `"],"out":"` + out + `","epochs":5000}`:    "epochs",
		`{"model":"direction","data":["` + trainingDay + `"],"out":"` + out + `","epochs":-1}`:      "epochs",
		`{"model":"direction","data":["` + trainingDay + `"],"out":"` + out + `","horizon":-2}`:     "horizon",
		`{"model":"direction","data":["` + trainingDay + `"],"out":"` + out + `","epochs":0}`:       "epochs", // given: not 30 in silence
		`{"model":"direction","data":["` + trainingDay + `"],"out":"` + out + `","horizon":0}`:      "horizon",
		`{"model":"direction","data":["` + trainingDay + `"],"out":"` + out + `","version":""}`:     "version",
		`{"model":"direction","data":["` + trainingDay + `"],"out":"` + out + `","version":"a b"}`:  "version",
		`{"model":"direction","data":["` + trainingDay + `"],"out":"` + out + `","hidden":8}`:       "hidden",
		`{"model":"direction","data":"` + trainingDay + `","out":"` + out + `"}`:                    "data",
		`{"model":"direction","data":["` + trainingDay + `"],"out":"` + out + `","seed":"1"}`:       "seed",
	} {
		code, answer := post(t, addr, "models.train", body)
		if code != http.StatusBadRequest || answer["field"] != field {
			t.Errorf("%s: %d %v, want 400 naming %s", body, code, answer, field)
		}
	}
	if runs := trainingRuns(t, addr).Runs; len(runs) != 0 {
		t.Fatalf("refused commands made runs: %+v", runs)
	}
	if _, err := os.Stat(out); err == nil {
		t.Fatalf("a refused command made %s", out)
	}

	// A run: on the log, trained, published, its card records the command.
	code, answer := post(t, addr, "models.train", trainBody("direction", out, 3))
	if code != http.StatusAccepted {
		t.Fatalf("models.train: %d %v", code, answer)
	}
	id := answer["id"].(string)
	run := waitRun(t, addr, id, runDone, 60*time.Second)
	if run.Epoch < 1 || run.Epoch > 3 || run.MaxEpochs != 3 || len(run.TrainLoss) != run.Epoch || len(run.HoldoutLoss) != run.Epoch || len(run.ValidLoss) != run.Epoch {
		t.Errorf("done run: epoch %d/%d, curves %d %d %d", run.Epoch, run.MaxEpochs, len(run.TrainLoss), len(run.HoldoutLoss), len(run.ValidLoss))
	}
	if run.Rows == nil || run.Rows.Fit == 0 || run.Rows.Validation == 0 || run.Metrics == nil || run.BaselineMetrics == nil || run.Metrics.Accuracy == nil || run.BaselineMetrics.Accuracy == nil || run.Before ||
		run.Stage != "" || run.EpochsETAMS != nil {
		t.Errorf("done run without rows, metrics or baseline: %+v", run)
	}
	if run.Card != filepath.Join(out, "direction.json") || run.Version != "7" || run.Args.Out != out || run.ElapsedMS <= 0 {
		t.Errorf("done run: card %q version %q out %q elapsed %d", run.Card, run.Version, run.Args.Out, run.ElapsedMS)
	}
	var published TrainingRun // the page's topic says the same
	if err := getJSON(addr, "/api/v1/queries/state?topic=training/"+id, &published); err != nil || published.State != runDone || !slices.Equal(published.ValidLoss, run.ValidLoss) {
		t.Errorf("topic training/%s: %+v %v", id, published, err)
	}
	card, _, err := inference.LoadCard(run.Card)
	if err != nil {
		t.Fatal(err)
	}
	if card.Training.CommandID != id || card.Training.Epochs != run.Epoch || !slices.Equal(card.Training.TrainLoss, run.TrainLoss) || card.Version != "7" || card.Training.Seed != 3 {
		t.Errorf("card %+v for run %s", card.Training, id)
	}
	// The same arguments through `synapse train` give the same model: one trainer.
	cli := t.TempDir()
	if code, _, errs := synapse(t, "train", "--data", trainingDay, "--model", "direction", "--version", "7", "--epochs", "3", "--seed", "3", "--out", cli, "--quiet"); code != 0 {
		t.Fatal(errs)
	}
	cliONNX, _ := os.ReadFile(filepath.Join(cli, "direction.onnx"))
	runONNX, _ := os.ReadFile(filepath.Join(out, "direction.onnx"))
	if len(runONNX) == 0 || !bytes.Equal(cliONNX, runONNX) {
		t.Errorf("the engine's model (%d bytes) is not the CLI's (%d bytes)", len(runONNX), len(cliONNX))
	}

	// It deploys in shadow, and the query shows the shadow's curves.
	if code, answer := post(t, addr, "models.deploy", fmt.Sprintf(`{"model":"direction","dir":%q,"mode":"shadow"}`, out)); code != http.StatusAccepted {
		t.Fatalf("models.deploy of the run's model: %d %v", code, answer)
	}
	checkFor(t, 10*time.Second, func() error {
		for _, d := range trainingRuns(t, addr).Deployed {
			if d.Mode == "shadow" && d.Model == "direction" && d.Version == "7" && slices.Equal(d.Training.ValidLoss, run.ValidLoss) {
				return nil
			}
		}
		return fmt.Errorf("no shadow direction v7 in %+v", trainingRuns(t, addr).Deployed)
	})
	stop()

	// A restart: the run is done from its card, not trained again.
	before, err := os.Stat(run.Card)
	if err != nil {
		t.Fatal(err)
	}
	addr, stop = runEngine(t, args...)
	again := waitRun(t, addr, id, runDone, 30*time.Second)
	if !again.Before || !slices.Equal(again.ValidLoss, run.ValidLoss) || again.Metrics == nil {
		t.Errorf("after a restart: %+v", again)
	}
	if after, err := os.Stat(run.Card); err != nil || !after.ModTime().Equal(before.ModTime()) {
		t.Errorf("the card was written again after the restart: %v %v", before.ModTime(), after)
	}
	if printed := stop(); strings.Contains(printed, "training run started") {
		t.Errorf("the restart trained again:\n%s", printed)
	}

	// A run interrupted by a stop runs again at the next start; the one queued behind it
	// waits its turn, and both finish in order.
	blocked := make(chan string, 1)
	trainingEpochHook = func(ctx context.Context, runID string, epoch int) {
		blocked <- runID
		<-ctx.Done() // the engine stops in the middle of the run
	}
	addr, stop = runEngine(t, args...)
	outA, outB := filepath.Join(models, "a"), filepath.Join(models, "b")
	_, a := post(t, addr, "models.train", trainBody("direction", outA, 3))
	_, b := post(t, addr, "models.train", trainBody("range", outB, 2))
	idA, idB := a["id"].(string), b["id"].(string)
	select {
	case got := <-blocked:
		if got != idA {
			t.Fatalf("run %s trained first, not %s", got, idA)
		}
	case <-time.After(60 * time.Second):
		t.Fatal("the first run did not finish an epoch")
	}
	if mid := waitRun(t, addr, idA, runRunning, 5*time.Second); mid.Epoch != 1 || len(mid.TrainLoss) != 1 || mid.Rows == nil ||
		mid.Stage != stageEpochs || mid.EpochsETAMS == nil || *mid.EpochsETAMS < 0 {
		t.Errorf("a run in progress: %+v", mid)
	}
	waitRun(t, addr, idB, runQueued, 5*time.Second)
	stop()
	trainingEpochHook = nil
	for _, card := range []string{filepath.Join(outA, "direction.json"), filepath.Join(outB, "range.json")} {
		if _, err := os.Stat(card); err == nil {
			t.Fatalf("an interrupted or queued run wrote %s", card)
		}
	}
	addr, stop = runEngine(t, args...)
	defer stop()
	runA := waitRun(t, addr, idA, runDone, 60*time.Second)
	runB := waitRun(t, addr, idB, runDone, 60*time.Second)
	if runA.Before || runB.Before || runA.Finished > runB.Started || len(runB.TrainLoss) != runB.Epoch || runB.Epoch > 2 {
		t.Errorf("after the interruption: A %+v\nB %+v", runA, runB)
	}
	if c, _, err := inference.LoadCard(filepath.Join(outA, "direction.json")); err != nil || c.Training.CommandID != idA {
		t.Errorf("run A's card: %v %v", c, err)
	}
	if code, answer := post(t, addr, "models.deploy", fmt.Sprintf(`{"model":"range","dir":%q,"mode":"shadow"}`, outB)); code != http.StatusAccepted {
		t.Errorf("models.deploy of run B's model: %d %v", code, answer)
	}
}

// A run that fails puts its failure on the log: a restart shows it failed, with its reason
// and the stage it failed in, and does not try it again; a new run trains as any other.
func TestFailedTrainingRunIsNotTriedAgain(t *testing.T) {
	dir, models := t.TempDir(), t.TempDir()
	bad := filepath.Join(models, "not-klines.csv") // readable, so accepted, but named after no symbol
	if err := os.WriteFile(bad, []byte("this is not a kline\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	args := []string{"--data-dir", dir, "--speed", "max", "--replay", trainingDay}
	addr, stop := runEngine(t, args...)
	code, answer := post(t, addr, "models.train", fmt.Sprintf(`{"model":"direction","data":[%q],"out":%q,"epochs":2}`, bad, filepath.Join(models, "bad")))
	if code != http.StatusAccepted {
		t.Fatalf("models.train: %d %v", code, answer)
	}
	id := answer["id"].(string)
	failed := waitRun(t, addr, id, runFailed, 60*time.Second)
	if !strings.Contains(failed.Reason, "symbol") || failed.Stage != stageData || failed.Before || failed.Started == 0 || failed.Finished < failed.Started || failed.EpochsETAMS != nil {
		t.Errorf("the failed run: %+v", failed)
	}
	stop()

	addr, stop = runEngine(t, args...)
	again := waitRun(t, addr, id, runFailed, 30*time.Second)
	if !again.Before || again.Reason != failed.Reason || again.Stage != failed.Stage || again.Started != failed.Started ||
		again.Finished != failed.Finished || again.ElapsedMS != failed.Finished-failed.Started {
		t.Errorf("after a restart: %+v\nbefore it: %+v", again, failed)
	}
	var published TrainingRun // the page's topic says the same
	if err := getJSON(addr, "/api/v1/queries/state?topic=training/"+id, &published); err != nil || published.State != runFailed || published.Reason != failed.Reason || !published.Before {
		t.Errorf("topic training/%s: %+v %v", id, published, err)
	}
	out := filepath.Join(models, "good")
	_, answer = post(t, addr, "models.train", trainBody("direction", out, 1))
	good := waitRun(t, addr, answer["id"].(string), runDone, 60*time.Second)
	if good.Before || good.Card != filepath.Join(out, "direction.json") {
		t.Errorf("a new run after the failed one: %+v", good)
	}
	if runs := trainingRuns(t, addr).Runs; len(runs) != 2 || runs[0].State != runFailed || runs[1].State != runDone {
		t.Errorf("runs: %+v", runs)
	}
	printed := stop()
	for _, line := range strings.Split(printed, "\n") {
		if strings.Contains(line, "training run started") && strings.Contains(line, id) {
			t.Errorf("the restart tried the failed run again: %s", line)
		}
	}
}
