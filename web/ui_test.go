package web

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// uiSourcesHash is what web/uisrc/build.mjs writes to ui/SOURCES.sha256: sha256 over every
// file of uisrc but node_modules, sorted by slash path, each as "path\nlength\ncontent".
func uiSourcesHash(root string) (string, error) {
	var files []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && d.Name() == "node_modules" {
			return filepath.SkipDir
		}
		if !d.IsDir() {
			rel, err := filepath.Rel(root, p)
			if err != nil {
				return err
			}
			files = append(files, filepath.ToSlash(rel))
		}
		return nil
	})
	if err != nil {
		return "", err
	}
	sort.Strings(files)
	h := sha256.New()
	for _, f := range files {
		b, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(f)))
		if err != nil {
			return "", err
		}
		fmt.Fprintf(h, "%s\n%d\n", f, len(b))
		h.Write(b)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// TestUIBuildIsCurrent fails when the committed build in ui/ was not made from the sources
// in uisrc/ as they are now: run `make ui` and commit web/ui.
func TestUIBuildIsCurrent(t *testing.T) {
	want, err := uiSourcesHash("uisrc")
	if err != nil {
		t.Fatalf("hashing web/uisrc: %v", err)
	}
	got, err := fs.ReadFile(ui, "ui/SOURCES.sha256")
	if err != nil {
		t.Fatalf("web/ui/SOURCES.sha256 is missing: run `make ui`: %v", err)
	}
	if strings.TrimSpace(string(got)) != want {
		t.Fatalf("web/ui is stale: it was built from other sources than web/uisrc holds now; run `make ui` and commit web/ui")
	}
}

// TestUIPagesServed checks every page of the UI is served with the bundle it loads.
func TestUIPagesServed(t *testing.T) {
	srv := httptest.NewServer(New(NewHub(), Options{Open: true}).Handler())
	defer srv.Close()
	for _, p := range []string{"/", "/markets/", "/datasets/", "/training/", "/models/", "/agents/", "/portfolio/", "/health/", "/app.js", "/app.css"} {
		resp, err := http.Get(srv.URL + p)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("GET %s: %d, want 200", p, resp.StatusCode)
		}
	}
}
