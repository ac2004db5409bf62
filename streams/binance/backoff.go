package binance

import (
	"math/rand/v2"
	"time"
)

// backoff computes reconnect delays: doubling from min on each failed attempt up to max,
// with jitter (each delay is drawn uniformly from [d/2, d]) so that many clients cut off
// together do not come back together.
type backoff struct {
	min, max time.Duration
	attempt  int // failed attempts since the last reset
}

// next returns the delay before the next attempt and counts the attempt.
func (b *backoff) next() time.Duration {
	d := b.min
	for i := 0; i < b.attempt && d < b.max; i++ {
		d *= 2
	}
	d = min(d, b.max)
	b.attempt++
	half := d / 2
	return half + rand.N(d-half+1)
}

// reset starts again from min, after a healthy connection.
func (b *backoff) reset() { b.attempt = 0 }
