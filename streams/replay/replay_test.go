package replay

import (
	"context"
	"errors"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/synapse-trading/synapse/streams"
	"github.com/synapse-trading/synapse/streams/recordings"
)

// drain reads a Replay to its end.
func drain(t testing.TB, r *Replay) []Record {
	t.Helper()
	var out []Record
	for {
		rec, err := r.Next(context.Background())
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatalf("Next: %v", err)
		}
		out = append(out, rec)
	}
}

func openReplay(t testing.TB, names []string, opts Options) *Replay {
	t.Helper()
	r, err := OpenFS(recordings.FS(), names, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

// Two symbols over the same month merge into one sequence in event-time order; at equal
// times the file named first goes first.
func TestMergeTwoSymbolsKlines(t *testing.T) {
	t.Parallel()
	r := openReplay(t, []string{futuresKlineLINK, futuresKlineAVAX}, Options{})
	recs := drain(t, r)
	if len(recs) != 2*40320 {
		t.Fatalf("%d records, want %d", len(recs), 2*40320)
	}
	for i, rec := range recs {
		_, symbol := rec.Event.Key()
		want := "LINKUSDT" // same close times: file order decides
		if i%2 == 1 {
			want = "AVAXUSDT"
		}
		if symbol != want {
			t.Fatalf("record %d is %s, want %s", i, symbol, want)
		}
		if i > 0 && rec.At < recs[i-1].At {
			t.Fatalf("record %d goes back in time", i)
		}
	}
	st := r.Stats()
	if st.Total.Records != 80640 || len(st.Files) != 2 || st.Files[0].Records != 40320 || len(st.Keys) != 2 ||
		st.Keys[0].Key != (Key{VenueFutures, "AVAXUSDT", streams.KindKline, "1m"}) || st.Keys[0].Records != 40320 {
		t.Errorf("stats %+v", st)
	}
}

// A spot and a futures capture of the same minutes interleave on receive time.
func TestMergeCaptures(t *testing.T) {
	t.Parallel()
	r := openReplay(t, []string{spotCapture08, futuresCapture}, Options{})
	recs := drain(t, r)
	if len(recs) != 41249+20000 {
		t.Fatalf("%d records", len(recs))
	}
	switches := 0
	for i := 1; i < len(recs); i++ {
		if recs[i].At < recs[i-1].At {
			t.Fatalf("record %d goes back in time", i)
		}
		if recs[i].Source != recs[i-1].Source {
			switches++
		}
	}
	if switches < 1000 {
		t.Errorf("only %d switches between files: not interleaved", switches)
	}
	if st := r.Stats(); len(st.Keys) != 8 || st.Total.Duplicates != 0 || st.Total.OutOfOrder != 0 {
		t.Errorf("stats %+v", st)
	}
}

// The two spot files of one capture run continue each other: given in either order they
// replay as one clean sequence (trade and depth IDs carry on across the boundary).
func TestReplayContinuation(t *testing.T) {
	t.Parallel()
	r := openReplay(t, []string{spotCapture09, spotCapture08}, Options{})
	recs := drain(t, r)
	if len(recs) != 41249+58325 {
		t.Fatalf("%d records", len(recs))
	}
	if recs[0].Source != spotCapture08 || recs[len(recs)-1].Source != spotCapture09 {
		t.Errorf("first from %s, last from %s", recs[0].Source, recs[len(recs)-1].Source)
	}
	st := r.Stats()
	if st.Total.Duplicates != 0 || st.Total.OutOfOrder != 0 || st.Total.Malformed != 0 {
		t.Errorf("stats %+v", st.Total)
	}
	lastTrade := int64(0)
	for _, rec := range recs {
		if tr, ok := rec.Event.(*streams.Trade); ok {
			if lastTrade != 0 && tr.TradeID != lastTrade+1 {
				t.Fatalf("trade %d follows %d", tr.TradeID, lastTrade)
			}
			lastTrade = tr.TradeID
		}
	}
}

// The same file twice: every event of the second copy is a duplicate, counted against it.
func TestReplayDuplicateFile(t *testing.T) {
	r := openReplay(t, []string{spotKlines14, spotKlines14}, Options{})
	recs := drain(t, r)
	st := r.Stats()
	if len(recs) != 1440 || st.Files[0].Records != 1440 || st.Files[1].Duplicates != 1440 || st.Files[1].Records != 0 ||
		st.Total.Duplicates != 1440 || st.Keys[0].Duplicates != 1440 {
		t.Errorf("%d records, stats %+v", len(recs), st)
	}
}

// Overlapping day files of one symbol: the overlap is dropped as duplicates and the rest
// stays in order.
func TestReplayOverlap(t *testing.T) {
	day := recordingLines(t, spotKlines14, 0)
	next := recordingLines(t, spotKlines15, 0)
	dir := t.TempDir()
	write := func(name string, lines []string) string {
		t.Helper()
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	a := write("ETHUSDT-1m-a.csv", day)                              // 00:00 .. 23:59 of the 14th
	b := write("ETHUSDT-1m-b.csv", append(day[1380:], next[:60]...)) // the last hour of the 14th and the first of the 15th
	r, err := Open([]string{a, b}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	recs := drain(t, r)
	st := r.Stats()
	if len(recs) != 1500 || st.Files[1].Duplicates != 60 || st.Files[1].Records != 60 || st.Total.OutOfOrder != 0 {
		t.Errorf("%d records, stats %+v", len(recs), st)
	}
}

// Pacing at 60x: klines one minute apart are delivered one second apart, measured from the
// first record, so time lost between calls is not added to the schedule.
func TestPacingKlines(t *testing.T) {
	ft := newFakeTime()
	r := openReplay(t, []string{spotKlines14}, Options{Speed: 60, Clock: ft.Clock, Sleep: ft.Sleep})
	start := ft.now
	for i := 0; i < 5; i++ {
		rec, err := r.Next(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if got, want := ft.now.Sub(start), time.Duration(i)*time.Second; got != want {
			t.Fatalf("record %d delivered at +%v, want +%v", i, got, want)
		}
		if rec.Line != i+1 {
			t.Fatalf("record %d is line %d", i, rec.Line)
		}
		ft.now = ft.now.Add(300 * time.Millisecond) // the consumer works for 0.3 s
	}
	want := []time.Duration{700 * time.Millisecond, 700 * time.Millisecond, 700 * time.Millisecond, 700 * time.Millisecond}
	if len(ft.sleeps) != len(want) {
		t.Fatalf("sleeps %v, want %v", ft.sleeps, want)
	}
	for i := range want {
		if ft.sleeps[i] != want[i] {
			t.Fatalf("sleeps %v, want %v", ft.sleeps, want)
		}
	}

	// A consumer 2.5 s late gets the overdue records at once, then the schedule resumes.
	ft.sleeps = nil
	ft.now = start.Add(4*time.Second + 2500*time.Millisecond) // records 5 and 6 were due at +5 s and +6 s
	for i := 0; i < 3; i++ {
		if _, err := r.Next(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	if len(ft.sleeps) != 1 || ft.sleeps[0] != 500*time.Millisecond {
		t.Errorf("sleeps %v, want [500ms] (record 7 at +7 s)", ft.sleeps)
	}
}

// Pacing at real time on a capture follows the receive times to the nanosecond.
func TestPacingCapture(t *testing.T) {
	ft := newFakeTime()
	r := openReplay(t, []string{spotCapture08}, Options{Speed: 1, Clock: ft.Clock, Sleep: ft.Sleep})
	start := ft.now
	var first int64
	for i := 0; i < 200; i++ {
		rec, err := r.Next(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			first = rec.At
		}
		if got, want := ft.now.Sub(start), time.Duration(rec.At-first); got != want {
			t.Fatalf("record %d delivered at +%v, want +%v", i, got, want)
		}
	}
}

// Speed 0 never sleeps.
func TestPacingMax(t *testing.T) {
	r := openReplay(t, []string{spotKlines14}, Options{Speed: 0, Sleep: func(context.Context, time.Duration) error {
		t.Fatal("slept at max speed")
		return nil
	}})
	if n := len(drain(t, r)); n != 1440 {
		t.Errorf("%d records", n)
	}
}

// A cancelled wait returns the context's error and keeps the record for the next call.
func TestPacingCancel(t *testing.T) {
	cancelNext := true
	ft := newFakeTime()
	r := openReplay(t, []string{spotKlines14}, Options{Speed: 1, Clock: ft.Clock,
		Sleep: func(ctx context.Context, d time.Duration) error {
			if cancelNext {
				return context.Canceled // as if the context ended during the wait
			}
			return ft.Sleep(ctx, d)
		}})
	first, err := r.Next(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.Next(context.Background()); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	cancelNext = false
	second, err := r.Next(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if second.Line != first.Line+1 {
		t.Errorf("after the cancelled wait got line %d, want %d", second.Line, first.Line+1)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := r.Next(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled context: err = %v", err)
	}
}

// The real timer: at 600x, klines a minute apart come 100 ms apart, and a context that
// ends interrupts the wait.
func TestPacingRealClock(t *testing.T) {
	r := openReplay(t, []string{spotKlines14}, Options{Speed: 600})
	begin := time.Now()
	for i := 0; i < 3; i++ {
		if _, err := r.Next(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	if took := time.Since(begin); took < 190*time.Millisecond || took > 5*time.Second {
		t.Errorf("3 records at 600x took %v, want about 200ms", took)
	}
	r2 := openReplay(t, []string{spotKlines14}, Options{Speed: 1}) // a minute between records
	if _, err := r2.Next(context.Background()); err != nil {
		t.Fatal(err)
	}
	// The 10 ms start only now: opening and reading the first record may take longer than
	// that on a loaded machine, and is not what is tested.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	begin = time.Now()
	if _, err := r2.Next(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want DeadlineExceeded", err)
	}
	if took := time.Since(begin); took > 5*time.Second {
		t.Errorf("the cancelled wait took %v", took)
	}
}

func TestOpenReplayErrors(t *testing.T) {
	if _, err := Open(nil, Options{}); !errors.Is(err, ErrNoFiles) {
		t.Errorf("no files: %v", err)
	}
	for _, speed := range []float64{-1, math.NaN(), math.Inf(1)} {
		if _, err := OpenFS(recordings.FS(), []string{spotKlines14}, Options{Speed: speed}); !errors.Is(err, ErrBadSpeed) {
			t.Errorf("speed %v: %v", speed, err)
		}
	}
	if _, err := OpenFS(recordings.FS(), []string{spotKlines14, "nope.csv"}, Options{}); err == nil || !strings.Contains(err.Error(), "nope.csv") {
		t.Errorf("missing file: %v", err)
	}
}

// Every bundled recording replays together, cleanly.
func TestReplayAllRecordings(t *testing.T) {
	t.Parallel()
	r := openReplay(t, recordings.Names(), Options{})
	recs := drain(t, r)
	st := r.Stats()
	want := int64(40320*2 + 1440*4 + 20000 + 41249 + 58325)
	if int64(len(recs)) != want || st.Total.Records != want || st.Total.Malformed+st.Total.Duplicates+st.Total.OutOfOrder != 0 {
		t.Errorf("%d records, total %+v; want %d clean", len(recs), st.Total, want)
	}
}

func TestParseSpeed(t *testing.T) {
	for in, want := range map[string]float64{"max": 0, "MAX": 0, "0": 0, "1": 1, "60": 60, "60x": 60, " 0.5 ": 0.5, "1e3": 1000} {
		got, err := ParseSpeed(in)
		if err != nil || got != want {
			t.Errorf("ParseSpeed(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "fast", "-1", "NaN", "inf", "1/2", "x"} {
		if _, err := ParseSpeed(in); !errors.Is(err, ErrBadSpeed) {
			t.Errorf("ParseSpeed(%q): err = %v, want ErrBadSpeed", in, err)
		}
	}
}

// Size and Consumed measure progress through the stored bytes.
func TestReplayProgress(t *testing.T) {
	r := openReplay(t, []string{spotKlines14, futuresKlines05}, Options{})
	want := int64(66029 + 60081) // the gzipped sizes on disk
	if r.Size() != want {
		t.Fatalf("Size = %d, want %d", r.Size(), want)
	}
	if c := r.Consumed(); c <= 0 || c > want {
		t.Fatalf("Consumed after Open = %d", c)
	}
	drain(t, r)
	if r.Consumed() != want {
		t.Errorf("Consumed at the end = %d, want %d", r.Consumed(), want)
	}
	rd, err := NewReader(strings.NewReader("1,2\n"), "BTCUSDT-1m.csv", ReaderOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if rd.Size() != 0 {
		t.Errorf("Size of a plain io.Reader = %d, want 0 (unknown)", rd.Size())
	}
}

// MaxIdle cuts the weeks between two recordings to one pause of MaxIdle, and leaves the
// pacing inside each recording as it was.
func TestPacingMaxIdleSkipsGapsBetweenFiles(t *testing.T) {
	ft := newFakeTime()
	r := openReplay(t, []string{spotKlines14, futuresKlines05}, Options{Speed: 60, MaxIdle: 2 * time.Second, Clock: ft.Clock, Sleep: ft.Sleep})
	start := ft.now
	n := 0
	for {
		rec, err := r.Next(context.Background())
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		n++
		if rec.Line == 2 && strings.Contains(rec.Source, "BTCUSDT") {
			// The ETH day (1440 records, 1439 s at 60x), a 2 s pause, then the BTC day from its
			// first minute (line 1 is the header; line 2 its first kline).
			if got, want := ft.now.Sub(start), 1439*time.Second+2*time.Second; got != want {
				t.Fatalf("the second file starts at +%v, want +%v", got, want)
			}
		}
	}
	if n != 2880 {
		t.Fatalf("%d records", n)
	}
	if got, want := ft.now.Sub(start), 2*1439*time.Second+2*time.Second; got != want {
		t.Fatalf("replay took %v of replay time, want %v", got, want)
	}
}
