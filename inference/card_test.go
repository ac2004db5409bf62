package inference

import (
	"errors"
	"os"
	"strings"
	"testing"
)

func TestParseCardRejectsInconsistentCards(t *testing.T) {
	good, err := os.ReadFile("models/direction.json")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ParseCard(good); err != nil {
		t.Fatal(err)
	}
	for name, edit := range map[string][2]string{
		"input width":  {`"shape": [` + "\n        -1,\n        22", `"shape": [` + "\n        -1,\n        21"},
		"kind":         {`"kind": "classifier"`, `"kind": "oracle"`},
		"sha256":       {`"sha256": "`, `"sha256": "00`},
		"no name":      {`"name": "direction"`, `"name": ""`},
		"not json":     {`{`, `[`},
		"output names": {`"output_names": [` + "\n    \"probability\"", `"output_names": [` + "\n    \"probability\", \"x\""},
		"its kind":     {`"kind": "classifier"`, `"kind": "regressor"`},
		"input type":   {`"type": "float32"`, `"type": "float64"`},
	} {
		bad := strings.Replace(string(good), edit[0], edit[1], 1)
		if bad == string(good) {
			t.Fatalf("%s: the edit changed nothing", name)
		}
		if _, err := ParseCard([]byte(bad)); !errors.Is(err, ErrCardMismatch) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// CheckGraph compares a card with the graph ONNX Runtime reads: the bundled pair agrees; a
// card of another model's graph does not, even with the right hash.
func TestCheckGraph(t *testing.T) {
	needRuntime(t)
	card, model, err := LoadDeployable("models", "direction")
	if err != nil {
		t.Fatal(err)
	}
	_, rangeModel, err := LoadDeployable("models", "range")
	if err != nil {
		t.Fatal(err)
	}
	if err := card.CheckGraph(rangeModel); !errors.Is(err, ErrCardMismatch) || !strings.Contains(err.Error(), "the graph's is range") {
		t.Fatalf("direction card on the range graph: %v", err)
	}
	if err := card.CheckGraph(model[:len(model)/2]); !errors.Is(err, ErrCardMismatch) {
		t.Fatalf("half a model: %v", err)
	}
	if _, _, err := LoadDeployable("models", "ensemble"); err == nil {
		t.Fatal("a model without files deployed")
	}
}

// ParseCard never panics, whatever the bytes.
func FuzzParseCard(f *testing.F) {
	for _, name := range ModelNames {
		data, err := os.ReadFile("models/" + name + ".json")
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte(`{"name":"x","inputs":[{"shape":[-1]}]}`))
	f.Add([]byte(`null`))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := ParseCard(data)
		if err == nil {
			if err := c.Check(); err != nil {
				t.Fatalf("a parsed card fails its check: %v", err)
			}
		}
	})
}
