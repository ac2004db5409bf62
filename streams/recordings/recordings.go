// Package recordings bundles a few MB of real Binance market data into the binary, so that
// `synapse run` with no flags replays real data on any machine. See README.md beside this
// file for the provenance of every file.
package recordings

import (
	"embed"
	"io/fs"
	"sort"
)

//go:embed *.gz
var files embed.FS

// FS returns the bundled recordings.
func FS() fs.FS { return files }

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
