package replay

import (
	"errors"
	"io"
	"testing"

	"github.com/synapse-trading/synapse/streams"
)

func reportEventsPerSecond(b *testing.B, events int) {
	b.ReportMetric(float64(events)/b.Elapsed().Seconds(), "events/s")
}

func BenchmarkDecodeKlineRow(b *testing.B) {
	rows := map[string]string{
		"spot":    recordingLines(b, spotKlines14, 1)[0],
		"futures": recordingLines(b, futuresKlines05, 2)[1],
		"pandas":  "2025-08-01 00:00:00+00:00,115764.07,115764.08,115704.78,115729.0,11.87539,2025-08-01 00:00:59.999000+00:00,1374354.6403012,1421,3.66465,424075.0494376,0",
	}
	for _, name := range []string{"spot", "futures", "pandas"} {
		row := rows[name]
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				var k streams.Kline
				if _, err := DecodeKlineRow(row, &k); err != nil {
					b.Fatal(err)
				}
			}
			reportEventsPerSecond(b, b.N)
		})
	}
}

// BenchmarkDecodeFrame compares DecodeFrame with the encoding/json reference decoder.
func BenchmarkDecodeFrame(b *testing.B) {
	frames := []struct{ name, file, substr string }{
		{"trade", spotCapture08, `@trade"`},
		{"depth", spotCapture08, `@depth@100ms"`},
		{"bookTicker", spotCapture08, `@bookTicker"`},
		{"futures-trade", futuresCapture, `@trade"`},
		{"futures-depth", futuresCapture, `@depth@0ms"`},
		{"snapshot-1000-levels", spotCapture08, `{"lastUpdateId"`},
	}
	for _, f := range frames {
		recvNs, frame := splitLine(b, lineWith(b, f.file, f.substr))
		b.Run(f.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(frame)))
			for b.Loop() {
				if _, err := decodeFrame("", "BTCUSDT", recvNs, frame); err != nil {
					b.Fatal(err)
				}
			}
			reportEventsPerSecond(b, b.N)
		})
		b.Run(f.name+"/encoding-json", func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(frame)))
			for b.Loop() {
				if _, err := refDecode(VenueSpot, "BTCUSDT", recvNs, frame); err != nil {
					b.Fatal(err)
				}
			}
			reportEventsPerSecond(b, b.N)
		})
	}
}

// BenchmarkReader reads whole bundled files: gunzip, split, decode and order checks.
func BenchmarkReader(b *testing.B) {
	for _, name := range []string{spotCapture08, futuresKlines05} {
		b.Run(name, func(b *testing.B) {
			events := 0
			for b.Loop() {
				r := openRecording(b, name, ReaderOptions{})
				for {
					_, err := r.Next()
					if errors.Is(err, io.EOF) {
						break
					}
					events++
				}
				r.Close()
			}
			reportEventsPerSecond(b, events)
		})
	}
}
