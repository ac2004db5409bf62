package replay

import (
	"testing"

	"github.com/synapse-trading/synapse/streams"
)

func TestGuard(t *testing.T) {
	g := NewGuard()
	trade := func(symbol string, id, at int64) streams.Event {
		return &streams.Trade{Venue: VenueSpot, Symbol: symbol, TradeID: id, Price: dec("1"), Qty: dec("1"), Time: at}
	}
	steps := []struct {
		ev   streams.Event
		want Verdict
	}{
		{trade("BTCUSDT", 10, 1000), Accept},
		{trade("BTCUSDT", 11, 1000), Accept},                                               // same time, next ID
		{trade("BTCUSDT", 11, 1000), Duplicate},                                            // the same trade again
		{trade("BTCUSDT", 10, 1000), Duplicate},                                            // an older one again
		{trade("BTCUSDT", 9, 999), OutOfOrder},                                             // older, never seen
		{trade("BTCUSDT", 12, 998), OutOfOrder},                                            // newer ID but time goes back
		{trade("ETHUSDT", 5, 1), Accept},                                                   // another symbol is another sequence
		{trade("BTCUSDT", 12, 1001), Accept},                                               // the dropped ID, now in order
		{&streams.Depth{Venue: VenueSpot, Symbol: "BTCUSDT", FinalID: 3, Time: 5}, Accept}, // another kind
		{&streams.Depth{Venue: VenueSpot, Symbol: "BTCUSDT", FinalID: 3, Time: 5}, Duplicate},
		{&streams.Kline{Venue: VenueSpot, Symbol: "BTCUSDT", Interval: "1m", OpenTime: 60_000, CloseTime: 119_999}, Accept},
		{&streams.Kline{Venue: VenueSpot, Symbol: "BTCUSDT", Interval: "5m", OpenTime: 0, CloseTime: 299_999}, Accept}, // another interval
		{&streams.Kline{Venue: VenueSpot, Symbol: "BTCUSDT", Interval: "1m", OpenTime: 0, CloseTime: 59_999}, OutOfOrder},
		{nil, Accept},
	}
	for i, s := range steps {
		if got := g.Check(s.ev); got != s.want {
			t.Fatalf("step %d: %v, want %v", i, got, s.want)
		}
	}
	stats := g.Stats()
	if len(stats) != 5 {
		t.Fatalf("keys %+v", stats)
	}
	btc := stats[3] // BTCUSDT: depth, kline 1m, kline 5m, then trade
	if btc.Key != (Key{VenueSpot, "BTCUSDT", streams.KindTrade, ""}) || btc.Records != 3 || btc.Duplicates != 2 || btc.OutOfOrder != 2 {
		t.Errorf("BTCUSDT trades %+v", btc)
	}
}

// Duplicates older than the remembered window count as out of order: still dropped.
func TestGuardWindow(t *testing.T) {
	g := NewGuard()
	for id := int64(1); id <= recentIDs+10; id++ {
		g.Check(&streams.Trade{Venue: VenueSpot, Symbol: "X", TradeID: id, Time: id})
	}
	if v := g.Check(&streams.Trade{Venue: VenueSpot, Symbol: "X", TradeID: 1, Time: 1}); v != OutOfOrder {
		t.Errorf("a very old duplicate: %v", v)
	}
	if v := g.Check(&streams.Trade{Venue: VenueSpot, Symbol: "X", TradeID: recentIDs + 5, Time: recentIDs + 5}); v != Duplicate {
		t.Errorf("a recent duplicate: %v", v)
	}
}

// Holes in a kline sequence are counted with the candles they lack; a sequence of an
// unknown interval is not judged.
func TestGuardCountsGaps(t *testing.T) {
	g := NewGuard()
	kline := func(interval string, open int64) streams.Event {
		return &streams.Kline{Venue: VenueSpot, Symbol: "BTCUSDT", Interval: interval, OpenTime: open, CloseTime: open + 59_999}
	}
	for _, open := range []int64{0, 60_000, 240_000, 300_000, 3_900_000} { // 2 missing, then 59
		g.Check(kline("1m", open))
	}
	for _, open := range []int64{0, 2_678_400_000, 5_097_600_000} { // months: no fixed step
		g.Check(kline("1M", open))
	}
	for _, st := range g.Stats() {
		switch st.Key.Interval {
		case "1m":
			if st.Gaps != 2 || st.Missing != 61 || st.Records != 5 || st.LargestGap != 360_000 || st.LargestMissing != 59 {
				t.Errorf("1m: %+v, want 2 gaps, 61 missing, the largest 59 from 360000", st)
			}
		case "1M":
			if st.Gaps != 0 || st.Missing != 0 {
				t.Errorf("1M: %+v, want no gap judged", st)
			}
		}
	}
}
