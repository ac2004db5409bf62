package replay

import (
	"archive/zip"
	"errors"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/synapse-trading/synapse/streams/recordings"
)

// writeZip writes a zip archive at path holding the given files (name → content).
func writeZip(t *testing.T, path string, files ...[2]string) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	zw := zip.NewWriter(f)
	for _, file := range files {
		w, err := zw.Create(file[0])
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.WriteString(w, file[1]); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

// gunzipRecording returns a bundled recording's content.
func gunzipRecording(t *testing.T, name string) string {
	t.Helper()
	b, err := recordings.Read(name)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// Binance Vision publishes each day or month as a zip of one CSV: the zip reads exactly as
// the gzipped CSV does, symbol from either name, and the progress counts the zip's bytes.
func TestZipArchive(t *testing.T) {
	want := readAll(t, openRecording(t, futuresKlines05, ReaderOptions{}))
	csv := gunzipRecording(t, futuresKlines05)
	dir := t.TempDir()
	for _, zipName := range []string{"BTCUSDT-1m-2022-09-05.zip", "download.zip"} {
		path := filepath.Join(dir, zipName)
		writeZip(t, path, [2]string{"BTCUSDT-1m-2022-09-05.csv", csv})
		r, err := OpenFile(path, ReaderOptions{})
		if err != nil {
			t.Fatalf("%s: %v", zipName, err)
		}
		got := readAll(t, r)
		if r.Size() == 0 || r.Consumed() > r.Size() || r.Consumed() < r.Size()*9/10 {
			t.Errorf("%s: consumed %d of %d bytes", zipName, r.Consumed(), r.Size())
		}
		r.Close()
		if len(got) != len(want) || len(got) != 1440 {
			t.Fatalf("%s: %d records, want %d", zipName, len(got), len(want))
		}
		for i := range got {
			got[i].Source, got[i].Line = want[i].Source, want[i].Line
			if !reflect.DeepEqual(got[i], want[i]) {
				t.Fatalf("%s: record %d = %+v, want %+v", zipName, i, got[i].Event, want[i].Event)
			}
		}
	}
}

func TestZipArchiveErrors(t *testing.T) {
	dir := t.TempDir()
	two := filepath.Join(dir, "BTCUSDT-1m-two.zip")
	writeZip(t, two, [2]string{"a.csv", "x"}, [2]string{"b.csv", "y"})
	if _, err := OpenFile(two, ReaderOptions{}); !errors.Is(err, ErrUnknownFormat) {
		t.Errorf("two files: err = %v, want ErrUnknownFormat", err)
	}
	empty := filepath.Join(dir, "BTCUSDT-1m-empty.zip")
	writeZip(t, empty)
	if _, err := OpenFile(empty, ReaderOptions{}); err == nil {
		t.Error("empty zip: no error") // an empty zip has no local header: not detected as a zip, and no kline either
	}
	// A zip cut short: its directory, at the end, is gone.
	full := filepath.Join(dir, "BTCUSDT-1m-2022-09-05.zip")
	writeZip(t, full, [2]string{"BTCUSDT-1m-2022-09-05.csv", gunzipRecording(t, futuresKlines05)})
	b, err := os.ReadFile(full)
	if err != nil {
		t.Fatal(err)
	}
	cut := filepath.Join(dir, "BTCUSDT-1m-cut.zip")
	if err := os.WriteFile(cut, b[:len(b)/2], 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := OpenFile(cut, ReaderOptions{}); !errors.Is(err, ErrTruncated) {
		t.Errorf("cut zip: err = %v, want ErrTruncated", err)
	}
	// A stream cannot be read as a zip: its directory is at the end.
	f, err := os.Open(full)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := NewReader(io.MultiReader(f), "BTCUSDT-1m.zip", ReaderOptions{}); !errors.Is(err, ErrUnknownFormat) {
		t.Errorf("zip stream: err = %v, want ErrUnknownFormat", err)
	}
}
