package indicator_test

import (
	"encoding/csv"
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/synapse-trading/synapse/actors/indicator"
)

// FuzzSetUpdate feeds a Set warmed on real candles with a candle parsed from a fuzzed kline
// CSV line, thirty times over (so the windows fill with it). A candle is either refused
// with ErrBadCandle or ErrOutOfOrder, leaving every value as it was, or accepted, after which
// every column holds a finite number. Nothing panics.
func FuzzSetUpdate(f *testing.F) {
	for _, line := range []string{
		"1660435200000,1983.55000000,1983.90000000,1982.14000000,1982.29000000,205.13100000,1660435259999,406814.92308000,288,105.29930000,208854.93067400,0",
		"1660477140000,1988.00000000,1991.53000000,1987.99000000,1989.40000000,830.91040000,1660477199999,1653458.93104600,1265,455.35450000,906171.72896500,0",
		"1662336000000,19992.70,20000.00,19988.10,19996.80,482.638,1662336059999,9650791.43440,4263,302.950,6057727.57980,0",
		"1771103880000,9.6250,9.6330,9.6220,9.6260,6963,1771103939999,67029.7980,290,2563,24675.0760,0",
		"1771103880000,9.6250,9.6220,9.6330,9.6260,6963,1771103939999,67029.7980,290,2563,24675.0760,0", // high < low
		"1771103880000,1e15,1e15,1e-300,1e-300,1e15,0,0,0,0,0,0",
		"1771103880000,NaN,NaN,NaN,NaN,0,0,0,0,0,0,0",
		"open_time,open,high,low,close,volume,close_time,quote_volume,count,taker_buy_volume,taker_buy_quote_volume,ignore",
	} {
		f.Add(line)
	}
	warm := loadCandles(f, "ETHUSDT-1m-2022-08-14.csv.gz")[:60]

	f.Fuzz(func(t *testing.T, line string) {
		record, err := csv.NewReader(strings.NewReader(line)).Read()
		if err != nil {
			return
		}
		c, err := parseKlineRecord(record)
		if err != nil {
			return
		}
		set := indicator.NewSet()
		for _, w := range warm {
			if err := set.Update(w); err != nil {
				t.Fatal(err)
			}
		}
		for range 30 {
			before := set.Values(nil)
			err := set.Update(c)
			after := set.Values(nil)
			switch {
			case err == nil:
				for j, v := range after {
					if math.IsNaN(v) || math.IsInf(v, 0) {
						t.Fatalf("after accepting %+v, %s = %v", c, indicator.Columns[j], v)
					}
				}
			case errors.Is(err, indicator.ErrBadCandle) || errors.Is(err, indicator.ErrOutOfOrder):
				for j := range before {
					if math.Float64bits(after[j]) != math.Float64bits(before[j]) {
						t.Fatalf("refusing %+v (%v) changed %s", c, err, indicator.Columns[j])
					}
				}
				if errors.Is(err, indicator.ErrBadCandle) != (c.Validate() != nil) {
					t.Fatalf("Update says %v but Validate says %v", err, c.Validate())
				}
			default:
				t.Fatalf("Update(%+v): error %v wraps neither ErrBadCandle nor ErrOutOfOrder", c, err)
			}
			c.OpenTime++
		}
	})
}
