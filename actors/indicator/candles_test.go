package indicator_test

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strconv"
	"testing"

	"github.com/synapse-trading/synapse/actors/indicator"
	"github.com/synapse-trading/synapse/streams/recordings"
)

// loadCandles reads a gzipped Binance kline CSV from the bundled recordings, with or without
// a header row (spot files have none, futures files have one).
func loadCandles(tb testing.TB, name string) []indicator.Candle {
	tb.Helper()
	candles, err := readCandles(name)
	if err != nil {
		tb.Fatal(err)
	}
	return candles
}

func readCandles(name string) ([]indicator.Candle, error) {
	data, err := recordings.Read(name)
	if err != nil {
		return nil, err
	}
	r := csv.NewReader(bytes.NewReader(data))
	r.FieldsPerRecord = -1
	r.ReuseRecord = true
	var candles []indicator.Candle
	for line := 1; ; line++ {
		record, err := r.Read()
		if errors.Is(err, io.EOF) {
			return candles, nil
		}
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %w", name, line, err)
		}
		if line == 1 && len(record) > 0 && record[0] == "open_time" {
			continue // futures header
		}
		c, err := parseKlineRecord(record)
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %w", name, line, err)
		}
		candles = append(candles, c)
	}
}

// parseKlineRecord reads open_time, open, high, low, close and volume, the first six
// columns of a Binance kline CSV row.
func parseKlineRecord(record []string) (indicator.Candle, error) {
	if len(record) < 6 {
		return indicator.Candle{}, fmt.Errorf("kline row has %d fields, want at least 6", len(record))
	}
	openTime, err := strconv.ParseInt(record[0], 10, 64)
	if err != nil {
		return indicator.Candle{}, fmt.Errorf("open_time %q: %w", record[0], err)
	}
	var v [5]float64
	for i := range v {
		if v[i], err = strconv.ParseFloat(record[i+1], 64); err != nil {
			return indicator.Candle{}, fmt.Errorf("field %d %q: %w", i+1, record[i+1], err)
		}
	}
	return indicator.Candle{OpenTime: openTime, Open: v[0], High: v[1], Low: v[2], Close: v[3], Volume: v[4]}, nil
}

// series splits candles into the column slices go-talib takes.
type series struct {
	high, low, close, volume []float64
}

func seriesOf(candles []indicator.Candle) series {
	var s series
	for _, c := range candles {
		s.high = append(s.high, c.High)
		s.low = append(s.low, c.Low)
		s.close = append(s.close, c.Close)
		s.volume = append(s.volume, c.Volume)
	}
	return s
}
