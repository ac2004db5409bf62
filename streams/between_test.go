package streams

import (
	"context"
	"fmt"
	"testing"
)

// ReadBetween answers a subject's events within a time range, oldest first and at most as
// many as asked, whatever else the stream holds around them.
func TestReadBetweenReadsASubjectsTimeRange(t *testing.T) {
	l := openTestLog(t, Options{})
	ctx := context.Background()
	const t0 = 1660435200000
	minute := func(i int) int64 { return t0 + int64(i)*60_000 }
	// A candle's signals of two models for two symbols, 300 candles, interleaved as the
	// engine publishes them; one undecodable message on ETH's ensemble subject among them.
	for i := range 300 {
		for _, sym := range []string{"ETHUSDT", "BTCUSDT"} {
			for _, model := range []string{"direction", "ensemble"} {
				sig := &Signal{Model: model, Version: "1", Venue: "binance", Symbol: sym, FeatureTime: minute(i), Prediction: map[string]float64{"probability": float64(i) / 300}}
				if err := l.Publish(ctx, sig); err != nil {
					t.Fatal(err)
				}
			}
		}
		if i == 150 {
			if _, err := l.JS.Publish(ctx, "sig.ensemble.binance.ethusdt", []byte("not json")); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := l.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	const eth = "sig.ensemble.binance.ethusdt"
	times := func(evs []Event) string {
		out := ""
		for _, ev := range evs {
			out += fmt.Sprintf("%s@%d ", ev.Subject(), (ev.EventTime()-t0)/60_000)
		}
		return out
	}
	want := func(subjects []string, first, last int) string {
		out := ""
		for i := first; i <= last; i++ {
			for _, s := range subjects {
				out += fmt.Sprintf("%s@%d ", s, i)
			}
		}
		return out
	}
	for _, c := range []struct {
		name, subject string
		from, to      int64
		max           int
		want          string
	}{
		{"a range inside", eth, minute(140), minute(159), 100, want([]string{eth}, 140, 159)},
		{"capped", eth, minute(140), minute(159), 3, want([]string{eth}, 140, 142)},
		{"from before the first", eth, t0 - 3_600_000, minute(4), 100, want([]string{eth}, 0, 4)},
		{"to past the last", eth, minute(297), minute(400), 100, want([]string{eth}, 297, 299)},
		{"between candles", eth, minute(10) + 1, minute(12) - 1, 100, want([]string{eth}, 11, 11)},
		{"after the last", eth, minute(300), minute(400), 100, ""},
		{"before the first", eth, t0 - 3_600_000, t0 - 1, 100, ""},
		{"from after to", eth, minute(20), minute(10), 100, ""},
		{"no such subject", "sig.ensemble.binance.solusdt", t0, minute(400), 100, ""},
		{"a wildcard", "sig.*.binance.btcusdt", minute(7), minute(8), 100,
			want([]string{"sig.direction.binance.btcusdt", "sig.ensemble.binance.btcusdt"}, 7, 8)},
	} {
		got, err := ReadBetween(ctx, l.JS, StreamSignals, c.subject, c.from, c.to, c.max)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if times(got) != c.want {
			t.Errorf("%s: got\n%s\nwant\n%s", c.name, times(got), c.want)
		}
	}
	// The consumers it read with are gone.
	s, err := l.JS.Stream(ctx, StreamSignals)
	if err != nil {
		t.Fatal(err)
	}
	if n := s.CachedInfo().State.Consumers; n != 0 {
		t.Errorf("%d consumers left on %s", n, StreamSignals)
	}
}
