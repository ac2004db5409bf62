package replay

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/synapse-trading/synapse/streams/recordings"
)

// Real recordings used by the tests (streams/recordings).
const (
	spotCapture08    = "BTCUSDT-wsfeed-2024-08-08.txt.gz"
	spotCapture09    = "BTCUSDT-wsfeed-2024-08-09.txt.gz"
	futuresCapture   = "BTCUSDT-futures-wsfeed-2024-08-08-head20000.txt.gz"
	spotKlines14     = "ETHUSDT-1m-2022-08-14.csv.gz"
	spotKlines15     = "ETHUSDT-1m-2022-08-15.csv.gz"
	futuresKlines05  = "BTCUSDT-1m-2022-09-05.csv.gz"
	futuresKlines06  = "BTCUSDT-1m-2022-09-06.csv.gz"
	futuresKlineAVAX = "AVAXUSDT-1m-2026-02.csv.gz"
	futuresKlineLINK = "LINKUSDT-1m-2026-02.csv.gz"
	pandasKlines     = "testdata/BTCUSDT-1m-2025-08-01-pandas-head300.csv.gz"
)

// openRecording opens one of the bundled recordings.
func openRecording(t testing.TB, name string, opts ReaderOptions) *Reader {
	t.Helper()
	r, err := OpenFileFS(recordings.FS(), name, opts)
	if err != nil {
		t.Fatalf("open %s: %v", name, err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

// readAll reads a Reader to its end.
func readAll(t testing.TB, r *Reader) []Record {
	t.Helper()
	var out []Record
	for {
		rec, err := r.Next()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatalf("Next: %v", err)
		}
		out = append(out, rec)
	}
}

// recordingLines returns the first n lines (all when n <= 0) of a bundled recording,
// decompressed.
func recordingLines(t testing.TB, name string, n int) []string {
	t.Helper()
	raw, err := recordings.Read(name)
	if err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(bytes.NewReader(raw))
	sc.Buffer(nil, 1<<20)
	var lines []string
	for sc.Scan() && (n <= 0 || len(lines) < n) {
		lines = append(lines, sc.Text())
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return lines
}

// lineWith returns the first line of a recording containing substr.
func lineWith(t testing.TB, name, substr string) string {
	t.Helper()
	for _, l := range recordingLines(t, name, 2000) {
		if strings.Contains(l, substr) {
			return l
		}
	}
	t.Fatalf("%s: no line contains %q", name, substr)
	return ""
}

// gzipped compresses data.
func gzipped(t testing.TB, data []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// fakeTime is a clock that only moves when the code under test sleeps or the test
// advances it; it records every sleep.
type fakeTime struct {
	now    time.Time
	sleeps []time.Duration
}

func newFakeTime() *fakeTime {
	return &fakeTime{now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
}

func (f *fakeTime) Clock() time.Time { return f.now }

func (f *fakeTime) Sleep(_ context.Context, d time.Duration) error {
	f.sleeps = append(f.sleeps, d)
	f.now = f.now.Add(d)
	return nil
}
