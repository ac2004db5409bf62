package web

import (
	"encoding/json"
	"sort"
	"sync"
)

// Hub holds the latest state of every topic (e.g. "symbol/binance/BTCUSDT") and tells
// websocket clients when a topic changed. Updates never block: a client that is behind
// simply receives the newest value of each topic it missed (latest value wins).
type Hub struct {
	mu      sync.Mutex
	topics  map[string]*topicState
	version uint64
	clients map[chan struct{}]struct{}
}

type topicState struct {
	data    json.RawMessage
	version uint64
}

// Update is one topic's new value as a client receives it.
type Update struct {
	Topic string          `json:"topic"`
	Data  json.RawMessage `json:"data"`
}

// NewHub returns an empty hub.
func NewHub() *Hub {
	return &Hub{topics: map[string]*topicState{}, clients: map[chan struct{}]struct{}{}}
}

// Set stores v (marshalled to JSON) as the latest value of topic and wakes the clients.
func (h *Hub) Set(topic string, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return err
	}
	h.mu.Lock()
	h.version++
	h.topics[topic] = &topicState{data: data, version: h.version}
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

// Since returns the topics changed after version, sorted by topic, and the hub's version.
func (h *Hub) Since(version uint64) ([]Update, uint64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []Update
	for name, t := range h.topics {
		if t.version > version {
			out = append(out, Update{Topic: name, Data: t.data})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Topic < out[j].Topic })
	return out, h.version
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
