package inference

import (
	"bytes"
	"errors"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

func initRuntime(t testing.TB) {
	t.Helper()
	if err := InitRuntime(""); err != nil {
		t.Fatalf("ONNX Runtime: %v", err)
	}
}

func randomMLP(seed uint64, sizes []int, acts []Activation) *MLP {
	r := rand.New(rand.NewPCG(seed, 1))
	m := &MLP{}
	for i := 0; i < sizes[0]; i++ {
		m.Mean = append(m.Mean, float32(r.NormFloat64()))
		m.Std = append(m.Std, float32(0.5+r.Float64()))
	}
	for i := 1; i < len(sizes); i++ {
		l := Dense{In: sizes[i-1], Out: sizes[i], Activation: acts[i-1]}
		for j := 0; j < l.In*l.Out; j++ {
			l.W = append(l.W, float32(r.NormFloat64()/math.Sqrt(float64(l.In))))
		}
		for j := 0; j < l.Out; j++ {
			l.B = append(l.B, float32(r.NormFloat64()*0.1))
		}
		m.Layers = append(m.Layers, l)
	}
	return m
}

// The exported graph, run by ONNX Runtime, computes what the Go forward pass computes.
func TestExportedModelRunsInONNXRuntime(t *testing.T) {
	initRuntime(t)
	for name, c := range map[string]struct {
		sizes []int
		acts  []Activation
	}{
		"classifier": {[]int{23, 16, 1}, []Activation{ReLU, Sigmoid}},
		"regressor":  {[]int{23, 16, 2}, []Activation{Tanh, Linear}},
		"deep":       {[]int{5, 8, 8, 3}, []Activation{ReLU, Tanh, Linear}},
	} {
		t.Run(name, func(t *testing.T) {
			m := randomMLP(7, c.sizes, c.acts)
			data, err := ExportONNX(m, "features", "output")
			if err != nil {
				t.Fatal(err)
			}
			again, _ := ExportONNX(m, "features", "output")
			if !bytes.Equal(data, again) {
				t.Fatal("export is not deterministic")
			}
			s, err := NewSession(data, m.Inputs(), m.Outputs(), SessionOptions{})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			r := rand.New(rand.NewPCG(3, 4))
			const rows = 257
			in := make([]float32, rows*m.Inputs())
			for i := range in {
				in[i] = float32(r.NormFloat64() * 3)
			}
			out, err := s.Run(in, rows)
			if err != nil {
				t.Fatal(err)
			}
			for i := 0; i < rows; i++ {
				want := m.Forward(in[i*m.Inputs() : (i+1)*m.Inputs()])
				for j, w := range want {
					if got := out[i*m.Outputs()+j]; math.Abs(float64(got-w)) > 1e-5*math.Max(1, math.Abs(float64(w))) {
						t.Fatalf("row %d output %d: ORT %v, Go %v", i, j, got, w)
					}
				}
			}
		})
	}
}

func TestSessionRejectsBadInput(t *testing.T) {
	initRuntime(t)
	m := randomMLP(1, []int{4, 3, 1}, []Activation{ReLU, Sigmoid})
	data, _ := ExportONNX(m, "features", "output")
	if _, err := NewSession(data, 5, 1, SessionOptions{}); !errors.Is(err, ErrBadModel) {
		t.Fatalf("wrong input width: %v", err)
	}
	if _, err := NewSession([]byte("not onnx"), 4, 1, SessionOptions{}); !errors.Is(err, ErrRuntime) {
		t.Fatalf("garbage model: %v", err)
	}
	if _, err := NewSession(data, 4, 1, SessionOptions{Provider: "tpu"}); !errors.Is(err, ErrRuntime) {
		t.Fatalf("unknown provider: %v", err)
	}
	s, err := NewSession(data, 4, 1, SessionOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.Run(make([]float32, 7), 2); !errors.Is(err, ErrShape) {
		t.Fatalf("wrong shape: %v", err)
	}
	bad := *m
	bad.Std = bad.Std[:2]
	if _, err := ExportONNX(&bad, "features", "output"); !errors.Is(err, ErrBadModel) {
		t.Fatalf("inconsistent model: %v", err)
	}
}

func TestCUDAUnavailableFailsOrFallsBack(t *testing.T) {
	initRuntime(t)
	m := randomMLP(1, []int{4, 3, 1}, []Activation{ReLU, Sigmoid})
	data, _ := ExportONNX(m, "features", "output")
	s, err := NewSession(data, 4, 1, SessionOptions{Provider: "cuda"})
	if err == nil { // a machine with CUDA and a GPU build of ONNX Runtime
		defer s.Close()
		if s.Provider() != "cuda" {
			t.Fatalf("provider %q", s.Provider())
		}
		return
	}
	if !errors.Is(err, ErrRuntime) || !strings.Contains(err.Error(), "make onnxruntime-gpu") {
		t.Fatalf("cuda without a GPU build: %v (want ErrRuntime naming the fix)", err)
	}
	s, err = NewSession(data, 4, 1, SessionOptions{Provider: "cuda", FallbackToCPU: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if s.Provider() != "cpu" {
		t.Fatalf("fell back to %q", s.Provider())
	}
}
