package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/synapse-trading/synapse/portfolio"
	"github.com/synapse-trading/synapse/streams/recordings"
)

// badCloseTimes writes the real 1m klines of recording name as dir/name (uncompressed), the
// rows from..to-1 with a close time 30 s after their open time (a span no Binance interval
// has, so the file's name keeps them 1m), and returns its path.
func badCloseTimes(t *testing.T, dir, name string, from, to int) string {
	t.Helper()
	raw, err := recordings.Read(name)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(raw)), "\n")
	for i := from; i < to; i++ {
		cols := strings.Split(lines[i], ",")
		open, err := strconv.ParseInt(cols[0], 10, 64)
		if err != nil {
			t.Fatal(err)
		}
		cols[6] = strconv.FormatInt(open+29_999, 10)
		lines[i] = strings.Join(cols, ",")
	}
	path := filepath.Join(dir, strings.TrimSuffix(name, ".gz"))
	if err := os.WriteFile(path, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// backtestReport backtests files into dir/report.json, wants exit 0, and returns the report,
// its bytes and what the command wrote on stderr.
func backtestReport(t *testing.T, dir string, files ...string) (BacktestReport, []byte, string) {
	t.Helper()
	out := filepath.Join(dir, "report.json")
	code, _, errs := synapse(t, append([]string{"backtest", "--out", out, "--quiet", "--data"}, files...)...)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var r BacktestReport
	if err := json.Unmarshal(data, &r); err != nil {
		t.Fatal(err)
	}
	return r, data, errs
}

// Candles the symbol actors refuse are in the report (per symbol, with the last problem) and
// warned of; when they refuse every one, the backtest is an error, not a report of nothing.
// The report's counts have snake_case names, and the total has its own peak and drawdown.
func TestBacktestReportsRejectedCandles(t *testing.T) {
	dir := t.TempDir()
	path := badCloseTimes(t, dir, "ETHUSDT-1m-2022-08-14.csv.gz", 100, 110)
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString("garbage,line\n") // a malformed line, skipped by the replay
	f.Close()
	r, data, errs := backtestReport(t, dir, path)
	if !strings.Contains(errs, "warning: the ETHUSDT actor had problems with 10 of its 1440 event(s)") || !strings.Contains(errs, "is not open time + 59999") {
		t.Errorf("no warning of the refused candles: %s", errs)
	}
	if !strings.Contains(errs, "warning: skipped 1 malformed line(s); the last: ETHUSDT-1m-2022-08-14.csv:1441") {
		t.Errorf("no warning of the malformed line: %s", errs)
	}
	if len(r.Rejected) != 1 || r.Rejected[0].Symbol != "ETHUSDT" || r.Rejected[0].Malformed != 10 || r.Rejected[0].Events != 1440 ||
		!strings.Contains(r.Rejected[0].LastProblem, "close time") {
		t.Errorf("rejected: %+v", r.Rejected)
	}
	if r.Events != 1440 || r.Skipped.Records != 1440 || r.Skipped.Malformed != 1 ||
		r.Skipped.LastError != "ETHUSDT-1m-2022-08-14.csv:1441: bad kline row: 2 columns, want 12" {
		t.Errorf("%d events, skipped %+v", r.Events, r.Skipped)
	}
	var raw struct{ Skipped map[string]any }
	if err := json.Unmarshal(data, &raw); err != nil {
		t.Fatal(err)
	}
	if _, ok := raw.Skipped["out_of_order"]; !ok || raw.Skipped["Malformed"] != nil || raw.Skipped["LastErrors"] != nil {
		t.Errorf("skipped: %v", raw.Skipped)
	}
	capital := portfolio.Totals{}.Capital
	for _, a := range r.Agents {
		capital, _ = capital.Add(a.Totals.Capital)
	}
	if r.Total.Peak.Cmp(capital) < 0 || r.Total.Peak.Cmp(r.Total.Equity) < 0 || r.Total.Drawdown != portfolio.Drawdown(r.Total.Peak, r.Total.Equity) {
		t.Errorf("total: peak %s, equity %s, capital %s, drawdown %s", r.Total.Peak, r.Total.Equity, capital, r.Total.Drawdown)
	}

	// Every candle refused: an error naming the problem and the fix.
	all := badCloseTimes(t, t.TempDir(), "ETHUSDT-1m-2022-08-14.csv.gz", 0, 1440)
	code, stdout, errs := synapse(t, "backtest", "--data", all, "--quiet")
	if code != 1 || stdout != "" || !strings.Contains(errs, "no market data accepted") || !strings.Contains(errs, "refused all 1440") ||
		!strings.Contains(errs, "is not open time + 59999") || !strings.Contains(errs, "give 1m klines") {
		t.Errorf("every candle refused: exit %d, %q", code, errs)
	}
	// features says the same.
	code, _, errs = synapse(t, "features", "--data", path)
	if code != 0 || !strings.Contains(errs, "skipped 1 malformed lines") || !strings.Contains(errs, "problems with 10 of 1440 events") ||
		!strings.Contains(errs, "is not open time + 59999") {
		t.Errorf("features: exit %d, %q", code, errs)
	}
	code, _, errs = synapse(t, "features", "--data", all)
	if code != 1 || !strings.Contains(errs, "no features from") || !strings.Contains(errs, "1440 of its 1440 events refused") {
		t.Errorf("features, every candle refused: exit %d, %q", code, errs)
	}
}

// A file that gives no row of features is an error saying why, as backtest's is.
func TestFeaturesOfNothingIsAnError(t *testing.T) {
	dir := t.TempDir()
	raw, err := recordings.Read("ETHUSDT-1m-2022-08-14.csv.gz")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(raw)), "\n")
	columns := func(n int) string { // the rows cut to their first n columns
		var b strings.Builder
		for _, l := range lines {
			b.WriteString(strings.Join(strings.Split(l, ",")[:n], ",") + "\n")
		}
		return b.String()
	}
	for _, c := range []struct{ name, content, want string }{
		{"ETHUSDT-1m-empty.csv", "", "it holds no data line"},
		{"ETHUSDT-1m-header.csv", "open_time,open,high,low,close,volume,close_time,quote_volume,count,taker_buy_volume,taker_buy_quote_volume,ignore\n", "it holds no data line"},
		{"ETHUSDT-1m-11col.csv", columns(11), "1440 malformed line(s)"},
		{"ETHUSDT-1m-ccxt.csv", "timestamp,open,high,low,close,volume\n" + columns(6), "6 columns, want 12"},
	} {
		path := filepath.Join(dir, c.name)
		if err := os.WriteFile(path, []byte(c.content), 0o644); err != nil {
			t.Fatal(err)
		}
		code, _, errs := synapse(t, "features", "--data", path)
		if code != 1 || !strings.Contains(errs, "no features from") || !strings.Contains(errs, c.want) || !strings.Contains(errs, "give a Binance kline CSV") {
			t.Errorf("%s: exit %d, %q", c.name, code, errs)
		}
	}
}

// A capture's kline frames of other intervals than 1m are left out and counted with the
// other streams, by backtest as by features; a capture of nothing else names the fix.
func TestBacktestLeavesOutACapturesOtherKlineIntervals(t *testing.T) {
	dir := t.TempDir()
	raw, err := recordings.Read("BTCUSDT-wsfeed-2024-08-08.txt.gz")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(raw)), "\n")
	// The 5m candles the capture's minutes fall in (05:50 and 05:55 UTC), closed, as Binance
	// sends them on @kline_5m.
	var fiveMinute []string
	for _, open := range []int64{1723161000000, 1723161300000} {
		end := open + 5*60_000
		fiveMinute = append(fiveMinute, fmt.Sprintf(`%d {"stream":"btcusdt@kline_5m","data":{"e":"kline","E":%d,"s":"BTCUSDT","k":{"t":%d,"T":%d,"s":"BTCUSDT","i":"5m","f":3735683259,"L":3735684133,"o":"61837.63000000","c":"61828.00000000","h":"61855.37000000","l":"61824.00000000","v":"12.43238000","n":875,"x":true,"q":"768787.45918310","V":"6.32003000","Q":"390804.03862290","B":"0"}}}`,
			end*1_000_000-1, end, open, end-1))
	}
	mixed := append(append([]string(nil), lines...), fiveMinute...)
	recv := func(l string) int64 { n, _ := strconv.ParseInt(l[:strings.IndexByte(l, ' ')], 10, 64); return n }
	sort.SliceStable(mixed, func(i, j int) bool { return recv(mixed[i]) < recv(mixed[j]) })
	path := filepath.Join(dir, "BTCUSDT-wsfeed-2024-08-08.txt")
	if err := os.WriteFile(path, []byte(strings.Join(mixed, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	r, _, _ := backtestReport(t, dir, path)
	if r.Events != int64(len(lines)) || r.Skipped.OtherStreams != 2 || len(r.Rejected) != 0 {
		t.Errorf("%d events of %d, skipped %+v, rejected %+v", r.Events, len(lines), r.Skipped, r.Rejected)
	}
	code, rows, errs := synapse(t, "features", "--data", path)
	_, want, _ := synapse(t, "features", "--data", recDir+"BTCUSDT-wsfeed-2024-08-08.txt.gz")
	if code != 0 || rows != want || strings.Count(rows, "\n") < 2 {
		t.Errorf("features: exit %d, %d lines, want %d: %s", code, strings.Count(rows, "\n"), strings.Count(want, "\n"), errs)
	}

	only := filepath.Join(dir, "BTCUSDT-5m-wsfeed-2024-08-08.txt")
	if err := os.WriteFile(only, []byte(strings.Join(fiveMinute, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"backtest", "--data", only, "--quiet"}, {"features", "--data", only}} {
		code, _, errs := synapse(t, args...)
		if code != 1 || !strings.Contains(errs, "other intervals than 1m") || !strings.Contains(errs, "record @kline_1m") {
			t.Errorf("%s of 5m frames alone: exit %d, %q", args[0], code, errs)
		}
	}
}

// Holes in the klines are reported and warned of by backtest, features and train: the indicators
// run across them as if the candles were contiguous.
func TestBacktestAndFeaturesReportGaps(t *testing.T) {
	raw, err := recordings.Read("ETHUSDT-1m-2022-08-14.csv.gz")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(raw)), "\n")
	lines = append(lines[:200:200], lines[260:]...) // an hour missing
	dir := t.TempDir()
	path := filepath.Join(dir, "ETHUSDT-1m-2022-08-14.csv")
	if err := os.WriteFile(path, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	r, _, errs := backtestReport(t, dir, path)
	if !strings.Contains(errs, "ETHUSDT 1m klines have 1 gap(s), 60 candle(s) missing, the largest 60 from 2022-08-14 03:20 UTC") {
		t.Errorf("no warning of the gap: %s", errs)
	}
	if len(r.Gaps) != 1 || r.Gaps[0] != (BacktestGap{Venue: "binance", Symbol: "ETHUSDT", Interval: "1m", Gaps: 1, Missing: 60, LargestFrom: 1660447200000, LargestMissing: 60}) {
		t.Errorf("gaps %+v", r.Gaps)
	}
	code, _, errs := synapse(t, "features", "--data", path)
	if code != 0 || !strings.Contains(errs, "1 gap(s), 60 candle(s) missing") {
		t.Errorf("features: exit %d: %s", code, errs)
	}
	code, _, errs = synapse(t, "train", "--data", path, "--model", "direction", "--epochs", "2", "--out", t.TempDir(), "--quiet")
	if code != 0 || !strings.Contains(errs, "binance:ETHUSDT 1m klines lack 60 candle(s)") {
		t.Errorf("train: exit %d: %s", code, errs)
	}
}

// A capture of both @trade and @aggTrade of one symbol gives the same candles and features
// as its @trade frames alone: the aggregate trades are counted as left out, not added to the
// volume a second time.
func TestBacktestAndFeaturesTakeOneTradeStream(t *testing.T) {
	raw, err := recordings.Read("BTCUSDT-wsfeed-2024-08-08.txt.gz")
	if err != nil {
		t.Fatal(err)
	}
	var mixed []string
	var trades int64
	for _, l := range strings.Split(strings.TrimSpace(string(raw)), "\n") {
		mixed = append(mixed, l)
		if !strings.Contains(l, `"btcusdt@trade"`) {
			continue
		}
		// The same trade as Binance's aggregate stream sends it, a microsecond later, with an
		// aggregate ID from another (larger) series.
		recv, frame, _ := strings.Cut(l, " ")
		n, _ := strconv.ParseInt(recv, 10, 64)
		agg := strings.Replace(strings.Replace(frame, `"btcusdt@trade"`, `"btcusdt@aggTrade"`, 1), `"e":"trade"`, `"e":"aggTrade"`, 1)
		agg = strings.Replace(agg, `"t":`, fmt.Sprintf(`"a":%d,"f":`, 9_000_000_000+trades), 1)
		mixed = append(mixed, fmt.Sprintf("%d %s", n+1_000, agg))
		trades++
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "BTCUSDT-wsfeed-2024-08-08.txt")
	if err := os.WriteFile(path, []byte(strings.Join(mixed, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	r, _, errs := backtestReport(t, dir, path)
	if r.Skipped.OtherTrades != trades || r.Skipped.OutOfOrder+r.Skipped.Duplicates != 0 || r.Events != int64(len(mixed)) || len(r.Rejected) != 0 || !strings.Contains(errs, "both @trade and @aggTrade of BTCUSDT") {
		t.Errorf("%d trades: skipped %+v, rejected %+v: %s", trades, r.Skipped, r.Rejected, errs)
	}
	code, rows, errs := synapse(t, "features", "--data", path)
	_, want, _ := synapse(t, "features", "--data", recDir+"BTCUSDT-wsfeed-2024-08-08.txt.gz")
	if code != 0 || rows != want || strings.Count(rows, "\n") < 2 || !strings.Contains(errs, fmt.Sprintf("%d trades of the other left out", trades)) {
		t.Errorf("features: exit %d, %d lines, want %d: %s", code, strings.Count(rows, "\n"), strings.Count(want, "\n"), errs)
	}
}
