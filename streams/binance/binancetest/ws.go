package binancetest

import (
	"context"
	"net/http"
	"strings"

	"github.com/coder/websocket"
)

// serveWebsocket plays the tape to one websocket connection, /stream?streams=a/b (combined)
// or /ws/<stream> (single).
func (s *Server) serveWebsocket(w http.ResponseWriter, r *http.Request) {
	combined := r.URL.Path == "/stream"
	var names []string
	if combined {
		names = strings.Split(r.URL.Query().Get("streams"), "/")
	} else {
		names = strings.Split(strings.TrimPrefix(r.URL.Path, "/ws/"), "/")
	}
	subscribed := make(map[string]bool, len(names))
	for _, n := range names {
		if n != "" {
			subscribed[n] = true
		}
	}
	if len(subscribed) == 0 {
		http.Error(w, `{"code":-1100,"msg":"no streams"}`, http.StatusBadRequest)
		return
	}

	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		http.Error(w, "server closing", http.StatusServiceUnavailable)
		return
	}
	s.conns.Add(1)
	s.stats.Connections++
	s.mu.Unlock()
	defer s.conns.Done()

	c, err := websocket.Accept(w, r, nil)
	if err != nil {
		return
	}
	defer c.CloseNow()
	// The client sends nothing we need; CloseRead answers its pings and close frames and
	// cancels ctx when it goes away.
	ctx := c.CloseRead(context.Background())

	sent := 0
	for {
		f, ok := s.nextFrame(ctx, subscribed)
		if !ok {
			return
		}
		if err := c.Write(ctx, websocket.MessageText, wire(f, combined)); err != nil {
			return
		}
		sent++
		faults := s.countSent()
		if faults.GarbageEvery > 0 && sent%faults.GarbageEvery == 0 {
			if err := c.Write(ctx, websocket.MessageText, s.garbage(f.stream, combined)); err != nil {
				return
			}
		}
		if faults.DropAfter > 0 && sent >= faults.DropAfter && s.drop() {
			return // the deferred CloseNow drops the connection without a close handshake
		}
	}
}

// nextFrame takes the next tape frame for a connection subscribed to the given streams,
// waiting for the test to queue one. It returns false when the connection or server closes.
func (s *Server) nextFrame(ctx context.Context, subscribed map[string]bool) (frame, bool) {
	for {
		s.mu.Lock()
		for ctx.Err() == nil && s.next < len(s.tape) {
			f := s.tape[s.next]
			s.next++
			if subscribed[f.stream] {
				s.mu.Unlock()
				return f, true
			}
		}
		wake := s.wake
		s.mu.Unlock()
		select {
		case <-wake:
		case <-ctx.Done():
			return frame{}, false
		case <-s.closing:
			return frame{}, false
		}
	}
}

// countSent counts a good frame and returns the faults in force.
func (s *Server) countSent() Faults {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stats.FramesSent++
	return s.faults
}

// drop decides whether to drop the connection now (MaxDrops not reached) and, if so, loses
// the next SkipKlines closed klines of the tape.
func (s *Server) drop() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.faults.MaxDrops > 0 && s.stats.Drops >= s.faults.MaxDrops {
		return false
	}
	s.stats.Drops++
	kept := s.tape[:s.next]
	skipped := 0
	for _, f := range s.tape[s.next:] {
		if f.closedKline && skipped < s.faults.SkipKlines {
			skipped++
			continue
		}
		kept = append(kept, f)
	}
	s.tape = kept
	s.stats.SkippedKlines += skipped
	return true
}

// garbage returns the next malformed frame, in turn: not JSON, JSON with wrong types on a
// real stream, and truncated JSON.
func (s *Server) garbage(stream string, combined bool) []byte {
	s.mu.Lock()
	n := s.stats.GarbageSent
	s.stats.GarbageSent++
	s.mu.Unlock()
	switch n % 3 {
	case 0:
		return []byte("this is not json")
	case 1:
		return wire(frame{stream: stream, data: []byte(`{"e":7,"s":[],"k":"x","b":{},"a":1,"t":"?"}`)}, combined)
	default:
		return []byte(`{"stream":"` + stream + `","data":{"e":"tra`)
	}
}

// wire is what goes on the socket: the combined-stream wrapper or the bare data.
func wire(f frame, combined bool) []byte {
	if !combined {
		return f.data
	}
	out := make([]byte, 0, len(f.data)+len(f.stream)+22)
	out = append(out, `{"stream":"`...)
	out = append(out, f.stream...)
	out = append(out, `","data":`...)
	out = append(out, f.data...)
	return append(out, '}')
}
