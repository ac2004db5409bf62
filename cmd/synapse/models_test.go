package main

import (
	"testing"

	"github.com/synapse-trading/synapse/inference"
	"github.com/synapse-trading/synapse/web"
)

// The models query's accuracy: the live version's since the start, labelled so, and while a
// version runs in shadow the pair over the same rows from the shadow's comparison, not the
// live figure since the start beside the shadow's own.
func TestModelsQueryAccuracyPairsTheSameRows(t *testing.T) {
	f := func(v float64) *float64 { return &v }
	hub := web.NewHub()
	_ = hub.Set(inference.ModelTopic("direction"), inference.ModelState{Key: "direction", Active: true, Scored: 1354, Accuracy: f(0.586)})
	_ = hub.Set(inference.ModelTopic("range"), inference.ModelState{Key: "range", Active: true})
	_ = hub.Set(inference.ModelTopic(inference.ShadowKey("direction")), inference.ModelState{Key: "direction@shadow", Shadow: true, Active: true,
		Version: "2", Scored: 104, Accuracy: f(0.481), Compared: 104, ComparedAccuracy: f(0.481), LiveComparedAccuracy: f(0.49)})
	live := []inference.Deployment{{Model: "direction", Version: "1"}, {Model: "range", Version: "1"}}

	got := modelAccuracy(hub, live, []inference.Deployment{{Model: "direction", Version: "2"}})
	if len(got) != 2 {
		t.Fatalf("%+v", got)
	}
	d := got[0]
	if d.Model != "direction" || d.LiveSinceStart.Rows != 1354 || *d.LiveSinceStart.Accuracy != 0.586 {
		t.Errorf("live since the start: %+v", d.LiveSinceStart)
	}
	if d.Shadow == nil || d.LiveOnShadowRows == nil || d.Shadow.Rows != 104 || d.LiveOnShadowRows.Rows != 104 ||
		*d.Shadow.Accuracy != 0.481 || *d.LiveOnShadowRows.Accuracy != 0.49 {
		t.Errorf("the pair over the shadow's rows: %+v, %+v", d.Shadow, d.LiveOnShadowRows)
	}
	if r := got[1]; r.Model != "range" || r.LiveSinceStart.Accuracy != nil || r.Shadow != nil {
		t.Errorf("a regressor with no shadow: %+v", r)
	}
	// A shadow just deployed (its actor not yet told): no pair from the one before.
	if got := modelAccuracy(hub, live, []inference.Deployment{{Model: "direction", Version: "3"}}); got[0].Shadow != nil {
		t.Errorf("a new shadow shows the last one's pair: %+v", got[0].Shadow)
	}
	if got := modelAccuracy(hub, live, nil); got[0].Shadow != nil {
		t.Errorf("no shadow deployed, a pair shown: %+v", got[0].Shadow)
	}
}
