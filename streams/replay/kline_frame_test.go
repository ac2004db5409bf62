package replay

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/synapse-trading/synapse/streams"
)

// klineFrame is the @kline_1m frame Binance sends for k, closed or still open, as a capture
// line received at recvNs.
func klineFrame(k *streams.Kline, closed bool, recvNs int64) string {
	return fmt.Sprintf(`%d {"stream":"%s@kline_%s","data":{"e":"kline","E":%d,"s":"%s","k":{"t":%d,"T":%d,"s":"%s","i":"%s","f":100,"L":200,`+
		`"o":"%s","c":"%s","h":"%s","l":"%s","v":"%s","n":%d,"x":%t,"q":"%s","V":"%s","Q":"%s","B":"0"}}}`,
		recvNs, strings.ToLower(k.Symbol), k.Interval, recvNs/1e6, k.Symbol, k.OpenTime, k.CloseTime, k.Symbol, k.Interval,
		k.Open, k.Close, k.High, k.Low, k.Volume, k.Trades, closed, k.QuoteVolume, k.TakerBuyVolume, k.TakerBuyQuoteVolume)
}

// A capture of the kline stream replays the same candles as the kline CSV of the same day:
// the closed candle's frame is the kline, the updates before it are counted and skipped.
func TestKlineStreamCapture(t *testing.T) {
	var want []*streams.Kline
	for _, rec := range readAll(t, openRecording(t, spotKlines14, ReaderOptions{})) {
		want = append(want, rec.Event.(*streams.Kline))
	}
	var capture strings.Builder
	for _, k := range want {
		capture.WriteString(klineFrame(k, false, (k.CloseTime-30_000)*1e6) + "\n")
		capture.WriteString(klineFrame(k, true, (k.CloseTime+1)*1e6) + "\n")
	}
	r, err := NewReader(strings.NewReader(capture.String()), "ethusdt-klines.txt", ReaderOptions{})
	if err != nil {
		t.Fatal(err)
	}
	got := readAll(t, r)
	if len(got) != len(want) || len(want) != 1440 {
		t.Fatalf("%d klines from the capture, %d from the CSV", len(got), len(want))
	}
	for i, rec := range got {
		if !reflect.DeepEqual(rec.Event, want[i]) {
			t.Fatalf("kline %d: %+v, want %+v", i, rec.Event, want[i])
		}
	}
	if st := r.Stats(); st.OpenKlines != 1440 || st.Malformed != 0 {
		t.Fatalf("stats %+v", st)
	}
}

func TestKlineFrameErrors(t *testing.T) {
	k := &streams.Kline{Symbol: "ETHUSDT", Interval: "1m", OpenTime: 1660435200000, CloseTime: 1660435259999}
	good := *k
	good.Open, good.High, good.Low, good.Close = dec("1983.55"), dec("1983.90"), dec("1982.14"), dec("1982.29")
	if ev, err := DecodeFrame(VenueSpot, 1, []byte(klineFrame(&good, true, 1)[2:])); err != nil || ev.(*streams.Kline).Close != good.Close {
		t.Fatalf("good frame: %v %v", ev, err)
	}
	if _, err := DecodeFrame(VenueSpot, 1, []byte(klineFrame(&good, false, 1)[2:])); !errors.Is(err, ErrOpenKline) {
		t.Fatalf("open candle: %v, want ErrOpenKline", err)
	}
	bad := good
	bad.High = dec("1900") // below the open
	if _, err := DecodeFrame(VenueSpot, 1, []byte(klineFrame(&bad, true, 1)[2:])); !errors.Is(err, ErrBadFrame) || !strings.Contains(err.Error(), "high") {
		t.Fatalf("high below open: %v, want ErrBadFrame naming the high", err)
	}
	if _, err := DecodeFrame(VenueSpot, 1, []byte(`{"stream":"ethusdt@kline_1m","data":{"e":"kline","E":1,"s":"ETHUSDT"}}`)); !errors.Is(err, ErrBadFrame) {
		t.Fatalf("no candle: %v, want ErrBadFrame", err)
	}
}
