package streams

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// Follow reads stream through an ordered consumer configured by cfg (from its first message
// by default) until ctx ends, handing each fetched batch of at most max messages to handle.
// It returns nil when ctx ends, or the first read error or error from handle.
func Follow(ctx context.Context, js jetstream.JetStream, stream string, cfg jetstream.OrderedConsumerConfig, max int,
	handle func([]jetstream.Msg) error) error {
	cons, err := js.OrderedConsumer(ctx, stream, cfg)
	if err != nil {
		return fmt.Errorf("reading stream %s: %w", stream, err)
	}
	batch := make([]jetstream.Msg, 0, max)
	for ctx.Err() == nil {
		msgs, err := cons.Fetch(max, jetstream.FetchMaxWait(200*time.Millisecond))
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("reading stream %s: %w", stream, err)
		}
		batch = batch[:0]
		for msg := range msgs.Messages() {
			batch = append(batch, msg)
		}
		if err := msgs.Error(); err != nil && !errors.Is(err, jetstream.ErrNoMessages) && !errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil {
			return fmt.Errorf("reading stream %s: %w", stream, err)
		}
		if len(batch) > 0 {
			if err := handle(batch); err != nil {
				return err
			}
		}
	}
	return nil
}
