package streams

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// TailOptions choose what Tail prints.
type TailOptions struct {
	// FromSeq starts at this stream sequence; 0 starts at the beginning.
	FromSeq uint64
	// Follow keeps waiting for new events; otherwise Tail stops at the current end.
	Follow bool
	// Limit stops after this many events; 0 means no limit.
	Limit int
}

// TailLine is one line Tail writes: the event's place on the log and its payload.
type TailLine struct {
	Stream  string          `json:"stream"`
	Seq     uint64          `json:"seq"`
	Subject string          `json:"subject"`
	Time    time.Time       `json:"time"`
	Schema  string          `json:"schema,omitempty"`
	Data    json.RawMessage `json:"data"`
}

// Tail writes the events on subject (wildcards allowed) as JSON lines to w, oldest first.
// It returns the number of lines written.
func Tail(ctx context.Context, js jetstream.JetStream, subject string, opts TailOptions, w io.Writer) (int, error) {
	if err := checkFilter(subject); err != nil {
		return 0, err
	}
	stream := StreamFor(subject)
	if stream == "" {
		return 0, fmt.Errorf("no stream holds %q: subjects start with md., feat., corr., sig., ord., pf., sys. or cmd. (see SUBJECTS.md)", subject)
	}
	s, err := js.Stream(ctx, stream)
	if err != nil {
		return 0, fmt.Errorf("stream %s: %w", stream, explainAPI(err, "read stream "+stream))
	}
	info, err := s.Info(ctx, jetstream.WithSubjectFilter(subject))
	if err != nil {
		return 0, fmt.Errorf("stream %s: %w", stream, explainAPI(err, "read stream "+stream))
	}
	cfg := jetstream.OrderedConsumerConfig{FilterSubjects: []string{subject}}
	if opts.FromSeq > 0 {
		cfg.DeliverPolicy = jetstream.DeliverByStartSequencePolicy
		cfg.OptStartSeq = opts.FromSeq
	}
	cons, err := s.OrderedConsumer(ctx, cfg)
	if err != nil {
		return 0, fmt.Errorf("reading %s: %w", subject, err)
	}
	end := info.State.LastSeq
	if !opts.Follow && (end == 0 || end < opts.FromSeq) {
		return 0, nil
	}
	enc := json.NewEncoder(w)
	n := 0
	for {
		batch, err := cons.Fetch(256, jetstream.FetchMaxWait(500*time.Millisecond))
		if err != nil {
			return n, fmt.Errorf("reading %s: %w", subject, err)
		}
		got := 0
		for msg := range batch.Messages() {
			got++
			meta, err := msg.Metadata()
			if err != nil {
				return n, fmt.Errorf("reading %s: %w", subject, err)
			}
			line := TailLine{Stream: stream, Seq: meta.Sequence.Stream, Subject: msg.Subject(), Time: meta.Timestamp.UTC(),
				Schema: msg.Headers().Get(HeaderSchema), Data: json.RawMessage(msg.Data())}
			if !json.Valid(line.Data) {
				line.Data, _ = json.Marshal(string(msg.Data()))
			}
			if err := enc.Encode(line); err != nil {
				return n, err
			}
			n++
			if opts.Limit > 0 && n >= opts.Limit {
				return n, nil
			}
			if !opts.Follow && (meta.NumPending == 0 || meta.Sequence.Stream >= end) {
				return n, nil
			}
		}
		if err := batch.Error(); err != nil && !errors.Is(err, jetstream.ErrNoMessages) && !errors.Is(err, context.DeadlineExceeded) {
			return n, fmt.Errorf("reading %s: %w", subject, err)
		}
		if ctx.Err() != nil {
			return n, ctx.Err()
		}
		if got == 0 && !opts.Follow {
			return n, nil // nothing (more) matches up to the end
		}
	}
}

// checkFilter says what is wrong with a subject filter that NATS would refuse with a
// message naming none of it ("no responders"): an empty token, a '>' before the end, a
// space, or a wildcard inside a token.
func checkFilter(subject string) error {
	tokens := strings.Split(subject, ".")
	for i, t := range tokens {
		switch {
		case t == "":
			return fmt.Errorf("subject %q has an empty token (two dots, or a dot at an end)", subject)
		case t == ">" && i != len(tokens)-1:
			return fmt.Errorf("subject %q: '>' matches the rest of a subject and must be its last token", subject)
		case strings.ContainsAny(t, " \t\r\n"):
			return fmt.Errorf("subject %q holds a space", subject)
		case len(t) > 1 && strings.ContainsAny(t, "*>"):
			return fmt.Errorf("subject %q: a wildcard (* or >) is a whole token, as in md.*.btcusdt.>", subject)
		}
	}
	return nil
}
