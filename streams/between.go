package streams

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// ReadBetween reads the events of subject on stream (wildcards allowed) whose event time is
// from from to to (epoch ms, both included), oldest first, at most max of them. Its work
// grows with what it returns, not with the stream: it finds the subject's first event at or
// after from by halving the stream's sequences, one message read each (the server's next
// message of the subject at or after a sequence), then reads on from there, at most max
// messages in one fetch, until an event after to. Undecodable messages are skipped.
//
// It takes the subject's events to come in time order, as a derived subject's do (the
// signals of a model for a symbol, one per candle in candle order; a restart publishes only
// those after what the log holds): an event out of that order may be missed.
func ReadBetween(ctx context.Context, js jetstream.JetStream, stream, subject string, from, to int64, max int) ([]Event, error) {
	s, err := js.Stream(ctx, stream)
	if err != nil {
		return nil, fmt.Errorf("stream %s: %w", stream, err)
	}
	state := s.CachedInfo().State
	if state.Msgs == 0 || from > to || max <= 0 {
		return nil, nil
	}
	// next reads subject's first decodable event at sequence seq or after; nil at its end.
	next := func(seq uint64) (uint64, Event, error) {
		for seq <= state.LastSeq {
			m, err := s.GetMsg(ctx, seq, jetstream.WithGetMsgSubject(subject))
			if errors.Is(err, jetstream.ErrMsgNotFound) {
				return 0, nil, nil
			}
			if err != nil {
				return 0, nil, fmt.Errorf("reading %s on %s: %w", subject, stream, err)
			}
			if ev, err := Decode(m.Subject, m.Header, m.Data); err == nil {
				return m.Sequence, ev, nil
			}
			seq = m.Sequence + 1
		}
		return 0, nil, nil
	}
	// Every event of subject before sequence lo is before from; the one at or after hi is not.
	lo, hi := state.FirstSeq, state.LastSeq+1
	for lo < hi {
		mid := lo + (hi-lo)/2
		seq, ev, err := next(mid)
		switch {
		case err != nil:
			return nil, err
		case ev == nil || ev.EventTime() >= from:
			hi = mid
		default:
			lo = seq + 1
		}
	}
	if lo > state.LastSeq {
		return nil, nil
	}
	// The messages from lo on, in one fetch of what is there (no wait), by a consumer made
	// for it and deleted after (or, should that fail, by the server once idle).
	cons, err := s.CreateConsumer(ctx, jetstream.ConsumerConfig{FilterSubject: subject, DeliverPolicy: jetstream.DeliverByStartSequencePolicy,
		OptStartSeq: lo, AckPolicy: jetstream.AckNonePolicy, MemoryStorage: true, InactiveThreshold: 10 * time.Second})
	if err != nil {
		return nil, fmt.Errorf("reading %s on %s: %w", subject, stream, err)
	}
	defer func() { _ = s.DeleteConsumer(context.WithoutCancel(ctx), cons.CachedInfo().Name) }()
	batch, err := cons.FetchNoWait(max)
	if err != nil {
		return nil, fmt.Errorf("reading %s on %s: %w", subject, stream, err)
	}
	var out []Event
	for m := range batch.Messages() {
		d := DecodeMsg(m)
		switch {
		case d.Err != nil || len(out) == max:
		case d.Event.EventTime() > to:
			return out, nil
		case d.Event.EventTime() >= from:
			out = append(out, d.Event)
		}
	}
	if err := batch.Error(); err != nil && !errors.Is(err, jetstream.ErrNoMessages) {
		return nil, fmt.Errorf("reading %s on %s: %w", subject, stream, err)
	}
	return out, nil
}
