package actors

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/anthdm/hollywood/actor"
)

// Activity counts, for each actor spawned with its option, the messages the actor received
// from others and the time it spent handling messages: the graph view's rate of an actor
// (what reaches it, not what it makes) and its load (the share of time it was busy), for the
// actors whose mailboxes have no bound to measure a depth against (agents, the risk gate,
// venues, models). It costs two clock reads and two atomic adds a message.
type Activity struct {
	actors sync.Map // actor ID → *activityCounter
}

// ActivityCount is an actor's activity so far.
type ActivityCount struct {
	Received int64         // messages from other actors or from outside (not its own timers)
	Busy     time.Duration // time spent in its Receive, its own messages included
}

type activityCounter struct {
	received, busy atomic.Int64
}

// NewActivity returns an empty Activity.
func NewActivity() *Activity { return &Activity{} }

// Of is the spawn option that counts the activity of the actor with ID id ("agent/ATLAS",
// the kind and the WithID of its spawn). A nil Activity counts nothing.
func (a *Activity) Of(id string) actor.OptFunc {
	if a == nil {
		return func(*actor.Opts) {}
	}
	v, _ := a.actors.LoadOrStore(id, &activityCounter{})
	n := v.(*activityCounter)
	return actor.WithMiddleware(func(next actor.ReceiveFunc) actor.ReceiveFunc {
		return func(c *actor.Context) {
			start := time.Now()
			next(c)
			n.busy.Add(int64(time.Since(start)))
			switch c.Message().(type) {
			case actor.Initialized, actor.Started, actor.Stopped:
				return // the actor's life, not a message
			}
			if s := c.Sender(); s != nil && s.ID == c.PID().ID && s.Address == c.PID().Address {
				return // its own timer (SendRepeat)
			}
			n.received.Add(1)
		}
	})
}

// Counts returns the activity of every actor counted, by actor ID. A nil Activity has none.
func (a *Activity) Counts() map[string]ActivityCount {
	out := map[string]ActivityCount{}
	if a == nil {
		return out
	}
	a.actors.Range(func(k, v any) bool {
		n := v.(*activityCounter)
		out[k.(string)] = ActivityCount{Received: n.received.Load(), Busy: time.Duration(n.busy.Load())}
		return true
	})
	return out
}
