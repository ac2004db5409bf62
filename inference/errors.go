package inference

import "errors"

var (
	// ErrBadModel means a model's shapes or parameters are inconsistent.
	ErrBadModel = errors.New("bad model")
	// ErrRuntime means ONNX Runtime could not be loaded or failed to run a model; the message
	// says which library it tried and how to point Synapse at the right one.
	ErrRuntime = errors.New("onnx runtime")
	// ErrShape means an input does not have the shape the model takes.
	ErrShape = errors.New("wrong input shape")
)
