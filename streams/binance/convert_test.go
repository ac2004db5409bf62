package binance

import (
	"errors"
	"strings"
	"testing"

	gobinance "github.com/adshao/go-binance/v2"
	"github.com/synapse-trading/synapse/streams"
)

// Real frames, copied from the captures in streams/recordings. The captures hold no kline
// frames: closedKline is Binance's documented layout filled with the first row of
// ETHUSDT-1m-2022-08-14.csv.gz, openKline a made-up mid-candle update of it.
const (
	spotTrade      = `{"stream":"btcusdt@trade","data":{"e":"trade","E":1723161255343,"s":"BTCUSDT","t":3735683259,"p":"61837.63000000","q":"0.02000000","T":1723161255342,"m":true,"M":true}}`
	spotDepth      = `{"stream":"btcusdt@depth@100ms","data":{"e":"depthUpdate","E":1723161255308,"s":"BTCUSDT","U":50093239203,"u":50093239207,"b":[["55653.87000000","0.00000000"]],"a":[["61838.04000000","0.32332000"],["61844.30000000","0.40163000"],["61862.50000000","0.05019000"],["61862.51000000","0.00000000"]]}}`
	spotTicker     = `{"stream":"btcusdt@bookTicker","data":{"u":50093239212,"s":"BTCUSDT","b":"61837.63000000","B":"3.78826000","a":"61837.64000000","A":"1.54698000"}}`
	futuresTrade   = `{"stream":"btcusdt@trade","data":{"e":"trade","E":1723161256322,"T":1723161256322,"s":"BTCUSDT","t":5266583935,"p":"61800.30","q":"0.006","X":"MARKET","m":false}}`
	futuresTicker  = `{"stream":"btcusdt@bookTicker","data":{"e":"bookTicker","u":5123107839020,"s":"BTCUSDT","b":"61800.20","B":"2.507","a":"61800.30","A":"2.510","T":1723161256313,"E":1723161256313}}`
	futuresDepth   = `{"stream":"btcusdt@depth@0ms","data":{"e":"depthUpdate","E":1723161256299,"T":1723161256298,"s":"BTCUSDT","U":5123107832006,"u":5123107837557,"pu":5123107831937,"b":[["58710.20","0.014"],["61496.50","0.010"]],"a":[["61800.30","3.330"]]}}`
	closedKline    = `{"stream":"ethusdt@kline_1m","data":{"e":"kline","E":1660435260000,"s":"ETHUSDT","k":{"t":1660435200000,"T":1660435259999,"s":"ETHUSDT","i":"1m","f":-1,"L":-1,"o":"1983.55000000","c":"1982.29000000","h":"1983.90000000","l":"1982.14000000","v":"205.13100000","n":288,"x":true,"q":"406814.92308000","V":"105.29930000","Q":"208854.93067400","B":"0"}}}`
	openKline      = `{"stream":"ethusdt@kline_1m","data":{"e":"kline","E":1660435230000,"s":"ETHUSDT","k":{"t":1660435200000,"T":1660435259999,"s":"ETHUSDT","i":"1m","f":-1,"L":-1,"o":"1983.55000000","c":"1983.10000000","h":"1983.90000000","l":"1982.14000000","v":"100.00000000","n":140,"x":false,"q":"198300.00000000","V":"50.00000000","Q":"99150.00000000","B":"0"}}}`
	spotAggTrade   = `{"stream":"btcusdt@aggTrade","data":{"e":"aggTrade","E":1723161255343,"s":"BTCUSDT","a":2500000001,"p":"61837.63000000","q":"0.02000000","f":3735683259,"l":3735683260,"T":1723161255342,"m":true,"M":true}}`
	negativePrice  = `{"stream":"btcusdt@trade","data":{"e":"trade","E":1,"s":"BTCUSDT","t":1,"p":"-1.0","q":"0.1","T":1,"m":true,"M":true}}`
	wrongTypeDepth = `{"stream":"btcusdt@depth@100ms","data":{"e":7,"s":[],"b":{},"a":1}}`
)

func TestDecodeRealFrames(t *testing.T) {
	_, ev, err := decodeFrame(VenueSpot, []byte(spotTrade), 0)
	if err != nil {
		t.Fatal(err)
	}
	want := &streams.Trade{Venue: VenueSpot, Symbol: "BTCUSDT", TradeID: 3735683259,
		Price: dec("61837.63000000"), Qty: dec("0.02000000"), BuyerMaker: true, Time: 1723161255342}
	if got := ev.(*streams.Trade); *got != *want {
		t.Errorf("trade %+v, want %+v", got, want)
	}

	_, ev, err = decodeFrame(VenueSpot, []byte(closedKline), 0)
	if err != nil {
		t.Fatal(err)
	}
	k := ev.(*streams.Kline)
	if k.OpenTime != 1660435200000 || k.CloseTime != 1660435259999 || k.Close != dec("1982.29000000") ||
		k.Trades != 288 || k.TakerBuyQuoteVolume != dec("208854.93067400") || k.ID() != "binance.ethusdt.kline.1m.1660435200000" {
		t.Errorf("kline %+v", k)
	}

	if _, ev, err = decodeFrame(VenueSpot, []byte(openKline), 0); err != nil || ev != nil {
		t.Errorf("in-progress kline: %v, %v; want no event and no error", ev, err)
	}

	_, ev, err = decodeFrame(VenueSpot, []byte(spotDepth), 0)
	if err != nil {
		t.Fatal(err)
	}
	d := ev.(*streams.Depth)
	if d.FirstID != 50093239203 || d.FinalID != 50093239207 || len(d.Bids) != 1 || len(d.Asks) != 4 ||
		d.Asks[3].Qty.IsZero() != true || d.Asks[0].Price != dec("61838.04000000") {
		t.Errorf("depth %+v", d)
	}

	_, ev, err = decodeFrame(VenueSpot, []byte(spotTicker), 42)
	if err != nil {
		t.Fatal(err)
	}
	if tk := ev.(*streams.Ticker); tk.UpdateID != 50093239212 || tk.Time != 42 || tk.AskQty != dec("1.54698000") {
		t.Errorf("spot ticker %+v: want the receive time 42 as its time", tk)
	}

	_, ev, err = decodeFrame(VenueFutures, []byte(futuresTicker), 42)
	if err != nil {
		t.Fatal(err)
	}
	if tk := ev.(*streams.Ticker); tk.Time != 1723161256313 || tk.Venue != VenueFutures {
		t.Errorf("futures ticker %+v: want its event time", tk)
	}

	_, ev, err = decodeFrame(VenueFutures, []byte(futuresDepth), 0)
	if err != nil {
		t.Fatal(err)
	}
	if fd := ev.(*streams.Depth); fd.PrevFinalID != 5123107831937 {
		t.Errorf("futures depth pu %d", fd.PrevFinalID)
	}

	_, ev, err = decodeFrame(VenueSpot, []byte(spotAggTrade), 0)
	if err != nil {
		t.Fatal(err)
	}
	if at := ev.(*streams.Trade); at.TradeID != 2500000001 || !at.Aggregate {
		t.Errorf("aggTrade ID %d, aggregate %v: want the aggregate ID, marked aggregate", at.TradeID, at.Aggregate)
	}
}

func TestDecodeBadFrames(t *testing.T) {
	for name, msg := range map[string]string{
		"not json":       "this is not json",
		"truncated":      `{"stream":"btcusdt@trade","data":{"e":"tra`,
		"no data":        `{"stream":"btcusdt@trade"}`,
		"unknown stream": `{"stream":"btcusdt@forceOrder","data":{}}`,
		"negative price": negativePrice,
		"wrong types":    wrongTypeDepth,
		"empty kline":    `{"stream":"btcusdt@kline_1m","data":{"k":{"x":true}}}`,
		"bad level":      strings.Replace(spotDepth, `"55653.87000000"`, `"5e"`, 1),
		"null data":      `{"stream":"btcusdt@bookTicker","data":null}`,
	} {
		stream, _, err := decodeFrame(VenueSpot, []byte(msg), 0)
		if !errors.Is(err, ErrMalformedFrame) {
			t.Errorf("%s: error %v, want ErrMalformedFrame", name, err)
		}
		if strings.HasPrefix(msg, `{"stream":"btcusdt@`) && name != "truncated" && !strings.HasPrefix(stream, "btcusdt@") {
			t.Errorf("%s: stream %q not reported", name, stream)
		}
	}
}

// FuzzDecodeFrame feeds arbitrary messages to the decoder of both venues: it must never
// panic, every error must wrap ErrMalformedFrame, and every event must be well formed.
func FuzzDecodeFrame(f *testing.F) {
	for _, seed := range []string{spotTrade, spotDepth, spotTicker, futuresTrade, futuresTicker, futuresDepth,
		closedKline, openKline, spotAggTrade, negativePrice, wrongTypeDepth, "", "{}", "[]", "null"} {
		f.Add([]byte(seed))
	}
	for _, l := range loadRecording(f, "BTCUSDT-wsfeed-2024-08-09.txt.gz", VenueSpot, "BTCUSDT", 20) {
		f.Add(l.raw)
	}
	f.Fuzz(func(t *testing.T, msg []byte) {
		for _, venue := range []string{VenueSpot, VenueFutures} {
			_, ev, err := decodeFrame(venue, msg, 1)
			if err != nil {
				if !errors.Is(err, ErrMalformedFrame) {
					t.Fatalf("error %v does not wrap ErrMalformedFrame", err)
				}
				continue
			}
			if ev == nil {
				continue // an in-progress kline
			}
			if v, s := ev.Key(); v != venue || s == "" {
				t.Fatalf("event key %q/%q for venue %s", v, s, venue)
			}
			switch e := ev.(type) {
			case *streams.Kline:
				if e.OpenTime <= 0 || e.CloseTime < e.OpenTime || e.Interval == "" {
					t.Fatalf("bad kline accepted: %+v", e)
				}
			case *streams.Depth:
				if e.FirstID <= 0 || e.FinalID < e.FirstID {
					t.Fatalf("bad depth accepted: %+v", e)
				}
			case *streams.Trade:
				if e.Price.IsNeg() || e.Qty.IsNeg() || e.Time <= 0 {
					t.Fatalf("bad trade accepted: %+v", e)
				}
			}
		}
	})
}

func BenchmarkDecodeFrame(b *testing.B) {
	for _, c := range []struct{ name, msg string }{
		{"kline", closedKline}, {"trade", spotTrade}, {"depth", spotDepth}, {"bookTicker", spotTicker},
	} {
		b.Run(c.name, func(b *testing.B) {
			msg := []byte(c.msg)
			b.SetBytes(int64(len(msg)))
			b.ReportAllocs()
			for b.Loop() {
				if _, _, err := decodeFrame(VenueSpot, msg, 1); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func TestRESTConversionErrors(t *testing.T) {
	good := gobinance.Kline{OpenTime: 1660435200000, CloseTime: 1660435259999, Open: "1", High: "2", Low: "0.5", Close: "1.5",
		Volume: "10", QuoteAssetVolume: "15", TakerBuyBaseAssetVolume: "5", TakerBuyQuoteAssetVolume: "7.5"}
	if k, err := klineFromSpotREST(VenueSpot, "ETHUSDT", "1m", &good); err != nil || k.High != dec("2") {
		t.Fatalf("good kline: %+v, %v", k, err)
	}
	bad := good
	bad.Open = "1,5"
	if _, err := klineFromSpotREST(VenueSpot, "ETHUSDT", "1m", &bad); !errors.Is(err, ErrMalformedREST) {
		t.Errorf("bad open: %v, want ErrMalformedREST", err)
	}
	noID := gobinance.DepthResponse{Bids: []gobinance.Bid{{Price: "1", Quantity: "2"}}}
	if _, err := snapshotFromSpotREST(VenueSpot, "ETHUSDT", &noID, 1); !errors.Is(err, ErrMalformedREST) {
		t.Errorf("snapshot with no lastUpdateId: %v, want ErrMalformedREST", err)
	}
}

func TestNonMarketFuturesTradeIsNotPublished(t *testing.T) {
	frame := `{"stream":"btcusdt@trade","data":{"e":"trade","E":1723161256322,"T":1723161256322,"s":"BTCUSDT","t":5266583935,"p":"61800.30","q":"0.006","X":"INSURANCE_FUND","m":false}}`
	_, ev, err := decodeFrame(VenueFutures, []byte(frame), 1)
	if err != nil || ev != nil {
		t.Fatalf("insurance-fund trade: event %v, err %v; want nothing to publish", ev, err)
	}
	_, ev, err = decodeFrame(VenueFutures, []byte(strings.Replace(frame, "INSURANCE_FUND", "MARKET", 1)), 1)
	if err != nil || ev == nil {
		t.Fatalf("market trade: event %v, err %v", ev, err)
	}
}
