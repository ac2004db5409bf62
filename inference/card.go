package inference

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	ort "github.com/yalue/onnxruntime_go"
)

// ErrCardMismatch means a model card does not describe the .onnx file beside it (another
// sha256, another input width) or is not a valid card: retrain, or copy the matching pair.
var ErrCardMismatch = errors.New("model card does not match its model")

// CardVersion is the layout version of model cards this package writes.
const CardVersion = 1

// TensorSpec names one graph input or output: its name, element type and shape, -1 for the
// batch axis.
type TensorSpec struct {
	Name  string  `json:"name"`
	Type  string  `json:"type"`
	Shape []int64 `json:"shape"`
}

// Card is a model's card: what it takes, what it answers, what it was trained on and how
// well it did, beside the model as NAME.json next to NAME.onnx. The same data and options
// give the same card bytes (CreatedAt is the last training candle, not the wall clock).
type Card struct {
	CardVersion int          `json:"card_version"`
	Name        string       `json:"name"`
	Version     string       `json:"version"`
	Model       string       `json:"model"` // direction, range or tp_sl
	Kind        string       `json:"kind"`  // classifier or regressor
	CreatedAt   string       `json:"created_at"`
	SHA256      string       `json:"sha256"` // of the .onnx bytes
	Inputs      []TensorSpec `json:"inputs"`
	Outputs     []TensorSpec `json:"outputs"`
	Features    []string     `json:"features"`     // input names, in input order
	OutputNames []string     `json:"output_names"` // the meaning of each output column
	Label       string       `json:"label"`
	Horizon     int          `json:"horizon"`  // in candles
	Interval    string       `json:"interval"` // of the candles: 1m
	TP          float64      `json:"tp,omitempty"`
	SL          float64      `json:"sl,omitempty"`

	Symbols         []SymbolStats `json:"symbols"`
	TrainRange      TimeRange     `json:"train_range"`
	ValidationRange TimeRange     `json:"validation_range"`
	Rows            CardRows      `json:"rows"`
	Metrics         RangeScores   `json:"metrics"`
	BaselineMetrics RangeScores   `json:"baseline_metrics"`
	Training        CardTraining  `json:"training"`
}

// CardRows counts the rows of each part of the split.
type CardRows struct {
	Fit        int `json:"fit"`     // trained on
	Holdout    int `json:"holdout"` // end of the training range, for early stopping
	Validation int `json:"validation"`
	Embargoed  int `json:"embargoed"` // dropped between training and validation, and fit and holdout
}

// CardTraining is how the model was trained.
type CardTraining struct {
	Seed         uint64     `json:"seed"`
	Hidden       int        `json:"hidden"`
	Activation   Activation `json:"activation"`
	Output       Activation `json:"output_activation"`
	Loss         Loss       `json:"loss"`
	Optimizer    string     `json:"optimizer"`
	LearningRate float64    `json:"learning_rate"`
	BatchSize    int        `json:"batch_size"`
	MaxEpochs    int        `json:"max_epochs"`
	Epochs       int        `json:"epochs"`     // run
	BestEpoch    int        `json:"best_epoch"` // kept
	TrainLoss    []Num      `json:"train_loss"`
	HoldoutLoss  []Num      `json:"holdout_loss"`
	ValidLoss    []Num      `json:"validation_loss"`
	// CommandID is the id of the models.train command whose run wrote this card (empty for
	// `synapse train`): after a restart the engine knows the run finished, and trains it
	// no more.
	CommandID string `json:"command_id,omitempty"`
}

// Check reports the first inconsistency inside c.
func (c *Card) Check() error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: card %q: %s", ErrCardMismatch, c.Name, fmt.Sprintf(format, args...))
	}
	switch {
	case c.Name == "":
		return bad("no name")
	case len(c.Inputs) != 1 || len(c.Inputs[0].Shape) != 2 || c.Inputs[0].Shape[0] != -1 || c.Inputs[0].Shape[1] != int64(len(c.Features)):
		return bad("inputs %v do not take the %d features [-1, %d]", c.Inputs, len(c.Features), len(c.Features))
	case len(c.Outputs) != 1 || len(c.Outputs[0].Shape) != 2 || c.Outputs[0].Shape[0] != -1 || c.Outputs[0].Shape[1] < 1:
		return bad("outputs %v: want one [-1, n] output", c.Outputs)
	case len(c.OutputNames) != int(c.Outputs[0].Shape[1]):
		return bad("%d output names for %d outputs", len(c.OutputNames), c.Outputs[0].Shape[1])
	case c.Kind != "classifier" && c.Kind != "regressor":
		return bad("kind %q: want classifier or regressor", c.Kind)
	case len(c.SHA256) != 64:
		return bad("sha256 %q is not 64 hex digits", c.SHA256)
	case c.Inputs[0].Type != "float32" || c.Outputs[0].Type != "float32":
		return bad("input type %q, output type %q: the models take and give float32", c.Inputs[0].Type, c.Outputs[0].Type)
	}
	// A model of a known name serves its signals by its kind: a direction card saying
	// regressor would score and weigh its signals wrongly.
	if spec, err := specOf(c.Model); err == nil {
		switch {
		case c.Kind != spec.kind:
			return bad("kind %q: a %s model is a %s", c.Kind, c.Model, spec.kind)
		case c.Outputs[0].Name != spec.output || !slices.Equal(c.OutputNames, spec.outputs):
			return bad("output %q %v: a %s model answers %q %v", c.Outputs[0].Name, c.OutputNames, c.Model, spec.output, spec.outputs)
		}
	}
	return nil
}

// CheckGraph reports whether the graph of model (the .onnx bytes) takes and gives what c
// says: the same input and output names, float32 elements, and the same shapes (-1 for the
// batch axis). ONNX Runtime must be initialized (InitRuntime).
func (c *Card) CheckGraph(model []byte) error {
	ins, outs, err := ort.GetInputOutputInfoWithONNXData(model)
	if err != nil {
		return fmt.Errorf("%w: card %q: ONNX Runtime cannot read the model: %v", ErrCardMismatch, c.Name, err)
	}
	same := func(what string, specs []TensorSpec, infos []ort.InputOutputInfo) error {
		if len(specs) != len(infos) {
			return fmt.Errorf("%w: card %q lists %d %ss, the graph has %d: retrain, or copy the .onnx and .json that were written together",
				ErrCardMismatch, c.Name, len(specs), what, len(infos))
		}
		for i, s := range specs {
			info := infos[i]
			if info.Name != s.Name || info.DataType != ort.TensorElementDataTypeFloat || !slices.Equal([]int64(info.Dimensions), s.Shape) {
				return fmt.Errorf("%w: card %q says %s %d is %s %s %v, the graph's is %s %s %v: retrain, or copy the .onnx and .json that were written together",
					ErrCardMismatch, c.Name, what, i, s.Name, s.Type, s.Shape, info.Name, info.DataType, []int64(info.Dimensions))
			}
		}
		return nil
	}
	if err := same("input", c.Inputs, ins); err != nil {
		return err
	}
	return same("output", c.Outputs, outs)
}

// LoadDeployable reads DIR/MODEL.json and DIR/MODEL.onnx for a deployment of model, and
// checks all that can be checked before serving: the card (LoadCard), that it is a card of
// model, that the graph is the one it describes (CheckGraph), and that its inputs are the
// features this build computes.
func LoadDeployable(dir, model string) (*Card, []byte, error) {
	path := filepath.Join(dir, model+".json")
	card, onnx, err := LoadCard(path)
	if err != nil {
		return nil, nil, err
	}
	if card.Model != model {
		return nil, nil, fmt.Errorf("%s: %w: card %q is a %s model, not %s", path, ErrCardMismatch, card.Name, card.Model, model)
	}
	if err := card.CheckGraph(onnx); err != nil {
		return nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	if !slices.Equal(card.Features, InputNames) {
		return nil, nil, fmt.Errorf("%s: %w: the model takes the inputs %v; this build computes %v: retrain it with this build's `synapse train`",
			path, ErrCardMismatch, card.Features, InputNames)
	}
	return card, onnx, nil
}

// Marshal writes the card as indented JSON with a final newline.
func (c *Card) Marshal() ([]byte, error) {
	data, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(data, '\n'), nil
}

// CheckModel reports whether model (the .onnx bytes) is the one c describes.
func (c *Card) CheckModel(model []byte) error {
	sum := sha256.Sum256(model)
	if got := hex.EncodeToString(sum[:]); got != c.SHA256 {
		return fmt.Errorf("%w: card %q says sha256 %s, the model's bytes hash to %s: retrain, or copy the .onnx and .json that were written together",
			ErrCardMismatch, c.Name, c.SHA256, got)
	}
	return nil
}

// ModelPath is the .onnx beside a card: NAME.json → NAME.onnx.
func ModelPath(cardPath string) string {
	return strings.TrimSuffix(cardPath, ".json") + ".onnx"
}

// LoadCard reads the card at path (NAME.json) and the model beside it (NAME.onnx), checks
// the card and that the model's sha256 is the card's, and returns both.
func LoadCard(path string) (*Card, []byte, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, fmt.Errorf("model card: %w", err)
	}
	card, err := ParseCard(data)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	model, err := os.ReadFile(ModelPath(path))
	if err != nil {
		return nil, nil, fmt.Errorf("model of card %s: %w", path, err)
	}
	if err := card.CheckModel(model); err != nil {
		return nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	return card, model, nil
}

// ParseCard decodes and checks a card (unknown fields are ignored: a newer trainer may add
// some).
func ParseCard(data []byte) (*Card, error) {
	var c Card
	if err := json.Unmarshal(data, &c); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrCardMismatch, err)
	}
	if err := c.Check(); err != nil {
		return nil, err
	}
	return &c, nil
}
