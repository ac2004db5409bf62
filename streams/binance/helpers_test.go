package binance

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/govalues/decimal"
	"github.com/synapse-trading/synapse/streams"
	"github.com/synapse-trading/synapse/streams/binance/binancetest"
	"github.com/synapse-trading/synapse/streams/recordings"
)

// checkFor polls cond until it holds or the deadline passes.
func checkFor(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("after %v: %s", within, what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// recorder collects the feed's events; safe for the feed goroutine and the test.
type recorder struct {
	mu     sync.Mutex
	events []streams.Event
}

func (r *recorder) handle(ev streams.Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, ev)
}

func (r *recorder) all() []streams.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]streams.Event(nil), r.events...)
}

func (r *recorder) len() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.events)
}

func (r *recorder) klines() []streams.Kline {
	var out []streams.Kline
	for _, ev := range r.all() {
		if k, ok := ev.(*streams.Kline); ok {
			out = append(out, *k)
		}
	}
	return out
}

// testOptions point a feed at the fake server, with quick reconnects and a quiet logger.
func testOptions(srv *binancetest.Server, venue string, symbols ...string) Options {
	opts := DefaultOptions()
	opts.Venue = venue
	opts.Symbols = symbols
	opts.WebsocketURL = srv.WebsocketURL()
	opts.RESTURL = srv.URL()
	opts.MinBackoff = time.Millisecond
	opts.MaxBackoff = 20 * time.Millisecond
	opts.RESTTimeout = 5 * time.Second
	opts.ReadTimeout = 10 * time.Second
	opts.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	return opts
}

// runFeed starts a feed in the background; the test's cleanup stops it.
func runFeed(t *testing.T, opts Options) (*Feed, *recorder) {
	t.Helper()
	rec := &recorder{}
	feed, err := New(opts, rec.handle)
	if err != nil {
		t.Fatal(err)
	}
	errc := make(chan error, 1)
	go func() { errc <- feed.Run(context.Background()) }()
	t.Cleanup(func() {
		feed.Stop()
		if err := <-errc; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	return feed, rec
}

// loadKlines reads the first n klines of a CSV in streams/recordings.
func loadKlines(t testing.TB, name, venue, symbol string, n int) []streams.Kline {
	t.Helper()
	raw, err := recordings.Read(name)
	if err != nil {
		t.Fatal(err)
	}
	ks, err := binancetest.ReadKlinesCSV(bytes.NewReader(raw), venue, symbol, "1m")
	if err != nil {
		t.Fatal(err)
	}
	if len(ks) < n {
		t.Fatalf("%s has %d klines, want %d", name, len(ks), n)
	}
	return ks[:n]
}

// recordedLine is one line of a websocket capture in streams/recordings:
// "<receive time ns> <json>", the JSON a combined-stream frame or a REST depth snapshot.
type recordedLine struct {
	raw      []byte // the JSON
	stream   string // "" for a snapshot
	data     json.RawMessage
	snapshot *streams.Snapshot
}

// loadRecording reads the first n lines of a websocket capture.
func loadRecording(t testing.TB, name, venue, symbol string, n int) []recordedLine {
	t.Helper()
	raw, err := recordings.Read(name)
	if err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(bytes.NewReader(raw))
	sc.Buffer(make([]byte, 1<<20), 1<<22)
	var out []recordedLine
	for len(out) < n && sc.Scan() {
		_, js, ok := strings.Cut(sc.Text(), " ")
		if !ok {
			t.Fatalf("%s line %d: no space", name, len(out)+1)
		}
		line := recordedLine{raw: []byte(js)}
		var env struct {
			Stream       string          `json:"stream"`
			Data         json.RawMessage `json:"data"`
			LastUpdateID int64           `json:"lastUpdateId"`
			Bids         [][2]string     `json:"bids"`
			Asks         [][2]string     `json:"asks"`
		}
		if err := json.Unmarshal(line.raw, &env); err != nil {
			t.Fatalf("%s line %d: %v", name, len(out)+1, err)
		}
		line.stream, line.data = env.Stream, env.Data
		if env.Stream == "" {
			line.snapshot = &streams.Snapshot{Venue: venue, Symbol: symbol, LastUpdateID: env.LastUpdateID,
				Bids: mustLevels(t, env.Bids), Asks: mustLevels(t, env.Asks)}
		}
		out = append(out, line)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func mustLevels(t testing.TB, in [][2]string) []streams.Level {
	out := make([]streams.Level, len(in))
	for i, l := range in {
		p, err1 := decimal.Parse(l[0])
		q, err2 := decimal.Parse(l[1])
		if err1 != nil || err2 != nil {
			t.Fatalf("level %v: %v %v", l, err1, err2)
		}
		out[i] = streams.Level{Price: p, Qty: q}
	}
	return out
}

func dec(s string) decimal.Decimal { return decimal.MustParse(s) }
