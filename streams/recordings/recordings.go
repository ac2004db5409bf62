// Package recordings bundles a few MB of real Binance market data into the binary, so that
// `synapse run` with no flags replays real data on any machine. See README.md beside this
// file for the provenance of every file.
package recordings

import (
	"compress/gzip"
	"embed"
	"fmt"
	"io"
	"io/fs"
	"sort"
)

//go:embed *.gz
var files embed.FS

// FS returns the bundled recordings.
func FS() fs.FS { return files }

// Read returns the content of the bundled recording name, decompressed.
func Read(name string) ([]byte, error) {
	f, err := files.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		return nil, fmt.Errorf("recording %s: %w", name, err)
	}
	return io.ReadAll(zr)
}

// Names lists the bundled files in lexical order.
func Names() []string {
	entries, _ := fs.ReadDir(files, ".")
	names := make([]string, 0, len(entries))
	for _, e := range entries {
		names = append(names, e.Name())
	}
	sort.Strings(names)
	return names
}

// Demo names the recordings `synapse run` replays by default: one continuous ~11 minute
// spot capture of BTCUSDT (trades, depth, bookTicker: a live order book), then a month of
// AVAXUSDT and LINKUSDT futures klines over the same minutes. Recordings far apart in time
// play back to back (replay.Options.MaxIdle).
func Demo() []string {
	return []string{
		"BTCUSDT-wsfeed-2024-08-08.txt.gz", "BTCUSDT-wsfeed-2024-08-09.txt.gz",
		"AVAXUSDT-1m-2026-02.csv.gz", "LINKUSDT-1m-2026-02.csv.gz",
	}
}

// DemoCorrelations are the symbol pairs whose correlation the demo shows: the two futures
// months cover the same minutes.
func DemoCorrelations() [][]string {
	return [][]string{{"binance-um:AVAXUSDT", "binance-um:LINKUSDT"}}
}
