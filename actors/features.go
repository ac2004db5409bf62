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

// FeatureHeader is the header of `synapse features --format csv`: open_time, close, then
// the indicator columns in the contract's order.
func FeatureHeader() []string {
	return append([]string{"open_time", "close"}, indicator.Columns...)
}

// FeatureWriter writes the 1m features of one symbol's events, the same way a symbol actor
// computes them, as CSV rows (an empty cell while an indicator warms up) or JSON lines.
type FeatureWriter struct {
	w      *bufio.Writer
	json   bool
	sym    *Symbol
	venue  string
	symbol string
	rows   int
	row    []byte
	err    error
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
	_ = fw.sym.Apply(ev, fw.write) // problems are counted in the symbol's state
	return fw.err
}

func (fw *FeatureWriter) write(f *streams.Feature) {
	if f.Interval != "1m" || fw.err != nil {
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
	fw.row = append(fw.row, '\n')
	_, fw.err = fw.w.Write(fw.row)
}

// Close flushes the output and returns the number of rows and the symbol's final state
// (with its counts of skipped input).
func (fw *FeatureWriter) Close() (int, SymbolState, error) {
	if err := fw.w.Flush(); err != nil && fw.err == nil {
		fw.err = err
	}
	var st SymbolState
	if fw.sym != nil {
		st = fw.sym.State()
	}
	return fw.rows, st, fw.err
}
