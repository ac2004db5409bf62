package binancetest

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	gobinance "github.com/adshao/go-binance/v2"
	"github.com/adshao/go-binance/v2/common"
	"github.com/adshao/go-binance/v2/futures"
	"github.com/coder/websocket"
	"github.com/govalues/decimal"
	"github.com/synapse-trading/synapse/streams"
	"github.com/synapse-trading/synapse/streams/recordings"
)

func loadKlines(t testing.TB, name string, n int) []streams.Kline {
	t.Helper()
	raw, err := recordings.Read(name)
	if err != nil {
		t.Fatal(err)
	}
	ks, err := ReadKlinesCSV(bytes.NewReader(raw), "binance", "ETHUSDT", "1m")
	if err != nil {
		t.Fatal(err)
	}
	return ks[:n]
}

// go-binance's own REST client gets Binance's klines semantics from the fake.
func TestKlinesOverGoBinance(t *testing.T) {
	ks := loadKlines(t, "ETHUSDT-1m-2022-08-14.csv.gz", 1440)
	srv := NewServer(Options{})
	defer srv.Close()
	srv.SetKlines("ETHUSDT", "1m", ks)
	c := gobinance.NewClient("", "")
	c.BaseURL = srv.URL()
	ctx := context.Background()

	got, err := c.NewKlinesService().Symbol("ETHUSDT").Interval("1m").
		StartTime(ks[10].OpenTime).EndTime(ks[14].OpenTime + 1).Do(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 5 || got[0].OpenTime != ks[10].OpenTime || got[4].Close != ks[14].Close.String() {
		t.Errorf("startTime/endTime: got %d klines from %d", len(got), got[0].OpenTime)
	}
	got, _ = c.NewKlinesService().Symbol("ETHUSDT").Interval("1m").StartTime(ks[100].OpenTime).Limit(3).Do(ctx)
	if len(got) != 3 || got[0].OpenTime != ks[100].OpenTime {
		t.Errorf("startTime+limit: %d klines", len(got))
	}
	got, _ = c.NewKlinesService().Symbol("ETHUSDT").Interval("1m").Do(ctx)
	if len(got) != 500 || got[499].OpenTime != ks[1439].OpenTime {
		t.Errorf("no times: %d klines, want the latest 500", len(got))
	}
	got, _ = c.NewKlinesService().Symbol("ETHUSDT").Interval("1m").StartTime(0).Limit(5000).Do(ctx)
	if len(got) != 1000 {
		t.Errorf("limit 5000: %d klines, want Binance's cap of 1000", len(got))
	}
	got, _ = c.NewKlinesService().Symbol("ETHUSDT").Interval("1m").EndTime(ks[9].OpenTime).Limit(4).Do(ctx)
	if len(got) != 4 || got[3].OpenTime != ks[9].OpenTime {
		t.Errorf("endTime+limit: %d klines, want the 4 up to endTime", len(got))
	}

	_, err = c.NewKlinesService().Symbol("NOPE").Interval("1m").Do(ctx)
	var apiErr *common.APIError
	if !errors.As(err, &apiErr) || apiErr.Code != -1121 {
		t.Errorf("unknown symbol: %v, want API error -1121", err)
	}

	fc := futures.NewClient("", "")
	fc.BaseURL = srv.URL()
	fgot, err := fc.NewKlinesService().Symbol("ETHUSDT").Interval("1m").StartTime(ks[0].OpenTime).Limit(2).Do(ctx)
	if err != nil || len(fgot) != 2 {
		t.Errorf("futures klines: %d, %v", len(fgot), err)
	}
	if srv.Stats().KlineRequests != 7 {
		t.Errorf("%d kline requests counted, want 7", srv.Stats().KlineRequests)
	}
}

func TestDepthPingTimeOverGoBinance(t *testing.T) {
	srv := NewServer(Options{Futures: true})
	defer srv.Close()
	var bids []streams.Level
	for i := range 10 {
		bids = append(bids, streams.Level{Price: decimal.MustNew(int64(1000-i), 0), Qty: decimal.One})
	}
	srv.SetDepth("BTCUSDT", streams.Snapshot{LastUpdateID: 77, Time: 1723161256313, Bids: bids, Asks: bids[:2]})
	ctx := context.Background()

	c := gobinance.NewClient("", "")
	c.BaseURL = srv.URL()
	d, err := c.NewDepthService().Symbol("BTCUSDT").Limit(5).Do(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if d.LastUpdateID != 77 || len(d.Bids) != 5 || len(d.Asks) != 2 || d.Bids[0].Price != "1000" {
		t.Errorf("spot depth %+v", d)
	}
	fc := futures.NewClient("", "")
	fc.BaseURL = srv.URL()
	fd, err := fc.NewDepthService().Symbol("BTCUSDT").Do(ctx)
	if err != nil || fd.Time != 1723161256313 || len(fd.Bids) != 10 {
		t.Errorf("futures depth %+v, %v", fd, err)
	}
	if err := c.NewPingService().Do(ctx); err != nil {
		t.Errorf("ping: %v", err)
	}
	if now, err := c.NewServerTimeService().Do(ctx); err != nil || now < time.Now().Add(-time.Minute).UnixMilli() {
		t.Errorf("time: %d, %v", now, err)
	}
	info, err := c.NewExchangeInfoService().Do(ctx)
	if err != nil || len(info.Symbols) != 1 || info.Symbols[0].Symbol != "BTCUSDT" {
		t.Errorf("exchangeInfo: %+v, %v", info, err)
	}
}

// go-binance's own websocket helpers read the fake's frames (combined and single streams).
// This test sets go-binance's package-level URLs, so it must not run in parallel.
func TestGoBinanceWebsocketReadsFrames(t *testing.T) {
	ks := loadKlines(t, "ETHUSDT-1m-2022-08-14.csv.gz", 3)
	srv := NewServer(Options{})
	defer srv.Close()
	for _, k := range ks {
		srv.SendKline(k, true)
	}
	defer func(combined string, keepalive bool) {
		gobinance.BaseCombinedMainURL, gobinance.WebsocketKeepalive = combined, keepalive
	}(gobinance.BaseCombinedMainURL, gobinance.WebsocketKeepalive)
	gobinance.BaseCombinedMainURL = srv.WebsocketURL() + "/stream?streams="
	gobinance.WebsocketKeepalive = false // its keepalive goroutine outlives the connection

	got := make(chan *gobinance.WsKlineEvent, len(ks))
	doneC, stopC, err := gobinance.WsCombinedKlineServe(map[string]string{"ETHUSDT": "1m"},
		func(e *gobinance.WsKlineEvent) { got <- e }, func(err error) { t.Errorf("go-binance: %v", err) })
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range ks {
		select {
		case e := <-got:
			if e.Kline.StartTime != k.OpenTime || e.Kline.Close != k.Close.String() || !e.Kline.IsFinal || e.Symbol != "ETHUSDT" {
				t.Errorf("go-binance read %+v, want kline %d", e, k.OpenTime)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("no kline from go-binance")
		}
	}
	close(stopC)
	<-doneC
}

// The faults: a malformed frame after every N good ones, and a drop after N frames that
// loses the next K closed klines.
func TestFaults(t *testing.T) {
	ks := loadKlines(t, "ETHUSDT-1m-2022-08-14.csv.gz", 10)
	srv := NewServer(Options{})
	defer srv.Close()
	srv.SetFaults(Faults{DropAfter: 4, MaxDrops: 1, SkipKlines: 3, GarbageEvery: 2})
	for _, k := range ks {
		srv.SendKline(k, true)
	}
	ctx := context.Background()
	read := func() []string {
		c, _, err := websocket.Dial(ctx, srv.WebsocketURL()+"/stream?streams=ethusdt@kline_1m", nil)
		if err != nil {
			t.Fatal(err)
		}
		defer c.CloseNow()
		var msgs []string
		for {
			rctx, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
			_, msg, err := c.Read(rctx)
			cancel()
			if err != nil {
				return msgs
			}
			msgs = append(msgs, string(msg))
		}
	}
	first := read() // 4 klines, 2 garbage, then dropped
	if len(first) != 6 || !strings.HasPrefix(first[0], `{"stream":"ethusdt@kline_1m","data":{"e":"kline"`) || first[2] != "this is not json" {
		t.Fatalf("first connection read %d messages: %q", len(first), first)
	}
	second := read() // klines 8..10 (5..7 lost), 1 garbage, then silence
	if len(second) != 4 || !strings.Contains(second[0], `"t":`+itoa(ks[7].OpenTime)) {
		t.Fatalf("second connection read %q", second)
	}
	st := srv.Stats()
	if st.Connections != 2 || st.Drops != 1 || st.SkippedKlines != 3 || st.FramesSent != 7 || st.GarbageSent != 3 {
		t.Errorf("stats %+v", st)
	}
}

func TestReadKlinesCSV(t *testing.T) {
	for _, name := range []string{"ETHUSDT-1m-2022-08-14.csv.gz", "BTCUSDT-1m-2022-09-05.csv.gz"} { // no header, header
		if ks := loadKlines(t, name, 1440); ks[1439].OpenTime-ks[0].OpenTime != 1439*60000 {
			t.Errorf("%s: first %d last %d", name, ks[0].OpenTime, ks[1439].OpenTime)
		}
	}
	_, err := ReadKlinesCSV(strings.NewReader("1,2,3\n"), "binance", "X", "1m")
	if !errors.Is(err, ErrBadCSV) || !strings.Contains(err.Error(), "line 1") {
		t.Errorf("short row: %v", err)
	}
	_, err = ReadKlinesCSV(strings.NewReader(goodRow+"\n"+strings.Replace(goodRow, "1983.55", "x", 1)), "binance", "X", "1m")
	if !errors.Is(err, ErrBadCSV) || !strings.Contains(err.Error(), "line 2") {
		t.Errorf("bad decimal: %v", err)
	}
}

const goodRow = "1660435200000,1983.55000000,1983.90000000,1982.14000000,1982.29000000,205.13100000,1660435259999,406814.92308000,288,105.29930000,208854.93067400,0"

func FuzzReadKlinesCSV(f *testing.F) {
	f.Add(goodRow)
	f.Add("open_time,open,high,low,close,volume,close_time,quote_volume,count,taker_buy_volume,taker_buy_quote_volume,ignore\n" + goodRow)
	f.Add("1662336000000,19992.70,20000.00,19988.10,19996.80,482.638,1662336059999,9650791.43440,4263,302.950,6057727.57980,0")
	f.Add("1,2,3")
	f.Fuzz(func(t *testing.T, text string) {
		ks, err := ReadKlinesCSV(strings.NewReader(text), "binance", "X", "1m")
		if err != nil && !errors.Is(err, ErrBadCSV) {
			t.Fatalf("error %v does not wrap ErrBadCSV", err)
		}
		if err == nil && len(ks) > strings.Count(text, "\n")+1 {
			t.Fatalf("%d klines from %d lines", len(ks), strings.Count(text, "\n")+1)
		}
	})
}

func itoa(n int64) string { return decimal.MustNew(n, 0).String() }
