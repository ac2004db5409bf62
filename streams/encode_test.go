package streams_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
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
