package benchmarks

import (
	"os"
	"testing"
)

// TestMain lets the fanout scenario start this test binary again as its clients process.
func TestMain(m *testing.M) {
	if ClientsMain() {
		return
	}
	os.Exit(m.Run())
}
