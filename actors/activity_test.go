package actors

import (
	"testing"
	"time"

	"github.com/anthdm/hollywood/actor"
)

type work struct{}
type tick struct{}

// An actor's activity counts what others sent it, not its own timer's ticks nor its life's
// messages, and the time it spent on all of them.
func TestActivityCountsWhatAnActorReceives(t *testing.T) {
	e, err := actor.NewEngine(actor.NewEngineConfig())
	if err != nil {
		t.Fatal(err)
	}
	act := NewActivity()
	ticks := make(chan struct{}, 1000)
	pid := e.SpawnFunc(func(c *actor.Context) {
		switch c.Message().(type) {
		case actor.Started:
			c.SendRepeat(c.PID(), tick{}, time.Millisecond)
		case tick:
			select {
			case ticks <- struct{}{}:
			default:
			}
		case work:
			time.Sleep(2 * time.Millisecond)
		}
	}, "agent", actor.WithID("A"), act.Of("agent/A"))
	const sent = 20
	for range sent {
		e.Send(pid, work{})
	}
	for range 10 { // its timer ran meanwhile
		<-ticks
	}
	<-e.Poison(pid).Done()
	got := act.Counts()["agent/A"]
	if got.Received != sent {
		t.Errorf("received %d, want the %d messages sent (not its ticks)", got.Received, sent)
	}
	if got.Busy < sent*2*time.Millisecond {
		t.Errorf("busy %v, want at least %v", got.Busy, sent*2*time.Millisecond)
	}
	var none *Activity // a backtest's: counts nothing, costs nothing
	e.SpawnFunc(func(*actor.Context) {}, "agent", none.Of("agent/B"))
	if len(none.Counts()) != 0 {
		t.Error("a nil Activity counted")
	}
}
