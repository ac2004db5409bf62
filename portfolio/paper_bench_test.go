package portfolio

import (
	"context"
	"fmt"
	"strconv"
	"testing"

	"github.com/govalues/decimal"

	"github.com/synapse-trading/synapse/streams"
)

// benchPaper returns a paper exchange with n limit buys resting below the market, none of
// which the benchmarks' market data reaches: the cost measured is that of looking at them.
func benchPaper(b *testing.B, n int) *Paper {
	p := NewPaper(PaperOptions{}, nil)
	for i := range n {
		o := &Order{ClientOrderID: "syn-" + strconv.Itoa(i), Agent: "ATLAS", Venue: "binance", Symbol: "BTCUSDT", Side: streams.Buy,
			Type: streams.Limit, Qty: decimal.MustParse("0.01"), Price: decimal.MustNew(int64(50_000-i), 0), Status: StatusSubmitted}
		if err := p.Submit(context.Background(), o); err != nil {
			b.Fatal(err)
		}
	}
	return p
}

// BenchmarkPaperTrade measures one trade shown to the paper exchange.
//
// Measured on the 2-core dev VM (go test -run - -bench Paper -benchmem ./portfolio/):
// orders=1 ≈ 43 ns/op, orders=100 ≈ 1.2 µs/op, 0 allocs/op.
func BenchmarkPaperTrade(b *testing.B) {
	for _, n := range []int{1, 100} {
		b.Run(fmt.Sprintf("orders=%d", n), func(b *testing.B) {
			p := benchPaper(b, n)
			t := &streams.Trade{Venue: "binance", Symbol: "BTCUSDT", Price: decimal.MustParse("60000.01"), Qty: decimal.MustParse("0.5")}
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				t.TradeID, t.Time = int64(i), int64(i)
				p.Market(t)
			}
		})
	}
}

// BenchmarkPaperDepth measures one depth update of a 1000-level book shown to the paper
// exchange.
//
// Measured on the 2-core dev VM: orders=1 ≈ 230 ns/op, orders=100 ≈ 1.6 µs/op; the 2
// allocs/op are the benchmark's own depth update.
func BenchmarkPaperDepth(b *testing.B) {
	for _, n := range []int{1, 100} {
		b.Run(fmt.Sprintf("orders=%d", n), func(b *testing.B) {
			p := benchPaper(b, n)
			var bids, asks []streams.Level
			for i := range 1000 {
				bids = append(bids, streams.Level{Price: decimal.MustNew(int64(59_999-i), 0), Qty: decimal.MustParse("1.5")})
				asks = append(asks, streams.Level{Price: decimal.MustNew(int64(60_001+i), 0), Qty: decimal.MustParse("1.5")})
			}
			p.Market(&streams.Snapshot{Venue: "binance", Symbol: "BTCUSDT", LastUpdateID: 1, Bids: bids, Asks: asks})
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				id := int64(i + 2)
				p.Market(&streams.Depth{Venue: "binance", Symbol: "BTCUSDT", FirstID: id, FinalID: id, Time: id,
					Bids: []streams.Level{{Price: decimal.MustNew(59_999, 0), Qty: decimal.MustNew(id%7+1, 0)}}})
			}
		})
	}
}
