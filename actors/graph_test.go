package actors

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/synapse-trading/synapse/streams"
	"github.com/synapse-trading/synapse/streams/recordings"
	"github.com/synapse-trading/synapse/streams/replay"
)

// checkFor polls cond until it holds or the deadline passes.
func checkFor(t *testing.T, d time.Duration, cond func() error) {
	t.Helper()
	deadline := time.Now().Add(d)
	var err error
	for time.Now().Before(deadline) {
		if err = cond(); err == nil {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("condition not met after %s: %v", d, err)
}

// states collects what the symbol actors observe.
type states struct {
	mu sync.Mutex
	m  map[string]SymbolState
}

func (s *states) observe(topic string, v any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.m[topic] = v.(SymbolState)
}

func (s *states) get(topic string) (SymbolState, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st, ok := s.m[topic]
	return st, ok
}

func openLog(t *testing.T) *streams.Log {
	t.Helper()
	l, err := streams.Open(context.Background(), streams.Options{DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(l.Close)
	return l
}

// ingest puts bundled recordings on the log and returns how many events per symbol topic.
func ingest(t *testing.T, l *streams.Log, names ...string) map[string]int64 {
	t.Helper()
	rp, err := replay.OpenFS(recordings.FS(), names, replay.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer rp.Close()
	ctx := context.Background()
	counts := map[string]int64{}
	for {
		rec, err := rp.Next(ctx)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if err := l.Publish(ctx, rec.Event); err != nil {
			t.Fatal(err)
		}
		v, s := rec.Event.Key()
		counts[SymbolTopic(v, s)]++
	}
	if err := l.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	return counts
}

func expectedFeatures(t *testing.T, name string) []byte {
	t.Helper()
	rp, err := replay.OpenFS(recordings.FS(), []string{name}, replay.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer rp.Close()
	var out bytes.Buffer
	fw, err := NewFeatureWriter(&out, "json")
	if err != nil {
		t.Fatal(err)
	}
	for {
		rec, err := rp.Next(context.Background())
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if err := fw.Apply(rec.Event); err != nil {
			t.Fatal(err)
		}
	}
	if _, _, err := fw.Close(); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

func TestSymbolActorsConsumeTheLogAndPublishFeatures(t *testing.T) {
	l := openLog(t)
	counts := ingest(t, l, "ETHUSDT-1m-2022-08-14.csv.gz", "BTCUSDT-wsfeed-2024-08-08.txt.gz")
	seen := &states{m: map[string]SymbolState{}}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	g, err := NewGraph(SymbolOptions{
		Publish:      func(ev streams.Event) { _ = l.Publish(ctx, ev) },
		Observe:      seen.observe,
		ObserveEvery: time.Millisecond,
		Log:          l.JS,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer g.Stop()
	done := make(chan error, 1)
	go func() { done <- g.ConsumeLog(ctx, l.JS) }()

	eth, btc := SymbolTopic("binance", "ETHUSDT"), SymbolTopic("binance", "BTCUSDT")
	checkFor(t, 60*time.Second, func() error {
		for _, topic := range []string{eth, btc} {
			st, ok := seen.get(topic)
			if !ok || st.Events != counts[topic] {
				return errors.New(topic + " has not applied every event yet")
			}
		}
		return nil
	})
	ethState, _ := seen.get(eth)
	if ethState.Candle == nil || ethState.Candle.OpenTime != 1660521540000 || ethState.Malformed+ethState.OutOfOrder+ethState.Duplicates != 0 {
		t.Fatalf("ETHUSDT state: candle %+v, problems %d/%d/%d (%s)", ethState.Candle, ethState.Malformed, ethState.OutOfOrder, ethState.Duplicates, ethState.LastProblem)
	}
	btcState, _ := seen.get(btc)
	if !btcState.BookSynced || btcState.Bid == "" || btcState.Candle == nil {
		t.Fatalf("BTCUSDT (capture) state: synced %v bid %q candle %v", btcState.BookSynced, btcState.Bid, btcState.Candle)
	}

	// The 1m features on the log are exactly what `synapse features` computes from the file.
	if err := l.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	var onLog bytes.Buffer
	n, err := streams.Tail(ctx, l.JS, "feat.binance.ethusdt.1m", streams.TailOptions{}, &onLog)
	if err != nil {
		t.Fatal(err)
	}
	want := expectedFeatures(t, "ETHUSDT-1m-2022-08-14.csv.gz")
	if wantN := bytes.Count(want, []byte("\n")); n != wantN {
		t.Fatalf("%d 1m features on the log, want %d", n, wantN)
	}
	var hourly bytes.Buffer
	if n, err := streams.Tail(ctx, l.JS, "feat.binance.ethusdt.1h", streams.TailOptions{}, &hourly); err != nil || n != 24 {
		t.Fatalf("%d hourly features on the log (%v), want 24", n, err)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func TestPanickedSymbolActorRebuildsItsStateFromTheLog(t *testing.T) {
	l := openLog(t)
	counts := ingest(t, l, "ETHUSDT-1m-2022-08-14.csv.gz")
	seen := &states{m: map[string]SymbolState{}}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	g, err := NewGraph(SymbolOptions{Observe: seen.observe, ObserveEvery: time.Millisecond, Log: l.JS})
	if err != nil {
		t.Fatal(err)
	}
	defer g.Stop()
	go func() { _ = g.ConsumeLog(ctx, l.JS) }()
	eth := SymbolTopic("binance", "ETHUSDT")
	checkFor(t, 30*time.Second, func() error {
		if st, ok := seen.get(eth); !ok || st.Events != counts[eth] {
			return errors.New("not caught up")
		}
		return nil
	})
	before, _ := seen.get(eth)

	restarts := WatchRestarts(g.Engine)
	defer restarts.Stop()
	g.Engine.Send(g.Symbol("binance", "ETHUSDT"), panicNow{})
	checkFor(t, 30*time.Second, func() error {
		if st, _ := seen.get(eth); st.Restarts != 1 || st.Rebuilt != counts[eth] {
			return errors.New("not restarted and rebuilt yet")
		}
		return nil
	})
	after, _ := seen.get(eth)
	if n := restarts.Counts(); n["symbol/binance.ETHUSDT"] != 1 || len(n) != 1 {
		t.Fatalf("restarts counted from the engine's events: %v, want symbol/binance.ETHUSDT once", n)
	}
	if after.Candle == nil || *after.Candle != *before.Candle || after.LastSeq != before.LastSeq {
		t.Fatalf("state after the rebuild differs: candle %+v vs %+v, seq %d vs %d", after.Candle, before.Candle, after.LastSeq, before.LastSeq)
	}
	if after.Features == nil || before.Features == nil {
		t.Fatal("no features")
	}
	for i, v := range before.Features.Values {
		if after.Features.Values[i] != v {
			t.Fatalf("%s: %v after the rebuild, %v before", streams.FeatureColumns[i], after.Features.Values[i], v)
		}
	}
}

// A restarted engine is ready once its graph has applied what the log held at the start:
// CaughtUp is false until every event up to the head is routed and applied, then true.
func TestCaughtUpWithTheLogHead(t *testing.T) {
	l := openLog(t)
	counts := ingest(t, l, "ETHUSDT-1m-2022-08-14.csv.gz")
	head, err := streams.LastSeq(context.Background(), l.JS, streams.StreamMarketData)
	if err != nil || head != uint64(counts[SymbolTopic("binance", "ETHUSDT")]) {
		t.Fatalf("head %d (%v), ingested %v", head, err, counts)
	}
	seen := &states{m: map[string]SymbolState{}}
	g, err := NewGraph(SymbolOptions{Observe: seen.observe, ObserveEvery: time.Millisecond, Log: l.JS})
	if err != nil {
		t.Fatal(err)
	}
	defer g.Stop()
	if g.CaughtUp(head) {
		t.Fatal("caught up before reading the log")
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { _ = g.ConsumeLog(ctx, l.JS) }()
	checkFor(t, 30*time.Second, func() error {
		if !g.CaughtUp(head) {
			return fmt.Errorf("at seq %d of %d", g.Stats().LastSeq, head)
		}
		return nil
	})
	if got := g.Stats().LastSeq; got != head {
		t.Fatalf("caught up at seq %d, head %d", got, head)
	}
	if g.CaughtUp(head + 1) {
		t.Fatal("caught up with an event the log does not hold")
	}
	checkFor(t, 5*time.Second, func() error { // every event was applied, not only routed
		if s, _ := seen.get(SymbolTopic("binance", "ETHUSDT")); s.Events != int64(head) {
			return fmt.Errorf("ETHUSDT applied %d of %d", s.Events, head)
		}
		return nil
	})
}

// A symbol actor logs its 1st, 10th and 100th refused event, and no other: a file whose
// candles are all refused is said in the log at once, and a flood stays a few lines.
func TestSymbolActorLogsRefusedEvents(t *testing.T) {
	var mu sync.Mutex
	var buf bytes.Buffer
	logger := slog.New(slog.NewTextHandler(writerFunc(func(p []byte) (int, error) {
		mu.Lock()
		defer mu.Unlock()
		return buf.Write(p)
	}), nil))
	g, err := NewGraph(SymbolOptions{Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	defer g.Stop()
	var events []Sequenced
	for i := 0; i < 150; i++ { // 5m klines: the symbol actors take 1m candles only
		k := pepeKline(i)
		k.Interval, k.CloseTime = "5m", k.OpenTime+299_999
		events = append(events, Sequenced{Event: k})
	}
	if err := g.Dispatch(context.Background(), events); err != nil {
		t.Fatal(err)
	}
	if err := g.Drain(context.Background()); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	out := buf.String()
	mu.Unlock()
	if n := strings.Count(out, "symbol actor refused an event"); n != 3 ||
		!strings.Contains(out, "refused=1 ") || !strings.Contains(out, "refused=10 ") || !strings.Contains(out, "refused=100 ") ||
		!strings.Contains(out, "symbol=PEPEUSDT") || !strings.Contains(out, "5m klines") {
		t.Fatalf("%d lines:\n%s", n, out)
	}
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }
