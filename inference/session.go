package inference

import (
	"fmt"
	"log/slog"
	"sync"

	ort "github.com/yalue/onnxruntime_go"
)

// SessionOptions configure an ONNX Runtime session.
type SessionOptions struct {
	// IntraOpThreads is ONNX Runtime's thread count inside one operator. Default 1: for the
	// small models here one thread beats two at small batches, and the batcher runs batches
	// from several models side by side.
	IntraOpThreads int
	// Provider is "cpu" (default) or "cuda".
	Provider string
	// FallbackToCPU: when CUDA cannot be used, warn loudly and run on the CPU instead of failing.
	FallbackToCPU bool
	// InputName and OutputName of the graph. Defaults "features" and "output".
	InputName, OutputName string
	Logger                *slog.Logger
}

// Session is one loaded model version: a float32 [batch, Inputs] → [batch, Outputs] graph.
// Run may be called from several goroutines; ONNX Runtime sessions are safe for concurrent
// runs.
type Session struct {
	sess            *ort.DynamicAdvancedSession
	inputs, outputs int
	provider        string
	mu              sync.Mutex
	closed          bool
	inName, outName string
}

// NewSession loads an ONNX model (bytes of a .onnx file) with the given input width and
// output width, as written in its model card; a model whose graph does not match them fails
// on its first run, which NewSession makes at once with a zero row.
func NewSession(model []byte, inputs, outputs int, opts SessionOptions) (*Session, error) {
	if !ort.IsInitialized() {
		return nil, fmt.Errorf("%w: %v", ErrRuntime, errNotInitialized)
	}
	if opts.IntraOpThreads <= 0 {
		opts.IntraOpThreads = 1
	}
	if opts.InputName == "" {
		opts.InputName = "features"
	}
	if opts.OutputName == "" {
		opts.OutputName = "output"
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	so, err := ort.NewSessionOptions()
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrRuntime, err)
	}
	defer so.Destroy()
	if err := so.SetIntraOpNumThreads(opts.IntraOpThreads); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrRuntime, err)
	}
	if err := so.SetInterOpNumThreads(1); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrRuntime, err)
	}
	if err := CheckProvider(opts.Provider); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrRuntime, err)
	}
	provider := "cpu"
	switch opts.Provider {
	case "", "cpu":
	case "cuda":
		if err := appendCUDA(so); err != nil {
			if !opts.FallbackToCPU {
				return nil, fmt.Errorf("%w: the CUDA execution provider is not available: %v (`make onnxruntime-gpu` fetches ONNX Runtime's GPU build: point --onnxruntime-lib at .cache/onnxruntime-gpu/libonnxruntime.so.1 and put CUDA 13's and cuDNN 9's libraries on LD_LIBRARY_PATH, where ONNX Runtime's own log names any it misses; or run with --inference-ep cpu)", ErrRuntime, err)
			}
			opts.Logger.Warn("CUDA EXECUTION PROVIDER UNAVAILABLE: RUNNING MODELS ON THE CPU", "err", err)
		} else {
			provider = "cuda"
		}
	}
	sess, err := ort.NewDynamicAdvancedSessionWithONNXData(model, []string{opts.InputName}, []string{opts.OutputName}, so)
	if err != nil {
		return nil, fmt.Errorf("%w: loading the model: %v", ErrRuntime, err)
	}
	s := &Session{sess: sess, inputs: inputs, outputs: outputs, provider: provider, inName: opts.InputName, outName: opts.OutputName}
	if _, err := s.Run(make([]float32, inputs), 1); err != nil {
		s.Close()
		return nil, fmt.Errorf("%w: the model does not take [batch, %d] to [batch, %d]: %v", ErrBadModel, inputs, outputs, err)
	}
	return s, nil
}

// CheckProvider says whether p names an execution provider: "cpu" (or "") or "cuda".
func CheckProvider(p string) error {
	if p != "" && p != "cpu" && p != "cuda" {
		return fmt.Errorf("unknown execution provider %q (cpu or cuda)", p)
	}
	return nil
}

func appendCUDA(so *ort.SessionOptions) error {
	cuda, err := ort.NewCUDAProviderOptions()
	if err != nil {
		return err
	}
	defer cuda.Destroy()
	return so.AppendExecutionProviderCUDA(cuda)
}

// Inputs is the width of an input row; Outputs of an output row.
func (s *Session) Inputs() int  { return s.inputs }
func (s *Session) Outputs() int { return s.outputs }

// Provider is the execution provider the session runs on: "cpu" or "cuda".
func (s *Session) Provider() string { return s.provider }

// Run runs rows input rows (row-major, rows × Inputs values) and returns rows × Outputs
// values.
func (s *Session) Run(input []float32, rows int) ([]float32, error) {
	if rows <= 0 || len(input) != rows*s.inputs {
		return nil, fmt.Errorf("%w: %d values for %d rows of %d features", ErrShape, len(input), rows, s.inputs)
	}
	in, err := ort.NewTensor(ort.NewShape(int64(rows), int64(s.inputs)), input)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrRuntime, err)
	}
	defer in.Destroy()
	out, err := ort.NewEmptyTensor[float32](ort.NewShape(int64(rows), int64(s.outputs)))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrRuntime, err)
	}
	defer out.Destroy()
	if err := s.sess.Run([]ort.Value{in}, []ort.Value{out}); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrRuntime, err)
	}
	return append([]float32(nil), out.GetData()...), nil
}

// Close releases the session.
func (s *Session) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	return s.sess.Destroy()
}
