package recordings

import (
	"io/fs"
	"testing"
)

func TestDemoFilesAreBundled(t *testing.T) {
	for _, name := range Demo() {
		if _, err := fs.Stat(FS(), name); err != nil {
			t.Errorf("demo file %s: %v", name, err)
		}
	}
	if len(Names()) < len(Demo()) {
		t.Fatalf("Names() = %v", Names())
	}
}
