package inference

import (
	"encoding/binary"
	"fmt"
	"math"

	"google.golang.org/protobuf/encoding/protowire"
)

// The ONNX format this exporter writes: IR version 8 with the default-domain opset 17, both
// loaded by every ONNX Runtime since 1.13.
const (
	onnxIRVersion = 8
	onnxOpset     = 17
	onnxFloat     = 1 // TensorProto.DataType FLOAT
	attrInt       = 2 // AttributeProto.AttributeType INT
)

// ExportONNX writes m as an ONNX ModelProto: input inputName float32 [batch, Inputs],
// output outputName float32 [batch, Outputs], graph Sub(mean) → Div(std) → per layer
// Gemm(transB) and its activation. The protobuf is written field by field with protowire
// (field numbers from onnx.proto), so no generated ONNX package is needed; the bytes are
// deterministic for a given model.
func ExportONNX(m *MLP, inputName, outputName string) ([]byte, error) {
	if err := m.Check(); err != nil {
		return nil, err
	}
	if inputName == "" || outputName == "" || inputName == outputName {
		return nil, fmt.Errorf("%w: input and output need two different names", ErrBadModel)
	}
	var graph []byte
	var inits [][]byte
	node := func(op, name string, inputs []string, output string, attrs ...[]byte) {
		var n []byte
		for _, in := range inputs {
			n = protowire.AppendTag(n, 1, protowire.BytesType)
			n = protowire.AppendString(n, in)
		}
		n = protowire.AppendTag(n, 2, protowire.BytesType)
		n = protowire.AppendString(n, output)
		n = protowire.AppendTag(n, 3, protowire.BytesType)
		n = protowire.AppendString(n, name)
		n = protowire.AppendTag(n, 4, protowire.BytesType)
		n = protowire.AppendString(n, op)
		for _, a := range attrs {
			n = protowire.AppendTag(n, 5, protowire.BytesType)
			n = protowire.AppendBytes(n, a)
		}
		graph = protowire.AppendTag(graph, 1, protowire.BytesType)
		graph = protowire.AppendBytes(graph, n)
	}
	node("Sub", "standardise_center", []string{inputName, "mean"}, "centered")
	node("Div", "standardise_scale", []string{"centered", "std"}, "x0")
	inits = append(inits, tensor("mean", []int64{int64(m.Inputs())}, m.Mean), tensor("std", []int64{int64(m.Inputs())}, m.Std))
	x := "x0"
	for i, l := range m.Layers {
		w, b := fmt.Sprintf("W%d", i), fmt.Sprintf("B%d", i)
		inits = append(inits, tensor(w, []int64{int64(l.Out), int64(l.In)}, l.W), tensor(b, []int64{int64(l.Out)}, l.B))
		last := i == len(m.Layers)-1
		y := fmt.Sprintf("z%d", i)
		if last && l.Activation == Linear {
			y = outputName
		}
		node("Gemm", fmt.Sprintf("dense%d", i), []string{x, w, b}, y, intAttr("transB", 1))
		x = y
		if l.Activation != Linear {
			a := fmt.Sprintf("a%d", i)
			if last {
				a = outputName
			}
			op := map[Activation]string{ReLU: "Relu", Tanh: "Tanh", Sigmoid: "Sigmoid"}[l.Activation]
			node(op, fmt.Sprintf("%s%d", l.Activation, i), []string{x}, a)
			x = a
		}
	}
	graph = protowire.AppendTag(graph, 2, protowire.BytesType)
	graph = protowire.AppendString(graph, "synapse_mlp")
	for _, t := range inits {
		graph = protowire.AppendTag(graph, 5, protowire.BytesType)
		graph = protowire.AppendBytes(graph, t)
	}
	graph = protowire.AppendTag(graph, 11, protowire.BytesType)
	graph = protowire.AppendBytes(graph, valueInfo(inputName, m.Inputs()))
	graph = protowire.AppendTag(graph, 12, protowire.BytesType)
	graph = protowire.AppendBytes(graph, valueInfo(outputName, m.Outputs()))

	var model []byte
	model = protowire.AppendTag(model, 1, protowire.VarintType)
	model = protowire.AppendVarint(model, onnxIRVersion)
	model = protowire.AppendTag(model, 2, protowire.BytesType)
	model = protowire.AppendString(model, "synapse")
	var opset []byte
	opset = protowire.AppendTag(opset, 1, protowire.BytesType)
	opset = protowire.AppendString(opset, "")
	opset = protowire.AppendTag(opset, 2, protowire.VarintType)
	opset = protowire.AppendVarint(opset, onnxOpset)
	model = protowire.AppendTag(model, 8, protowire.BytesType)
	model = protowire.AppendBytes(model, opset)
	model = protowire.AppendTag(model, 7, protowire.BytesType)
	model = protowire.AppendBytes(model, graph)
	return model, nil
}

// tensor is a TensorProto initializer with float32 raw data (little endian).
func tensor(name string, dims []int64, data []float32) []byte {
	var t []byte
	var packed []byte
	for _, d := range dims {
		packed = protowire.AppendVarint(packed, uint64(d))
	}
	t = protowire.AppendTag(t, 1, protowire.BytesType)
	t = protowire.AppendBytes(t, packed)
	t = protowire.AppendTag(t, 2, protowire.VarintType)
	t = protowire.AppendVarint(t, onnxFloat)
	t = protowire.AppendTag(t, 8, protowire.BytesType)
	t = protowire.AppendString(t, name)
	raw := make([]byte, 4*len(data))
	for i, v := range data {
		binary.LittleEndian.PutUint32(raw[4*i:], math.Float32bits(v))
	}
	t = protowire.AppendTag(t, 9, protowire.BytesType)
	return protowire.AppendBytes(t, raw)
}

// valueInfo is a ValueInfoProto: float32 tensor [batch, width] with a symbolic batch axis.
func valueInfo(name string, width int) []byte {
	dim := func(value int64, param string) []byte {
		var d []byte
		if param != "" {
			d = protowire.AppendTag(d, 2, protowire.BytesType)
			return protowire.AppendString(d, param)
		}
		d = protowire.AppendTag(d, 1, protowire.VarintType)
		return protowire.AppendVarint(d, uint64(value))
	}
	var shape []byte
	shape = protowire.AppendTag(shape, 1, protowire.BytesType)
	shape = protowire.AppendBytes(shape, dim(0, "batch"))
	shape = protowire.AppendTag(shape, 1, protowire.BytesType)
	shape = protowire.AppendBytes(shape, dim(int64(width), ""))
	var tt []byte
	tt = protowire.AppendTag(tt, 1, protowire.VarintType)
	tt = protowire.AppendVarint(tt, onnxFloat)
	tt = protowire.AppendTag(tt, 2, protowire.BytesType)
	tt = protowire.AppendBytes(tt, shape)
	var typ []byte
	typ = protowire.AppendTag(typ, 1, protowire.BytesType)
	typ = protowire.AppendBytes(typ, tt)
	var vi []byte
	vi = protowire.AppendTag(vi, 1, protowire.BytesType)
	vi = protowire.AppendString(vi, name)
	vi = protowire.AppendTag(vi, 2, protowire.BytesType)
	return protowire.AppendBytes(vi, typ)
}

// intAttr is an AttributeProto of type INT.
func intAttr(name string, v int64) []byte {
	var a []byte
	a = protowire.AppendTag(a, 1, protowire.BytesType)
	a = protowire.AppendString(a, name)
	a = protowire.AppendTag(a, 3, protowire.VarintType)
	a = protowire.AppendVarint(a, uint64(v))
	a = protowire.AppendTag(a, 20, protowire.VarintType)
	return protowire.AppendVarint(a, attrInt)
}
