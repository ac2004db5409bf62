package streams

import (
	"context"
	"errors"
	"fmt"

	"github.com/nats-io/nats.go/jetstream"
)

// Stored is what streams of the log hold already: each subject's last message. A writer that starts its input over skips what is there: a replay restarted on
// the same data dir, the actor graph deriving features and signals again from MD after a
// restart. The streams' deduplication windows (10 minutes to an hour) would let those
// events in a second time once they have passed.
type Stored map[string]Last

// Last is a subject's last message on the log: its event's time and ID.
type Last struct {
	Time int64
	ID   string
}

// ReadStored reads the last message of every subject of the streams named.
func ReadStored(ctx context.Context, js jetstream.JetStream, names ...string) (Stored, error) {
	out := Stored{}
	for _, name := range names {
		s, info, err := subjectIndex(ctx, js, name)
		if err != nil {
			return nil, err
		}
		for subject := range info.State.Subjects {
			m, err := lastOf(ctx, s, subject)
			if err != nil {
				return nil, err
			}
			if m == nil {
				continue // expired meanwhile
			}
			if ev, err := Decode(m.Subject, m.Header, m.Data); err == nil {
				out[subject] = Last{Time: ev.EventTime(), ID: ev.ID()}
			} // an undecodable last message tells nothing to skip by
		}
	}
	return out, nil
}

// Older reports whether the log holds ev, or a later event of its subject: market data,
// where several events may share a millisecond. Of the events at the last stored time only
// the last one is known to be there; the others of that millisecond are left to the
// deduplication by ID (and, past its window, to the symbol actors' own).
func (s Stored) Older(ev Event) bool {
	last, ok := s[ev.Subject()]
	t := ev.EventTime()
	return ok && (t < last.Time || t == last.Time && ev.ID() == last.ID)
}

// Held reports whether the log holds ev's subject up to ev's time or later: derived events
// (features, correlations, signals), one per subject and time.
func (s Stored) Held(ev Event) bool {
	last, ok := s[ev.Subject()]
	return ok && ev.EventTime() <= last.Time
}

// subjectIndex returns stream name and its info with the count of every subject.
func subjectIndex(ctx context.Context, js jetstream.JetStream, name string) (jetstream.Stream, *jetstream.StreamInfo, error) {
	s, err := js.Stream(ctx, name)
	if err != nil {
		return nil, nil, fmt.Errorf("stream %s: %w", name, err)
	}
	info, err := s.Info(ctx, jetstream.WithSubjectFilter(">"))
	if err != nil {
		return nil, nil, fmt.Errorf("the subjects of stream %s: %w", name, err)
	}
	return s, info, nil
}

// lastOf reads subject's last message on s; nil when it has none (any more).
func lastOf(ctx context.Context, s jetstream.Stream, subject string) (*jetstream.RawStreamMsg, error) {
	m, err := s.GetLastMsgForSubject(ctx, subject)
	if errors.Is(err, jetstream.ErrMsgNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("the last message of %s: %w", subject, err)
	}
	return m, nil
}
