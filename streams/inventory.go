package streams

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// StreamContent is what one stream of the log holds, from the server's own state: no
// message is read.
type StreamContent struct {
	Name      string
	Messages  uint64
	Bytes     uint64
	FirstSeq  uint64
	LastSeq   uint64
	FirstTime time.Time // when the first message still held was stored (wall clock)
	LastTime  time.Time
	Subjects  uint64 // distinct subjects held
}

// SubjectContent is what the log holds of one subject: how many messages, and its first
// and last events. First or Last is nil when that message cannot be decoded (or expired
// while it was read).
type SubjectContent struct {
	Stream   string
	Subject  string
	Count    uint64
	FirstSeq uint64
	LastSeq  uint64
	First    Event
	Last     Event
}

// ReadStreamContent reads the state of every stream of the Catalog.
func ReadStreamContent(ctx context.Context, js jetstream.JetStream) ([]StreamContent, error) {
	var out []StreamContent
	for _, c := range Catalog() {
		s, err := js.Stream(ctx, c.Name)
		if err != nil {
			return nil, fmt.Errorf("stream %s: %w", c.Name, err)
		}
		info, err := s.Info(ctx)
		if err != nil {
			return nil, fmt.Errorf("stream %s: %w", c.Name, err)
		}
		st := info.State
		out = append(out, StreamContent{Name: c.Name, Messages: st.Msgs, Bytes: st.Bytes,
			FirstSeq: st.FirstSeq, LastSeq: st.LastSeq, FirstTime: st.FirstTime, LastTime: st.LastTime,
			Subjects: st.NumSubjects})
	}
	return out, nil
}

// ReadSubjectContent reads, for every subject of stream, its count (from the stream's
// per-subject index) and its first and last messages (two direct lookups by subject).
// Its cost grows with the number of subjects, not of messages. Subjects come sorted.
func ReadSubjectContent(ctx context.Context, js jetstream.JetStream, stream string) ([]SubjectContent, error) {
	s, info, err := subjectIndex(ctx, js, stream)
	if err != nil {
		return nil, err
	}
	subjects := make([]string, 0, len(info.State.Subjects))
	for subject := range info.State.Subjects {
		subjects = append(subjects, subject)
	}
	sort.Strings(subjects)
	out := make([]SubjectContent, 0, len(subjects))
	for _, subject := range subjects {
		sc := SubjectContent{Stream: stream, Subject: subject, Count: info.State.Subjects[subject]}
		first, err := s.GetMsg(ctx, info.State.FirstSeq, jetstream.WithGetMsgSubject(subject))
		if err != nil && !errors.Is(err, jetstream.ErrMsgNotFound) {
			return nil, fmt.Errorf("the first message of %s: %w", subject, err)
		}
		if first != nil {
			sc.FirstSeq = first.Sequence
			sc.First, _ = Decode(first.Subject, first.Header, first.Data)
		}
		last, err := lastOf(ctx, s, subject)
		if err != nil {
			return nil, err
		}
		if last != nil {
			sc.LastSeq = last.Sequence
			sc.Last, _ = Decode(last.Subject, last.Header, last.Data)
		}
		out = append(out, sc)
	}
	return out, nil
}
