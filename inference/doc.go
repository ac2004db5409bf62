// Package inference is Synapse's machine-learning tier.
//
//   - Training (dataset.go, train.go, metrics.go, models.go, card.go): data sets built from
//     the same symbol-actor features as live (InputBuilder), labels from future prices,
//     a walk-forward split with an embargo, an MLP trained in Go, and a model card with
//     validation metrics beside a naive baseline. `synapse train` drives it.
//   - Export and serving (onnx.go, runtime.go, session.go): MLPs written as real ONNX
//     protobufs, ONNX Runtime loaded from the library `make onnxruntime` fetches (CPU; CUDA
//     when configured and present), one session per model version.
//   - The batcher (batcher.go): one actor that coalesces every model actor's requests into
//     ONNX Runtime runs, with deadlines, bounded queues, hot swap and Prometheus metrics.
//   - Model actors (model.go, ensemble.go, registry.go): one per model and one shadow per
//     model, turning 1m features into signals on sig.>; the ensemble combines them; the
//     registry applies models.* commands from the log.
package inference
