package web

import (
	"errors"
	"strings"
	"sync/atomic"
	"testing"
)

func TestReadyzFollowsReady(t *testing.T) {
	var ready atomic.Bool
	e := newEnv(t, Options{Ready: func() error {
		if !ready.Load() {
			return errors.New("replay not caught up: 120 of 5000 events")
		}
		return nil
	}})
	if a := e.call(t, "GET", "/readyz", "", ""); a.status != 503 || !strings.Contains(a.raw, "not caught up") {
		t.Fatalf("not ready: %d %s", a.status, a.raw)
	}
	if a := e.call(t, "GET", "/healthz", "", ""); a.status != 200 {
		t.Fatalf("healthz while not ready: %d", a.status)
	}
	ready.Store(true)
	if a := e.call(t, "GET", "/readyz", "", ""); a.status != 200 || a.body["status"] != "ready" {
		t.Fatalf("ready: %d %s", a.status, a.raw)
	}
}
