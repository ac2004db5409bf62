package web

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// readEvents reads frames from c until it has want events of topic, or the stream ends;
// it returns their "n" fields in the order received and the error that ended the stream.
func readEvents(ctx context.Context, c *websocket.Conn, topic string, want int, pause time.Duration) ([]int, error) {
	var got []int
	for len(got) < want {
		_, data, err := c.Read(ctx)
		if err != nil {
			return got, err
		}
		var frame []Update
		if err := json.Unmarshal(data, &frame); err != nil {
			return got, err
		}
		for _, u := range frame {
			if u.Topic != topic {
				continue
			}
			var ev struct{ N int }
			if err := json.Unmarshal(u.Data, &ev); err != nil {
				return got, err
			}
			got = append(got, ev.N)
		}
		time.Sleep(pause) // a slow reader
	}
	return got, nil
}

// A burst of events on an event topic reaches a client that reads slowly whole and in order
// (within the backlog), where a state topic in the same burst is coalesced to its latest.
func TestEventTopicReachesASlowReaderWholeAndInOrder(t *testing.T) {
	e := newEnv(t, Options{MinInterval: 50 * time.Millisecond})
	e.hub.Events(64, "agent_events")
	_ = e.hub.Set("agent_events", map[string]int{"n": 0})
	_ = e.hub.Set("symbol/binance/BTCUSDT", map[string]int{"n": 0})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c, _, err := e.dialWS(ctx, "/ws?topics=agent_events,symbol/", e.viewer)
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	if first, err := readEvents(ctx, c, "agent_events", 1, 0); err != nil || len(first) != 1 || first[0] != 0 {
		t.Fatalf("first frame: events %v, %v; want the latest event, 0", first, err)
	}

	const burst = 60 // within the backlog of 64
	for i := 1; i <= burst; i++ {
		_ = e.hub.Set("agent_events", map[string]int{"n": i})
		_ = e.hub.Set("symbol/binance/BTCUSDT", map[string]int{"n": i})
	}
	got, err := readEvents(ctx, c, "agent_events", burst, 120*time.Millisecond)
	if err != nil {
		t.Fatalf("after %d events: %v", len(got), err)
	}
	for i, n := range got {
		if n != i+1 {
			t.Fatalf("events received %v, want 1..%d in order", got, burst)
		}
	}
}

// A client that falls further behind on an event topic than the backlog is closed with
// 1008 and a reason naming the topic; a client that did not subscribe to it keeps its stream.
func TestClientPastTheEventBacklogIsClosedWithTheReason(t *testing.T) {
	// One frame per client a second: a burst of 10 × the backlog outruns every client.
	e := newEnv(t, Options{MinInterval: time.Second})
	e.hub.Events(16, "agent_events")
	_ = e.hub.Set("agent_events", map[string]int{"n": 0})
	_ = e.hub.Set("symbol/binance/BTCUSDT", "start")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	behind, _, err := e.dialWS(ctx, "/ws?topics=agent_events", e.viewer)
	if err != nil {
		t.Fatal(err)
	}
	defer behind.CloseNow()
	other, _, err := e.dialWS(ctx, "/ws?topics=symbol/", e.viewer)
	if err != nil {
		t.Fatal(err)
	}
	defer other.CloseNow()
	if _, err := readEvents(ctx, behind, "agent_events", 1, 0); err != nil {
		t.Fatal(err)
	}
	if _, _, err := other.Read(ctx); err != nil {
		t.Fatal(err)
	}
	before := value(t, e.g.metrics.slowDisconnects)

	for i := 1; i <= 160; i++ {
		_ = e.hub.Set("agent_events", map[string]int{"n": i})
	}
	got, err := readEvents(ctx, behind, "agent_events", 160, 0)
	if websocket.CloseStatus(err) != websocket.StatusPolicyViolation || !strings.Contains(err.Error(), "client too slow: over 16 agent_events events behind") {
		t.Fatalf("after %d events the stream ended with %v; want 1008 \"client too slow: over 16 agent_events events behind\"", len(got), err)
	}
	if n := value(t, e.g.metrics.slowDisconnects) - before; n != 1 {
		t.Errorf("%v slow disconnects counted, want 1", n)
	}
	_ = e.hub.Set("symbol/binance/BTCUSDT", "after")
	_, data, err := other.Read(ctx)
	if err != nil || !strings.Contains(string(data), `"after"`) {
		t.Fatalf("the client not subscribed to agent_events: %s, %v", data, err)
	}
}

// A topic prefix that starts no topic is refused with 1008 and a reason naming the words of
// every topic family; a known family, or a topic the hub holds, is served.
func TestUnknownTopicPrefixIsClosedNamingTheTopics(t *testing.T) {
	e := newEnv(t, Options{MinInterval: 10 * time.Millisecond})
	_ = e.hub.Set("bench/x", 1)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, path := range []string{"/ws?topics=nosuch/", "/ws?topics=symbol/,nosuch/", "/ws?topics=a-very-long-unknown-prefix-that-goes-on/"} {
		c, _, err := e.dialWS(ctx, path, e.viewer)
		if err != nil {
			t.Fatal(err)
		}
		_, _, err = c.Read(ctx)
		c.CloseNow()
		var ce websocket.CloseError
		if !errors.As(err, &ce) || ce.Code != websocket.StatusPolicyViolation || !strings.HasPrefix(ce.Reason, "unknown topic; known: ") {
			t.Fatalf("%s: %v; want 1008 unknown topic", path, err)
		}
		words := strings.Fields(strings.TrimPrefix(ce.Reason, "unknown topic; known: "))
		for _, f := range Topics { // every family, by the word it starts with (each one a prefix to subscribe to)
			if !slices.ContainsFunc(words, func(w string) bool { return strings.HasPrefix(f, w) }) {
				t.Errorf("%s: the reason %q names no word of the family %s", path, ce.Reason, f)
			}
		}
	}
	// health and training/ are families before the hub holds one (a page asks for them at once)
	for _, path := range []string{"/ws?topics=symbol/binance/BTC", "/ws?topics=agent", "/ws?topics=bench/", "/ws?topics=training/,health"} {
		c, _, err := e.dialWS(ctx, path, e.viewer)
		if err != nil {
			t.Fatal(err)
		}
		_ = e.hub.Set("bench/x", 2) // something to read or time out on
		rctx, rcancel := context.WithTimeout(ctx, 300*time.Millisecond)
		_, _, err = c.Read(rctx)
		rcancel()
		c.CloseNow()
		if s := websocket.CloseStatus(err); s != -1 {
			t.Errorf("%s: closed with %v; a known prefix is served", path, err)
		}
	}
}

// Every documented topic family (the websocket table of README.md) is a family the gateway
// knows, and the other way round; each, and a topic of it, is served before any topic of it
// has a value (a training/<id> before the first run, portfolio before the first summary).
func TestDocumentedTopicFamiliesAreServedBeforeTheirFirstValue(t *testing.T) {
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, section, _ := strings.Cut(string(readme), "### The websocket")
	section, _, _ = strings.Cut(section, "\n## ")
	var documented []string
	for _, m := range regexp.MustCompile("(?m)^\\| `([a-z_]+/?)[^`]*`").FindAllStringSubmatch(section, -1) {
		documented = append(documented, m[1])
	}
	slices.Sort(documented)
	known := slices.Sorted(slices.Values(Topics))
	if !slices.Equal(documented, known) {
		t.Fatalf("README's websocket table documents %v; the gateway knows %v", documented, known)
	}

	e := newEnv(t, Options{MinInterval: 10 * time.Millisecond}) // an empty hub: no topic has a value
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for _, f := range Topics {
		for _, prefix := range []string{f, f + "x"} {
			if prefix == f+"x" && !strings.HasSuffix(f, "/") {
				continue
			}
			c, _, err := e.dialWS(ctx, "/ws?topics="+prefix, e.viewer)
			if err != nil {
				t.Fatal(err)
			}
			_ = e.hub.Set("other", 1) // a change the client is not subscribed to: nothing to read
			rctx, rcancel := context.WithTimeout(ctx, 100*time.Millisecond)
			_, _, err = c.Read(rctx)
			rcancel()
			c.CloseNow()
			if s := websocket.CloseStatus(err); s != -1 {
				t.Errorf("?topics=%s before any value: closed with %v", prefix, err)
			}
		}
	}
}
