package indicator_test

import (
	"errors"
	"strconv"
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

func TestFloatEqualsParseFloat(t *testing.T) {
	for _, s := range []string{"0", "1", "-1", "61837.63000000", "0.00000001", "115729.0", "10.1130",
		"9007199254740991", "9007199254740993", "123456789012345678.9", "0.1", "0.3", "-2.5e-3", "1e-22", "3.14159265358979323"} {
		d := decimal.MustParse(s)
		want, _ := strconv.ParseFloat(d.String(), 64)
		got, ok := indicator.Float(d)
		if !ok || got != want {
			t.Errorf("Float(%s) = %v, %v; want %v", s, got, ok, want)
		}
	}
}
