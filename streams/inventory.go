package streams

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
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

// ReadStreamContent reads the state of every stream of the Catalog: one request each.
func ReadStreamContent(ctx context.Context, js jetstream.JetStream) ([]StreamContent, error) {
	var out []StreamContent
	for _, c := range Catalog() {
		s, err := js.Stream(ctx, c.Name) // reads the stream's info
		if err != nil {
			return nil, fmt.Errorf("stream %s: %w", c.Name, err)
		}
		st := s.CachedInfo().State
		out = append(out, StreamContent{Name: c.Name, Messages: st.Msgs, Bytes: st.Bytes,
			FirstSeq: st.FirstSeq, LastSeq: st.LastSeq, FirstTime: st.FirstTime, LastTime: st.LastTime,
			Subjects: st.NumSubjects})
	}
	return out, nil
}

// Inventory reads, for every subject of a stream, its count (from the stream's
// per-subject index) and its first and last messages (lookups by subject). Its cost grows with the number of subjects, not of messages.
//
// It keeps what it read between reads. A subject's first message is the costly one to find
// (the server looks in the subject's oldest block, long out of its cache on a big stream),
// and it never changes while it is held: messages are only added after the last, and taken
// from the front by the streams' retention (MaxAge, MaxBytes). So a kept first message is
// read again only once the stream's first sequence has moved past it, when the stream has
// holes (a message deleted or a subject purged by hand: then what was taken is not known),
// or when the stream was made anew. While a subject's first message is held none of its
// later ones has gone either, so an unchanged count means no message was added and the last
// is the kept one too; a changed count reads the last again (an index lookup). A count
// read before its subject's first message was found, while the retention took messages
// (the stream's first sequence moved during the read), may count some that were taken
// before it: that subject's last is read again next time.
type Inventory struct {
	js jetstream.JetStream

	mu      sync.Mutex
	streams map[string]jetstream.Stream // by name: a stream's handle, to ask by name
	kept    map[string]keptSubjects     // by stream
	gets    int                         // messages read, for the tests
}

// keptSubjects is what an Inventory read of one stream's subjects.
type keptSubjects struct {
	created  time.Time // the stream's: one deleted and made again numbers anew
	subjects map[string]keptSubject
}

// keptSubject is what an Inventory read of one subject; its Count is the messages from its
// FirstSeq on when counted.
type keptSubject struct {
	SubjectContent
	counted bool
}

// NewInventory returns an Inventory of js's streams that has read nothing yet.
func NewInventory(js jetstream.JetStream) *Inventory {
	return &Inventory{js: js, streams: map[string]jetstream.Stream{}, kept: map[string]keptSubjects{}}
}

// Subjects reads what stream holds of each of its subjects. Subjects come sorted.
func (inv *Inventory) Subjects(ctx context.Context, stream string) ([]SubjectContent, error) {
	inv.mu.Lock()
	defer inv.mu.Unlock()
	s, ok := inv.streams[stream]
	if !ok {
		var err error
		if s, err = inv.js.Stream(ctx, stream); err != nil {
			return nil, fmt.Errorf("stream %s: %w", stream, err)
		}
		inv.streams[stream] = s
	}
	info, err := s.Info(ctx, jetstream.WithSubjectFilter(">"))
	if err != nil {
		return nil, fmt.Errorf("the subjects of stream %s: %w", stream, err)
	}
	st := info.State
	kept := inv.kept[stream]
	if !kept.created.Equal(info.Created) || st.NumDeleted > 0 {
		kept.subjects = nil
	}
	subjects := make([]string, 0, len(st.Subjects))
	for subject := range st.Subjects {
		subjects = append(subjects, subject)
	}
	sort.Strings(subjects)

	out := make([]SubjectContent, 0, len(subjects))
	held := make([]bool, 0, len(subjects)) // out[i]'s first message is the kept one
	readFirst := false
	for _, subject := range subjects {
		k, ok := kept.subjects[subject]
		sc := k.SubjectContent
		keep := ok && sc.FirstSeq != 0 && sc.FirstSeq >= st.FirstSeq
		if !keep {
			sc = SubjectContent{Stream: stream, Subject: subject}
			first, err := s.GetMsg(ctx, st.FirstSeq, jetstream.WithGetMsgSubject(subject))
			if err != nil && !errors.Is(err, jetstream.ErrMsgNotFound) {
				return nil, fmt.Errorf("the first message of %s: %w", subject, err)
			}
			inv.gets++
			readFirst = true
			if first != nil {
				sc.FirstSeq = first.Sequence
				sc.First, _ = Decode(first.Subject, first.Header, first.Data)
			}
		}
		if !keep || !k.counted || sc.Count != st.Subjects[subject] {
			last, err := lastOf(ctx, s, subject)
			if err != nil {
				return nil, err
			}
			inv.gets++
			sc.LastSeq, sc.Last = 0, nil
			if last != nil {
				sc.LastSeq = last.Sequence
				sc.Last, _ = Decode(last.Subject, last.Header, last.Data)
			}
		}
		sc.Count = st.Subjects[subject]
		out = append(out, sc)
		held = append(held, keep)
	}

	moved := false // the retention took messages while first ones were read
	if readFirst {
		after, err := s.Info(ctx)
		if err != nil {
			return nil, fmt.Errorf("stream %s: %w", stream, err)
		}
		moved = after.State.FirstSeq != st.FirstSeq
	}
	next := keptSubjects{created: info.Created, subjects: make(map[string]keptSubject, len(out))}
	for i, sc := range out {
		next.subjects[sc.Subject] = keptSubject{SubjectContent: sc, counted: held[i] || !moved}
	}
	inv.kept[stream] = next
	return out, nil
}
