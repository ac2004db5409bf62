package actors

import (
	"context"
	"errors"
	"io"
	"math"
	"sync"
	"testing"
	"time"

	"github.com/markcheno/go-talib"

	"github.com/synapse-trading/synapse/actors/indicator"
	"github.com/synapse-trading/synapse/streams"
	"github.com/synapse-trading/synapse/streams/recordings"
	"github.com/synapse-trading/synapse/streams/replay"
)

func firstKlines(t *testing.T, name string, n int) []*streams.Kline {
	t.Helper()
	rp, err := replay.OpenFS(recordings.FS(), []string{name}, replay.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer rp.Close()
	var out []*streams.Kline
	for len(out) < n {
		rec, err := rp.Next(context.Background())
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, rec.Event.(*streams.Kline))
	}
	return out
}

// The pair actor's correlation of two real symbols equals TA-Lib's CORREL on their closes,
// whether the two symbols arrive interleaved or one runs far ahead of the other.
func TestPairCorrelationEqualsTALib(t *testing.T) {
	avax := firstKlines(t, "AVAXUSDT-1m-2026-02.csv.gz", 600)
	link := firstKlines(t, "LINKUSDT-1m-2026-02.csv.gz", 600)
	var xs, ys []float64
	for i := range avax {
		x, _ := indicator.Float(avax[i].Close)
		y, _ := indicator.Float(link[i].Close)
		xs, ys = append(xs, x), append(ys, y)
	}
	want := talib.Correl(xs, ys, 20)

	for name, order := range map[string]func() [][]Sequenced{
		"interleaved": func() [][]Sequenced {
			var out [][]Sequenced
			for i := range avax {
				out = append(out, []Sequenced{{Event: avax[i]}, {Event: link[i]}})
			}
			return out
		},
		"one far ahead": func() [][]Sequenced {
			var a, b []Sequenced
			for i := range avax {
				a, b = append(a, Sequenced{Event: avax[i]}), append(b, Sequenced{Event: link[i]})
			}
			return [][]Sequenced{a, b}
		},
	} {
		t.Run(name, func(t *testing.T) {
			var mu sync.Mutex
			got := map[int64]float64{}
			pair := Pair{A: SymbolRef{"binance-um", "AVAXUSDT"}, B: SymbolRef{"binance-um", "LINKUSDT"}}
			g, err := NewGraph(SymbolOptions{Pairs: []Pair{pair}, Publish: func(ev streams.Event) {
				if c, ok := ev.(*streams.Correlation); ok {
					mu.Lock()
					got[c.OpenTime] = c.Value
					mu.Unlock()
				}
			}})
			if err != nil {
				t.Fatal(err)
			}
			for _, b := range order() {
				if err := g.Dispatch(context.Background(), b); err != nil {
					t.Fatal(err)
				}
			}
			checkFor(t, 30*time.Second, func() error {
				mu.Lock()
				defer mu.Unlock()
				if len(got) != len(avax)-19 {
					return errors.New("not every correlation yet")
				}
				return nil
			})
			g.Stop()
			for i := 19; i < len(avax); i++ {
				v := got[avax[i].OpenTime]
				if math.Abs(v-want[i]) > 1e-6 {
					t.Fatalf("candle %d: correlation %v, TA-Lib %v", i, v, want[i])
				}
			}
		})
	}
}

func TestPairConfigErrors(t *testing.T) {
	if _, err := ParseSymbolRef("BTCUSDT"); err == nil {
		t.Error("a ref without a venue was accepted")
	}
	if r, err := ParseSymbolRef("binance:BTCUSDT"); err != nil || r != (SymbolRef{"binance", "BTCUSDT"}) {
		t.Errorf("ParseSymbolRef = %v, %v", r, err)
	}
	same := SymbolRef{"binance", "BTCUSDT"}
	if _, err := NewGraph(SymbolOptions{Pairs: []Pair{{same, same}}}); err == nil {
		t.Error("a pair of a symbol with itself was accepted")
	}
	if _, err := NewGraph(SymbolOptions{CorrelationPeriod: 1}); err == nil {
		t.Error("a correlation period of 1 was accepted")
	}
}
