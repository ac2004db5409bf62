package streams

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// Stored knows each subject's last event on the log: market data before it (or it) is
// there, a later one is not; a derived event at or before the last time is there.
func TestStoredTellsWhatTheLogHolds(t *testing.T) {
	l := openTestLog(t, Options{})
	ctx := context.Background()
	const t0 = 1723161240000
	publishKlines(t, l, t0, t0+60_000, t0+2*60_000)
	eth := testKline(t0)
	eth.Symbol = "ETHUSDT"
	feature := &Feature{Venue: "binance", Symbol: "BTCUSDT", Interval: "1m", OpenTime: t0 + 60_000}
	for _, ev := range []Event{eth, feature} {
		if err := l.Publish(ctx, ev); err != nil {
			t.Fatal(err)
		}
	}
	if err := l.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	s, err := ReadStored(ctx, l.JS, StreamMarketData, StreamFeatures)
	if err != nil {
		t.Fatal(err)
	}
	if len(s) != 3 {
		t.Fatalf("stored %v: want BTCUSDT's and ETHUSDT's klines and BTCUSDT's features", s)
	}
	for ev, want := range map[Event]bool{
		testKline(t0): true, testKline(t0 + 2*60_000): true, testKline(t0 + 3*60_000): false, eth: true,
	} {
		if got := s.Older(ev); got != want {
			t.Errorf("Older(%s at %d) = %v, want %v", ev.Subject(), ev.EventTime(), got, want)
		}
	}
	later := *feature
	later.OpenTime += 60_000
	earlier := *feature
	earlier.OpenTime -= 60_000
	other := *feature
	other.Symbol = "SOLUSDT"
	for ev, want := range map[*Feature]bool{feature: true, &earlier: true, &later: false, &other: false} {
		if got := s.Held(ev); got != want {
			t.Errorf("Held(%s at %d) = %v, want %v", ev.Subject(), ev.EventTime(), got, want)
		}
	}
}

// ReadAll ends at the last message there is: messages deleted at the end of a stream (its
// last sequence is past what it holds) are not waited for.
func TestReadAllEndsAtADeletedTail(t *testing.T) {
	l := openTestLog(t, Options{})
	ctx := context.Background()
	const t0 = 1723161240000
	publishKlines(t, l, t0, t0+60_000, t0+2*60_000, t0+3*60_000)
	s, err := l.JS.Stream(ctx, StreamMarketData)
	if err != nil {
		t.Fatal(err)
	}
	for _, seq := range []uint64{3, 4} {
		if err := s.DeleteMsg(ctx, seq); err != nil {
			t.Fatal(err)
		}
	}
	rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	var seqs []uint64
	if err := ReadAll(rctx, l.JS, StreamMarketData, func(seq uint64, _ Event) { seqs = append(seqs, seq) }); err != nil {
		t.Fatalf("ReadAll: %v (read %v)", err, seqs)
	}
	if len(seqs) != 2 || seqs[1] != 2 {
		t.Fatalf("read %v, want 1 and 2", seqs)
	}
}

// publishKlines puts BTCUSDT 1m klines opening at each time on the log and waits for the
// log's acknowledgements.
func publishKlines(t *testing.T, l *Log, openTimes ...int64) {
	t.Helper()
	ctx := context.Background()
	for _, ot := range openTimes {
		if err := l.Publish(ctx, testKline(ot)); err != nil {
			t.Fatal(err)
		}
	}
	if err := l.Flush(ctx); err != nil {
		t.Fatal(err)
	}
}

// A message the store cannot give back (a damaged block) is not passed over in silence:
// ReadAll says how many the stream holds and did not deliver.
func TestReadAllSaysWhatADamagedStoreLost(t *testing.T) {
	dir := t.TempDir()
	l := openTestLog(t, Options{DataDir: dir})
	const t0 = 1723161240000
	var times []int64
	for i := range int64(20) {
		times = append(times, t0+i*60_000)
	}
	publishKlines(t, l, times...)
	l.Close()
	block := filepath.Join(dir, "jetstream", "$G", "streams", StreamMarketData, "msgs", "1.blk")
	data, err := os.ReadFile(block)
	if err != nil {
		t.Fatal(err)
	}
	// The payload of a message in the middle, its framing intact: it fails its checksum.
	at := bytes.Index(data, []byte(strconv.FormatInt(times[10], 10)))
	if at < 0 {
		t.Fatal("the 11th kline is not in the block")
	}
	copy(data[at:], "XXXX")
	if err := os.WriteFile(block, data, 0o644); err != nil {
		t.Fatal(err)
	}
	l = openTestLog(t, Options{DataDir: dir})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	n := 0
	err = ReadAll(ctx, l.JS, StreamMarketData, func(_ uint64, ev Event) {
		if ev != nil {
			n++
		}
	})
	if !errors.Is(err, ErrUnreadable) || n == 20 {
		t.Fatalf("read %d of 20 from a damaged store: %v, want ErrUnreadable", n, err)
	}
}
