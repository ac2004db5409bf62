package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/synapse-trading/synapse/actors"
	"github.com/synapse-trading/synapse/streams/replay"
)

func cmdFeatures(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("features", stderr)
	var files listFlag
	fs.Var(&files, "data", "market data file: a Binance kline CSV (.csv, .csv.gz, or Binance Vision's .zip) or a websocket capture")
	format := fs.String("format", "csv", "output format: csv or json")
	symbol := fs.String("symbol", "", "symbol, when the file name does not tell it (e.g. BTCUSDT)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: synapse features --data FILE [--format csv|json]\n\nprints one row per 1m candle: open_time,close, the indicator columns (empty while warming up) and volume")
		fs.PrintDefaults()
	}
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	files = append(files, pos...)
	switch len(files) {
	case 0:
		fs.Usage()
		return fmt.Errorf("%w: --data FILE is required", errUsage)
	case 1:
	default: // the features of one symbol's file: several would be merged into one series
		return fmt.Errorf("%w: features reads one file, %d given (%s): run it once a file", errUsage, len(files), strings.Join(files, ", "))
	}
	data := &files[0]
	if *format != "csv" && *format != "json" {
		return fmt.Errorf("%w: --format %q: use csv or json", errUsage, *format)
	}
	if err := checkSymbols("--symbol", *symbol); err != nil {
		return err
	}
	rp, err := replay.Open([]string{*data}, replay.Options{Symbol: *symbol})
	if errors.Is(err, replay.ErrNoSymbol) && *symbol == "" {
		// The features of one file do not depend on its symbol's name.
		rp, err = replay.Open([]string{*data}, replay.Options{Symbol: "UNKNOWN"})
		if err == nil && *format == "json" {
			fmt.Fprintf(stderr, "features: the name of %s names no symbol: the rows say UNKNOWN (--symbol names it)\n", *data)
		}
	}
	if err != nil {
		return err
	}
	defer rp.Close()
	fw, err := actors.NewFeatureWriter(stdout, *format)
	if err != nil {
		return err
	}
	// A capture's kline frames of other intervals than 1m are left out, as the engine's symbol
	// actors refuse them: they build 5m, 15m and 1h from the 1m candles.
	var otherKlines int64
	for {
		rec, err := rp.Next(ctx)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return err
		}
		if rec.Format == replay.FormatCapture && actors.CheckKline(rec.Event) != nil {
			otherKlines++
			continue
		}
		if err := fw.Apply(rec.Event); err != nil {
			return err
		}
	}
	rows, st, err := fw.Close()
	if err != nil {
		return err
	}
	stats := rp.Stats()
	total := stats.Total
	total.OtherStreams += otherKlines
	for _, g := range gapsOf(stats) {
		fmt.Fprintf(stderr, "synapse features: warning: %s\n", g)
	}
	if st.OtherTrades > 0 {
		fmt.Fprintf(stderr, "synapse features: %s holds both @trade and @aggTrade of %s: candles are built from the stream seen first, %d trades of the other left out\n", *data, st.Symbol, st.OtherTrades)
	}
	if rows == 0 {
		return noFeatures(*data, total, stats.Files[0].LastErrors, otherKlines, st)
	}
	applied, refused := total.Records-otherKlines, st.Refused()
	if skipped := total.Malformed + total.OutOfOrder + total.Duplicates; skipped > 0 || refused > 0 {
		fmt.Fprintf(stderr, "synapse features: %d rows; skipped %d malformed lines, %d out-of-order and %d duplicate events",
			rows, total.Malformed, total.OutOfOrder, total.Duplicates)
		if total.OtherStreams > 0 {
			fmt.Fprintf(stderr, "; %d frames of other streams (mark price, liquidations, klines of other intervals than 1m, subscription replies, ...) left out", total.OtherStreams)
		}
		fmt.Fprintln(stderr)
		for _, f := range stats.Files {
			for _, e := range f.LastErrors {
				fmt.Fprintf(stderr, "  %s\n", e)
			}
		}
		if refused > 0 {
			fmt.Fprintf(stderr, "synapse features: problems with %d of %d events, as a symbol actor counts them (%d malformed, %d out of order, %d duplicate); the last: %s\n",
				refused, applied, st.Malformed, st.OutOfOrder, st.Duplicates, strings.ReplaceAll(st.LastProblem, "\n", "; "))
		}
	}
	return nil
}

// noFeatures says why a file gave no row of features: an empty result would read as a file
// with nothing wrong in it. t.OtherStreams counts the otherKlines left out.
func noFeatures(file string, t replay.FileStats, lastErrors []string, otherKlines int64, st actors.SymbolState) error {
	applied := t.Records - otherKlines
	fix := "give a Binance kline CSV (12 columns, open_time,open,high,low,close,volume,close_time,..., as Binance Vision writes them) or a websocket capture"
	switch refused := st.Refused(); {
	case applied == 0 && otherKlines > 0:
		return fmt.Errorf("no features from %s: its %d kline frame(s) of other intervals than 1m are left out (the symbol actors build the longer intervals from 1m candles): record @kline_1m (or @trade, @aggTrade)", file, otherKlines)
	case applied == 0 && t.Malformed == 0 && t.OtherStreams == 0:
		return fmt.Errorf("no features from %s: it holds no data line (it is empty, or a header alone); %s", file, fix)
	case applied == 0:
		err := fmt.Errorf("no features from %s: %d malformed line(s), %d frame(s) of other streams and no market event", file, t.Malformed, t.OtherStreams)
		if n := len(lastErrors); n > 0 {
			err = fmt.Errorf("%w; the last: %s", err, lastErrors[n-1])
		}
		return fmt.Errorf("%w; %s", err, fix)
	case refused > 0:
		return fmt.Errorf("no features from %s: %d of its %d events refused; the last: %s; %s", file, refused, applied, st.LastProblem, fix)
	}
	return fmt.Errorf("no features from %s: its %d events closed no 1m candle (no kline or trade among them): record @kline_1m, @trade or @aggTrade", file, applied)
}
