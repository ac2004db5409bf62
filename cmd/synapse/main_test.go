package main

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/synapse-trading/synapse/actors"
	"github.com/synapse-trading/synapse/migrations"
	"github.com/synapse-trading/synapse/migrations/testdb"
	"github.com/synapse-trading/synapse/streams"
	"github.com/synapse-trading/synapse/streams/binance/binancetest"
	"github.com/synapse-trading/synapse/streams/recordings"
)

const recDir = "../../streams/recordings/"

// syncBuffer is a bytes.Buffer safe for the goroutines of a running command.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func synapse(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb syncBuffer
	code = run(context.Background(), args, &out, &errb)
	return code, out.String(), errb.String()
}

func checkFor(t *testing.T, d time.Duration, cond func() error) {
	t.Helper()
	deadline := time.Now().Add(d)
	var err error
	for time.Now().Before(deadline) {
		if err = cond(); err == nil {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("condition not met after %s: %v", d, err)
}

func TestFeaturesCSVContract(t *testing.T) {
	code, out, errs := synapse(t, "features", "--data", recDir+"ETHUSDT-1m-2022-08-14.csv.gz", "--format", "csv")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	const header = "open_time,close,sma_20,ema_20,rsi_14,macd_12_26_9,macd_signal_12_26_9,macd_hist_12_26_9,bb_upper_20_2,bb_middle_20_2,bb_lower_20_2,atr_14,adx_14,cci_20,obv,stoch_k_14_3_3,stoch_d_14_3_3,sar_002_02,mom_10,stddev_20,linreg_slope_20,volume"
	if lines[0] != header {
		t.Fatalf("header:\n%s\nwant\n%s", lines[0], header)
	}
	if len(lines) != 1441 {
		t.Fatalf("%d rows, want 1440", len(lines)-1)
	}
	first := strings.Split(lines[1], ",")
	if first[0] != "1660435200000" || first[1] != "1982.29000000" || first[2] != "" || first[14] == "" || first[21] != "205.13100000" {
		t.Fatalf("first row %q: open time, close, empty sma_20 while warming up, obv from the first candle, volume", lines[1])
	}
	last := strings.Split(lines[1440], ",")
	for i, cell := range last {
		if cell == "" {
			t.Fatalf("last row has an empty %s", strings.Split(header, ",")[i])
		}
	}
}

func TestFeaturesJSONAndBadArguments(t *testing.T) {
	code, out, _ := synapse(t, "features", "--data", recDir+"BTCUSDT-1m-2022-09-05.csv.gz", "--format", "json")
	if code != 0 {
		t.Fatal("json failed")
	}
	sc := bufio.NewScanner(strings.NewReader(out))
	sc.Buffer(nil, 1<<20)
	n := 0
	var f streams.Feature
	for sc.Scan() {
		if err := json.Unmarshal(sc.Bytes(), &f); err != nil {
			t.Fatal(err)
		}
		n++
	}
	if n != 1440 || f.Symbol != "BTCUSDT" || f.Venue != "binance-um" {
		t.Fatalf("%d rows, last %+v", n, f)
	}
	for _, args := range [][]string{{"features"}, {"features", "--data", "x.csv", "--format", "xml"}, {"features", "--data", "a.csv", "--data", "b.csv"}, {"nope"}, {"tail"}, {"tail", "md.>", "--limit", "-1"}, {"tail", "md.>", "sig.>"},
		{"train", "--data", "x.csv", "--model", "foo", "--out", t.TempDir()}, {"run", "--inference-ep", "gpu", "--data-dir", t.TempDir()}, {"bench", "inference", "--inference-ep", "gpu"}, {"bench", "fanout", "--clients", "-5"}} {
		if code, _, _ := synapse(t, args...); code != 2 {
			t.Errorf("%v: exit %d, want 2", args, code)
		}
	}
	if code, _, errs := synapse(t, "features", "--data", filepath.Join(t.TempDir(), "missing.csv")); code != 1 || !strings.Contains(errs, "missing.csv") {
		t.Errorf("missing file: exit %d, %s", code, errs)
	}
}

// A file with bad lines still produces features; the bad lines are reported with file:line.
func TestFeaturesSkipAndReportBadLines(t *testing.T) {
	raw, err := recordings.Read("ETHUSDT-1m-2022-08-14.csv.gz")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(raw)), "\n")
	lines[10] = "garbage,line"
	lines[20] = strings.Replace(lines[20], ",", ",x", 1)
	lines = append(lines[:30], append([]string{lines[25]}, lines[30:]...)...) // an old row again
	path := filepath.Join(t.TempDir(), "ETHUSDT-1m-2022-08-14.csv")
	if err := os.WriteFile(path, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, errs := synapse(t, "features", "--data", path)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	if rows := strings.Count(out, "\n") - 1; rows != 1438 {
		t.Fatalf("%d rows, want 1438 (two bad lines skipped, the repeated row dropped)", rows)
	}
	if !strings.Contains(errs, "2 malformed") || !strings.Contains(errs, ":11:") || !strings.Contains(errs, ":21:") {
		t.Fatalf("report: %s", errs)
	}
}

func TestIngestIsIdempotentAndTailReadsTheLog(t *testing.T) {
	dir := t.TempDir()
	file := recDir + "ETHUSDT-1m-2022-08-15.csv.gz"
	code, out, errs := synapse(t, "ingest", file, "--data-dir", dir, "--quiet")
	if code != 0 || !strings.Contains(out, "1440 new on the log") {
		t.Fatalf("exit %d: %s %s", code, out, errs)
	}
	code, out, _ = synapse(t, "ingest", "--data-dir", dir, "--quiet", file)
	if code != 0 || !strings.Contains(out, "0 new on the log, 1440 already there") {
		t.Fatalf("second ingest: %s", out)
	}
	code, out, errs = synapse(t, "tail", "md.>", "--data-dir", dir, "--limit", "3", "--from-seq", "1439")
	if code != 0 {
		t.Fatalf("tail: %s", errs)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 2 { // 1439 and 1440: the end of the log
		t.Fatalf("tail printed %d lines:\n%s", len(lines), out)
	}
	var l streams.TailLine
	if err := json.Unmarshal([]byte(lines[1]), &l); err != nil || l.Seq != 1440 || l.Subject != "md.binance.ethusdt.kline.1m" {
		t.Fatalf("last line %+v (%v)", l, err)
	}
	bad := filepath.Join(t.TempDir(), "ETHUSDT-1m-2022-08-15.csv")
	if err := os.WriteFile(bad, []byte("2022-08-15,1,2,3,4,5\n"), 0o644); err != nil { // six columns, as ccxt writes them
		t.Fatal(err)
	}
	if code, _, errs := synapse(t, "ingest", bad, "--data-dir", dir, "--quiet"); code != 1 || !strings.Contains(errs, "nothing was put on the log") {
		t.Errorf("a file with no usable line: exit %d: %s", code, errs)
	}
}

// runEngine starts `synapse run --no-auth` with args and returns its UI address and a stop
// function (runEngineOut also returns what it printed so far).
func runEngine(t *testing.T, args ...string) (addr string, stop func() string) {
	t.Helper()
	addr, _, stop = runEngineOut(t, append([]string{"--no-auth"}, args...)...)
	return addr, stop
}

func runEngineOut(t *testing.T, args ...string) (addr string, printed func() string, stop func() string) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var out, errb syncBuffer
	done := make(chan int, 1)
	go func() { done <- run(ctx, append([]string{"run", "--http", "127.0.0.1:0"}, args...), &out, &errb) }()
	ui := regexp.MustCompile(`UI: +http://(\S+)`)
	checkFor(t, 30*time.Second, func() error {
		select {
		case code := <-done:
			t.Fatalf("run exited %d: %s", code, errb.String())
		default:
		}
		if m := ui.FindStringSubmatch(out.String()); m != nil {
			addr = m[1]
			return nil
		}
		return fmt.Errorf("no UI address yet: %s", out.String())
	})
	return addr, out.String, func() string {
		cancel()
		if code := <-done; code != 0 {
			t.Errorf("run exited %d: %s", code, errb.String())
		}
		return out.String() + errb.String()
	}
}

// postCommand sends a command to the engine at addr (run with --no-auth) and returns the status.
func postCommand(t *testing.T, addr, name, body string) int {
	t.Helper()
	resp, err := http.Post("http://"+addr+"/api/v1/commands/"+name, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func getJSON(addr, path string, v any) error {
	resp, err := http.Get("http://" + addr + path)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	return json.NewDecoder(resp.Body).Decode(v)
}

func TestRunReplaysIntoTheLogAndServesThePage(t *testing.T) {
	dir := t.TempDir()
	addr, stop := runEngine(t, "--data-dir", dir, "--speed", "max", "--replay",
		recDir+"ETHUSDT-1m-2022-08-14.csv.gz,"+recDir+"BTCUSDT-wsfeed-2024-08-08.txt.gz")
	checkFor(t, 60*time.Second, func() error {
		var symbols [][2]string
		if err := getJSON(addr, "/api/v1/queries/symbols", &symbols); err != nil {
			return err
		}
		if len(symbols) != 2 {
			return fmt.Errorf("symbols %v", symbols)
		}
		var engine EngineState
		if err := getJSON(addr, "/api/v1/queries/engine", &engine); err != nil {
			return err
		}
		if !engine.FeedFinished {
			return fmt.Errorf("replay not finished: %+v", engine)
		}
		var eth actors.SymbolState
		if err := getJSON(addr, "/api/v1/queries/state?topic=symbol/binance/ETHUSDT", &eth); err != nil {
			return err
		}
		if eth.Events != 1440 {
			return fmt.Errorf("ETHUSDT applied %d of 1440 events", eth.Events)
		}
		return nil
	})
	resp, err := http.Get("http://" + addr + "/")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !bytes.Contains(page, []byte("SYNAPSE")) {
		t.Fatal("no page")
	}
	logs := stop()
	if !strings.Contains(logs, "replay finished") {
		t.Fatalf("logs: %s", logs)
	}
	// After the engine stops, the log holds the market data and the features.
	code, out, errs := synapse(t, "tail", "feat.binance.ethusdt.1h", "--data-dir", dir)
	if code != 0 || strings.Count(out, "\n") != 24 {
		t.Fatalf("tail of hourly features: exit %d, %d lines, %s", code, strings.Count(out, "\n"), errs)
	}
}

// A data dir without a log (a mistyped path) is an error naming the flags, and is left
// without a store made in it.
func TestTailOfADirWithoutALog(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "typo")
	code, _, errs := synapse(t, "tail", "sig.>", "--data-dir", dir)
	if code != 1 || !strings.Contains(errs, "no log in") || !strings.Contains(errs, "--nats-url") {
		t.Fatalf("exit %d: %s", code, errs)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Fatalf("tail made %s (%v)", dir, err)
	}
}

func TestTailWhileTheEngineRunsNamesTheFix(t *testing.T) {
	dir := t.TempDir()
	_, stop := runEngine(t, "--data-dir", dir, "--speed", "1", "--replay", recDir+"ETHUSDT-1m-2022-08-14.csv.gz")
	defer stop()
	code, _, errs := synapse(t, "tail", "md.>", "--data-dir", dir)
	if code != 1 || !strings.Contains(errs, "--nats-url") {
		t.Fatalf("exit %d: %s", code, errs)
	}
}

func TestRunLiveFromAFakeBinance(t *testing.T) {
	fake := binancetest.NewServer(binancetest.Options{})
	defer fake.Close()
	f, err := os.Open(recDir + "ETHUSDT-1m-2022-08-14.csv.gz")
	if err != nil {
		t.Fatal(err)
	}
	zr, _ := gzip.NewReader(f)
	klines, err := binancetest.ReadKlinesCSV(zr, "binance", "ETHUSDT", "1m")
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	klines = klines[:60]
	fake.SetKlines("ETHUSDT", "1m", klines)
	for _, k := range klines {
		fake.SendKline(k, true)
	}
	cfg := filepath.Join(t.TempDir(), "synapse.yaml")
	os.WriteFile(cfg, []byte(fmt.Sprintf("live:\n  enabled: true\n  symbols: [ETHUSDT]\n  rest_url: %s\n  ws_url: %s\n", fake.URL(), fake.WebsocketURL())), 0o644)
	dir := t.TempDir()
	addr, stop := runEngine(t, "--config", cfg, "--data-dir", dir)
	checkFor(t, 30*time.Second, func() error {
		var symbols [][2]string
		if err := getJSON(addr, "/api/v1/queries/symbols", &symbols); err != nil {
			return err
		}
		if len(symbols) != 1 || symbols[0][1] != "ETHUSDT" {
			return fmt.Errorf("symbols %v", symbols)
		}
		if fake.Pending() != 0 {
			return fmt.Errorf("%d frames not sent yet", fake.Pending())
		}
		// Sent is not yet on the log: wait until the graph has read all 60 back from it.
		var engine EngineState
		if err := getJSON(addr, "/api/v1/queries/engine", &engine); err != nil {
			return err
		}
		if engine.Graph.Routed < 60 {
			return fmt.Errorf("%d klines routed from the log", engine.Graph.Routed)
		}
		return nil
	})
	stop()
	code, out, errs := synapse(t, "tail", "md.binance.ethusdt.kline.1m", "--data-dir", dir)
	if code != 0 || strings.Count(out, "\n") != 60 {
		t.Fatalf("exit %d, %d klines on the log: %s", code, strings.Count(out, "\n"), errs)
	}
}

func TestConfigErrorsAreClear(t *testing.T) {
	cfg := filepath.Join(t.TempDir(), "bad.yaml")
	os.WriteFile(cfg, []byte("speeed: 60\n"), 0o644)
	if code, _, errs := synapse(t, "run", "--config", cfg); code != 1 || !strings.Contains(errs, `unknown key "speeed"`) || strings.Contains(errs, "main.") {
		t.Fatalf("unknown field: exit %d, %s", code, errs)
	}
	if code, _, errs := synapse(t, "ingest", "x.csv", "--symbol", "BTC.USDT"); code != 2 || !strings.Contains(errs, "--symbol") {
		t.Fatalf("bad symbol: exit %d, %s", code, errs)
	}
	if code, _, errs := synapse(t, "run", "--live", "--symbols", "BTC USDT"); code != 2 || !strings.Contains(errs, "--symbols") {
		t.Fatalf("bad live symbol: exit %d, %s", code, errs)
	}
	if code, _, errs := synapse(t, "run", "--speed", "fast"); code != 2 || !strings.Contains(errs, "speed") {
		t.Fatalf("bad speed: exit %d, %s", code, errs)
	}
	for body, key := range map[string]string{
		"portfolio: {profile: reckless}\n":        "portfolio.profile",
		"portfolio: {rebalance_threshold: '2'}\n": "portfolio.rebalance_threshold",
		"portfolio: {distribute_keep: '-0.1'}\n":  "portfolio.distribute_keep",
		"portfolio: {distribute_every: -1h}\n":    "distribute_every",
		"inference: {policy: greedy}\n":           "inference.policy",
		"inference: {max_batch: 100000}\n":        "inference.max_batch",
		"inference: {deadline: -1s}\n":            "inference.deadline",
		"inference: {max_wait: 5s}\n":             "inference.max_wait",
	} {
		os.WriteFile(cfg, []byte(body), 0o644)
		if code, _, errs := synapse(t, "run", "--config", cfg, "--data-dir", t.TempDir()); code != 2 || !strings.Contains(errs, key) {
			t.Fatalf("%s: exit %d, %s", strings.TrimSpace(body), code, errs)
		}
	}
	os.WriteFile(cfg, []byte("agents:\n  - {name: VEGA, capital: '5000', buy_above: 0.6, sell_below: 0.4}\n  - {name: vega, capital: '9000', buy_above: 0.6, sell_below: 0.4}\n"), 0o644)
	if code, _, errs := synapse(t, "backtest", "--config", cfg, "--data", recDir+"ETHUSDT-1m-2022-08-14.csv.gz"); code != 2 || !strings.Contains(errs, `"vega" is named twice`) {
		t.Fatalf("an agent named twice: exit %d, %s", code, errs)
	}
	if code, _, errs := synapse(t, "run", "--data-dir", t.TempDir(), "--http", "127.0.0.1:0", "--nats-listen", "127.0.0.1:0"); code != 1 || !strings.Contains(errs, "SYNAPSE_NATS_READER_PASSWORD") {
		t.Fatalf("listener without credentials: exit %d, %s", code, errs)
	}
}

func TestRunSynthetic(t *testing.T) {
	cfg := filepath.Join(t.TempDir(), "synapse.yaml")
	os.WriteFile(cfg, []byte("inference: {policy: window, max_batch: 8, max_wait: 1ms, deadline: 3s}\n"), 0o644)
	addr, stop := runEngine(t, "--config", cfg, "--data-dir", t.TempDir(), "--synthetic", "3", "--rate", "0")
	defer func() {
		if out := stop(); !strings.Contains(out, `msg="inference batcher" policy=window max_batch=8 max_wait=1ms`) {
			t.Errorf("the configured batcher is not the one that ran: %s", out)
		}
	}()
	checkFor(t, 30*time.Second, func() error {
		var st actors.SymbolState
		if err := getJSON(addr, "/api/v1/queries/state?topic=symbol/synthetic/SYN0003USDT", &st); err != nil {
			return err
		}
		if st.Candle == nil || st.Malformed+st.OutOfOrder+st.Duplicates != 0 {
			return fmt.Errorf("state %+v", st)
		}
		return nil
	})
}

// A file whose name names no symbol still gives its features; ingest says how to name it.
func TestFileNamedWithoutSymbol(t *testing.T) {
	src, err := os.ReadFile(recDir + "ETHUSDT-1m-2022-08-14.csv.gz")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "data.csv.gz")
	os.WriteFile(path, src, 0o644)
	code, out, errs := synapse(t, "features", "--data", path)
	if code != 0 || strings.Count(out, "\n") != 1441 {
		t.Fatalf("exit %d, %d lines: %s", code, strings.Count(out, "\n"), errs)
	}
	if code, out, errs := synapse(t, "features", "--data", path, "--format", "json"); code != 0 || !strings.Contains(out, `"symbol":"UNKNOWN"`) || !strings.Contains(errs, "--symbol") {
		t.Fatalf("json of a file naming no symbol: exit %d, %s", code, errs)
	}
	code, _, errs = synapse(t, "ingest", path, "--data-dir", t.TempDir(), "--quiet")
	if code != 1 || !strings.Contains(errs, "--symbol") {
		t.Fatalf("ingest: exit %d: %s", code, errs)
	}
	code, out, errs = synapse(t, "ingest", path, "--symbol", "ETHUSDT", "--data-dir", t.TempDir(), "--quiet")
	if code != 0 || !strings.Contains(out, "1440 new") {
		t.Fatalf("ingest --symbol: exit %d: %s %s", code, out, errs)
	}
	// train names the same fix, and takes it.
	code, _, errs = synapse(t, "train", "--data", path, "--model", "direction", "--out", t.TempDir(), "--quiet")
	if code != 1 || !strings.Contains(errs, "--symbol") {
		t.Fatalf("train: exit %d: %s", code, errs)
	}
	models := t.TempDir()
	code, _, errs = synapse(t, "train", "--data", path, "--symbol", "ETHUSDT", "--model", "direction", "--epochs", "3", "--out", models, "--quiet")
	if code != 0 {
		t.Fatalf("train --symbol: exit %d: %s", code, errs)
	}
	if _, err := os.Stat(filepath.Join(models, "direction.onnx")); err != nil {
		t.Fatalf("train --symbol wrote no model: %v", err)
	}
}

func TestTrainWritesAVerifiedModelAndCard(t *testing.T) {
	out := t.TempDir()
	code, stdout, errs := synapse(t, "train", "--data", recDir+"ETHUSDT-1m-2022-08-14.csv.gz", "--model", "direction", "--out", out, "--epochs", "5")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	if !strings.Contains(stdout, "verified with ONNX Runtime") || !strings.Contains(errs, "epoch   1/5") {
		t.Fatalf("stdout %q stderr %q", stdout, errs)
	}
	var card map[string]any
	data, err := os.ReadFile(filepath.Join(out, "direction.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &card); err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{"name", "version", "created_at", "sha256", "inputs", "outputs", "features", "label", "horizon", "train_range", "validation_range", "metrics", "baseline_metrics"} {
		if _, ok := card[key]; !ok {
			t.Errorf("model card has no %q", key)
		}
	}
	// Too little data, an unknown model: clear errors.
	short := filepath.Join(t.TempDir(), "ETHUSDT-1m-short.csv")
	raw, _ := os.ReadFile(recDir + "ETHUSDT-1m-2022-08-14.csv.gz")
	zr, _ := gzip.NewReader(bytes.NewReader(raw))
	all, _ := io.ReadAll(zr)
	os.WriteFile(short, []byte(strings.Join(strings.Split(string(all), "\n")[:200], "\n")), 0o644)
	if code, _, errs := synapse(t, "train", "--data", short, "--model", "direction", "--out", t.TempDir()); code != 1 || !strings.Contains(errs, "needs at least") {
		t.Errorf("short file: exit %d: %s", code, errs)
	}
	if code, _, errs := synapse(t, "train", "--data", short, "--model", "weather", "--out", t.TempDir()); code == 0 || !strings.Contains(errs, "tp_sl") {
		t.Errorf("unknown model: exit %d: %s", code, errs)
	}
	for _, flag := range []string{"--horizon", "--epochs", "--hidden"} { // 0 is not "the default" when said
		if code, _, errs := synapse(t, "train", "--data", short, "--model", "direction", "--out", t.TempDir(), flag, "0"); code != 2 || !strings.Contains(errs, flag+" 0: it must be at least 1") {
			t.Errorf("%s 0: exit %d: %s", flag, code, errs)
		}
	}
}

// make run's promise: signals from the trained models flow on the log.
func TestRunPublishesSignals(t *testing.T) {
	dir := t.TempDir()
	addr, stop := runEngine(t, "--data-dir", dir, "--speed", "max", "--replay", recDir+"ETHUSDT-1m-2022-08-14.csv.gz")
	checkFor(t, 60*time.Second, func() error {
		var m struct {
			Signals int64 `json:"signals"`
		}
		if err := getJSON(addr, "/api/v1/queries/state?topic=model/ensemble", &m); err != nil {
			return err
		}
		if m.Signals < 100 {
			return fmt.Errorf("%d ensemble signals", m.Signals)
		}
		return nil
	})
	stop()
	outputs := map[string][]string{"direction": {"probability"}, "range": {"high", "low"}, "tp_sl": {"probability"}, "ensemble": {"direction", "probability", "range_lean", "tp_sl"}}
	for model, names := range outputs {
		subject := "sig." + model + ".binance.ethusdt"
		code, out, errs := synapse(t, "tail", subject, "--data-dir", dir)
		if code != 0 || strings.Count(out, "\n") < 100 {
			t.Errorf("%s: exit %d, %d signals on the log %s", subject, code, strings.Count(out, "\n"), errs)
			continue
		}
		// Each names its model and version, the candle it read, its outputs by the card's
		// names, a confidence in [0, 1] and its latency.
		for i, line := range strings.Split(strings.TrimSpace(out), "\n") {
			var l struct {
				Data streams.Signal `json:"data"`
			}
			if err := json.Unmarshal([]byte(line), &l); err != nil {
				t.Fatal(err)
			}
			s := l.Data
			if s.Model != model || s.Version != "1" || s.Symbol != "ETHUSDT" || s.FeatureTime%60_000 != 0 || s.FeatureTime < 1660435200000 ||
				!slices.Equal(slices.Sorted(maps.Keys(s.Prediction)), names) || !(s.Confidence >= 0 && s.Confidence <= 1) || s.LatencyUs <= 0 ||
				(model == "ensemble") != (len(s.Members) == 3) {
				t.Fatalf("%s signal %d: %+v", model, i, s)
			}
		}
	}
}

// With tokens (the default): no token, no data; the printed admin token reads and commands;
// a models.deploy command goes on the log and runs the model in shadow, and models.promote
// hot-swaps it live.
func TestRunWithTokensAndACommand(t *testing.T) {
	dir := t.TempDir()
	addr, printed, stop := runEngineOut(t, "--data-dir", dir, "--speed", "1", "--replay", recDir+"ETHUSDT-1m-2022-08-14.csv.gz")
	defer stop()
	var token string
	checkFor(t, 10*time.Second, func() error {
		m := regexp.MustCompile(`admin token[^\n]*\n\s+(\S+)`).FindStringSubmatch(printed())
		if m == nil {
			return fmt.Errorf("no admin token printed: %s", printed())
		}
		token = m[1]
		return nil
	})
	call := func(method, path, tok, body string) int {
		req, _ := http.NewRequest(method, "http://"+addr+path, strings.NewReader(body))
		if tok != "" {
			req.Header.Set("Authorization", "Bearer "+tok)
		}
		if body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := call("GET", "/api/v1/queries/engine", "", ""); code != http.StatusUnauthorized {
		t.Fatalf("no token: %d", code)
	}
	if code := call("GET", "/api/v1/queries/engine", token, ""); code != http.StatusOK {
		t.Fatalf("admin token: %d", code)
	}
	for _, path := range []string{"engine?limit=-1", "symbols?x=1", "models?x=1", "state?topic=engine&extra=1", "state?topic=nope&topic=engine", "state?topic=nope"} {
		if code := call("GET", "/api/v1/queries/"+path, token, ""); code != http.StatusBadRequest {
			t.Errorf("%s: %d, want 400", path, code)
		}
	}
	if code := call("POST", "/api/v1/commands/models.deploy", "", `{"model":"direction","dir":"x"}`); code != http.StatusUnauthorized {
		t.Fatalf("command without a token: %d", code)
	}
	if code := call("POST", "/api/v1/commands/models.deploy", token, `{"model":"direction","mode":"live"}`); code != http.StatusBadRequest {
		t.Fatalf("command without dir: %d", code)
	}
	// A version 2 of the direction model, deployed live by command.
	models := t.TempDir()
	if code, _, errs := synapse(t, "train", "--data", recDir+"ETHUSDT-1m-2022-08-14.csv.gz", "--model", "direction", "--version", "2", "--epochs", "3", "--out", models, "--quiet"); code != 0 {
		t.Fatal(errs)
	}
	// The same pair with the card edited, or with another model's .onnx, is a 400 naming the
	// fix: nothing goes on the log for the engine to refuse.
	card, err := os.ReadFile(filepath.Join(models, "direction.json"))
	if err != nil {
		t.Fatal(err)
	}
	rangeOnnx, err := os.ReadFile("../../inference/models/range.onnx")
	if err != nil {
		t.Fatal(err)
	}
	for name, files := range map[string]map[string][]byte{
		"kind":   {"direction.json": []byte(strings.Replace(string(card), `"kind": "classifier"`, `"kind": "regressor"`, 1))},
		"type":   {"direction.json": []byte(strings.Replace(string(card), `"type": "float32"`, `"type": "float64"`, 1))},
		"sha256": {"direction.onnx": rangeOnnx},
		// the card's hash made to match: only the graph tells it takes no such output
		"graph": {"direction.onnx": rangeOnnx, "direction.json": regexp.MustCompile(`"sha256": "[0-9a-f]+"`).ReplaceAll(card,
			[]byte(fmt.Sprintf(`"sha256": "%x"`, sha256.Sum256(rangeOnnx))))},
		// the graph and the card agree, but on inputs this build does not compute
		"features": {"direction.json": swapFirstFeatures(t, card)},
	} {
		broken := t.TempDir()
		for _, f := range []string{"direction.json", "direction.onnx"} {
			data, err := os.ReadFile(filepath.Join(models, f))
			if err != nil {
				t.Fatal(err)
			}
			if b, ok := files[f]; ok {
				data = b
			}
			if err := os.WriteFile(filepath.Join(broken, f), data, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		if code := call("POST", "/api/v1/commands/models.deploy", token, fmt.Sprintf(`{"model":"direction","dir":%q,"mode":"live"}`, broken)); code != http.StatusBadRequest {
			t.Errorf("deploy of a %s mismatch: %d, want 400", name, code)
		}
	}
	// A deployment pinned to another model than the folder holds.
	if code := call("POST", "/api/v1/commands/models.deploy", token, fmt.Sprintf(`{"model":"direction","dir":%q,"sha256":"%064x"}`, models, 7)); code != http.StatusBadRequest {
		t.Errorf("deploy pinned to another sha256: %d, want 400", code)
	}
	// Nothing runs in shadow yet: a promotion is a 400, not a 202 for the engine to refuse.
	for _, name := range []string{"models.promote", "models.retire_shadow"} {
		if code := call("POST", "/api/v1/commands/"+name, token, `{"model":"direction"}`); code != http.StatusBadRequest {
			t.Errorf("%s with no shadow: %d, want 400", name, code)
		}
	}
	if code := call("POST", "/api/v1/commands/models.deploy", token, fmt.Sprintf(`{"model":"direction","dir":%q,"mode":"shadow"}`, models)); code != http.StatusAccepted {
		t.Fatalf("deploy: %d", code)
	}
	// At once: the check reads the state after the deployment before it.
	if code := call("POST", "/api/v1/commands/models.promote", token, `{"model":"direction"}`); code != http.StatusAccepted {
		t.Fatalf("promote right after the shadow's deployment: %d", code)
	}
	checkFor(t, 20*time.Second, func() error {
		req, _ := http.NewRequest("GET", "http://"+addr+"/api/v1/queries/models", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		var m struct {
			Live []struct{ Model, Version string }
		}
		if err := json.NewDecoder(resp.Body).Decode(&m); err != nil {
			return err
		}
		for _, d := range m.Live {
			if d.Model == "direction" && d.Version == "2" {
				return nil
			}
		}
		return fmt.Errorf("live models %+v", m.Live)
	})
}

// The backtest runs the agents on a recorded day at full speed: twice the same bytes, the
// accounting identity exact, trades made, and clear errors for bad arguments.
func TestBacktestIsDeterministic(t *testing.T) {
	dir := t.TempDir()
	var reports [2][]byte
	for i := range reports {
		out := filepath.Join(dir, fmt.Sprintf("report-%d.json", i))
		code, _, errs := synapse(t, "backtest", "--data", recDir+"ETHUSDT-1m-2022-08-14.csv.gz", "--data", recDir+"ETHUSDT-1m-2022-08-15.csv.gz",
			"--out", out, "--quiet")
		if code != 0 {
			t.Fatalf("backtest exited %d: %s", code, errs)
		}
		data, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		reports[i] = data
	}
	if !bytes.Equal(reports[0], reports[1]) {
		t.Fatal("two backtests of the same files wrote different reports")
	}
	var r BacktestReport
	if err := json.Unmarshal(reports[0], &r); err != nil {
		t.Fatal(err)
	}
	if r.Identity != "ok" || r.Events != 2880 || len(r.Agents) != 3 || len(r.Inputs) != 2 {
		t.Fatalf("identity %q, %d events, %d agents, %d inputs", r.Identity, r.Events, len(r.Agents), len(r.Inputs))
	}
	intents := int64(0)
	for _, a := range r.Agents {
		intents += a.Intents
		if a.Totals.Identity() != nil || a.Identity != "ok" {
			t.Errorf("%s: identity %s", a.Name, a.Identity)
		}
	}
	if intents == 0 || r.Orders["intent"] != intents || r.Orders["fill"] == 0 {
		t.Fatalf("%d intents by the agents, orders on the log %v", intents, r.Orders)
	}

	// One agent, as HTML.
	html := filepath.Join(dir, "report.html")
	if code, _, errs := synapse(t, "backtest", "--data", recDir+"ETHUSDT-1m-2022-08-14.csv.gz", "--agents", "nova", "--report", "html", "--out", html, "--quiet"); code != 0 {
		t.Fatalf("html backtest: %s", errs)
	}
	page, err := os.ReadFile(html)
	if err != nil || !bytes.Contains(page, []byte("NOVA")) || bytes.Contains(page, []byte("ATLAS")) {
		t.Fatalf("html report (%v): %.300s", err, page)
	}
	for _, bad := range [][]string{
		{"backtest"},
		{"backtest", "--data", recDir + "ETHUSDT-1m-2022-08-14.csv.gz", "--agents", "VEGA"},
		{"backtest", "--data", recDir + "ETHUSDT-1m-2022-08-14.csv.gz", "--report", "pdf"},
	} {
		if code, _, errs := synapse(t, bad...); code != 2 || errs == "" {
			t.Errorf("%v: exit %d, %q", bad, code, errs)
		}
	}
	if code, _, errs := synapse(t, "backtest", "--data", filepath.Join(dir, "missing.csv")); code != 1 || !strings.Contains(errs, "missing.csv") {
		t.Errorf("missing file: exit %d, %q", code, errs)
	}
	// A file with no usable line is an error naming what was skipped, not an empty report.
	junk := filepath.Join(dir, "ETHUSDT-1m-junk.csv")
	if err := os.WriteFile(junk, []byte("1660435200000,not,a,kline\nnor,this\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, _, errs := synapse(t, "backtest", "--data", junk, "--quiet"); code != 1 || !strings.Contains(errs, "no market data") || !strings.Contains(errs, "2 malformed") {
		t.Errorf("junk file: exit %d, %q", code, errs)
	}
	// An interrupted backtest (Ctrl-C) leaves the report that was at --out.
	kept := filepath.Join(dir, "report-0.json")
	ctx, cancel := context.WithTimeout(context.Background(), 150*time.Millisecond)
	defer cancel()
	var out, errs syncBuffer
	if code := run(ctx, []string{"backtest", "--data", recDir + "ETHUSDT-1m-2022-08-14.csv.gz", "--data", recDir + "ETHUSDT-1m-2022-08-15.csv.gz",
		"--out", kept, "--quiet"}, &out, &errs); code == 0 {
		t.Fatal("the interrupted backtest exited 0")
	}
	if data, err := os.ReadFile(kept); err != nil || !bytes.Equal(data, reports[0]) {
		t.Errorf("after an interrupted backtest --out holds %d bytes (%v), the report before it %d", len(data), err, len(reports[0]))
	}
	if tmps, _ := filepath.Glob(filepath.Join(dir, ".report-0.json*")); len(tmps) > 0 {
		t.Errorf("the interrupted backtest left %v", tmps)
	}
}

// `synapse run` trades on paper from the model signals: the agents' intents and fills are on
// the ORD stream, the agents query shows them, and commands halt an agent.
func TestRunTradesOnPaper(t *testing.T) {
	dir := t.TempDir()
	// At 3000× a minute of market data takes 20 ms: the agents act on fresh prices (at max
	// speed the feed runs ahead of the models and the risk gate rightly refuses stale orders).
	addr, stop := runEngine(t, "--data-dir", dir, "--speed", "3000", "--replay", recDir+"ETHUSDT-1m-2022-08-14.csv.gz")
	var agents []actors.AgentView
	checkFor(t, 60*time.Second, func() error {
		if err := getJSON(addr, "/api/v1/queries/agents", &agents); err != nil {
			return err
		}
		fills := int64(0)
		for _, a := range agents {
			fills += a.Fills
		}
		if len(agents) != 3 || fills < 10 {
			return fmt.Errorf("%d agents, %d fills", len(agents), fills)
		}
		return nil
	})
	post := func(name, body string) int { return postCommand(t, addr, name, body) }
	// The read model (in memory: no --database-url) answers from the same log.
	checkFor(t, 10*time.Second, func() error {
		if err := getJSON(addr, "/api/v1/queries/agents", &agents); err != nil {
			return err
		}
		fills := int64(0)
		for _, a := range agents {
			fills += a.Fills
		}
		var page struct{ Total int64 }
		if err := getJSON(addr, "/api/v1/queries/fills?limit=1", &page); err != nil {
			return err
		}
		if page.Total != fills {
			return fmt.Errorf("the read model has %d fills, the agents %d", page.Total, fills)
		}
		return nil
	})
	if code := post("agents.halt", `{"agent":"NOPE"}`); code != http.StatusBadRequest {
		t.Fatalf("halt of an agent the engine does not run: %d", code)
	}
	for _, q := range []string{"positions?agent=NOPE", "fills?agent=NOPE", "order_list?agent=NOPE", "equity?agent=NOPE", "montecarlo?agent=NOPE"} {
		resp, err := http.Get("http://" + addr + "/api/v1/queries/" + q)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(body), `\"NOPE\" is not an agent of this engine (ATLAS, ORION, NOVA)`) {
			t.Errorf("%s: %d %s", q, resp.StatusCode, body)
		}
	}
	for _, a := range agents { // an agent named in lower case is the agent: fills only grow
		if a.Fills == 0 {
			continue
		}
		var lower struct{ Total int64 }
		if err := getJSON(addr, "/api/v1/queries/fills?limit=1&agent="+strings.ToLower(a.Name), &lower); err != nil || lower.Total < a.Fills {
			t.Errorf("fills of %s, in lower case: %+v %v, want at least %d", strings.ToLower(a.Name), lower, err, a.Fills)
		}
		break
	}
	for _, q := range []string{"orders?agent=NOPE", "orders?limit=abc", "agents?x=1", "risk?limit=1"} { // they take no parameters
		resp, err := http.Get("http://" + addr + "/api/v1/queries/" + q)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(body), "this query takes no parameters") {
			t.Errorf("%s: %d %s", q, resp.StatusCode, body)
		}
	}
	if code := post("agents.halt", `{"agent":"NOVA"}`); code != http.StatusAccepted {
		t.Fatalf("halt: %d", code)
	}
	checkFor(t, 10*time.Second, func() error {
		var v actors.AgentView
		if err := getJSON(addr, "/api/v1/queries/state?topic=agent/NOVA", &v); err != nil {
			return err
		}
		if v.State != streams.AgentHalted {
			return fmt.Errorf("NOVA is %s", v.State)
		}
		return nil
	})
	stop()
	code, out, _ := synapse(t, "tail", "ord.>", "--data-dir", dir)
	if code != 0 || !strings.Contains(out, `"type":"fill"`) || !strings.Contains(out, `"type":"intent"`) {
		t.Fatalf("ORD on the log: exit %d, %.400s", code, out)
	}
	code, out, _ = synapse(t, "tail", "pf.nova.state", "--data-dir", dir)
	if code != 0 || !strings.Contains(out, `"state":"HALTED"`) {
		t.Fatalf("NOVA's state on the log: %.400s", out)
	}
}

// `synapse run --database-url` migrates the database, projects the log into it while the
// agents trade on paper, and serves the queries from it: the fills in Postgres are the fills
// on the log. `synapse migrate` then finds it up to date. Without Postgres the test is
// skipped, and fails under CI=true.
func TestRunProjectsIntoPostgres(t *testing.T) {
	ctx := context.Background()
	conn := testdb.Connect(t)
	schema, url := testdb.Schema(t)

	dir := t.TempDir()
	addr, printed, stop := runEngineOut(t, "--no-auth", "--data-dir", dir, "--speed", "3000", "--database-url", url,
		"--replay", recDir+"ETHUSDT-1m-2022-08-14.csv.gz")
	pc, err := migrations.ParseURL(url)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(printed(), fmt.Sprintf("read model: Postgres %s@%s:%d/%s", pc.User, pc.Host, pc.Port, pc.Database)) {
		t.Errorf("the banner does not name the read model: %s", printed())
	}
	var served struct{ Total int64 }
	checkFor(t, 60*time.Second, func() error {
		if err := getJSON(addr, "/api/v1/queries/fills?limit=1", &served); err != nil {
			return err
		}
		if served.Total < 10 {
			return fmt.Errorf("%d fills served from Postgres", served.Total)
		}
		return nil
	})
	stop()
	// Postgres holds exactly the orders and fills of the ORD stream up to the sequence it
	// applied.
	var rows, orders, applied int64
	if err := conn.QueryRow(ctx, "select (select count(*) from "+schema+".fills), (select count(*) from "+schema+".orders)").Scan(&rows, &orders); err != nil {
		t.Fatal(err)
	}
	if err := conn.QueryRow(ctx, "select last_seq from "+schema+".projector_offsets where stream = 'ORD'").Scan(&applied); err != nil {
		t.Fatal(err)
	}
	code, out, _ := synapse(t, "tail", "ord.>", "--data-dir", dir)
	if code != 0 {
		t.Fatal("tail failed")
	}
	onLog, intents := int64(0), int64(0)
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		var l struct {
			Seq  int64
			Data struct{ Type string }
		}
		if err := json.Unmarshal([]byte(line), &l); err != nil {
			t.Fatal(err)
		}
		switch {
		case l.Seq > applied:
		case l.Data.Type == "fill":
			onLog++
		case l.Data.Type == "intent":
			intents++
		}
	}
	if rows != onLog || rows < served.Total || orders != intents || orders == 0 {
		t.Fatalf("%d fills and %d orders in Postgres, %d fills and %d intents on the log up to sequence %d (%d fills served while running)",
			rows, orders, onLog, intents, applied, served.Total)
	}
	if code, out, errs := synapse(t, "migrate", "--database-url", url); code != 0 || !strings.Contains(out, "up to date") {
		t.Fatalf("migrate again: exit %d, %s %s", code, out, errs)
	}
	if code, _, errs := synapse(t, "migrate", "--database-url", "postgres://postgres@127.0.0.1:1/test"); code == 0 || errs == "" {
		t.Fatalf("migrate to a closed port: exit %d, %q", code, errs)
	}
}

// A restart replays the market data and the signals from the log: the agents do not act on
// the candles they already decided on, so no order is sent twice and none is refused as a
// duplicate.
func TestRestartDoesNotTradeTwice(t *testing.T) {
	dir := t.TempDir()
	args := []string{"--data-dir", dir, "--speed", "3000", "--replay", recDir + "ETHUSDT-1m-2022-08-14.csv.gz"}
	intents := func() (n int, ids map[string]int, rejects string) {
		code, out, _ := synapse(t, "tail", "ord.>", "--data-dir", dir)
		if code != 0 {
			t.Fatal("tail failed")
		}
		ids = map[string]int{}
		for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
			var l struct{ Data streams.OrderEvent }
			if line == "" || json.Unmarshal([]byte(line), &l) != nil {
				continue
			}
			switch {
			case l.Data.Type == streams.OrderIntent:
				ids[l.Data.ClientOrderID]++
				n++
			case l.Data.Type == streams.OrderRejected && strings.Contains(l.Data.Reason, "duplicate"):
				rejects += l.Data.Reason + "\n"
			}
		}
		return n, ids, rejects
	}
	var before int64 // intents of the first run: the second shows them from the start, rebuilt
	for run := 0; run < 2; run++ {
		addr, stop := runEngine(t, args...)
		checkFor(t, 60*time.Second, func() error {
			var agents []actors.AgentView
			if err := getJSON(addr, "/api/v1/queries/agents", &agents); err != nil {
				return err
			}
			n := int64(0)
			for _, a := range agents {
				n += a.Intents
			}
			if n < before+5 {
				return fmt.Errorf("%d intents in run %d", n, run)
			}
			if run == 0 {
				before = n
			}
			return nil
		})
		stop()
	}
	n, ids, rejects := intents()
	for id, c := range ids {
		if c > 1 {
			t.Errorf("intent %s on the log %d times", id, c)
		}
	}
	if rejects != "" || n < 10 {
		t.Fatalf("%d intents; refused as duplicates:\n%s", n, rejects)
	}
}

// Capital moves on a schedule: portfolio.distribute and portfolio.rebalance go on the log at
// each period's boundary, with the schedule as issuer and an ID naming the period, and the
// desk acts on them (nothing to move here: the agents have not traded).
func TestScheduledCapitalCommands(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(t.TempDir(), "synapse.yaml")
	os.WriteFile(cfg, []byte("portfolio: {profile: aggressive, distribute_every: 1s, distribute_keep: '0.05', rebalance_every: 1s}\n"), 0o644)
	_, stop := runEngine(t, "--config", cfg, "--data-dir", dir, "--no-models", "--replay", recDir+"ETHUSDT-1m-2022-08-14.csv.gz", "--speed", "max")
	time.Sleep(3500 * time.Millisecond)
	logs := stop()
	for _, name := range []string{"portfolio.distribute", "portfolio.rebalance"} {
		code, out, errs := synapse(t, "tail", "cmd."+name, "--data-dir", dir)
		if code != 0 {
			t.Fatalf("tail: %s", errs)
		}
		lines := strings.Split(strings.TrimSpace(out), "\n")
		if len(lines) < 2 {
			t.Fatalf("%s: %d scheduled commands in 3.5 s, want 2 or more:\n%s\n%s", name, len(lines), out, logs)
		}
		ids := map[string]bool{}
		for _, line := range lines {
			var l struct {
				Data streams.Command `json:"data"`
			}
			if err := json.Unmarshal([]byte(line), &l); err != nil {
				t.Fatal(err)
			}
			c := l.Data
			if c.Issuer != "schedule" || !strings.HasPrefix(c.CommandID, name+".schedule.") || ids[c.CommandID] || c.Time%1000 != 0 {
				t.Fatalf("scheduled command %+v", c)
			}
			ids[c.CommandID] = true
		}
		if name == "portfolio.rebalance" && !strings.Contains(lines[0], `aggressive`) {
			t.Fatalf("the rebalance does not name the configured profile: %s", lines[0])
		}
	}
	if !strings.Contains(logs, "nothing to distribute") || !strings.Contains(logs, "nothing to rebalance") {
		t.Fatalf("the desk did not act on the scheduled commands:\n%s", logs)
	}
}

// fiveMinuteKlines writes the real 1m klines of recording name rolled up into 5m klines, in
// Binance Vision's spot layout, as dir/SYMBOL-5m-….csv, and returns its path.
func fiveMinuteKlines(t *testing.T, dir, name string) string {
	t.Helper()
	raw, err := recordings.Read(name)
	if err != nil {
		t.Fatal(err)
	}
	var rows [][]string
	for _, line := range strings.Split(strings.TrimSpace(string(raw)), "\n") {
		rows = append(rows, strings.Split(line, ","))
	}
	var out strings.Builder
	for i := 0; i+5 <= len(rows); i += 5 {
		g := rows[i : i+5]
		high, low := g[0][2], g[0][3]
		for _, r := range g {
			if num(t, r[2]) > num(t, high) {
				high = r[2]
			}
			if num(t, r[3]) < num(t, low) {
				low = r[3]
			}
		}
		var openTime int64
		fmt.Sscan(g[0][0], &openTime)
		// Volumes are not summed: the check is about the interval, and these stay valid.
		fmt.Fprintf(&out, "%s,%s,%s,%s,%s,%s,%d,%s,%s,%s,%s,0\n", g[0][0], g[0][1], high, low, g[4][4], g[0][5], openTime+5*60_000-1, g[0][7], g[0][8], g[0][9], g[0][10])
	}
	path := filepath.Join(dir, strings.Replace(name, "-1m-", "-5m-", 1))
	path = strings.TrimSuffix(path, ".gz")
	if err := os.WriteFile(path, []byte(out.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// Backtest and train take 1m klines (the symbol actors build the longer intervals): a file of
// 5m klines stops them with the reason and the fix, rather than giving an empty result.
// Ingest and run put them on the log and warn.
func TestLongerKlinesRefused(t *testing.T) {
	dir := t.TempDir()
	path := fiveMinuteKlines(t, dir, "ETHUSDT-1m-2022-08-14.csv.gz")
	for _, args := range [][]string{
		{"backtest", "--data", path, "--quiet"},
		{"train", "--data", path, "--model", "direction", "--out", dir},
	} {
		code, _, errs := synapse(t, args...)
		if code != 1 || !strings.Contains(errs, "5m klines") || !strings.Contains(errs, "give 1m klines") {
			t.Errorf("%s: exit %d, %q", args[0], code, errs)
		}
	}
	// ingest records them (the log keeps what it is given) and warns once that the engine
	// will skip them.
	code, out, errs := synapse(t, "ingest", path, "--data-dir", filepath.Join(dir, "data"), "--quiet")
	if code != 0 || !strings.Contains(out, "ingested 288 events") || strings.Count(errs, "warning: ") != 1 || !strings.Contains(errs, "the engine will skip them") {
		t.Errorf("ingest: exit %d, %q, %q", code, out, errs)
	}
}

func num(t *testing.T, s string) float64 {
	t.Helper()
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// --no-auth is warned of unless the UI listens on this machine only.
func TestIsLoopback(t *testing.T) {
	for host, want := range map[string]bool{"127.0.0.1": true, "localhost": true, "::1": true, "0.0.0.0": false, "": false, "10.0.0.5": false, "::": false} {
		if isLoopback(host) != want {
			t.Errorf("%q: %v, want %v", host, !want, want)
		}
	}
}

// A restart long after a run puts nothing on the log twice: the replay skips what MD holds,
// and the features and signals the graph derives again are not published again. The
// streams' deduplication windows (10 minutes, an hour) are shrunk between the runs so that
// the test need not wait them out.
func TestRestartAfterTheDedupWindowAddsNothing(t *testing.T) {
	dir := t.TempDir()
	args := []string{"--data-dir", dir, "--speed", "max", "--replay", recDir + "ETHUSDT-1m-2022-08-14.csv.gz"}
	names := []string{streams.StreamMarketData, streams.StreamFeatures, streams.StreamSignals}
	heads := func() []uint64 {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		l, err := streams.Open(ctx, streams.Options{DataDir: dir})
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		var out []uint64
		for _, name := range names {
			seq, err := streams.LastSeq(ctx, l.JS, name)
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, seq)
		}
		return out
	}
	// settled runs the engine until it has replayed the file and its signals stopped coming.
	settled := func() {
		addr, stop := runEngine(t, args...)
		last, same := "", 0
		checkFor(t, 90*time.Second, func() error {
			var e EngineState
			if err := getJSON(addr, "/api/v1/queries/engine", &e); err != nil {
				return err
			}
			var m map[string]any
			if err := getJSON(addr, "/api/v1/queries/models", &m); err != nil {
				return err
			}
			if b, ok := m["batcher"].(map[string]any); ok {
				delete(b, "Taken") // when the counters were read: it always moves
			}
			now := fmt.Sprint(e.Graph.LastSeq, m["batcher"])
			if !e.FeedFinished || now != last {
				last, same = now, 0
				return fmt.Errorf("replaying: %s", now)
			}
			if same++; same < 5 {
				return fmt.Errorf("settling")
			}
			return nil
		})
		stop()
	}
	settled()
	first := heads()
	if first[0] < 1440 || first[1] == 0 || first[2] == 0 {
		t.Fatalf("the first run left MD, FEAT, SIG at %v", first)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	l, err := streams.Open(ctx, streams.Options{DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range names {
		s, err := l.JS.Stream(ctx, name)
		if err != nil {
			t.Fatal(err)
		}
		// Two updates: nats-server re-arms its purge timer before it takes a new window, so
		// the first purge may run with the old one and wait as long; the next takes the first's.
		cfg := s.CachedInfo().Config
		for _, window := range []time.Duration{time.Second, 100 * time.Millisecond} {
			cfg.Duplicates = window
			if _, err := l.JS.UpdateStream(ctx, cfg); err != nil {
				t.Fatal(err)
			}
		}
	}
	time.Sleep(2500 * time.Millisecond) // the IDs of the first run leave the windows
	l.Close()
	settled()
	if again := heads(); !slices.Equal(again, first) {
		t.Fatalf("after the restart MD, FEAT, SIG end at %v, before it at %v", again, first)
	}
}

// swapFirstFeatures returns the card with its first two feature names swapped.
func swapFirstFeatures(t *testing.T, card []byte) []byte {
	t.Helper()
	var c map[string]any
	if err := json.Unmarshal(card, &c); err != nil {
		t.Fatal(err)
	}
	f := c["features"].([]any)
	f[0], f[1] = f[1], f[0]
	out, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return out
}
