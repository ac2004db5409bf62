package synthetic

import (
	"context"
	"time"

	"github.com/synapse-trading/synapse/streams"
)

// Run generates events and hands each to emit, paced at Options.EventsPerSecond of wall
// time (unpaced when 0). It stops after limit events (never, when limit is 0) and returns
// nil; or when ctx ends, returning ctx.Err(); or when emit or Next fails, returning that
// error. The pace is measured from the start of the run, so it does not drift; at high
// rates events go out in bursts between sleeps of at least a millisecond.
func (g *Generator) Run(ctx context.Context, limit int64, emit func(streams.Event) error) error {
	now, sleep := g.opts.Clock, g.opts.Sleep
	if now == nil {
		now = time.Now
	}
	if sleep == nil {
		sleep = streams.Sleep
	}
	rate := g.opts.EventsPerSecond
	start := now()
	for i := int64(0); limit == 0 || i < limit; i++ {
		if err := ctx.Err(); err != nil {
			return err
		}
		if rate > 0 {
			due := start.Add(time.Duration(float64(i) * float64(time.Second) / rate))
			if wait := due.Sub(now()); wait >= time.Millisecond {
				if err := sleep(ctx, wait); err != nil {
					return err
				}
			}
		}
		ev, err := g.Next()
		if err != nil {
			return err
		}
		if err := emit(ev); err != nil {
			return err
		}
	}
	return nil
}
