// Package inference will hold Synapse's machine-learning tier: ONNX Runtime sessions, the
// batching actor that coalesces model requests, the model registry, training and ONNX
// export. It is empty until that tier lands (see the open issues); model actors will read
// the feat.<venue>.<symbol>.<interval> features the symbol actors publish today.
package inference
