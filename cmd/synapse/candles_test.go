package main

import (
	"compress/gzip"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/synapse-trading/synapse/actors"
)

// readKlines reads a bundled Binance kline CSV: open time, open, high, low, close, volume.
func readKlines(t *testing.T, path string) [][]string {
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
	rows, err := csv.NewReader(gz).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

// The candles query answers the recording's own klines, to the digit, with their
// indicators; bad parameters are a 400 naming the field.
func TestCandlesQueryIsTheRecordingsKlines(t *testing.T) {
	file := recDir + "ETHUSDT-1m-2022-08-14.csv.gz"
	klines := readKlines(t, file)
	addr, stop := runEngine(t, "--data-dir", t.TempDir(), "--no-models", "--speed", "max", "--replay", file)
	defer stop()
	checkFor(t, 60*time.Second, func() error {
		var eth actors.SymbolState
		if err := getJSON(addr, "/api/v1/queries/state?topic=symbol/binance/ETHUSDT", &eth); err != nil {
			return err
		}
		if eth.Candle == nil || eth.Candle.OpenTime != int64(num(t, klines[len(klines)-1][0])) {
			return fmt.Errorf("the last candle is not applied yet: %+v", eth.Candle)
		}
		return nil
	})

	var rows []struct {
		OpenTime                       int64 `json:"open_time"`
		Open, High, Low, Close, Volume string
		Values                         map[string]float64
	}
	if err := getJSON(addr, "/api/v1/queries/candles?venue=binance&symbol=ETHUSDT&interval=1m", &rows); err != nil {
		t.Fatal(err)
	}
	if len(rows) != actors.CandlesKept {
		t.Fatalf("%d candles, want the %d kept of the recording's %d", len(rows), actors.CandlesKept, len(klines))
	}
	want := klines[len(klines)-actors.CandlesKept:]
	for i, r := range rows {
		k := want[i]
		got := []string{fmt.Sprint(r.OpenTime), r.Open, r.High, r.Low, r.Close, r.Volume}
		if strings.Join(got, ",") != strings.Join(k[:6], ",") {
			t.Fatalf("candle %d: %v, the recording has %v", i, got, k[:6])
		}
	}
	// The indicators of each candle: SMA 20 is the mean of the last 20 closes.
	last := rows[len(rows)-1]
	sum := 0.0
	for _, k := range klines[len(klines)-20:] {
		sum += num(t, k[4])
	}
	if sma, ok := last.Values["sma_20"]; !ok || sma-sum/20 > 1e-6 || sum/20-sma > 1e-6 {
		t.Errorf("sma_20 of the last candle %v (present %v), want %v", sma, ok, sum/20)
	}
	for _, name := range []string{"ema_20", "rsi_14", "bb_upper_20_2", "bb_lower_20_2", "macd_12_26_9"} {
		if _, ok := last.Values[name]; !ok {
			t.Errorf("the last candle has no %s: %v", name, last.Values)
		}
	}

	var few []json.RawMessage
	if err := getJSON(addr, "/api/v1/queries/candles?venue=binance&symbol=ETHUSDT&limit=3", &few); err != nil || len(few) != 3 {
		t.Errorf("limit=3: %d candles, %v", len(few), err)
	}
	for query, field := range map[string]string{
		"venue=binance&symbol=NOSUCH":              "symbol",
		"venue=kraken&symbol=ETHUSDT":              "venue",
		"symbol=ETHUSDT":                           "venue",
		"venue=binance":                            "symbol",
		"venue=binance&symbol=ETHUSDT&interval=5m": "interval",
		"venue=binance&symbol=ETHUSDT&limit=0":     "limit",
		"venue=binance&symbol=ETHUSDT&limit=501":   "limit",
		"venue=binance&symbol=ETHUSDT&limit=x":     "limit",
		"venue=binance&symbol=ETHUSDT&from=1":      "from",
	} {
		resp, err := http.Get("http://" + addr + "/api/v1/queries/candles?" + query)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		var e struct{ Error, Field string }
		_ = json.Unmarshal(body, &e)
		if resp.StatusCode != http.StatusBadRequest || e.Field != field || e.Error == "" {
			t.Errorf("%s: %d %s, want 400 naming %s", query, resp.StatusCode, body, field)
		}
	}
}

// The markers the Markets page draws come back after a restart: the candles query's signals
// are read from the log, so an engine started again (here without its models, so that no
// signal is made again) shows on each candle the signal it showed before; the fills from
// before are in the fills query, which the page draws beside them.
func TestCandlesQueryShowsTheSignalsAndFillsFromBeforeARestart(t *testing.T) {
	dir := t.TempDir()
	file := recDir + "ETHUSDT-1m-2022-08-14.csv.gz"
	klines := readKlines(t, file)
	last := int64(num(t, klines[len(klines)-1][0]))
	// marks reads the newest candles' signals, by open time, and the fills since the first.
	marks := func(addr string) (signals map[int64]candleSignal, fills map[string]bool, err error) {
		var rows []candleView
		if err := getJSON(addr, "/api/v1/queries/candles?venue=binance&symbol=ETHUSDT", &rows); err != nil {
			return nil, nil, err
		}
		if len(rows) == 0 || rows[len(rows)-1].OpenTime != last {
			return nil, nil, fmt.Errorf("the last candle is not applied yet (%d candles)", len(rows))
		}
		signals = map[int64]candleSignal{}
		for _, r := range rows {
			if r.Signal != nil {
				signals[r.OpenTime] = *r.Signal
			}
		}
		var page struct {
			Items []struct {
				ClientOrderID string `json:"client_order_id"`
				TradeID       string `json:"trade_id"`
			}
			Total int
		}
		if err := getJSON(addr, fmt.Sprintf("/api/v1/queries/fills?venue=binance&symbol=ETHUSDT&since=%d&limit=1000", rows[0].OpenTime), &page); err != nil {
			return nil, nil, err
		}
		if page.Total > len(page.Items) {
			t.Fatalf("%d fills, more than a page", page.Total)
		}
		fills = map[string]bool{}
		for _, f := range page.Items {
			fills[f.ClientOrderID+"/"+f.TradeID] = true
		}
		return signals, fills, nil
	}

	var signals map[int64]candleSignal
	var fills map[string]bool
	addr, stop := runEngine(t, "--data-dir", dir, "--speed", "3000", "--replay", file)
	checkFor(t, 90*time.Second, func() error {
		var err error
		if signals, fills, err = marks(addr); err != nil {
			return err
		}
		if _, ok := signals[last]; !ok || len(signals) < actors.CandlesKept*9/10 || len(fills) == 0 {
			return fmt.Errorf("%d candles with a signal (the last's to come?), %d fills", len(signals), len(fills))
		}
		return nil
	})
	stop()

	addr, stop = runEngine(t, "--data-dir", dir, "--no-models", "--speed", "3000", "--replay", file)
	defer stop()
	checkFor(t, 60*time.Second, func() error {
		again, fillsAgain, err := marks(addr)
		if err != nil {
			return err
		}
		for ot, s := range signals {
			if got, ok := again[ot]; !ok || got != s {
				return fmt.Errorf("after the restart the candle at %d shows the signal %+v (shown: %v), before it %+v", ot, got, ok, s)
			}
		}
		for id := range fills {
			if !fillsAgain[id] {
				return fmt.Errorf("after the restart the fill %s is not in the fills query", id)
			}
		}
		return nil
	})
}
