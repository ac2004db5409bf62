package inference

import (
	"context"
	"math/rand/v2"
	"reflect"
	"testing"
)

// synthetic returns rows whose label is 1 when x0 + x1 > 0.
func synthetic(n int, seed uint64) Samples {
	r := rand.New(rand.NewPCG(seed, 2))
	s := Samples{}
	for range n {
		x := []float64{r.NormFloat64(), r.NormFloat64() * 3, r.NormFloat64()}
		y := 0.0
		if x[0]+x[1]/3 > 0 {
			y = 1
		}
		s.X, s.Y = append(s.X, x), append(s.Y, []float64{y})
	}
	return s
}

// Backprop works: a separable problem is learnt almost perfectly.
func TestFitLearnsASeparableProblem(t *testing.T) {
	fit, hold, valid := synthetic(2000, 1), synthetic(300, 2), synthetic(500, 3)
	var epochs int
	res, err := Fit(context.Background(), fit, hold, valid, FitConfig{Loss: BCE, Epochs: 40, Seed: 7,
		Progress: func(epoch int, trainLoss, holdoutLoss, validLoss float64) { epochs = epoch }})
	if err != nil {
		t.Fatal(err)
	}
	p := make([]float64, len(valid.X))
	for i, x := range valid.X {
		p[i] = float64(res.MLP.Forward(f32(x))[0])
	}
	if acc := Accuracy(p, column(valid.Y, 0)); acc < 0.95 {
		t.Fatalf("validation accuracy %g, want ≥ 0.95", acc)
	}
	if epochs != res.Epochs || len(res.TrainLoss) != epochs || len(res.ValidLoss) != epochs || res.BestEpoch < 1 {
		t.Fatalf("epochs %d, result %d, best %d, %d losses", epochs, res.Epochs, res.BestEpoch, len(res.TrainLoss))
	}
	if res.TrainLoss[len(res.TrainLoss)-1] >= res.TrainLoss[0] {
		t.Fatalf("training loss went from %g to %g", res.TrainLoss[0], res.TrainLoss[len(res.TrainLoss)-1])
	}
}

// A regressor learns small targets (0.003·x0 - 0.001, 0.0005·x1 - 0.002) through the folded target scaling.
func TestFitRegressorFoldsTargetScaling(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	mk := func(n int) Samples {
		s := Samples{}
		for range n {
			x0, x1 := r.NormFloat64(), r.NormFloat64()
			s.X, s.Y = append(s.X, []float64{x0, x1}), append(s.Y, []float64{0.003*x0 - 0.001, 0.0005*x1 - 0.002})
		}
		return s
	}
	fit, hold, valid := mk(2000), mk(300), mk(300)
	res, err := Fit(context.Background(), fit, hold, valid, FitConfig{Loss: MSE, Epochs: 40, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	pred := make([][]float64, len(valid.X))
	for i, x := range valid.X {
		out := res.MLP.Forward(f32(x))
		pred[i] = []float64{float64(out[0]), float64(out[1])}
	}
	sc := RegressorScores(pred, valid.Y, []string{"a", "b"})
	if sc.Outputs[0].R2 < 0.95 || sc.Outputs[1].R2 < 0.95 {
		t.Fatalf("scores %+v", sc.Outputs)
	}
}

func TestFitIsDeterministic(t *testing.T) {
	fit, hold, valid := synthetic(500, 1), synthetic(100, 2), synthetic(100, 3)
	cfg := FitConfig{Loss: BCE, Epochs: 5, Seed: 42}
	a, err := Fit(context.Background(), fit, hold, valid, cfg)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := Fit(context.Background(), fit, hold, valid, cfg)
	if !reflect.DeepEqual(a.MLP, b.MLP) || !reflect.DeepEqual(a.TrainLoss, b.TrainLoss) {
		t.Fatal("two runs with one seed differ")
	}
	cfg.Seed = 43
	c, _ := Fit(context.Background(), fit, hold, valid, cfg)
	if reflect.DeepEqual(a.MLP, c.MLP) {
		t.Fatal("another seed gave the same weights")
	}
}

func TestFitRejectsBadInput(t *testing.T) {
	s := synthetic(10, 1)
	for name, c := range map[string]struct {
		fit, hold Samples
		cfg       FitConfig
	}{
		"no loss":       {s, s, FitConfig{}},
		"no fit rows":   {Samples{}, s, FitConfig{Loss: BCE}},
		"ragged row":    {Samples{X: [][]float64{{1, 2, 3}, {1}}, Y: [][]float64{{0}, {1}}}, s, FitConfig{Loss: BCE}},
		"sigmoid layer": {s, s, FitConfig{Loss: BCE, Activation: Sigmoid}},
	} {
		if _, err := Fit(context.Background(), c.fit, c.hold, Samples{}, c.cfg); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Fit(ctx, s, s, Samples{}, FitConfig{Loss: BCE}); err == nil {
		t.Error("a cancelled context trained")
	}
}

func BenchmarkFitEpoch(b *testing.B) {
	fit, hold := synthetic(10000, 1), synthetic(100, 2)
	for b.Loop() {
		if _, err := Fit(context.Background(), fit, hold, Samples{}, FitConfig{Loss: BCE, Epochs: 1}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(10000*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
}
