package inference

import (
	"math"
	"sort"
	"strconv"
)

// Num is a metric value; in JSON a NaN or infinity (an AUC with one class only, an R² of
// constant labels) is written as null and read back as NaN.
type Num float64

// MarshalJSON writes the shortest decimal that reads back the same float64, or null.
func (n Num) MarshalJSON() ([]byte, error) {
	f := float64(n)
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return []byte("null"), nil
	}
	return strconv.AppendFloat(nil, f, 'g', -1, 64), nil
}

// UnmarshalJSON reads a number, or null as NaN.
func (n *Num) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*n = Num(math.NaN())
		return nil
	}
	f, err := strconv.ParseFloat(string(b), 64)
	*n = Num(f)
	return err
}

// Accuracy is the fraction of rows whose probability p, thresholded at 0.5 (p ≥ 0.5 reads
// 1), equals the 0/1 label y.
func Accuracy(p, y []float64) float64 {
	if len(y) == 0 {
		return math.NaN()
	}
	right := 0
	for i := range y {
		if (p[i] >= 0.5) == (y[i] >= 0.5) {
			right++
		}
	}
	return float64(right) / float64(len(y))
}

// AUC is the area under the ROC curve of scores p for 0/1 labels y, computed exactly from
// ranks (the Mann-Whitney U statistic) with tied scores given their average rank. It is NaN
// when y holds only one class.
func AUC(p, y []float64) float64 {
	idx := make([]int, len(p))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return p[idx[a]] < p[idx[b]] })
	var rankSumPos float64
	var pos, neg int
	for i := 0; i < len(idx); {
		j := i
		for j < len(idx) && p[idx[j]] == p[idx[i]] {
			j++
		}
		avgRank := float64(i+1+j) / 2 // ranks i+1..j, 1-based
		for k := i; k < j; k++ {
			if y[idx[k]] >= 0.5 {
				rankSumPos += avgRank
				pos++
			} else {
				neg++
			}
		}
		i = j
	}
	if pos == 0 || neg == 0 {
		return math.NaN()
	}
	u := rankSumPos - float64(pos)*float64(pos+1)/2
	return u / (float64(pos) * float64(neg))
}

// LogLoss is the mean binary cross-entropy of probabilities p for 0/1 labels y, with p
// clipped to [1e-12, 1-1e-12].
func LogLoss(p, y []float64) float64 {
	if len(y) == 0 {
		return math.NaN()
	}
	var s float64
	for i := range y {
		q := min(max(p[i], 1e-12), 1-1e-12)
		if y[i] >= 0.5 {
			s -= math.Log(q)
		} else {
			s -= math.Log(1 - q)
		}
	}
	return s / float64(len(y))
}

// R2 is the coefficient of determination of predictions pred for targets y:
// 1 - Σ(y-pred)² / Σ(y-mean(y))². NaN when y is constant.
func R2(pred, y []float64) float64 {
	if len(y) == 0 {
		return math.NaN()
	}
	var mean float64
	for _, v := range y {
		mean += v
	}
	mean /= float64(len(y))
	var res, tot float64
	for i, v := range y {
		res += (v - pred[i]) * (v - pred[i])
		tot += (v - mean) * (v - mean)
	}
	if tot == 0 {
		return math.NaN()
	}
	return 1 - res/tot
}

// MAE is the mean absolute error of pred for y.
func MAE(pred, y []float64) float64 {
	if len(y) == 0 {
		return math.NaN()
	}
	var s float64
	for i, v := range y {
		s += math.Abs(v - pred[i])
	}
	return s / float64(len(y))
}

// Scores are the metrics of one model (or baseline) on one range of rows: the classifier
// fields for a classifier, Outputs for a regressor.
type Scores struct {
	Rows         int           `json:"rows"`
	PositiveRate *Num          `json:"positive_rate,omitempty"` // share of 1 labels
	Accuracy     *Num          `json:"accuracy,omitempty"`
	AUC          *Num          `json:"auc,omitempty"`
	LogLoss      *Num          `json:"log_loss,omitempty"`
	Outputs      []OutputScore `json:"outputs,omitempty"`
}

// OutputScore are a regressor's metrics on one output.
type OutputScore struct {
	Name string `json:"name"`
	R2   Num    `json:"r2"`
	MAE  Num    `json:"mae"`
}

// RangeScores are the scores on the training and validation ranges.
type RangeScores struct {
	Train      Scores `json:"train"`
	Validation Scores `json:"validation"`
}

func num(f float64) *Num { n := Num(f); return &n }

// ClassifierScores scores probabilities p for 0/1 labels y.
func ClassifierScores(p, y []float64) Scores {
	return Scores{Rows: len(y), PositiveRate: num(mean(y)), Accuracy: num(Accuracy(p, y)), AUC: num(AUC(p, y)), LogLoss: num(LogLoss(p, y))}
}

// RegressorScores scores predictions pred[row][output] for targets y[row][output], one
// OutputScore per name.
func RegressorScores(pred, y [][]float64, names []string) Scores {
	s := Scores{Rows: len(y)}
	for o, name := range names {
		pc, yc := column(pred, o), column(y, o)
		s.Outputs = append(s.Outputs, OutputScore{Name: name, R2: Num(R2(pc, yc)), MAE: Num(MAE(pc, yc))})
	}
	return s
}

// BaselineClassifierScores scores the naive classifier that always answers the training
// base rate: its AUC is 0.5 (every score tied) and its accuracy is the share of y equal to
// the training majority class.
func BaselineClassifierScores(trainRate float64, y []float64) Scores {
	p := make([]float64, len(y))
	for i := range p {
		p[i] = trainRate
	}
	return ClassifierScores(p, y)
}

// BaselineRegressorScores scores the naive regressor that always answers the training mean
// of each output.
func BaselineRegressorScores(trainMean []float64, y [][]float64, names []string) Scores {
	pred := make([][]float64, len(y))
	for i := range pred {
		pred[i] = trainMean
	}
	return RegressorScores(pred, y, names)
}

func mean(v []float64) float64 {
	if len(v) == 0 {
		return math.NaN()
	}
	var s float64
	for _, x := range v {
		s += x
	}
	return s / float64(len(v))
}

func column(m [][]float64, c int) []float64 {
	out := make([]float64, len(m))
	for i, r := range m {
		out[i] = r[c]
	}
	return out
}
