package streams

import (
	"context"
	"time"
)

// Sleep waits for d, or until ctx is done and then returns ctx.Err(). Feeds pace and back off
// with it, so that cancelling a context stops them at once.
func Sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
