package streams_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"reflect"
	"testing"

	"github.com/govalues/decimal"

	"github.com/synapse-trading/synapse/streams"
	"github.com/synapse-trading/synapse/streams/recordings"
	"github.com/synapse-trading/synapse/streams/replay"
)

// The fast encoder must write exactly what encoding/json writes, on every bundled event.
func TestAppendJSONEqualsEncodingJSON(t *testing.T) {
	rp, err := replay.OpenFS(recordings.FS(), recordings.Names(), replay.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer rp.Close()
	n := 0
	for {
		rec, err := rp.Next(context.Background())
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		checkEncoding(t, rec.Event)
		n++
	}
	if n < 100_000 {
		t.Fatalf("only %d events checked", n)
	}
	// Strings that need escaping, nil and empty slices, a negative decimal.
	checkEncoding(t, &streams.Trade{Venue: `odd"<venue>&`, Symbol: "BTC\u00e9\n", Price: decimal.MustParse("-1.50")})
	checkEncoding(t, &streams.Trade{Venue: "binance", Symbol: "BTCUSDT", TradeID: 7, Price: decimal.MustParse("1.5"), Qty: decimal.MustParse("2"), Time: 9, Aggregate: true})
	checkEncoding(t, &streams.Depth{Venue: "binance", Symbol: "X", Bids: []streams.Level{}, PrevFinalID: 3})
	checkEncoding(t, &streams.Snapshot{})
}

func checkEncoding(t *testing.T, ev streams.Event) {
	t.Helper()
	want, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	msg, err := streams.Encode(ev)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(msg.Data, want) {
		t.Fatalf("%s:\nfast:  %s\njson:  %s", ev.ID(), msg.Data, want)
	}
}

func BenchmarkEncode(b *testing.B) {
	k := &streams.Kline{Venue: "binance", Symbol: "BTCUSDT", Interval: "1m", OpenTime: 1723161240000, CloseTime: 1723161299999,
		Open: decimal.MustParse("61837.63"), High: decimal.MustParse("61900.00"), Low: decimal.MustParse("61800.01"),
		Close: decimal.MustParse("61850.10"), Volume: decimal.MustParse("12.5"), QuoteVolume: decimal.MustParse("773126.25"), Trades: 42}
	b.Run("kline/fast", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			_, _ = streams.Encode(k)
		}
	})
	b.Run("kline/encoding-json", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			_, _ = json.Marshal(k)
		}
	})
}

// BenchmarkDecode decodes what a log follower reads most: an order fill (the projector) and
// a kline (the graph), beside encoding/json on the same payload.
func BenchmarkDecode(b *testing.B) {
	fill := &streams.OrderEvent{Type: streams.OrderFill, ClientOrderID: "bench-00001234", Agent: "ATLAS", Venue: "binance", Symbol: "BTCUSDT",
		Side: streams.Buy, OrderType: streams.Market, Qty: decimal.MustParse("1.234"), VenueOrderID: "v-1234", TradeID: "t-1234-0",
		FillQty: decimal.MustParse("1.234"), FillPrice: decimal.MustParse("61849.47"), Fee: decimal.MustParse("0.07632"),
		CumQty: decimal.MustParse("1.234"), Time: 1723161600000}
	k := &streams.Kline{Venue: "binance", Symbol: "BTCUSDT", Interval: "1m", OpenTime: 1723161240000, CloseTime: 1723161299999,
		Open: decimal.MustParse("61837.63"), High: decimal.MustParse("61900.00"), Low: decimal.MustParse("61800.01"),
		Close: decimal.MustParse("61850.10"), Volume: decimal.MustParse("12.5"), QuoteVolume: decimal.MustParse("773126.25"), Trades: 42}
	for name, ev := range map[string]streams.Event{"order-fill": fill, "kline": k} {
		msg, err := streams.Encode(ev)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := streams.Decode(msg.Subject, msg.Header, msg.Data); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(name+"/encoding-json", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				v := reflect.New(reflect.TypeOf(ev).Elem()).Interface()
				if err := json.Unmarshal(msg.Data, v); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
