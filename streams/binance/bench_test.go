package binance

import (
	"strconv"
	"testing"
	"time"

	"github.com/synapse-trading/synapse/streams/binance/binancetest"
)

// BenchmarkFeedLoopback measures the whole path on loopback: the fake server writes trade
// frames, the feed reads, decodes, checks continuity and delivers them.
func BenchmarkFeedLoopback(b *testing.B) {
	srv := binancetest.NewServer(binancetest.Options{})
	defer srv.Close()
	opts := testOptions(srv, VenueSpot, "BTCUSDT")
	opts.Klines, opts.Depth, opts.BookTicker = false, false, false
	rec := &recorder{}
	feed, err := New(opts, rec.handle)
	if err != nil {
		b.Fatal(err)
	}
	go feed.Run(b.Context())
	defer feed.Stop()

	frames := make([][]byte, b.N)
	for i := range frames {
		id := strconv.Itoa(3735683259 + i)
		frames[i] = []byte(`{"e":"trade","E":1723161255343,"s":"BTCUSDT","t":` + id +
			`,"p":"61837.63000000","q":"0.02000000","T":1723161255342,"m":true,"M":true}`)
	}
	b.ResetTimer()
	start := time.Now()
	for _, f := range frames {
		srv.SendRaw("btcusdt@trade", f)
	}
	for rec.len() < b.N {
		time.Sleep(100 * time.Microsecond)
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "events/s")
	if st := feed.Stats(); st.TradeGaps != 0 || st.DecodeErrors != 0 {
		b.Fatalf("stats %+v", st)
	}
}
