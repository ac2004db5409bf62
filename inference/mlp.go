package inference

import (
	"fmt"
	"math"
)

// Activation is the non-linearity after a dense layer.
type Activation string

// The activations the exporter can write as ONNX operators.
const (
	Linear  Activation = "linear"  // none
	ReLU    Activation = "relu"    // Relu
	Tanh    Activation = "tanh"    // Tanh
	Sigmoid Activation = "sigmoid" // Sigmoid
)

// Dense is one fully connected layer: y = act(W·x + b), W with Out rows of In weights
// (row-major: W[o*In+i]).
type Dense struct {
	In, Out    int
	W          []float32
	B          []float32
	Activation Activation
}

// MLP is a multi-layer perceptron over a fixed, ordered feature vector, with input
// standardisation folded in (x' = (x - Mean) / Std, element-wise) so that the ONNX graph
// takes raw features. It is what training produces and what the exporter writes.
type MLP struct {
	Mean, Std []float32 // len = Layers[0].In
	Layers    []Dense
}

// Inputs is the width of the input vector; Outputs the width of the output.
func (m *MLP) Inputs() int  { return m.Layers[0].In }
func (m *MLP) Outputs() int { return m.Layers[len(m.Layers)-1].Out }

// Check reports the first inconsistency in the shapes of m.
func (m *MLP) Check() error {
	if len(m.Layers) == 0 {
		return fmt.Errorf("%w: no layers", ErrBadModel)
	}
	if len(m.Mean) != m.Inputs() || len(m.Std) != m.Inputs() {
		return fmt.Errorf("%w: %d means and %d deviations for %d inputs", ErrBadModel, len(m.Mean), len(m.Std), m.Inputs())
	}
	for i, l := range m.Layers {
		if l.In <= 0 || l.Out <= 0 || len(l.W) != l.In*l.Out || len(l.B) != l.Out {
			return fmt.Errorf("%w: layer %d: %d×%d with %d weights and %d biases", ErrBadModel, i, l.Out, l.In, len(l.W), len(l.B))
		}
		if i > 0 && l.In != m.Layers[i-1].Out {
			return fmt.Errorf("%w: layer %d takes %d inputs, layer %d gives %d", ErrBadModel, i, l.In, i-1, m.Layers[i-1].Out)
		}
		switch l.Activation {
		case Linear, ReLU, Tanh, Sigmoid:
		default:
			return fmt.Errorf("%w: layer %d: unknown activation %q", ErrBadModel, i, l.Activation)
		}
	}
	return nil
}

// Forward runs the model on one input vector in float32, the arithmetic ONNX Runtime uses.
func (m *MLP) Forward(x []float32) []float32 {
	a := make([]float32, len(x))
	for i, v := range x {
		a[i] = (v - m.Mean[i]) / m.Std[i]
	}
	for _, l := range m.Layers {
		out := make([]float32, l.Out)
		for o := 0; o < l.Out; o++ {
			s := l.B[o]
			row := l.W[o*l.In : (o+1)*l.In]
			for i, w := range row {
				s += w * a[i]
			}
			out[o] = activate(l.Activation, s)
		}
		a = out
	}
	return a
}

func activate(act Activation, s float32) float32 {
	switch act {
	case ReLU:
		return max(s, 0)
	case Tanh:
		return float32(math.Tanh(float64(s)))
	case Sigmoid:
		return float32(1 / (1 + math.Exp(-float64(s))))
	}
	return s
}
