package main

import (
	"encoding/json"
	"net/http"
	"time"

	"github.com/synapse-trading/synapse/inference"
	"github.com/synapse-trading/synapse/web"
)

// Accuracy is a model's live accuracy over Rows scored predictions (null while none is).
type Accuracy struct {
	Rows     int64    `json:"rows"`
	Accuracy *float64 `json:"accuracy"`
}

// ModelAccuracy is a model's live accuracy in the models query. LiveSinceStart counts every
// prediction of the live version scored since the engine started; while a version runs in
// shadow, Shadow and LiveOnShadowRows are the shadow's and the live version's accuracy over
// the same rows, those both scored since the shadow was deployed: the pair to promote or
// retire on (the live figure since the start covers other rows, another market).
type ModelAccuracy struct {
	Model            string    `json:"model"`
	LiveSinceStart   Accuracy  `json:"live_since_start"`
	Shadow           *Accuracy `json:"shadow,omitempty"`
	LiveOnShadowRows *Accuracy `json:"live_on_shadow_rows,omitempty"`
}

// handleModelsQuery serves the models query: the versions served live and in shadow, their
// accuracy, the batcher's counters and ONNX Runtime's version.
func handleModelsQuery(gw *web.Gateway, hub *web.Hub, models *inference.Registry, batcher *inference.Batcher) {
	gw.HandleQuery("models", func(r *http.Request) (any, error) {
		if _, err := params(r); err != nil {
			return nil, err
		}
		live, shadow := models.Deployed()
		stats, err := batcher.Stats(2 * time.Second)
		return map[string]any{"live": live, "shadow": shadow, "accuracy": modelAccuracy(hub, live, shadow),
			"batcher": stats, "runtime": inference.RuntimeVersion()}, err
	})
}

// modelAccuracy reads the accuracy of the live and shadow versions from their model actors'
// states (topics model/<name> and model/<name>@shadow); a regressor's is null.
func modelAccuracy(hub *web.Hub, live, shadow []inference.Deployment) []ModelAccuracy {
	state := func(key string) (inference.ModelState, bool) {
		var st inference.ModelState
		raw, ok := hub.Get(inference.ModelTopic(key))
		return st, ok && json.Unmarshal(raw, &st) == nil
	}
	out := make([]ModelAccuracy, 0, len(live))
	for _, d := range live {
		lv, _ := state(d.Model)
		a := ModelAccuracy{Model: d.Model, LiveSinceStart: Accuracy{Rows: lv.Scored, Accuracy: lv.Accuracy}}
		for _, s := range shadow {
			// the shadow actor's comparison, once it runs the version deployed
			if sh, ok := state(inference.ShadowKey(d.Model)); s.Model == d.Model && ok && sh.Active && sh.Version == s.Version {
				a.Shadow = &Accuracy{Rows: sh.Compared, Accuracy: sh.ComparedAccuracy}
				a.LiveOnShadowRows = &Accuracy{Rows: sh.Compared, Accuracy: sh.LiveComparedAccuracy}
			}
		}
		out = append(out, a)
	}
	return out
}
