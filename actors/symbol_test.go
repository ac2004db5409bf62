package actors

import (
	"errors"
	"strings"
	"testing"

	"github.com/govalues/decimal"

	"github.com/synapse-trading/synapse/actors/candle"
	"github.com/synapse-trading/synapse/streams"
)

// pepeKline returns the i-th 1m candle of a stream shaped like Binance spot's PEPEUSDT:
// prices around 1e-5 with 8 decimals, volumes around 2.4e10 written with 8 decimals (an
// hour of them has 20 digits at that scale), opening on an hour boundary.
func pepeKline(i int) *streams.Kline {
	open := int64(1_700_000_000_000-1_700_000_000_000%3_600_000) + int64(i)*60_000
	o := int64(1234 + (i*7)%11 - 5) // in units of 1e-8
	c := int64(1234 + (i*13)%11 - 5)
	vol := decimal.MustNew((24_464_350_000+int64(i*7919%1000)*1_000_000)*100_000_000, 8)
	taker := decimal.MustNew(int64(vol.Coef()/2/100_000_000*100_000_000), 8)
	closeP := decimal.MustNew(c, 8)
	quote, _ := vol.Mul(closeP)
	takerQuote, _ := taker.Mul(closeP)
	return &streams.Kline{Venue: "binance", Symbol: "PEPEUSDT", Interval: "1m", OpenTime: open, CloseTime: open + 59_999,
		Open: decimal.MustNew(o, 8), High: decimal.MustNew(max(o, c)+2, 8), Low: decimal.MustNew(min(o, c)-2, 8), Close: closeP,
		Volume: vol, QuoteVolume: quote.Round(8).Pad(8), TakerBuyVolume: taker, TakerBuyQuoteVolume: takerQuote.Round(8).Pad(8),
		Trades: int64(300 + i%200)}
}

// applyAll applies klines to a new Symbol and returns it with its features by interval.
func applyAll(t *testing.T, klines []*streams.Kline) (*Symbol, map[string][]*streams.Feature, []error) {
	t.Helper()
	sym, err := NewSymbol(klines[0].Venue, klines[0].Symbol)
	if err != nil {
		t.Fatal(err)
	}
	feats := map[string][]*streams.Feature{}
	var errs []error
	for _, k := range klines {
		if err := sym.Apply(k, func(f *streams.Feature) { feats[f.Interval] = append(feats[f.Interval], f) }); err != nil {
			errs = append(errs, err)
		}
	}
	return sym, feats, errs
}

// Two hours of PEPE-shaped 1m klines give a 1m feature every minute and every 5m, 15m
// and 1h feature, with nothing counted as malformed: the longer intervals' volumes are
// exact although they have 20 digits at the 1m klines' scale.
func TestSymbolPepeVolumes(t *testing.T) {
	var klines []*streams.Kline
	for i := 0; i < 120; i++ {
		klines = append(klines, pepeKline(i))
	}
	sym, feats, errs := applyAll(t, klines)
	if len(errs) > 0 {
		t.Fatalf("%d errors, the first: %v", len(errs), errs[0])
	}
	if len(feats["1m"]) != 120 || len(feats["5m"]) != 24 || len(feats["15m"]) != 8 || len(feats["1h"]) != 2 {
		t.Fatalf("1m/5m/15m/1h features: %d/%d/%d/%d, want 120/24/8/2",
			len(feats["1m"]), len(feats["5m"]), len(feats["15m"]), len(feats["1h"]))
	}
	for i, f := range feats["1m"] {
		if f.OpenTime != klines[i].OpenTime {
			t.Fatalf("1m feature %d at %d, want %d", i, f.OpenTime, klines[i].OpenTime)
		}
	}
	for h, f := range feats["1h"] {
		want := decimal.Zero
		for _, k := range klines[h*60 : h*60+60] {
			want, _ = want.Add(k.Volume) // these sums fit at scale 0
		}
		if f.Volume.Cmp(want) != 0 {
			t.Fatalf("1h feature %d: volume %v, want %v", h, f.Volume, want)
		}
	}
	if st := sym.State(); st.Malformed != 0 || st.OutOfOrder != 0 || st.Duplicates != 0 || st.LastProblem != "" {
		t.Fatalf("state: malformed %d, out of order %d, duplicates %d, last problem %q",
			st.Malformed, st.OutOfOrder, st.Duplicates, st.LastProblem)
	}
}

// When a longer interval's volume genuinely cannot be exact, the 1m candle is still taken
// with its features; the roll-up problem is counted and shown, and only that interval's
// candle misses the minute.
func TestSymbolTakesThe1mCandleWhenARollUpIsInexact(t *testing.T) {
	var klines []*streams.Kline
	for i := 0; i < 16; i++ {
		k := pepeKline(i)
		// 19 digits each: five of them still fit, but ten add up to 20 digits, so the 15m
		// and 1h rollers cannot add the minutes from the tenth on.
		k.Volume = decimal.MustParse("100000000000000.1234")
		k.TakerBuyVolume = decimal.Zero
		klines = append(klines, k)
	}
	sym, feats, errs := applyAll(t, klines)
	if len(errs) != 7 {
		t.Fatalf("%d errors, want 7 (minutes 9 to 15): %v", len(errs), errs)
	}
	for _, err := range errs {
		if !errors.Is(err, candle.ErrInexact) {
			t.Fatalf("error %v, want ErrInexact", err)
		}
	}
	if len(feats["1m"]) != 16 || len(feats["5m"]) != 3 || len(feats["15m"]) != 1 || len(feats["1h"]) != 0 {
		t.Fatalf("1m/5m/15m/1h features: %d/%d/%d/%d, want 16/3/1/0",
			len(feats["1m"]), len(feats["5m"]), len(feats["15m"]), len(feats["1h"]))
	}
	if want := decimal.MustParse("900000000000001.1106"); feats["15m"][0].Volume.Cmp(want) != 0 {
		t.Fatalf("15m volume %v, want %v (its first 9 minutes)", feats["15m"][0].Volume, want)
	}
	st := sym.State()
	if st.Malformed != 7 || !strings.Contains(st.LastProblem, "does not fit exactly") {
		t.Fatalf("malformed %d, last problem %q", st.Malformed, st.LastProblem)
	}
	if st.Candle == nil || st.Candle.OpenTime != klines[15].OpenTime {
		t.Fatalf("last candle %+v, want the one at %d", st.Candle, klines[15].OpenTime)
	}
	// The candle was taken: the same minute again is a duplicate, not a retry.
	if err := sym.Apply(klines[15], nil); !isDuplicate(err) {
		t.Fatalf("minute 15 again: %v, want a duplicate", err)
	}
}

// A capture without a depth snapshot never syncs a book; the symbol still shows the venue's
// own top of book from its bookTicker frames.
func TestSymbolShowsTheTickerWithoutABook(t *testing.T) {
	s, err := NewSymbol("binance", "BTCUSDT")
	if err != nil {
		t.Fatal(err)
	}
	d := &streams.Depth{Venue: "binance", Symbol: "BTCUSDT", FirstID: 10, FinalID: 12, Time: 1,
		Bids: []streams.Level{{Price: decimal.MustParse("100"), Qty: decimal.MustParse("1")}}}
	tk := &streams.Ticker{Venue: "binance", Symbol: "BTCUSDT", UpdateID: 13, Time: 2,
		BidPrice: decimal.MustParse("100.5"), BidQty: decimal.MustParse("1"), AskPrice: decimal.MustParse("100.6"), AskQty: decimal.MustParse("2")}
	for _, ev := range []streams.Event{d, tk} {
		if err := s.Apply(ev, nil); err != nil {
			t.Fatal(err)
		}
	}
	if st := s.State(); st.BookSynced || st.Bid != "100.5" || st.Ask != "100.6" {
		t.Fatalf("state %+v: want the ticker's bid and ask while the book waits for a snapshot", st)
	}
}

// A capture holding both @trade and @aggTrade of a symbol builds its candles from the
// stream seen first; the other stream's trades are counted, not added to the volume a
// second time. Aggregate IDs are a different series from trade IDs, larger here, so the
// candle builder's own ID checks would have taken every one of them.
func TestSymbolBuildsCandlesFromOneTradeStream(t *testing.T) {
	for _, first := range []bool{false, true} {
		s, err := NewSymbol("binance", "BTCUSDT")
		if err != nil {
			t.Fatal(err)
		}
		var feats []*streams.Feature
		emit := func(f *streams.Feature) { feats = append(feats, f) }
		const minute = 1_700_000_040_000
		trade := func(id int64, agg bool, price, qty string, at int64) *streams.Trade {
			return &streams.Trade{Venue: "binance", Symbol: "BTCUSDT", TradeID: id, Aggregate: agg,
				Price: decimal.MustParse(price), Qty: decimal.MustParse(qty), Time: at}
		}
		// the book's first update, before the minute: the capture holds all of its trades
		_ = s.Apply(&streams.Depth{Venue: "binance", Symbol: "BTCUSDT", FirstID: 1, FinalID: 1, Time: minute - 1000}, nil)
		events := []*streams.Trade{
			trade(100, first, "100", "1", minute+1),
			trade(9_000, !first, "100", "1", minute+1),
			trade(101, first, "101", "2", minute+2),
			trade(9_001, !first, "101", "2", minute+2),
			trade(102, first, "102", "1", minute+60_001), // closes the first minute
			trade(9_002, !first, "102", "1", minute+60_001),
		}
		for _, ev := range events {
			if err := s.Apply(ev, emit); err != nil {
				t.Fatal(err)
			}
		}
		st := s.State()
		if st.Candle == nil {
			t.Fatalf("aggregate first %v: no 1m candle closed", first)
		}
		if got := st.Candle.Volume.String(); got != "3" || st.Candle.Trades != 2 {
			t.Fatalf("aggregate first %v: candle volume %s from %d trades, want 3 from 2 (one stream)", first, got, st.Candle.Trades)
		}
		if st.OtherTrades != 3 || st.Malformed+st.OutOfOrder+st.Duplicates != 0 {
			t.Fatalf("aggregate first %v: state %+v: want 3 trades of the other stream counted and nothing else", first, st)
		}
	}
}

// A trade-built minute closes once a depth update's venue time is a second past its end,
// without waiting for a trade of the next minute; not before.
func TestSymbolClosesAQuietMinuteOnTheBooksTime(t *testing.T) {
	s, err := NewSymbol("binance", "BTCUSDT")
	if err != nil {
		t.Fatal(err)
	}
	const minute = 1_700_000_040_000
	depth := func(id, at int64) *streams.Depth {
		return &streams.Depth{Venue: "binance", Symbol: "BTCUSDT", FirstID: id, FinalID: id, Time: at}
	}
	_ = s.Apply(depth(9, minute-1000), nil) // the capture began before the minute
	for i, at := range []int64{minute + 1, minute + 59_643} {
		tr := &streams.Trade{Venue: "binance", Symbol: "BTCUSDT", TradeID: int64(100 + i), Price: decimal.MustParse("100"), Qty: decimal.MustParse("1"), Time: at}
		if err := s.Apply(tr, nil); err != nil {
			t.Fatal(err)
		}
	}
	_ = s.Apply(depth(10, minute+60_900), nil) // 0.9 s past the end: a late trade may still come
	if st := s.State(); st.Candle != nil {
		t.Fatalf("closed at 0.9 s past the minute: %+v", st.Candle)
	}
	_ = s.Apply(depth(11, minute+61_105), nil)
	st := s.State()
	if st.Candle == nil || st.Candle.OpenTime != minute || st.Candle.Volume.String() != "2" {
		t.Fatalf("after the book's time passed 1 s beyond the minute: candle %+v", st.Candle)
	}
	late := &streams.Trade{Venue: "binance", Symbol: "BTCUSDT", TradeID: 102, Price: decimal.MustParse("100"), Qty: decimal.MustParse("1"), Time: minute + 59_900}
	if err := s.Apply(late, nil); !isOutOfOrder(err) {
		t.Fatalf("a trade of the closed minute: %v, want out of order", err)
	}
}

// A capture that began inside a minute holds only that minute's later trades: the symbol
// does not take it as the minute's candle, and takes the next whole.
func TestSymbolLeavesOutTheMinuteItJoined(t *testing.T) {
	s, err := NewSymbol("binance", "BTCUSDT")
	if err != nil {
		t.Fatal(err)
	}
	const minute = 1_700_000_040_000
	var closed []int64
	for i, at := range []int64{minute + 13_000, minute + 59_000, minute + 60_001, minute + 119_000, minute + 120_001} {
		tr := &streams.Trade{Venue: "binance", Symbol: "BTCUSDT", TradeID: int64(100 + i), Price: decimal.MustParse("100"), Qty: decimal.MustParse("1"), Time: at}
		if err := s.Apply(tr, func(f *streams.Feature) {
			if f.Interval == "1m" {
				closed = append(closed, f.OpenTime)
			}
		}); err != nil {
			t.Fatal(err)
		}
	}
	if len(closed) != 1 || closed[0] != minute+60_000 {
		t.Fatalf("1m candles %v, want only the second minute's (%d)", closed, minute+60_000)
	}
}

// A symbol counts the holes between its 1m candles as they pass, the largest with the open
// time of its first missing minute; a duplicate or an older candle is no hole.
func TestSymbolCountsGaps(t *testing.T) {
	var klines []*streams.Kline
	for i := 0; i < 60; i++ {
		if (i >= 10 && i < 13) || (i >= 30 && i < 37) || i == 50 { // holes of 3, 7 and 1 minutes
			continue
		}
		klines = append(klines, pepeKline(i))
	}
	klines = append(klines, pepeKline(59), pepeKline(40)) // a duplicate, an older one
	sym, _, errs := applyAll(t, klines)
	st := sym.State()
	if len(errs) != 2 || st.Duplicates != 1 || st.OutOfOrder != 1 {
		t.Fatalf("errors %v, state %+v", errs, st)
	}
	if st.Candles != 49 || st.FirstCandle != pepeKline(0).OpenTime || st.LastCandle != pepeKline(59).OpenTime ||
		st.Gaps != 3 || st.Missing != 11 || st.LargestGap != 7 || st.LargestGapStart != pepeKline(30).OpenTime {
		t.Errorf("candles %d from %d to %d, %d holes, %d missing, largest %d from %d",
			st.Candles, st.FirstCandle, st.LastCandle, st.Gaps, st.Missing, st.LargestGap, st.LargestGapStart)
	}
}
