package inference

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/synapse-trading/synapse/actors"
	"github.com/synapse-trading/synapse/streams"
	"github.com/synapse-trading/synapse/streams/replay"
)

// ErrNotEnoughData means a market-data file (or a symbol's files together) holds too few
// 1m candles to warm the indicators up, label the rows and still train and validate; or a
// data set is too small to split. The message names the file and how many rows it needs.
var ErrNotEnoughData = errors.New("not enough data")

// Dataset defaults.
const (
	// DefaultHorizon is how many 1m candles ahead the labels look.
	DefaultHorizon = 15
	// DefaultTP and DefaultSL are the take-profit and stop-loss distances of the tp_sl
	// label, as fractions of the close (0.5%).
	DefaultTP = 0.005
	DefaultSL = 0.005
	// MinRows is the fewest labelled rows a symbol must give: enough for 80% of training and
	// 20% (≥ 100 rows) of validation after the embargo.
	MinRows = 500
)

// candleMs is the length of a 1m candle in epoch ms.
const candleMs = int64(time.Minute / time.Millisecond)

// InputNames are the model's input features, in the order of the input vector. All are
// scale-free (they read the same for a $10 and a $60,000 coin), so one model can learn from
// several symbols; InputBuilder computes them from a symbol's 1m features:
//
//	ret_1, ret_5, ret_15     close / close n candles earlier - 1
//	close_sma_20, close_ema_20, close_sar   close / indicator - 1
//	rsi_14, adx_14, stoch_k_14_3_3, stoch_d_14_3_3   indicator / 100
//	cci_20                   cci / 100
//	macd*, atr_14, mom_10, stddev_20, linreg_slope_20   indicator / close
//	bb_position_20_2         (close - lower) / (upper - lower), 0.5 for flat bands
//	bb_width_20_2            (upper - lower) / middle
//	obv_flow_10              (obv - obv 10 candles earlier) / volume of those 10 candles
//	volume_ratio_20          volume / mean volume of the last 20 candles
var InputNames = []string{
	"ret_1", "ret_5", "ret_15",
	"close_sma_20", "close_ema_20", "close_sar",
	"rsi_14", "adx_14", "stoch_k_14_3_3", "stoch_d_14_3_3", "cci_20",
	"macd_12_26_9", "macd_signal_12_26_9", "macd_hist_12_26_9",
	"atr_14", "mom_10", "stddev_20", "linreg_slope_20",
	"bb_position_20_2", "bb_width_20_2",
	"obv_flow_10", "volume_ratio_20",
}

// historyKept is how many past closes, volumes and OBVs an InputBuilder keeps.
const historyKept = 21

// InputBuilder turns the closed 1m features of one symbol, in order, into model input
// vectors: the same code builds the training set and the live inputs. Not safe for
// concurrent use; use one per symbol.
type InputBuilder struct {
	closes, volumes, obvs [historyKept]float64
	n                     int // features added
}

// NewInputBuilder returns an empty builder.
func NewInputBuilder() *InputBuilder { return &InputBuilder{} }

// ago returns the value of ring r added k features ago (0: the latest).
func (b *InputBuilder) ago(r *[historyKept]float64, k int) float64 {
	return r[(b.n-1-k)%historyKept]
}

// Add takes the next 1m feature and returns its input vector (len(InputNames) values), or
// false while an indicator or the builder's own history still warms up, or when a value is
// not finite.
func (b *InputBuilder) Add(f *streams.Feature) ([]float64, bool) {
	c, ok1 := f.Close.Float64()
	vol, ok2 := f.Volume.Float64()
	v := &f.Values
	i := b.n % historyKept
	b.closes[i], b.volumes[i], b.obvs[i] = c, vol, v[12]
	b.n++
	if !ok1 || !ok2 || c <= 0 || b.n < historyKept {
		return nil, false
	}
	var volSum10, volSum20 float64
	for k := range 20 {
		if k < 10 {
			volSum10 += b.ago(&b.volumes, k)
		}
		volSum20 += b.ago(&b.volumes, k)
	}
	// Indicators, in streams.FeatureColumns order.
	sma, ema, rsi := v[0], v[1], v[2]
	macd, signal, hist := v[3], v[4], v[5]
	upper, middle, lower := v[6], v[7], v[8]
	atr, adx, cci, obv := v[9], v[10], v[11], v[12]
	stochK, stochD, sar, mom, std, slope := v[13], v[14], v[15], v[16], v[17], v[18]

	bbPos := 0.5
	if upper > lower {
		bbPos = (c - lower) / (upper - lower)
	}
	obvFlow := 0.0
	if volSum10 > 0 {
		obvFlow = (obv - b.ago(&b.obvs, 10)) / volSum10
	}
	volRatio := 1.0
	if volSum20 > 0 {
		volRatio = vol / (volSum20 / 20)
	}
	x := []float64{
		c/b.ago(&b.closes, 1) - 1, c/b.ago(&b.closes, 5) - 1, c/b.ago(&b.closes, 15) - 1,
		c/sma - 1, c/ema - 1, c/sar - 1,
		rsi / 100, adx / 100, stochK / 100, stochD / 100, cci / 100,
		macd / c, signal / c, hist / c,
		atr / c, mom / c, std / c, slope / c,
		bbPos, (upper - lower) / middle,
		obvFlow, volRatio,
	}
	for _, e := range x {
		if math.IsNaN(e) || math.IsInf(e, 0) {
			return nil, false
		}
	}
	return x, true
}

// Row is one labelled example: the inputs of one closed 1m candle of one symbol and what
// happened in the Horizon candles after it.
type Row struct {
	Symbol string  // venue:symbol
	Time   int64   // open time of the candle, epoch ms
	Close  float64 // its close
	X      []float64
	// Direction is 1 if the close Horizon candles later is above Close, else 0.
	Direction float64
	// RangeHigh and RangeLow are the highest high and lowest low of the next Horizon
	// candles, relative to Close: max(high)/Close-1 and min(low)/Close-1.
	RangeHigh, RangeLow float64
	// TPSL is 1 if, within Horizon candles, a high reaches Close*(1+TP) before a low reaches
	// Close*(1-SL); a candle that reaches both counts as the stop loss (conservative).
	TPSL float64
}

// SymbolStats says what one symbol's files gave.
type SymbolStats struct {
	Symbol  string   `json:"symbol"` // venue:symbol
	Files   []string `json:"files"`  // base names
	Candles int      `json:"candles"`
	WarmUp  int      `json:"warm_up"` // candles before the first complete input vector
	Gaps    int      `json:"gaps"`    // rows dropped because their label window spans missing candles
	Rows    int      `json:"rows"`    // labelled rows
	// Missing counts the 1m candles the klines lack (holes the indicators run across, as if
	// the candles were contiguous).
	Missing int64 `json:"missing,omitempty"`
}

// Dataset is the labelled rows of several symbols, merged and ordered by time (then
// symbol).
type Dataset struct {
	Features []string // input names, in order (InputNames)
	Horizon  int
	TP, SL   float64
	Rows     []Row
	Symbols  []SymbolStats // sorted by symbol
}

// DatasetOptions configure BuildDataset; zero values take the defaults.
type DatasetOptions struct {
	Horizon int     // candles ahead; DefaultHorizon
	TP, SL  float64 // DefaultTP, DefaultSL
	// Symbol is the symbol of every file, for files whose names do not start with it.
	Symbol string
}

func (o *DatasetOptions) defaults() error {
	if o.Horizon == 0 {
		o.Horizon = DefaultHorizon
	}
	if o.TP == 0 {
		o.TP = DefaultTP
	}
	if o.SL == 0 {
		o.SL = DefaultSL
	}
	if o.Horizon < 1 || o.Horizon > 1440 {
		return fmt.Errorf("horizon %d candles: use 1 to 1440", o.Horizon)
	}
	if !(o.TP > 0 && o.TP < 1) || !(o.SL > 0 && o.SL < 1) {
		return fmt.Errorf("take profit %g and stop loss %g: use fractions between 0 and 1 (0.005 is 0.5%%)", o.TP, o.SL)
	}
	return nil
}

// series is one symbol's candles as they come out of the symbol actor's code.
type series struct {
	key              string
	files            map[string]bool
	sym              *actors.Symbol
	inputs           *InputBuilder
	times            []int64
	close, high, low []float64
	x                [][]float64 // nil while warming up
}

// BuildDataset reads the market-data files (kline CSVs or websocket captures, any mix of
// symbols), computes each symbol's 1m features with the symbol actor's own code
// (actors.Symbol), builds the inputs and labels of every candle once all inputs are warm,
// drops the last Horizon candles of each symbol (no label yet) and merges the symbols by
// time. A symbol whose files give fewer than MinRows labelled rows is an error naming its
// files and the candles it needs.
func BuildDataset(ctx context.Context, files []string, opts DatasetOptions) (*Dataset, error) {
	if err := opts.defaults(); err != nil {
		return nil, err
	}
	rp, err := replay.Open(files, replay.Options{Symbol: opts.Symbol})
	if err != nil {
		return nil, err
	}
	defer rp.Close()
	bySymbol := map[string]*series{}
	for {
		rec, err := rp.Next(ctx)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		if err := actors.CheckKline(rec.Event); err != nil {
			if rec.Format == replay.FormatCapture {
				continue // a capture's klines of another interval, as backtest and features leave them out
			}
			return nil, fmt.Errorf("%s line %d: %w", rec.Source, rec.Line, err)
		}
		venue, symbol := rec.Event.Key()
		key := venue + ":" + symbol
		s := bySymbol[key]
		if s == nil {
			sym, err := actors.NewSymbol(venue, symbol)
			if err != nil {
				return nil, fmt.Errorf("%s line %d: %w", rec.Source, rec.Line, err)
			}
			s = &series{key: key, files: map[string]bool{}, sym: sym, inputs: NewInputBuilder()}
			bySymbol[key] = s
		}
		s.files[rec.Source] = true
		// Problems (duplicates, out-of-order candles) are counted by the symbol and skipped,
		// as in the live actor.
		_ = s.sym.Apply(rec.Event, func(f *streams.Feature) {
			if f.Interval == "1m" {
				s.add(f, rec.Event)
			}
		})
	}
	ds := &Dataset{Features: slices.Clone(InputNames), Horizon: opts.Horizon, TP: opts.TP, SL: opts.SL}
	keys := make([]string, 0, len(bySymbol))
	for k := range bySymbol {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	if len(keys) == 0 {
		return nil, fmt.Errorf("%w: %s hold no market data", ErrNotEnoughData, strings.Join(files, ", "))
	}
	missing := map[string]int64{}
	for _, ks := range rp.Stats().Keys {
		if ks.Key.Kind == streams.KindKline && ks.Key.Interval == "1m" {
			missing[ks.Key.Venue+":"+ks.Key.Symbol] += ks.Missing
		}
	}
	for _, k := range keys {
		rows, st, err := bySymbol[k].label(opts)
		if err != nil {
			return nil, err
		}
		st.Missing = missing[k]
		ds.Rows = append(ds.Rows, rows...)
		ds.Symbols = append(ds.Symbols, st)
	}
	sort.SliceStable(ds.Rows, func(i, j int) bool {
		if ds.Rows[i].Time != ds.Rows[j].Time {
			return ds.Rows[i].Time < ds.Rows[j].Time
		}
		return ds.Rows[i].Symbol < ds.Rows[j].Symbol
	})
	return ds, nil
}

// add records one closed 1m candle: its feature and, for the labels, its high and low (from
// the kline event, or the symbol's last candle when trades built it).
func (s *series) add(f *streams.Feature, ev streams.Event) {
	k, ok := ev.(*streams.Kline)
	if !ok || k.OpenTime != f.OpenTime {
		k = s.sym.State().Candle
		if k == nil || k.OpenTime != f.OpenTime {
			return
		}
	}
	c, ok1 := f.Close.Float64()
	h, ok2 := k.High.Float64()
	l, ok3 := k.Low.Float64()
	x, warm := s.inputs.Add(f)
	if !ok1 || !ok2 || !ok3 {
		return
	}
	s.times = append(s.times, f.OpenTime)
	s.close = append(s.close, c)
	s.high = append(s.high, h)
	s.low = append(s.low, l)
	if !warm {
		x = nil
	}
	s.x = append(s.x, x)
}

// label builds the labelled rows of one symbol.
func (s *series) label(opts DatasetOptions) ([]Row, SymbolStats, error) {
	st := SymbolStats{Symbol: s.key, Candles: len(s.times)}
	for f := range s.files {
		st.Files = append(st.Files, filepath.Base(f))
	}
	sort.Strings(st.Files)
	h := opts.Horizon
	st.WarmUp = len(s.x)
	for i, x := range s.x {
		if x != nil {
			st.WarmUp = i
			break
		}
	}
	var rows []Row
	for t := 0; t+h < len(s.times); t++ {
		if s.x[t] == nil {
			continue
		}
		if s.times[t+h]-s.times[t] != int64(h)*candleMs {
			st.Gaps++
			continue
		}
		c := s.close[t]
		r := Row{Symbol: s.key, Time: s.times[t], Close: c, X: s.x[t]}
		if s.close[t+h] > c {
			r.Direction = 1
		}
		hi, lo := math.Inf(-1), math.Inf(1)
		tp, sl := c*(1+opts.TP), c*(1-opts.SL)
		decided := false
		for j := t + 1; j <= t+h; j++ {
			hi, lo = max(hi, s.high[j]), min(lo, s.low[j])
			if decided {
				continue
			}
			if s.low[j] <= sl { // checked first: both in one candle counts as the stop loss
				decided = true
			} else if s.high[j] >= tp {
				r.TPSL, decided = 1, true
			}
		}
		r.RangeHigh, r.RangeLow = hi/c-1, lo/c-1
		rows = append(rows, r)
	}
	st.Rows = len(rows)
	warm := max(st.WarmUp, nominalWarmUp)
	if st.Rows < MinRows && st.Gaps > 0 && st.Candles >= warm+h+MinRows { // long enough: the gaps leave it without labels
		span := (s.times[len(s.times)-1]-s.times[0])/candleMs + 1
		return nil, st, fmt.Errorf("%w: %s (%s) gives %d 1m candles but only %d labelled rows: %d candles have no label because the %d minutes after them "+
			"are not all in the data (%d of the %d minutes from the first candle to the last are missing); a label needs the %d 1m candles after its own: "+
			"give 1m klines without gaps", ErrNotEnoughData, strings.Join(st.Files, ", "), s.key, st.Candles, st.Rows, st.Gaps, h,
			span-int64(st.Candles), span, h)
	}
	if st.Rows < MinRows {
		return nil, st, fmt.Errorf("%w: %s (%s) gives %d 1m candles and %d labelled rows; it needs at least %d candles "+
			"(warm-up %d + horizon %d + %d rows to train and validate): give a longer file or more files of this symbol",
			ErrNotEnoughData, strings.Join(st.Files, ", "), s.key, st.Candles, st.Rows, warm+h+MinRows, warm, h, MinRows)
	}
	return rows, st, nil
}

// nominalWarmUp is how many 1m candles pass before the first complete input vector on
// contiguous data: MACD(12,26,9)'s signal is the slowest input (33 candles of lookback).
const nominalWarmUp = 33

// TimeRange is a span of rows' candle open times, in epoch ms and ISO 8601 (UTC).
type TimeRange struct {
	Start    int64  `json:"start"`
	End      int64  `json:"end"`
	StartISO string `json:"start_iso"`
	EndISO   string `json:"end_iso"`
}

func timeRange(rows []Row) TimeRange {
	if len(rows) == 0 {
		return TimeRange{}
	}
	s, e := rows[0].Time, rows[len(rows)-1].Time
	return TimeRange{Start: s, End: e, StartISO: isoTime(s), EndISO: isoTime(e)}
}

func isoTime(ms int64) string { return time.UnixMilli(ms).UTC().Format(time.RFC3339) }

// Split is a walk-forward split of time-ordered rows.
type Split struct {
	Train, Validation           []Row
	TrainRange, ValidationRange TimeRange
	Embargoed                   int // rows dropped between the two
}

// SplitByTime splits rows ordered by time at trainFraction of their time range: rows from
// the cut on validate; rows before it train, except the last horizon candles' worth (the
// embargo), so that every training label window (candles t+1..t+horizon) ends before the
// first validation candle. With several symbols the cut is the same instant for all.
func SplitByTime(rows []Row, trainFraction float64, horizon int) (Split, error) {
	if !(trainFraction > 0 && trainFraction < 1) {
		return Split{}, fmt.Errorf("train fraction %g: use a value between 0 and 1", trainFraction)
	}
	if len(rows) == 0 {
		return Split{}, fmt.Errorf("%w: no rows to split", ErrNotEnoughData)
	}
	first, last := rows[0].Time, rows[len(rows)-1].Time
	cut := first + int64(trainFraction*float64(last-first))
	embargo := int64(horizon) * candleMs
	trainEnd := sort.Search(len(rows), func(i int) bool { return rows[i].Time+embargo >= cut })
	validStart := sort.Search(len(rows), func(i int) bool { return rows[i].Time >= cut })
	sp := Split{Train: rows[:trainEnd], Validation: rows[validStart:], Embargoed: validStart - trainEnd}
	if len(sp.Train) == 0 || len(sp.Validation) == 0 {
		return Split{}, fmt.Errorf("%w: %d rows from %s to %s leave %d to train and %d to validate", ErrNotEnoughData,
			len(rows), isoTime(first), isoTime(last), len(sp.Train), len(sp.Validation))
	}
	sp.TrainRange, sp.ValidationRange = timeRange(sp.Train), timeRange(sp.Validation)
	return sp, nil
}
