package inference

import (
	"compress/gzip"
	"context"
	"encoding/csv"
	"errors"
	"math"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/govalues/decimal"

	"github.com/synapse-trading/synapse/streams"
)

const (
	ethDay1  = "../streams/recordings/ETHUSDT-1m-2022-08-14.csv.gz" // 1,440 candles
	ethDay2  = "../streams/recordings/ETHUSDT-1m-2022-08-15.csv.gz"
	btcDay   = "../streams/recordings/BTCUSDT-1m-2022-09-05.csv.gz"
	avaxHead = "testdata/AVAXUSDT-1m-2026-02-head6000.csv.gz" // the first 6,000 candles of the month
	avaxTiny = "testdata/AVAXUSDT-1m-2026-02-head300.csv.gz"  // too short to train on
)

// rawCandle is one kline CSV row read without the replay or the symbol actor.
type rawCandle struct {
	open              int64
	high, low, closeP float64
}

// readCSVGz reads the rows of a gzipped CSV file.
func readCSVGz(t *testing.T, path string) [][]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	gz, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(gz).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	return recs
}

func readRawCandles(t *testing.T, path string) []rawCandle {
	t.Helper()
	recs := readCSVGz(t, path)
	var out []rawCandle
	for _, r := range recs {
		open, err := strconv.ParseInt(r[0], 10, 64)
		if err != nil {
			continue // the header
		}
		h, _ := strconv.ParseFloat(r[2], 64)
		l, _ := strconv.ParseFloat(r[3], 64)
		c, _ := strconv.ParseFloat(r[4], 64)
		out = append(out, rawCandle{open, h, l, c})
	}
	return out
}

func buildDataset(t testing.TB, files ...string) *Dataset {
	t.Helper()
	ds, err := BuildDataset(context.Background(), files, DatasetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return ds
}

// One real day of ETHUSDT: rows are candles - warm-up - horizon, and the labels of a few rows
// match what the raw CSV says, computed here by hand.
func TestDatasetLabelsMatchTheRawCandles(t *testing.T) {
	raw := readRawCandles(t, ethDay1)
	ds := buildDataset(t, ethDay1)
	const warmUp, h = 33, DefaultHorizon
	if len(raw) != 1440 || len(ds.Rows) != len(raw)-warmUp-h {
		t.Fatalf("%d candles, %d rows; want 1440 and %d", len(raw), len(ds.Rows), 1440-warmUp-h)
	}
	if st := ds.Symbols[0]; st.Symbol != "binance:ETHUSDT" || st.Candles != 1440 || st.WarmUp != warmUp || st.Rows != len(ds.Rows) {
		t.Fatalf("stats %+v", st)
	}
	for _, i := range []int{0, 1, 500, len(ds.Rows) - 1} {
		r, c := ds.Rows[i], warmUp+i // row i is candle warmUp+i
		if r.Time != raw[c].open || r.Close != raw[c].closeP {
			t.Fatalf("row %d: time %d close %g; candle %d: %d %g", i, r.Time, r.Close, c, raw[c].open, raw[c].closeP)
		}
		if len(r.X) != len(InputNames) {
			t.Fatalf("row %d: %d inputs", i, len(r.X))
		}
		dir := 0.0
		if raw[c+h].closeP > raw[c].closeP {
			dir = 1
		}
		hi, lo := raw[c+1].high, raw[c+1].low
		tpsl, done := 0.0, false
		for j := c + 1; j <= c+h; j++ {
			hi, lo = math.Max(hi, raw[j].high), math.Min(lo, raw[j].low)
			if !done && raw[j].low <= raw[c].closeP*0.995 {
				done = true
			}
			if !done && raw[j].high >= raw[c].closeP*1.005 {
				tpsl, done = 1, true
			}
		}
		if r.Direction != dir || r.TPSL != tpsl || r.RangeHigh != hi/raw[c].closeP-1 || r.RangeLow != lo/raw[c].closeP-1 {
			t.Errorf("row %d: labels %g %g %g %g; by hand %g %g %g %g", i, r.Direction, r.TPSL, r.RangeHigh, r.RangeLow,
				dir, tpsl, hi/raw[c].closeP-1, lo/raw[c].closeP-1)
		}
		// ret_1 is the close over the previous close.
		if got, want := r.X[0], raw[c].closeP/raw[c-1].closeP-1; math.Abs(got-want) > 1e-12 {
			t.Errorf("row %d: ret_1 %g, want %g", i, got, want)
		}
	}
	for i, r := range ds.Rows {
		for j, x := range r.X {
			if math.IsNaN(x) || math.IsInf(x, 0) {
				t.Fatalf("row %d input %s = %g", i, InputNames[j], x)
			}
		}
	}
}

// Two days of one symbol make one series; two symbols are built apart and merged by time.
func TestDatasetMergesFilesAndSymbols(t *testing.T) {
	ds := buildDataset(t, ethDay1, ethDay2)
	if len(ds.Symbols) != 1 || ds.Symbols[0].Candles != 2880 || len(ds.Rows) != 2880-33-15 {
		t.Fatalf("two ETH days: %+v, %d rows", ds.Symbols, len(ds.Rows))
	}
	ds = buildDataset(t, btcDay, ethDay1)
	if len(ds.Symbols) != 2 || ds.Symbols[0].Symbol != "binance-um:BTCUSDT" || ds.Symbols[1].Symbol != "binance:ETHUSDT" {
		t.Fatalf("symbols %+v", ds.Symbols)
	}
	if len(ds.Rows) != 2*(1440-33-15) {
		t.Fatalf("%d rows", len(ds.Rows))
	}
	for i := 1; i < len(ds.Rows); i++ {
		if ds.Rows[i].Time < ds.Rows[i-1].Time {
			t.Fatalf("row %d at %d after %d", i, ds.Rows[i].Time, ds.Rows[i-1].Time)
		}
	}
}

// A candle that reaches both the take profit and the stop loss counts as the stop loss;
// windows over missing candles are dropped.
func TestLabelsOnSyntheticCandles(t *testing.T) {
	s := &series{key: "test:X", files: map[string]bool{"x.csv": true}}
	n := MinRows + 100
	for i := range n {
		s.times = append(s.times, int64(i)*candleMs)
		s.close = append(s.close, 100)
		s.high = append(s.high, 100.1)
		s.low = append(s.low, 99.9)
		s.x = append(s.x, []float64{0})
	}
	s.high[3], s.low[3] = 101, 99 // both ±0.5% in candle 3
	s.high[30] = 100.6            // take profit only, in candle 30
	s.close[45] = 100.2
	rows, st, err := s.label(DatasetOptions{Horizon: 15, TP: 0.005, SL: 0.005})
	if err != nil {
		t.Fatal(err)
	}
	if st.Rows != n-15 || len(rows) != n-15 {
		t.Fatalf("%d rows, want %d", len(rows), n-15)
	}
	for _, c := range []struct {
		row       int
		tpsl, dir float64
		high, low float64
		what      string
	}{
		{0, 0, 0, 0.01, -0.01, "both in candle 3: stop loss"},
		{20, 1, 0, 0.006, -0.001, "take profit in candle 30"},
		{30, 0, 1, 0.001, -0.001, "close 45 above close 30"},
	} {
		r := rows[c.row]
		if r.TPSL != c.tpsl || r.Direction != c.dir || math.Abs(r.RangeHigh-c.high) > 1e-12 || math.Abs(r.RangeLow-c.low) > 1e-12 {
			t.Errorf("%s: row %d = %+v", c.what, c.row, r)
		}
	}
	// A missing candle: every window that spans it is dropped.
	for i := 200; i < n; i++ {
		s.times[i] += candleMs
	}
	rows, st, _ = s.label(DatasetOptions{Horizon: 15, TP: 0.005, SL: 0.005})
	if st.Gaps != 15 || len(rows) != n-15-15 {
		t.Fatalf("gaps %d, rows %d", st.Gaps, len(rows))
	}
}

// The split is by time, and no training label window reaches the first validation row.
func TestSplitByTimeEmbargo(t *testing.T) {
	ds := buildDataset(t, ethDay1, ethDay2)
	sp, err := SplitByTime(ds.Rows, 0.8, ds.Horizon)
	if err != nil {
		t.Fatal(err)
	}
	first := sp.Validation[0].Time
	for _, r := range sp.Train {
		if r.Time+int64(ds.Horizon)*candleMs >= first {
			t.Fatalf("training row at %d: its label window reaches the validation start %d", r.Time, first)
		}
	}
	if len(sp.Train)+sp.Embargoed+len(sp.Validation) != len(ds.Rows) || sp.Embargoed != ds.Horizon {
		t.Fatalf("%d + %d + %d rows of %d", len(sp.Train), sp.Embargoed, len(sp.Validation), len(ds.Rows))
	}
	span := ds.Rows[len(ds.Rows)-1].Time - ds.Rows[0].Time
	if cut := first - ds.Rows[0].Time; cut < span*8/10 || cut > span*8/10+candleMs {
		t.Fatalf("validation starts %d ms in, want 80%% of %d", cut, span)
	}
	if sp.TrainRange.Start != ds.Rows[0].Time || sp.TrainRange.End != sp.Train[len(sp.Train)-1].Time ||
		sp.ValidationRange.Start != first || sp.ValidationRange.EndISO != "2022-08-15T23:44:00Z" {
		t.Fatalf("ranges %+v %+v", sp.TrainRange, sp.ValidationRange)
	}
	if _, err := SplitByTime(ds.Rows[:1], 0.8, 15); !errors.Is(err, ErrNotEnoughData) {
		t.Fatalf("one row: %v", err)
	}
}

func TestDatasetRejectsShortFiles(t *testing.T) {
	_, err := BuildDataset(context.Background(), []string{avaxTiny}, DatasetOptions{})
	if !errors.Is(err, ErrNotEnoughData) {
		t.Fatalf("300 candles: %v", err)
	}
	for _, want := range []string{"AVAXUSDT-1m-2026-02-head300.csv.gz", "300 1m candles", "at least 548 candles"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("%q does not say %q", err, want)
		}
	}
	if _, err := BuildDataset(context.Background(), []string{ethDay1}, DatasetOptions{Horizon: -1}); err == nil {
		t.Fatal("a negative horizon passed")
	}
	if _, err := BuildDataset(context.Background(), []string{"testdata/missing.csv.gz"}, DatasetOptions{}); err == nil {
		t.Fatal("a missing file passed")
	}
}

func BenchmarkInputBuilder(b *testing.B) {
	f := &streams.Feature{Close: decimal.MustParse("10.5"), Volume: decimal.MustParse("1234")}
	for i := range f.Values {
		f.Values[i] = 10 + float64(i)
	}
	ib := NewInputBuilder()
	b.ReportAllocs()
	for b.Loop() {
		ib.Add(f)
	}
}

func BenchmarkBuildDataset(b *testing.B) {
	for b.Loop() {
		buildDataset(b, ethDay1)
	}
	b.ReportMetric(1440*float64(b.N)/b.Elapsed().Seconds(), "candles/s")
}

// A file with enough candles but gaps everywhere says that the gaps, not its length, leave
// it without labels.
func TestDatasetNamesGapsThatLeaveNoLabels(t *testing.T) {
	var b strings.Builder
	for i, r := range readCSVGz(t, ethDay1) {
		if i%2 == 0 { // every other minute: 720 candles over the day, enough but for the gaps
			b.WriteString(strings.Join(r, ",") + "\n")
		}
	}
	path := t.TempDir() + "/ETHUSDT-1m-2022-08-14.csv"
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := BuildDataset(context.Background(), []string{path}, DatasetOptions{})
	if !errors.Is(err, ErrNotEnoughData) {
		t.Fatalf("every other minute: %v", err)
	}
	for _, want := range []string{"720 1m candles but only 0 labelled rows", "719 of the 1439 minutes", "without gaps"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("%q does not say %q", err, want)
		}
	}
}

// Symbols of different dates fall on either side of the split: the trainer says so.
func TestSplitNamesOneSidedSymbols(t *testing.T) {
	ds := buildDataset(t, ethDay1, btcDay) // 2022-08-14 and 2022-09-05
	split, err := SplitByTime(ds.Rows, TrainFraction, ds.Horizon)
	if err != nil {
		t.Fatal(err)
	}
	w := oneSided(split)
	if len(w) != 2 || !strings.HasPrefix(w[0], "binance:ETHUSDT has 1392 training rows and none in the validation range") ||
		!strings.HasPrefix(w[1], "binance-um:BTCUSDT has 1392 validation rows and none in the training range") {
		t.Fatalf("warnings %q", w)
	}
	ds = buildDataset(t, ethDay1, ethDay2)
	if split, err = SplitByTime(ds.Rows, TrainFraction, ds.Horizon); err != nil || len(oneSided(split)) != 0 {
		t.Fatalf("one symbol: %v, warnings %q", err, oneSided(split))
	}
}
