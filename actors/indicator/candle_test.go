package indicator_test

import (
	"errors"
	"testing"

	"github.com/govalues/decimal"

	"github.com/synapse-trading/synapse/actors/indicator"
	"github.com/synapse-trading/synapse/streams"
)

func TestCandleFromKline(t *testing.T) {
	// The 2022-09-05 00:00 BTCUSDT futures candle, as in the recording.
	k := streams.Kline{
		Venue: "binance-futures", Symbol: "BTCUSDT", Interval: "1m",
		OpenTime: 1662336000000, CloseTime: 1662336059999,
		Open: decimal.MustParse("19992.70"), High: decimal.MustParse("20000.00"),
		Low: decimal.MustParse("19988.10"), Close: decimal.MustParse("19996.80"),
		Volume: decimal.MustParse("482.638"),
	}
	got, err := indicator.CandleFromKline(k)
	if err != nil {
		t.Fatal(err)
	}
	want := loadCandles(t, "BTCUSDT-1m-2022-09-05.csv.gz")[0]
	if got != want {
		t.Errorf("got %+v, the CSV row reads %+v", got, want)
	}

	k.High, k.Low = k.Low, k.High
	if _, err := indicator.CandleFromKline(k); !errors.Is(err, indicator.ErrBadCandle) {
		t.Errorf("kline with high below low: got %v, want ErrBadCandle", err)
	}
}
