package inference

import (
	"encoding/json"
	"math"
	"testing"
)

func near(a, b float64) bool { return math.Abs(a-b) < 1e-12 }

func TestClassifierMetricsByHand(t *testing.T) {
	y := []float64{0, 0, 1, 1}
	// Positives ranked 2 and 4 of 4: U = 6 - 3 = 3 of 4 pairs.
	if got := AUC([]float64{0.1, 0.4, 0.35, 0.8}, y); !near(got, 0.75) {
		t.Errorf("AUC = %g, want 0.75", got)
	}
	// A tie between a positive and a negative counts half: (0.5 + 1 + 1 + 1) / 4.
	if got := AUC([]float64{0.2, 0.5, 0.5, 0.9}, y); !near(got, 0.875) {
		t.Errorf("AUC with a tie = %g, want 0.875", got)
	}
	if got := AUC([]float64{0.3, 0.3, 0.3, 0.3}, y); !near(got, 0.5) {
		t.Errorf("AUC of a constant = %g, want 0.5", got)
	}
	if got := AUC([]float64{0.9, 0.8, 0.2, 0.1}, y); !near(got, 0) {
		t.Errorf("AUC reversed = %g, want 0", got)
	}
	if got := AUC([]float64{0.1, 0.2}, []float64{1, 1}); !math.IsNaN(got) {
		t.Errorf("AUC of one class = %g, want NaN", got)
	}
	// 0.5 reads 1: rows 2 (0.4→0 right), 3 (0.5→1 right), 1 (0.6→1 wrong), 4 (0.1→0 wrong).
	if got := Accuracy([]float64{0.6, 0.4, 0.5, 0.1}, y); !near(got, 0.5) {
		t.Errorf("accuracy = %g, want 0.5", got)
	}
	if got := LogLoss([]float64{0.5, 0.5}, []float64{0, 1}); !near(got, math.Ln2) {
		t.Errorf("log loss = %g, want ln 2", got)
	}
	if got := LogLoss([]float64{0.8}, []float64{0}); !near(got, -math.Log(0.2)) {
		t.Errorf("log loss = %g, want -ln 0.2", got)
	}
}

func TestRegressorMetricsByHand(t *testing.T) {
	y, pred := []float64{1, 2, 3}, []float64{1, 2, 4}
	// Σ(y-pred)² = 1, Σ(y-2)² = 2.
	if got := R2(pred, y); !near(got, 0.5) {
		t.Errorf("R² = %g, want 0.5", got)
	}
	if got := MAE(pred, y); !near(got, 1.0/3) {
		t.Errorf("MAE = %g, want 1/3", got)
	}
	if got := R2([]float64{2, 2, 2}, y); !near(got, 0) {
		t.Errorf("R² of the mean = %g, want 0", got)
	}
	if got := R2(pred, []float64{5, 5, 5}); !math.IsNaN(got) {
		t.Errorf("R² of constant targets = %g, want NaN", got)
	}
}

func TestBaselines(t *testing.T) {
	// Training base rate 0.3: the baseline answers 0 everywhere.
	s := BaselineClassifierScores(0.3, []float64{1, 1, 0})
	if !near(float64(*s.Accuracy), 1.0/3) || !near(float64(*s.AUC), 0.5) || !near(float64(*s.PositiveRate), 2.0/3) || s.Rows != 3 {
		t.Errorf("classifier baseline %+v", s)
	}
	r := BaselineRegressorScores([]float64{2, 10}, [][]float64{{1, 10}, {3, 10}}, []string{"high", "low"})
	if r.Outputs[0].Name != "high" || !near(float64(r.Outputs[0].R2), 0) || !near(float64(r.Outputs[0].MAE), 1) ||
		!math.IsNaN(float64(r.Outputs[1].R2)) || !near(float64(r.Outputs[1].MAE), 0) {
		t.Errorf("regressor baseline %+v", r)
	}
}

// NaN metrics are null in JSON and read back as NaN.
func TestNumJSON(t *testing.T) {
	data, err := json.Marshal([]Num{0.25, Num(math.NaN()), Num(math.Inf(1))})
	if err != nil || string(data) != "[0.25,null,null]" {
		t.Fatalf("%s %v", data, err)
	}
	var back []Num
	if err := json.Unmarshal(data, &back); err != nil || back[0] != 0.25 || !math.IsNaN(float64(back[1])) {
		t.Fatalf("%v %v", back, err)
	}
}

func BenchmarkAUC(b *testing.B) {
	p, y := make([]float64, 16000), make([]float64, 16000)
	for i := range p {
		p[i], y[i] = float64(i*7919%16000)/16000, float64(i%2)
	}
	for b.Loop() {
		AUC(p, y)
	}
}
