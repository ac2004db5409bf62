package actors

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strconv"

	"github.com/synapse-trading/synapse/actors/indicator"
	"github.com/synapse-trading/synapse/streams"
)

// FeatureHeader is the header of `synapse features --format csv`: open_time, close, the
// indicator columns in the contract's order, then the candle's volume (last, so the
// indicators keep their places for readers that count columns).
func FeatureHeader() []string {
	return append(append([]string{"open_time", "close"}, indicator.Columns...), "volume")
}

// FeatureWriter writes the 1m features of one symbol's events, the same way a symbol actor
// computes them, as CSV rows (an empty cell while an indicator warms up) or JSON lines. A
// file of longer klines (5m, 1h) gets one row per kline of its own interval.
type FeatureWriter struct {
	w      *bufio.Writer
	json   bool
	sym    *Symbol
	venue  string
	symbol string
	rows   int
	row    []byte
	err    error

	// A file of longer klines (5m, 1h, ...) gets its features on its own interval: the
	// symbol actor's roll-ups start from 1m, so such klines take this direct path.
	interval  string // the interval rows are written for; "1m" unless the file says otherwise
	other     *indicator.Set
	otherLast int64
	skipped   SymbolState // counts of the direct path
}

// NewFeatureWriter writes to w in format "csv" or "json".
func NewFeatureWriter(w io.Writer, format string) (*FeatureWriter, error) {
	fw := &FeatureWriter{w: bufio.NewWriterSize(w, 64<<10)}
	switch format {
	case "csv":
		for i, h := range FeatureHeader() {
			if i > 0 {
				fw.w.WriteByte(',')
			}
			fw.w.WriteString(h)
		}
		fw.w.WriteByte('\n')
	case "json":
		fw.json = true
	default:
		return nil, fmt.Errorf("unknown format %q: use csv or json", format)
	}
	return fw, nil
}

// Apply folds one event in; events of a second symbol are an error (one file, one symbol).
func (fw *FeatureWriter) Apply(ev streams.Event) error {
	v, s := ev.Key()
	if fw.sym == nil {
		sym, err := NewSymbol(v, s)
		if err != nil {
			return err
		}
		fw.sym, fw.venue, fw.symbol = sym, v, s
	} else if v != fw.venue || s != fw.symbol {
		return fmt.Errorf("%w: features are computed for one symbol at a time; got %s/%s after %s/%s", ErrUnknownEvent, v, s, fw.venue, fw.symbol)
	}
	if fw.interval == "" {
		fw.interval = "1m"
		if k, ok := ev.(*streams.Kline); ok {
			fw.interval = k.Interval
		}
	}
	if k, ok := ev.(*streams.Kline); ok && fw.interval != "1m" {
		fw.applyLonger(k)
		return fw.err
	}
	_ = fw.sym.Apply(ev, fw.write) // problems are counted in the symbol's state
	return fw.err
}

// applyLonger computes the features of a kline of the file's own (longer) interval.
func (fw *FeatureWriter) applyLonger(k *streams.Kline) {
	if fw.other == nil {
		fw.other = indicator.NewSet()
	}
	switch {
	case k.Interval != fw.interval:
		fw.skipped.Malformed++
		fw.skipped.LastProblem = fmt.Sprintf("a %s kline in a file of %s klines", k.Interval, fw.interval)
		return
	case k.OpenTime == fw.otherLast:
		fw.skipped.Duplicates++
		return
	case k.OpenTime < fw.otherLast:
		fw.skipped.OutOfOrder++
		return
	}
	c, err := indicator.CandleFromKline(*k)
	if err == nil {
		err = fw.other.Update(c)
	}
	if err != nil {
		fw.skipped.Malformed++
		fw.skipped.LastProblem = err.Error()
		return
	}
	fw.otherLast = k.OpenTime
	f := &streams.Feature{Venue: k.Venue, Symbol: k.Symbol, Interval: k.Interval, OpenTime: k.OpenTime, Close: k.Close, Volume: k.Volume}
	fw.other.Values(f.Values[:0])
	fw.write(f)
}

func (fw *FeatureWriter) write(f *streams.Feature) {
	if f.Interval != fw.interval || fw.err != nil {
		return
	}
	fw.rows++
	if fw.json {
		data, err := json.Marshal(f)
		if err != nil {
			fw.err = err
			return
		}
		fw.w.Write(data)
		fw.w.WriteByte('\n')
		return
	}
	fw.row = strconv.AppendInt(fw.row[:0], f.OpenTime, 10)
	fw.row = append(fw.row, ',')
	fw.row = append(fw.row, f.Close.String()...)
	for _, v := range f.Values {
		fw.row = append(fw.row, ',')
		if !math.IsNaN(v) {
			fw.row = strconv.AppendFloat(fw.row, v, 'g', -1, 64)
		}
	}
	fw.row = append(fw.row, ',')
	fw.row = append(fw.row, f.Volume.String()...)
	fw.row = append(fw.row, '\n')
	_, fw.err = fw.w.Write(fw.row)
}

// Close flushes the output and returns the number of rows and the symbol's final state
// (with its counts of skipped input).
func (fw *FeatureWriter) Close() (int, SymbolState, error) {
	if err := fw.w.Flush(); err != nil && fw.err == nil {
		fw.err = err
	}
	st := fw.skipped
	if fw.sym != nil && fw.other == nil {
		st = fw.sym.State()
	}
	return fw.rows, st, fw.err
}
