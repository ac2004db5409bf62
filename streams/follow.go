package streams

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// Follow reads stream through an ordered consumer configured by cfg (from its first message
// by default) until ctx ends, handing the messages to handle in batches of at most max. A
// message is handed on as soon as it arrives: a batch is what arrived while the previous
// one was handled, so an idle stream costs no latency and a busy one is read in bulk. It
// returns nil when ctx ends, or the first read error or error from handle.
func Follow(ctx context.Context, js jetstream.JetStream, stream string, cfg jetstream.OrderedConsumerConfig, max int,
	handle func([]jetstream.Msg) error) error {
	cons, err := js.OrderedConsumer(ctx, stream, cfg)
	if err != nil {
		if ctx.Err() != nil { // ended while the consumer was being made: a stop, not a failure
			return nil
		}
		return fmt.Errorf("reading stream %s: %w", stream, err)
	}
	msgs, failed, stop, err := Deliver(ctx, cons, max, max)
	if err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return fmt.Errorf("reading stream %s: %w", stream, err)
	}
	defer stop()
	batch := make([]jetstream.Msg, 0, max)
	for {
		select {
		case <-ctx.Done():
			return nil
		case err := <-failed:
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("reading stream %s: %w", stream, err)
		case m := <-msgs:
			batch = append(batch[:0], m)
		}
	drain:
		for len(batch) < max {
			select {
			case m := <-msgs:
				batch = append(batch, m)
			default:
				break drain
			}
		}
		if err := handle(batch); err != nil {
			return err
		}
	}
}

// errRead stops ReadAll's Follow at the end it set out to reach.
var errRead = errors.New("read to the end")

// ReadAll decodes every message of stream, oldest first, up to its last sequence when
// ReadAll is called, handing each to fn with its sequence; a message that does not decode is
// handed on as a nil event, for the caller to count. A restart's rebuild reads the log with
// it. It ends at the last message there is (messages deleted at the end are no wait); a
// stream that stops delivering before its end, or delivers fewer messages than it holds (a
// damaged store), is an error naming it, not a wait without end or a silent gap.
func ReadAll(ctx context.Context, js jetstream.JetStream, stream string, fn func(seq uint64, ev Event)) error {
	s, err := js.Stream(ctx, stream)
	if err != nil {
		return fmt.Errorf("reading %s: %w", stream, err)
	}
	info, err := s.Info(ctx)
	if err != nil {
		return fmt.Errorf("reading %s: %w", stream, err)
	}
	last, deleted := info.State.LastSeq, uint64(info.State.NumDeleted)
	if info.State.Msgs == 0 {
		return nil
	}
	var at atomic.Uint64 // the last sequence read
	at.Store(info.State.FirstSeq - 1)
	passed := uint64(0) // sequences the consumer went past
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var stalled atomic.Bool
	watchdog := time.AfterFunc(readStall, func() { stalled.Store(true); cancel() })
	defer watchdog.Stop()
	err = Follow(ctx, js, stream, jetstream.OrderedConsumerConfig{}, 1024, func(msgs []jetstream.Msg) error {
		watchdog.Reset(readStall)
		for _, d := range DecodeAll(msgs) {
			if d.Seq == 0 {
				continue // no metadata
			}
			if d.Seq > last {
				return errRead // past where the stream ended when ReadAll was called
			}
			passed += d.Seq - at.Load() - 1
			at.Store(d.Seq)
			if d.Err != nil {
				d.Event = nil
			}
			fn(d.Seq, d.Event)
			if d.Seq >= last || d.Pending == 0 {
				return errRead
			}
		}
		return nil
	})
	switch {
	case stalled.Load():
		return fmt.Errorf("reading %s: no message for %s after sequence %d, and the stream says it ends at %d: its store in the data dir may be damaged (restore it from a copy, or start on an empty --data-dir)",
			stream, readStall, at.Load(), last)
	case errors.Is(err, errRead):
		passed += last - at.Load() // the end deleted, or not readable
		if passed > deleted {
			return fmt.Errorf("%w: %s holds %d message(s) it did not deliver (of sequences %d to %d, %d deleted): its store in the data dir is damaged, and a state rebuilt without them would be wrong: restore the data dir from a copy",
				ErrUnreadable, stream, passed-deleted, info.State.FirstSeq, last, deleted)
		}
		return nil
	case err == nil: // ctx ended first
		return fmt.Errorf("reading %s: %w", stream, ctx.Err())
	}
	return err
}

// readStall is how long ReadAll waits for the next message of a stream it has not read to
// its end.
var readStall = 15 * time.Second

// Deliver consumes cons, pulling up to pull messages at a time, and hands each message to
// msgs (capacity buffer) as it arrives. A send blocks while the reader does not keep up, and
// the consumer's pull pauses with it; it gives up once ctx ends. failed receives the error
// that ends the consumption: the consumer was deleted or the connection closed. stop stops
// consuming.
func Deliver(ctx context.Context, cons jetstream.Consumer, buffer, pull int) (msgs <-chan jetstream.Msg, failed <-chan error, stop func(), err error) {
	out, fails := make(chan jetstream.Msg, buffer), make(chan error, 1)
	var once sync.Once
	cc, err := cons.Consume(func(m jetstream.Msg) {
		select {
		case out <- m:
		case <-ctx.Done():
		}
	}, jetstream.PullMaxMessages(pull), jetstream.ConsumeErrHandler(func(_ jetstream.ConsumeContext, err error) {
		if errors.Is(err, jetstream.ErrConsumerDeleted) || errors.Is(err, jetstream.ErrConnectionClosed) {
			once.Do(func() { fails <- err })
		}
	}))
	if err != nil {
		return nil, nil, nil, err
	}
	return out, fails, cc.Stop, nil
}

// Decoded is one message of the log, decoded: its stream sequence and its event. Err says
// why there is no event; Seq is 0 when the message carries no JetStream metadata.
type Decoded struct {
	Seq     uint64
	Pending uint64    // messages of the consumer after this one, as the server counted them
	Stored  time.Time // when the log stored it (the server's clock)
	Event   Event
	Err     error
}

// DecodeAll decodes a batch that Follow handed on, in order. A batch of 256 messages or more
// is decoded on every core: decoding is most of what a log follower does with a message.
func DecodeAll(msgs []jetstream.Msg) []Decoded {
	out := make([]Decoded, len(msgs))
	decode := func(lo, hi int) {
		for i := lo; i < hi; i++ {
			out[i] = DecodeMsg(msgs[i])
		}
	}
	workers := min(runtime.GOMAXPROCS(0), len(msgs)/256)
	if workers < 2 {
		decode(0, len(msgs))
		return out
	}
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			decode(w*len(msgs)/workers, (w+1)*len(msgs)/workers)
		}()
	}
	wg.Wait()
	return out
}

// DecodeMsg decodes one message of the log.
func DecodeMsg(m jetstream.Msg) Decoded {
	meta, err := m.Metadata()
	if err != nil {
		return Decoded{Err: err}
	}
	d := Decoded{Seq: meta.Sequence.Stream, Pending: meta.NumPending, Stored: meta.Timestamp}
	d.Event, d.Err = Decode(m.Subject(), m.Headers(), m.Data())
	return d
}
