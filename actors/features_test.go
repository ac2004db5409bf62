package actors

import (
	"bytes"
	"strconv"
	"strings"
	"testing"

	"github.com/govalues/decimal"

	"github.com/synapse-trading/synapse/actors/indicator"
	"github.com/synapse-trading/synapse/streams"
)

// A file of 1h klines gets one row per hour, equal to an indicator Set run on those klines.
func TestFeatureWriterOnLongerKlines(t *testing.T) {
	var klines []*streams.Kline
	price := 100.0
	for i := 0; i < 400; i++ {
		price *= 1 + 0.01*float64((i*7919)%13-6)/6
		p := decimal.MustNew(int64(price*100), 2)
		hi, _ := p.Add(decimal.MustNew(50, 2))
		lo, _ := p.Sub(decimal.MustNew(50, 2))
		open := int64(1700000000000 - 1700000000000%3_600_000 + int64(i)*3_600_000)
		klines = append(klines, &streams.Kline{Venue: "binance", Symbol: "BTCUSDT", Interval: "1h", OpenTime: open, CloseTime: open + 3_599_999,
			Open: p, High: hi, Low: lo, Close: p, Volume: decimal.MustNew(int64(1000+i), 0)})
	}
	var out bytes.Buffer
	fw, err := NewFeatureWriter(&out, "csv")
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range klines {
		if err := fw.Apply(k); err != nil {
			t.Fatal(err)
		}
	}
	if err := fw.Apply(klines[10]); err != nil { // an old kline again: skipped, counted
		t.Fatal(err)
	}
	rows, st, err := fw.Close()
	if err != nil || rows != 400 || st.OutOfOrder != 1 {
		t.Fatalf("rows %d, state %+v, err %v", rows, st, err)
	}
	set := indicator.NewSet()
	var last []float64
	for _, k := range klines {
		c, _ := indicator.CandleFromKline(*k)
		_ = set.Update(c)
	}
	last = set.Values(nil)
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	cells := strings.Split(lines[len(lines)-1], ",")
	for i, v := range last {
		if got := cells[2+i]; got == "" || got != strings.TrimSpace(formatFloat(v)) {
			t.Fatalf("%s = %s, want %v", indicator.Columns[i], got, v)
		}
	}
}

func formatFloat(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }
