package main

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/synapse-trading/synapse/actors"
	"github.com/synapse-trading/synapse/streams/replay"
)

func cmdFeatures(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("features", stderr)
	data := fs.String("data", "", "market data file: a Binance kline CSV (.csv, .csv.gz, or Binance Vision's .zip) or a websocket capture")
	format := fs.String("format", "csv", "output format: csv or json")
	symbol := fs.String("symbol", "", "symbol, when the file name does not tell it (e.g. BTCUSDT)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: synapse features --data FILE [--format csv|json]\n\nprints one row per 1m candle: open_time,close and the indicator columns (empty while warming up)")
		fs.PrintDefaults()
	}
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if *data == "" && len(pos) == 1 {
		*data = pos[0]
	}
	if *data == "" {
		fs.Usage()
		return fmt.Errorf("%w: --data FILE is required", errUsage)
	}
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
	}
	if err != nil {
		return err
	}
	defer rp.Close()
	fw, err := actors.NewFeatureWriter(stdout, *format)
	if err != nil {
		return err
	}
	for {
		rec, err := rp.Next(ctx)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return err
		}
		if err := fw.Apply(rec.Event); err != nil {
			return err
		}
	}
	rows, st, err := fw.Close()
	if err != nil {
		return err
	}
	total := rp.Stats().Total
	if skipped := total.Malformed + total.OutOfOrder + total.Duplicates + st.Malformed + st.OutOfOrder + st.Duplicates; skipped > 0 || rows == 0 {
		fmt.Fprintf(stderr, "synapse features: %d rows; skipped %d malformed lines, %d out-of-order and %d duplicate events",
			rows, total.Malformed+st.Malformed, total.OutOfOrder+st.OutOfOrder, total.Duplicates+st.Duplicates)
		if total.OtherStreams > 0 {
			fmt.Fprintf(stderr, "; %d frames of other streams (mark price, liquidations, subscription replies, ...) left out", total.OtherStreams)
		}
		fmt.Fprintln(stderr)
		for _, f := range rp.Stats().Files {
			for _, e := range f.LastErrors {
				fmt.Fprintf(stderr, "  %s\n", e)
			}
		}
	}
	return nil
}
