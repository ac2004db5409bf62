package actors

import (
	"sync"

	"github.com/anthdm/hollywood/actor"
)

// Restarts counts the restarts of every actor of an engine: Hollywood restarts an actor
// that panicked and tells the engine's event stream, which an actor of Restarts follows.
type Restarts struct {
	engine *actor.Engine
	pid    *actor.PID
	mu     sync.Mutex
	byPID  map[string]int // by actor ID, e.g. "symbol/binance.BTCUSDT", "agent/ATLAS"
}

// WatchRestarts starts counting the restarts of e's actors.
func WatchRestarts(e *actor.Engine) *Restarts {
	r := &Restarts{engine: e, byPID: map[string]int{}}
	r.pid = e.SpawnFunc(func(c *actor.Context) {
		if ev, ok := c.Message().(actor.ActorRestartedEvent); ok {
			r.mu.Lock()
			r.byPID[ev.PID.ID]++
			r.mu.Unlock()
		}
	}, "supervision")
	e.Subscribe(r.pid)
	return r
}

// Counts returns the restarts so far by actor ID; an actor never restarted is absent.
func (r *Restarts) Counts() map[string]int {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make(map[string]int, len(r.byPID))
	for id, n := range r.byPID {
		out[id] = n
	}
	return out
}

// Stop stops the watching actor.
func (r *Restarts) Stop() {
	r.engine.Unsubscribe(r.pid)
	<-r.engine.Poison(r.pid).Done()
}
