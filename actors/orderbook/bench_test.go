package orderbook

import (
	"testing"

	"github.com/synapse-trading/synapse/streams"
)

// realUpdates returns a capture's snapshot and the depth updates that follow it, from the
// one straddling it on.
func realUpdates(b *testing.B, file, venue string) (*streams.Snapshot, []*streams.Depth, int) {
	evs := readFeed(b, file, venue, "BTCUSDT")
	var snap *streams.Snapshot
	for _, ev := range evs {
		if s, ok := ev.(*streams.Snapshot); ok {
			snap = s
		}
	}
	var updates []*streams.Depth
	levels := 0
	for _, ev := range evs {
		if d, ok := ev.(*streams.Depth); ok && d.FinalID > snap.LastUpdateID {
			updates = append(updates, d)
			levels += len(d.Bids) + len(d.Asks)
		}
	}
	return snap, updates, levels
}

// benchDepth measures one depth update of a real stream on a synced book; when the stream
// runs out the book starts again from the snapshot (outside the timer).
func benchDepth(b *testing.B, file, venue string) {
	snap, updates, levels := realUpdates(b, file, venue)
	var book *Book
	reset := func() {
		book = New(venue, "BTCUSDT", Options{})
		if err := book.Apply(snap); err != nil {
			b.Fatal(err)
		}
	}
	reset()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		j := i % len(updates)
		if j == 0 && i > 0 {
			b.StopTimer()
			reset()
			b.StartTimer()
		}
		if err := book.Apply(updates[j]); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(levels)/float64(len(updates)), "levels/update")
}

func BenchmarkDepthUpdateSpot(b *testing.B)    { benchDepth(b, spotFile, "binance") }
func BenchmarkDepthUpdateFutures(b *testing.B) { benchDepth(b, futuresFile, VenueFutures) }

// BenchmarkSnapshot measures installing a real 1000 x 1000 level snapshot.
func BenchmarkSnapshot(b *testing.B) {
	snap, _, _ := realUpdates(b, spotFile, "binance")
	book := New("binance", "BTCUSDT", Options{})
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		book.state = AwaitingSnapshot
		if err := book.Apply(snap); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkBest measures reading the top of a real book.
func BenchmarkBest(b *testing.B) {
	snap, _, _ := realUpdates(b, spotFile, "binance")
	book := New("binance", "BTCUSDT", Options{})
	if err := book.Apply(snap); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, _, ok := book.Best(); !ok {
			b.Fatal("no top")
		}
	}
}
