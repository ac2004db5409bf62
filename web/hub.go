package web

import (
	"encoding/json"
	"sort"
	"strings"
	"sync"
)

// Hub holds the latest state of every topic (e.g. "symbol/binance/BTCUSDT") and tells
// websocket clients when a topic changed. Updates never block.
//
// Two kinds of topic:
//   - state topics (the default): a client that is behind receives the newest value of each
//     topic it missed (latest value wins);
//   - event topics (declared with Events, e.g. "agent_events", "orders"): each value is an
//     event, and a client receives every one of them in order. The hub keeps the newest
//     EventBacklog events of each event topic; a client further behind than that on a topic
//     it subscribed to has lost events, and the gateway disconnects it (see Behind).
type Hub struct {
	mu      sync.Mutex
	topics  map[string]*topicState
	version uint64
	clients map[chan struct{}]struct{}
	events  map[string]*eventLog // the event topics
	backlog int
}

type topicState struct {
	data    json.RawMessage
	version uint64
}

// eventLog is an event topic's newest events in a ring (the oldest at start), and the
// version of the newest event it let go of (0: none yet).
type eventLog struct {
	ring    []event // allocated at the first event, with the hub's backlog
	start   int
	n       int
	dropped uint64
}

// add appends e, letting go of the oldest event when the ring is full.
func (l *eventLog) add(e event, backlog int) {
	if l.ring == nil {
		l.ring = make([]event, max(backlog, 1))
	}
	if l.n < len(l.ring) {
		l.ring[(l.start+l.n)%len(l.ring)] = e
		l.n++
		return
	}
	l.dropped = l.ring[l.start].version
	l.ring[l.start] = e
	l.start = (l.start + 1) % len(l.ring)
}

// at is the i-th kept event, oldest first.
func (l *eventLog) at(i int) event { return l.ring[(l.start+i)%len(l.ring)] }

type event struct {
	data    json.RawMessage
	version uint64
}

// DefaultEventBacklog is how many events of each event topic a client may be behind before
// it is disconnected.
const DefaultEventBacklog = 4096

// Update is one topic's new value as a client receives it.
type Update struct {
	Topic string          `json:"topic"`
	Data  json.RawMessage `json:"data"`
}

// NewHub returns an empty hub.
func NewHub() *Hub {
	return &Hub{topics: map[string]*topicState{}, clients: map[chan struct{}]struct{}{},
		events: map[string]*eventLog{}, backlog: DefaultEventBacklog}
}

// Events declares topics as event topics: every value set on them reaches every client
// subscribed, in order, within a backlog of EventBacklog events per topic (default
// DefaultEventBacklog; backlog <= 0 keeps it). Call it before the first Set of those topics.
func (h *Hub) Events(backlog int, topics ...string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if backlog > 0 {
		h.backlog = backlog
	}
	for _, t := range topics {
		if h.events[t] == nil {
			h.events[t] = &eventLog{}
		}
	}
}

// EventBacklog is how many events of each event topic the hub keeps for clients behind.
func (h *Hub) EventBacklog() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.backlog
}

// Set stores v (marshalled to JSON) as the latest value of topic and wakes the clients; on
// an event topic it also appends v to the topic's events.
func (h *Hub) Set(topic string, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return err
	}
	h.mu.Lock()
	h.version++
	h.topics[topic] = &topicState{data: data, version: h.version}
	if log, ok := h.events[topic]; ok {
		log.add(event{data: data, version: h.version}, h.backlog)
	}
	for c := range h.clients {
		select {
		case c <- struct{}{}:
		default: // already signalled
		}
	}
	h.mu.Unlock()
	return nil
}

// Get returns the latest value of topic.
func (h *Hub) Get(topic string) (json.RawMessage, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	t, ok := h.topics[topic]
	if !ok {
		return nil, false
	}
	return t.data, true
}

// Latest returns the latest value of every topic, sorted by topic, and the hub's version:
// what a client joining receives first.
func (h *Hub) Latest() ([]Update, uint64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := make([]Update, 0, len(h.topics))
	for name, t := range h.topics {
		out = append(out, Update{Topic: name, Data: t.data})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Topic < out[j].Topic })
	return out, h.version
}

// Since returns what changed after version, sorted by topic, and the hub's version: the
// latest value of each state topic, and every kept event newer than version of each event
// topic, oldest first.
func (h *Hub) Since(version uint64) ([]Update, uint64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []Update
	for name, t := range h.topics {
		if t.version <= version {
			continue
		}
		log, isEvent := h.events[name]
		if !isEvent {
			out = append(out, Update{Topic: name, Data: t.data})
			continue
		}
		for i := range log.n {
			if e := log.at(i); e.version > version {
				out = append(out, Update{Topic: name, Data: e.data})
			}
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Topic < out[j].Topic })
	return out, h.version
}

// Behind returns an event topic that a client at version, subscribed to prefixes (none:
// every topic), has lost events of: the hub let go of one newer than version. "" when none.
func (h *Hub) Behind(version uint64, prefixes []string) string {
	h.mu.Lock()
	defer h.mu.Unlock()
	for name, log := range h.events {
		if log.dropped > version && subscribed(name, prefixes) {
			return name
		}
	}
	return ""
}

// Known reports whether a topic set now starts with prefix.
func (h *Hub) Known(prefix string) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	for name := range h.topics {
		if strings.HasPrefix(name, prefix) {
			return true
		}
	}
	return false
}

// Watch returns a channel signalled (coalesced) whenever a topic changes, and a function
// that stops watching.
func (h *Hub) Watch() (<-chan struct{}, func()) {
	c := make(chan struct{}, 1)
	h.mu.Lock()
	h.clients[c] = struct{}{}
	h.mu.Unlock()
	return c, func() {
		h.mu.Lock()
		delete(h.clients, c)
		h.mu.Unlock()
	}
}
