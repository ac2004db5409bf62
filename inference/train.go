package inference

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
)

// Loss is what training minimises.
type Loss string

// The losses Fit knows.
const (
	// BCE is binary cross-entropy on a Sigmoid output: for 0/1 labels (classifiers).
	BCE Loss = "bce"
	// MSE is the mean squared error on a Linear output, computed on targets standardised with
	// the training mean and deviation (folded back into the last layer afterwards): for
	// regressors.
	MSE Loss = "mse"
)

// FitConfig configures Fit; zero values take the defaults in brackets.
type FitConfig struct {
	Loss         Loss
	Hidden       int        // hidden units [16]
	Activation   Activation // of the hidden layer [Tanh]
	Epochs       int        // the most passes over the fit rows [30]
	BatchSize    int        // rows per Adam step [128]
	LearningRate float64    // Adam's step size [0.001]
	Patience     int        // epochs without a better holdout loss before stopping [5]
	Seed         uint64     // of weight initialisation and shuffling
	// Progress, when set, is called after every epoch with the mean training loss, the loss
	// on the holdout rows (what early stopping looks at) and on the validation rows (shown
	// only: nothing is chosen by it).
	Progress func(epoch int, trainLoss, holdoutLoss, validLoss float64)
}

func (c *FitConfig) defaults() error {
	if c.Hidden == 0 {
		c.Hidden = 16
	}
	if c.Activation == "" {
		c.Activation = Tanh
	}
	if c.Epochs == 0 {
		c.Epochs = 30
	}
	if c.BatchSize == 0 {
		c.BatchSize = 128
	}
	if c.LearningRate == 0 {
		c.LearningRate = 0.001
	}
	if c.Patience == 0 {
		c.Patience = 5
	}
	switch {
	case c.Loss != BCE && c.Loss != MSE:
		return fmt.Errorf("loss %q: use %q or %q", c.Loss, BCE, MSE)
	case c.Activation != ReLU && c.Activation != Tanh:
		return fmt.Errorf("hidden activation %q: use %q or %q", c.Activation, ReLU, Tanh)
	case c.Hidden < 1 || c.Hidden > 1024:
		return fmt.Errorf("hidden units %d: use 1 to 1024", c.Hidden)
	case c.Epochs < 1 || c.Epochs > 10000:
		return fmt.Errorf("epochs %d: use 1 to 10000", c.Epochs)
	case c.BatchSize < 1:
		return fmt.Errorf("batch size %d: use at least 1", c.BatchSize)
	case !(c.LearningRate > 0 && c.LearningRate < 1):
		return fmt.Errorf("learning rate %g: use a value between 0 and 1", c.LearningRate)
	case c.Patience < 1:
		return fmt.Errorf("patience %d: use at least 1", c.Patience)
	}
	return nil
}

// Samples are inputs X[row][feature] and targets Y[row][output].
type Samples struct {
	X, Y [][]float64
}

// Fitted is what Fit returns.
type Fitted struct {
	MLP *MLP
	// Epochs is how many epochs ran; BestEpoch (1-based) the one whose weights were kept.
	Epochs, BestEpoch int
	// Loss curves, one value per epoch: mean loss over the fit rows during the epoch, and
	// the loss of the end-of-epoch weights on the holdout and validation rows. MSE curves
	// are in standardised target units.
	TrainLoss, HoldoutLoss, ValidLoss []float64
}

// net is the float64 network being trained: one hidden layer and an output layer.
type net struct {
	in, hidden, out int
	act             Activation
	outAct          Activation
	w1, b1, w2, b2  []float64 // w1: hidden×in, w2: out×hidden, row-major
}

func (n *net) params() [][]float64 { return [][]float64{n.w1, n.b1, n.w2, n.b2} }

func (n *net) clone() *net {
	c := *n
	c.w1, c.b1, c.w2, c.b2 = append([]float64(nil), n.w1...), append([]float64(nil), n.b1...),
		append([]float64(nil), n.w2...), append([]float64(nil), n.b2...)
	return &c
}

// forward computes the hidden activations h and the outputs y of one standardised input.
func (n *net) forward(x, h, y []float64) {
	for j := range n.hidden {
		s := n.b1[j]
		row := n.w1[j*n.in : (j+1)*n.in]
		for i, w := range row {
			s += w * x[i]
		}
		h[j] = act64(n.act, s)
	}
	for o := range n.out {
		s := n.b2[o]
		row := n.w2[o*n.hidden : (o+1)*n.hidden]
		for j, w := range row {
			s += w * h[j]
		}
		y[o] = act64(n.outAct, s)
	}
}

func act64(a Activation, s float64) float64 {
	switch a {
	case ReLU:
		return max(s, 0)
	case Tanh:
		return math.Tanh(s)
	case Sigmoid:
		return 1 / (1 + math.Exp(-s))
	}
	return s
}

// lossOf is the loss of one output vector y for target t.
func lossOf(l Loss, y, t []float64) float64 {
	var s float64
	for o := range y {
		if l == BCE {
			q := min(max(y[o], 1e-12), 1-1e-12)
			s -= t[o]*math.Log(q) + (1-t[o])*math.Log(1-q)
		} else {
			s += (y[o] - t[o]) * (y[o] - t[o])
		}
	}
	return s / float64(len(y))
}

// Fit trains a one-hidden-layer MLP with Adam on the fit rows, keeping the weights of the
// epoch with the lowest holdout loss (early stopping), and returns it as a float32 MLP whose
// input standardisation (Mean, Std) comes from the fit and holdout rows together: the
// training range only. The same inputs and Seed give the same weights, bit for bit.
func Fit(ctx context.Context, fit, holdout, valid Samples, cfg FitConfig) (*Fitted, error) {
	if err := cfg.defaults(); err != nil {
		return nil, err
	}
	if len(fit.X) == 0 || len(holdout.X) == 0 || len(fit.X) != len(fit.Y) || len(holdout.X) != len(holdout.Y) || len(valid.X) != len(valid.Y) {
		return nil, fmt.Errorf("%w: need fit and holdout rows with one target each (got %d/%d fit, %d/%d holdout)",
			ErrNotEnoughData, len(fit.X), len(fit.Y), len(holdout.X), len(holdout.Y))
	}
	in, out := len(fit.X[0]), len(fit.Y[0])
	for _, s := range []Samples{fit, holdout, valid} {
		for r := range s.X {
			if len(s.X[r]) != in || len(s.Y[r]) != out || in == 0 || out == 0 {
				return nil, fmt.Errorf("%w: row %d has %d inputs and %d targets; the first fit row has %d and %d",
					ErrShape, r, len(s.X[r]), len(s.Y[r]), in, out)
			}
		}
	}

	// Standardisation of the inputs (and, for MSE, the targets) on the training range.
	train := Samples{X: append(append([][]float64{}, fit.X...), holdout.X...), Y: append(append([][]float64{}, fit.Y...), holdout.Y...)}
	xMean, xStd := meanStd(train.X, in)
	yMean, yStd := make([]float64, out), make([]float64, out)
	for o := range yStd {
		yStd[o] = 1
	}
	outAct := Sigmoid
	if cfg.Loss == MSE {
		yMean, yStd = meanStd(train.Y, out)
		outAct = Linear
	}
	prep := func(s Samples) Samples {
		p := Samples{X: make([][]float64, len(s.X)), Y: make([][]float64, len(s.Y))}
		for r := range s.X {
			p.X[r], p.Y[r] = make([]float64, in), make([]float64, out)
			for i, v := range s.X[r] {
				p.X[r][i] = (v - xMean[i]) / xStd[i]
			}
			for o, v := range s.Y[r] {
				p.Y[r][o] = (v - yMean[o]) / yStd[o]
			}
		}
		return p
	}
	fitP, holdP, validP := prep(fit), prep(holdout), prep(valid)

	rng := rand.New(rand.NewPCG(cfg.Seed, 0x53796e61707365)) // "Synapse"
	n := &net{in: in, hidden: cfg.Hidden, out: out, act: cfg.Activation, outAct: outAct,
		w1: make([]float64, cfg.Hidden*in), b1: make([]float64, cfg.Hidden),
		w2: make([]float64, out*cfg.Hidden), b2: make([]float64, out)}
	scale1 := math.Sqrt(1 / float64(in)) // Xavier (LeCun) for Tanh
	if cfg.Activation == ReLU {
		scale1 = math.Sqrt(2 / float64(in)) // He
	}
	for i := range n.w1 {
		n.w1[i] = rng.NormFloat64() * scale1
	}
	for i := range n.w2 {
		n.w2[i] = rng.NormFloat64() * 0.1 * math.Sqrt(1/float64(cfg.Hidden)) // small: the model starts near its bias
	}
	if cfg.Loss == BCE {
		// Start from the training base rate (the baseline's answer), not from 0.5.
		for o := range n.b2 {
			rate := min(max(mean(column(train.Y, o)), 1e-6), 1-1e-6)
			n.b2[o] = math.Log(rate / (1 - rate))
		}
	}

	adam := newAdam(n.params(), cfg.LearningRate)
	grads := [][]float64{make([]float64, len(n.w1)), make([]float64, len(n.b1)), make([]float64, len(n.w2)), make([]float64, len(n.b2))}
	h, y := make([]float64, cfg.Hidden), make([]float64, out)
	dh, dy := make([]float64, cfg.Hidden), make([]float64, out)
	order := make([]int, len(fitP.X))
	for i := range order {
		order[i] = i
	}
	res := &Fitted{}
	best, bestLoss, since := n.clone(), math.Inf(1), 0
	for epoch := 1; epoch <= cfg.Epochs; epoch++ {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		rng.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
		var total float64
		for start := 0; start < len(order); start += cfg.BatchSize {
			batch := order[start:min(start+cfg.BatchSize, len(order))]
			for _, g := range grads {
				clear(g)
			}
			for _, r := range batch {
				x, t := fitP.X[r], fitP.Y[r]
				n.forward(x, h, y)
				total += lossOf(cfg.Loss, y, t)
				// Output gradient: p - t for sigmoid + BCE, 2(y - t) for linear + MSE, each
				// averaged over the outputs.
				for o := range y {
					dy[o] = (y[o] - t[o]) / float64(out)
					if cfg.Loss == MSE {
						dy[o] *= 2
					}
				}
				clear(dh)
				for o := range out {
					grads[3][o] += dy[o]
					row := n.w2[o*n.hidden : (o+1)*n.hidden]
					grow := grads[2][o*n.hidden : (o+1)*n.hidden]
					for j := range row {
						grow[j] += dy[o] * h[j]
						dh[j] += dy[o] * row[j]
					}
				}
				for j := range n.hidden {
					d := dh[j]
					if cfg.Activation == Tanh {
						d *= 1 - h[j]*h[j]
					} else if h[j] <= 0 {
						d = 0
					}
					if d == 0 {
						continue
					}
					grads[1][j] += d
					grow := grads[0][j*in : (j+1)*in]
					for i, v := range x {
						grow[i] += d * v
					}
				}
			}
			inv := 1 / float64(len(batch))
			for _, g := range grads {
				for i := range g {
					g[i] *= inv
				}
			}
			adam.step(n.params(), grads)
		}
		res.TrainLoss = append(res.TrainLoss, total/float64(len(order)))
		hl, vl := n.meanLoss(cfg.Loss, holdP), n.meanLoss(cfg.Loss, validP)
		res.HoldoutLoss = append(res.HoldoutLoss, hl)
		res.ValidLoss = append(res.ValidLoss, vl)
		res.Epochs = epoch
		if cfg.Progress != nil {
			cfg.Progress(epoch, res.TrainLoss[epoch-1], hl, vl)
		}
		if hl < bestLoss {
			best, bestLoss, res.BestEpoch, since = n.clone(), hl, epoch, 0
		} else if since++; since >= cfg.Patience {
			break
		}
	}
	res.MLP = best.toMLP(xMean, xStd, yMean, yStd)
	return res, res.MLP.Check()
}

// meanLoss is the mean loss of n over standardised samples s (NaN when s is empty).
func (n *net) meanLoss(l Loss, s Samples) float64 {
	if len(s.X) == 0 {
		return math.NaN()
	}
	h, y := make([]float64, n.hidden), make([]float64, n.out)
	var total float64
	for r := range s.X {
		n.forward(s.X[r], h, y)
		total += lossOf(l, y, s.Y[r])
	}
	return total / float64(len(s.X))
}

// toMLP stores n in float32 with the input standardisation, and folds the target
// standardisation into the output layer: y = yStd·(W·h + b) + yMean.
func (n *net) toMLP(xMean, xStd, yMean, yStd []float64) *MLP {
	m := &MLP{Mean: f32(xMean), Std: f32(xStd)}
	w2, b2 := make([]float64, len(n.w2)), make([]float64, len(n.b2))
	for o := range n.out {
		for j := range n.hidden {
			w2[o*n.hidden+j] = n.w2[o*n.hidden+j] * yStd[o]
		}
		b2[o] = n.b2[o]*yStd[o] + yMean[o]
	}
	m.Layers = []Dense{
		{In: n.in, Out: n.hidden, W: f32(n.w1), B: f32(n.b1), Activation: n.act},
		{In: n.hidden, Out: n.out, W: f32(w2), B: f32(b2), Activation: n.outAct},
	}
	return m
}

func f32(v []float64) []float32 {
	out := make([]float32, len(v))
	for i, x := range v {
		out[i] = float32(x)
	}
	return out
}

// meanStd returns the per-column mean and standard deviation of rows (a deviation of 0, a
// constant column, reads 1 so that it standardises to 0).
func meanStd(rows [][]float64, width int) (mean, std []float64) {
	mean, std = make([]float64, width), make([]float64, width)
	for _, r := range rows {
		for i := range width {
			mean[i] += r[i]
		}
	}
	for i := range mean {
		mean[i] /= float64(len(rows))
	}
	for _, r := range rows {
		for i := range width {
			d := r[i] - mean[i]
			std[i] += d * d
		}
	}
	for i := range std {
		std[i] = math.Sqrt(std[i] / float64(len(rows)))
		if !(std[i] > 1e-12) {
			std[i] = 1
		}
	}
	return mean, std
}

// adam is the Adam optimiser (Kingma & Ba) with β1 0.9, β2 0.999, ε 1e-8.
type adam struct {
	lr   float64
	t    int
	m, v [][]float64
}

func newAdam(params [][]float64, lr float64) *adam {
	a := &adam{lr: lr}
	for _, p := range params {
		a.m = append(a.m, make([]float64, len(p)))
		a.v = append(a.v, make([]float64, len(p)))
	}
	return a
}

func (a *adam) step(params, grads [][]float64) {
	const b1, b2, eps = 0.9, 0.999, 1e-8
	a.t++
	c1, c2 := 1-math.Pow(b1, float64(a.t)), 1-math.Pow(b2, float64(a.t))
	for k, p := range params {
		m, v, g := a.m[k], a.v[k], grads[k]
		for i := range p {
			m[i] = b1*m[i] + (1-b1)*g[i]
			v[i] = b2*v[i] + (1-b2)*g[i]*g[i]
			p[i] -= a.lr * (m[i] / c1) / (math.Sqrt(v[i]/c2) + eps)
		}
	}
}
