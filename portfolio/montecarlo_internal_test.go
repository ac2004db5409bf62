package portfolio

import (
	"math/rand/v2"
	"slices"
	"testing"
)

func TestPercentile(t *testing.T) {
	s := []float64{1, 2, 3, 4, 5}
	for q, want := range map[float64]float64{0: 1, 0.05: 1.2, 0.25: 2, 0.5: 3, 0.75: 4, 0.95: 4.8, 1: 5} {
		if got := percentile(s, q); got != want && (got-want > 1e-12 || want-got > 1e-12) {
			t.Errorf("percentile %v: %v, want %v", q, got, want)
		}
	}
	if got := percentile([]float64{7}, 0.95); got != 7 {
		t.Errorf("one value: %v", got)
	}
}

func TestSelectRanks(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, n := range []int{1, 2, 5, 17, 100, 1001, 10000} {
		for _, dups := range []int{0, 3} {
			a := make([]float64, n)
			for i := range a {
				if dups > 0 {
					a[i] = float64(rng.IntN(dups))
				} else {
					a[i] = rng.NormFloat64()
				}
			}
			want := slices.Clone(a)
			slices.Sort(want)
			ranks := []int{0, n / 20, n / 4, n / 2, n - 1}
			slices.Sort(ranks)
			ranks = slices.Compact(ranks)
			selectRanks(a, ranks)
			for _, k := range ranks {
				if a[k] != want[k] {
					t.Fatalf("n %d dups %d: rank %d is %v, want %v", n, dups, k, a[k], want[k])
				}
			}
		}
	}
}
