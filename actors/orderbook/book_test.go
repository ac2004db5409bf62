package orderbook

import (
	"errors"
	"slices"
	"testing"

	"github.com/govalues/decimal"

	"github.com/synapse-trading/synapse/streams"
)

// checkInvariants fails if a side is not strictly sorted worst to best, holds a zero
// quantity or an untrimmed price, or if a crossed book is not flagged.
func checkInvariants(t testing.TB, b *Book) {
	t.Helper()
	for _, s := range []*side{&b.bids, &b.asks} {
		for i, l := range s.levels {
			if l.Qty.IsZero() || !l.Qty.IsPos() || l.Price.Scale() != l.Price.MinScale() {
				t.Fatalf("asks=%v level %d: %v x %v", s.asks, i, l.Price, l.Qty)
			}
			if i > 0 && !s.before(s.levels[i-1].Price, l.Price) {
				t.Fatalf("asks=%v levels %d and %d out of order: %v, %v", s.asks, i-1, i, s.levels[i-1].Price, l.Price)
			}
		}
	}
	bid, okB := b.bids.best()
	ask, okA := b.asks.best()
	if crossed := okB && okA && bid.Price.Cmp(ask.Price) >= 0; crossed != b.Crossed() {
		t.Fatalf("book crossed %v (bid %v, ask %v) but Crossed() = %v", crossed, bid.Price, ask.Price, b.Crossed())
	}
}

// sameLevels reports whether two level lists are equal price for price and qty for qty.
func sameLevels(a, b []streams.Level) bool {
	return slices.EqualFunc(a, b, func(x, y streams.Level) bool {
		return x.Price.Cmp(y.Price) == 0 && x.Qty.Cmp(y.Qty) == 0
	})
}

const all = 1 << 30

// replay applies events to a book and compares its top with the bookTicker frames, which
// count updates in the same ID space. A ticker whose u equals the book's update ID after a
// depth update must match the book's top exactly; exact is how many did. near is the share
// of applied updates whose best prices equal those of the nearest older ticker (the latest
// with u <= the book's ID), which can legitimately differ when the top moved in between.
func replay(t *testing.T, evs []streams.Event, venue string) (b *Book, exact int, near float64) {
	t.Helper()
	tickers := map[int64]*streams.Ticker{}
	var ids []int64
	for _, ev := range evs {
		if tk, ok := ev.(*streams.Ticker); ok {
			tickers[tk.UpdateID] = tk
			ids = append(ids, tk.UpdateID)
		}
	}
	slices.Sort(ids)
	b = New(venue, "BTCUSDT", Options{})
	nearSame, nearAll := 0, 0
	for i, ev := range evs {
		if err := b.Apply(ev); err != nil {
			t.Fatalf("event %d (%T): %v", i, ev, err)
		}
		d, ok := ev.(*streams.Depth)
		if !ok || !b.Synced() || b.LastUpdateID() != d.FinalID {
			continue
		}
		bid, ask, ok := b.Best()
		if !ok {
			t.Fatalf("no top after update %d", d.FinalID)
		}
		if tk := tickers[d.FinalID]; tk != nil {
			if bid.Price.Cmp(tk.BidPrice) != 0 || bid.Qty.Cmp(tk.BidQty) != 0 ||
				ask.Price.Cmp(tk.AskPrice) != 0 || ask.Qty.Cmp(tk.AskQty) != 0 {
				t.Fatalf("at update %d the book's top is %v x %v / %v x %v, the ticker says %v x %v / %v x %v",
					d.FinalID, bid.Price, bid.Qty, ask.Price, ask.Qty, tk.BidPrice, tk.BidQty, tk.AskPrice, tk.AskQty)
			}
			exact++
		}
		if j, _ := slices.BinarySearch(ids, d.FinalID+1); j > 0 {
			tk := tickers[ids[j-1]]
			nearAll++
			if bid.Price.Cmp(tk.BidPrice) == 0 && ask.Price.Cmp(tk.AskPrice) == 0 {
				nearSame++
			}
		}
		if i%200 == 0 {
			checkInvariants(t, b)
		}
	}
	checkInvariants(t, b)
	return b, exact, float64(nearSame) / float64(max(nearAll, 1))
}

func count[T any](evs []streams.Event) int {
	n := 0
	for _, ev := range evs {
		if _, ok := ev.(T); ok {
			n++
		}
	}
	return n
}

// TestRealStreams replays the real captures; the files are decoded once for all subtests.
func TestRealStreams(t *testing.T) {
	spot := readFeed(t, spotFile, "binance", "BTCUSDT")
	futures := readFeed(t, futuresFile, VenueFutures, "BTCUSDT")
	t.Run("spot", func(t *testing.T) { testSpotStream(t, spot) })
	t.Run("futures", func(t *testing.T) { testFuturesStream(t, futures) })
	t.Run("gap and resync spot", func(t *testing.T) { testGapAndResync(t, spot, "binance") })
	t.Run("gap and resync futures", func(t *testing.T) { testGapAndResync(t, futures, VenueFutures) })
	t.Run("buffered before snapshot", func(t *testing.T) { testBufferedBeforeSnapshot(t, spot) })
}

func testSpotStream(t *testing.T, evs []streams.Event) {
	b, matched, near := replay(t, evs, "binance")
	st := b.Stats()
	depths := count[*streams.Depth](evs)
	// Three updates come before the snapshot (line 8): two are older, one straddles it.
	if !b.Synced() || st.Gaps != 0 || st.Snapshots != 1 || st.Buffered != 3 || st.Dropped != 2 ||
		st.Updates != uint64(depths-2) || st.Crossed != 0 || st.Rejected != 0 {
		t.Fatalf("state %v, stats %+v (%d depth updates)", b.State(), st, depths)
	}
	if matched < 500 {
		t.Fatalf("only %d tickers matched an update ID exactly", matched)
	}
	if tk, ok := b.Ticker(); !ok || st.Tickers+st.StaleTickers != uint64(count[*streams.Ticker](evs)) || tk.UpdateID == 0 {
		t.Fatalf("ticker %+v, stats %+v", tk, st)
	}
	bids, asks := b.Depth(5)
	nb, na := b.Levels()
	if near < 0.99 {
		t.Fatalf("best prices agree with the nearest older ticker after only %.1f%% of the updates", 100*near)
	}
	t.Logf("%d updates applied, %d tickers matched exactly, nearest older ticker agrees after %.1f%%; %d bid and %d ask levels; top %v / %v",
		st.Updates, matched, 100*near, nb, na, bids[0].Price, asks[0].Price)
}

func testFuturesStream(t *testing.T, evs []streams.Event) {
	b, matched, near := replay(t, evs, VenueFutures)
	st := b.Stats()
	if !b.Synced() || st.Gaps != 0 || st.Snapshots != 1 || st.Buffered == 0 || st.Updates == 0 || st.Crossed != 0 {
		t.Fatalf("state %v, stats %+v", b.State(), st)
	}
	if st.Updates+st.Dropped != uint64(count[*streams.Depth](evs)) {
		t.Fatalf("stats %+v, %d depth updates", st, count[*streams.Depth](evs))
	}
	if matched < 100 {
		t.Fatalf("only %d tickers matched an update ID exactly", matched)
	}
	if near < 0.99 {
		t.Fatalf("best prices agree with the nearest older ticker after only %.1f%% of the updates", 100*near)
	}
	t.Logf("%d updates applied (%d buffered, %d dropped), %d tickers matched exactly, nearest older ticker agrees after %.1f%%",
		st.Updates, st.Buffered, st.Dropped, matched, 100*near)
}

// depthIndexes returns the indexes in evs of the depth updates after the snapshot.
func depthIndexes(evs []streams.Event) []int {
	var out []int
	seenSnapshot := false
	for i, ev := range evs {
		switch ev.(type) {
		case *streams.Snapshot:
			seenSnapshot = true
		case *streams.Depth:
			if seenSnapshot {
				out = append(out, i)
			}
		}
	}
	return out
}

// A depth update removed from the real stream is a gap: the book stops, says it needs a
// resync, buffers what follows, and comes back exactly on a new snapshot.
func testGapAndResync(t *testing.T, evs []streams.Event, venue string) {
	idx := depthIndexes(evs)
	removed, snapAt, resumeAt := idx[100], idx[150], idx[200]

	ref := New(venue, "BTCUSDT", Options{})
	b := New(venue, "BTCUSDT", Options{})
	var resync *streams.Snapshot
	for i, ev := range evs {
		if err := ref.Apply(ev); err != nil {
			t.Fatal(err)
		}
		if i == snapAt { // a new snapshot, taken from the reference book at this point
			bids, asks := ref.Depth(all)
			resync = &streams.Snapshot{Venue: venue, Symbol: "BTCUSDT", LastUpdateID: ref.LastUpdateID(), Bids: bids, Asks: asks}
		}
		if i == resumeAt {
			if err := b.Apply(resync); err != nil {
				t.Fatalf("resync snapshot: %v", err)
			}
			if !b.Synced() || b.Stats().Resyncs != 1 {
				t.Fatalf("after the new snapshot: %v, %+v", b.State(), b.Stats())
			}
		}
		if i == removed {
			continue
		}
		err := b.Apply(ev)
		switch {
		case i == idx[101]:
			if !errors.Is(err, ErrGap) || b.State() != NeedsResync || b.Synced() || b.Stats().Gaps != 1 {
				t.Fatalf("update after the removed one: err %v, state %v, stats %+v", err, b.State(), b.Stats())
			}
			if _, _, ok := b.Best(); ok {
				t.Fatal("Best is ok on a book that needs a resync")
			}
			if bids, asks := b.Depth(10); bids != nil || asks != nil {
				t.Fatal("Depth is not empty on a book that needs a resync")
			}
			t.Logf("gap: %v", err)
		case err != nil:
			t.Fatalf("event %d: %v", i, err)
		}
	}
	rb, ra := ref.Depth(all)
	bb, ba := b.Depth(all)
	if !b.Synced() || !sameLevels(rb, bb) || !sameLevels(ra, ba) || b.LastUpdateID() != ref.LastUpdateID() {
		t.Fatalf("after resync the book differs from the reference: %d/%d levels vs %d/%d, at %d vs %d",
			len(bb), len(ba), len(rb), len(ra), b.LastUpdateID(), ref.LastUpdateID())
	}
	checkInvariants(t, b)
}

// Updates that arrive before the snapshot are buffered and replayed on it; a buffer too
// small to reach back to the snapshot is a gap.
func testBufferedBeforeSnapshot(t *testing.T, evs []streams.Event) {
	idx := depthIndexes(evs)
	var snap *streams.Snapshot
	var late []streams.Event // the snapshot moved after the 50th depth update following it
	for i, ev := range evs {
		if s, ok := ev.(*streams.Snapshot); ok {
			snap = s
			continue
		}
		late = append(late, ev)
		if i == idx[49] {
			late = append(late, snap)
		}
	}
	ref, _, _ := replay(t, evs, "binance")
	b := New("binance", "BTCUSDT", Options{})
	for i, ev := range late {
		if b.State() != AwaitingSnapshot && b.Stats().Snapshots == 0 {
			t.Fatalf("event %d: state %v before any snapshot", i, b.State())
		}
		if err := b.Apply(ev); err != nil {
			t.Fatalf("event %d: %v", i, err)
		}
	}
	if st := b.Stats(); st.Buffered != 53 || st.BufferDrops != 0 || st.Gaps != 0 {
		t.Fatalf("stats %+v", st)
	}
	rb, ra := ref.Depth(all)
	bb, ba := b.Depth(all)
	if !sameLevels(rb, bb) || !sameLevels(ra, ba) {
		t.Fatal("a late snapshot gave another book than the one in stream order")
	}

	small := New("binance", "BTCUSDT", Options{BufferCap: 10})
	for i, ev := range late {
		err := small.Apply(ev)
		if ev != streams.Event(snap) {
			if err != nil {
				t.Fatalf("event %d: %v", i, err)
			}
			continue
		}
		// 53 updates were buffered in 10 places: the one straddling the snapshot is gone.
		if st := small.Stats(); !errors.Is(err, ErrGap) || st.BufferDrops != 43 || st.Gaps != 1 || small.State() != NeedsResync {
			t.Fatalf("buffer of 10: err %v, state %v, stats %+v", err, small.State(), st)
		}
		break
	}
}

// dep builds a synthetic BTCUSDT depth update; levels are "price:qty" on the bid side
// when b is true.
func dep(venue string, first, final, prev int64, bids, asks []streams.Level) *streams.Depth {
	return &streams.Depth{Venue: venue, Symbol: "BTCUSDT", FirstID: first, FinalID: final, PrevFinalID: prev, Bids: bids, Asks: asks}
}

func lv(price, qty string) streams.Level {
	return streams.Level{Price: decimal.MustParse(price), Qty: decimal.MustParse(qty)}
}

func snapshot(venue string, id int64) *streams.Snapshot {
	return &streams.Snapshot{Venue: venue, Symbol: "BTCUSDT", LastUpdateID: id,
		Bids: []streams.Level{lv("100", "1"), lv("99", "2")}, Asks: []streams.Level{lv("101", "1"), lv("102", "2")}}
}

// The sequencing rules on synthetic updates, with the edge of every inequality.
func TestSequencingRules(t *testing.T) {
	type step struct {
		U, u, pu int64
		want     string // "apply", "drop" or "gap"
	}
	cases := []struct {
		name  string
		venue string
		steps []step
	}{
		{"spot first u == L is dropped", "binance", []step{{90, 100, 0, "drop"}, {95, 101, 0, "apply"}}},
		{"spot first U == L+1", "binance", []step{{101, 105, 0, "apply"}, {106, 106, 0, "apply"}}},
		{"spot first U == L+2 is a gap", "binance", []step{{102, 105, 0, "gap"}}},
		{"spot next U must be u+1", "binance", []step{{99, 105, 0, "apply"}, {107, 110, 0, "gap"}}},
		{"spot overlap is a gap", "binance", []step{{99, 105, 0, "apply"}, {104, 108, 0, "gap"}}},
		{"spot stale after apply is dropped", "binance", []step{{99, 105, 0, "apply"}, {100, 105, 0, "drop"}, {106, 107, 0, "apply"}}},
		{"futures first u < L is dropped", VenueFutures, []step{{90, 99, 80, "drop"}, {95, 100, 94, "apply"}}},
		{"futures first u == L applies", VenueFutures, []step{{100, 100, 94, "apply"}}},
		{"futures first U == L+1 is a gap", VenueFutures, []step{{101, 105, 100, "gap"}}},
		{"futures next pu must be u", VenueFutures, []step{{95, 105, 90, "apply"}, {110, 120, 105, "apply"}, {121, 130, 119, "gap"}}},
		{"futures stale after apply is dropped", VenueFutures, []step{{95, 105, 90, "apply"}, {95, 105, 90, "drop"}, {106, 107, 105, "apply"}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b := New(tc.venue, "BTCUSDT", Options{})
			if err := b.Apply(snapshot(tc.venue, 100)); err != nil {
				t.Fatal(err)
			}
			for i, s := range tc.steps {
				before := b.Stats()
				lastID := b.LastUpdateID()
				err := b.Apply(dep(tc.venue, s.U, s.u, s.pu, []streams.Level{lv("99.5", "1")}, nil))
				after := b.Stats()
				switch s.want {
				case "apply":
					if err != nil || after.Updates != before.Updates+1 || b.LastUpdateID() != s.u {
						t.Fatalf("step %d: want applied; err %v, stats %+v", i, err, after)
					}
				case "drop":
					if err != nil || after.Dropped != before.Dropped+1 || b.LastUpdateID() != lastID {
						t.Fatalf("step %d: want dropped; err %v, stats %+v", i, err, after)
					}
				case "gap":
					if !errors.Is(err, ErrGap) || b.State() != NeedsResync || after.Gaps != before.Gaps+1 {
						t.Fatalf("step %d: want gap; err %v, state %v", i, err, b.State())
					}
				}
			}
		})
	}
}

func TestRulesOption(t *testing.T) {
	// A book on another venue name can be told to follow the futures rules.
	b := New("other", "BTCUSDT", Options{Rules: RulesFutures})
	s := snapshot("other", 100)
	if err := b.Apply(s); err != nil {
		t.Fatal(err)
	}
	if err := b.Apply(dep("other", 100, 100, 0, nil, nil)); !errors.Is(err, ErrBadUpdate) {
		t.Fatalf("futures update without pu: %v", err)
	}
	if err := b.Apply(dep("other", 100, 100, 99, nil, nil)); err != nil || b.LastUpdateID() != 100 {
		t.Fatalf("futures first update with u == L: %v", err)
	}
	spot := New(VenueFutures, "BTCUSDT", Options{Rules: RulesSpot})
	_ = spot.Apply(snapshot(VenueFutures, 100))
	if err := spot.Apply(dep(VenueFutures, 100, 100, 99, nil, nil)); err != nil || spot.Stats().Dropped != 1 {
		t.Fatalf("spot rules drop u == L: %v, %+v", err, spot.Stats())
	}
}

// "1.10" and "1.1" are the same price; quantity 0 removes a level.
func TestPriceNormalisation(t *testing.T) {
	b := New("binance", "BTCUSDT", Options{})
	s := &streams.Snapshot{Venue: "binance", Symbol: "BTCUSDT", LastUpdateID: 10,
		Bids: []streams.Level{lv("1.10", "5"), lv("1.00000", "1"), lv("0.9", "0")}, Asks: []streams.Level{lv("2.000", "1")}}
	if err := b.Apply(s); err != nil {
		t.Fatal(err)
	}
	if nb, na := b.Levels(); nb != 2 || na != 1 {
		t.Fatalf("levels %d/%d: a zero quantity in a snapshot is no level", nb, na)
	}
	err := b.Apply(dep("binance", 11, 11, 0, []streams.Level{lv("1.1", "0"), lv("1.0", "3")}, []streams.Level{lv("2", "4"), lv("3.50", "1")}))
	if err != nil {
		t.Fatal(err)
	}
	bids, asks := b.Depth(10)
	if len(bids) != 1 || bids[0].Price.String() != "1" || bids[0].Qty.String() != "3" {
		t.Fatalf("bids %v", bids)
	}
	if len(asks) != 2 || asks[0].Price.String() != "2" || asks[0].Qty.String() != "4" || asks[1].Price.String() != "3.5" {
		t.Fatalf("asks %v", asks)
	}
	// Removing a level that is not there is normal.
	if err := b.Apply(dep("binance", 12, 12, 0, []streams.Level{lv("0.5", "0")}, nil)); err != nil {
		t.Fatal(err)
	}
	checkInvariants(t, b)
}

func TestCrossedBook(t *testing.T) {
	b := New("binance", "BTCUSDT", Options{})
	_ = b.Apply(snapshot("binance", 100))
	err := b.Apply(dep("binance", 101, 101, 0, []streams.Level{lv("101.00", "1")}, nil))
	if !errors.Is(err, ErrCrossed) || !b.Crossed() || b.Stats().Crossed != 1 || !b.Synced() {
		t.Fatalf("bid at the ask: err %v, crossed %v, %+v", err, b.Crossed(), b.Stats())
	}
	if err := b.Apply(dep("binance", 102, 102, 0, []streams.Level{lv("101", "0")}, nil)); err != nil || b.Crossed() {
		t.Fatalf("uncrossing: err %v, crossed %v", err, b.Crossed())
	}
	crossed := snapshot("binance", 200)
	crossed.Asks = []streams.Level{lv("99", "1")}
	if err := b.Apply(crossed); !errors.Is(err, ErrCrossed) || !b.Crossed() {
		t.Fatalf("crossed snapshot: %v", err)
	}
}

func TestTicker(t *testing.T) {
	b := New("binance", "BTCUSDT", Options{})
	tk := &streams.Ticker{Venue: "binance", Symbol: "BTCUSDT", UpdateID: 5,
		BidPrice: decimal.MustParse("100"), BidQty: decimal.One, AskPrice: decimal.MustParse("101"), AskQty: decimal.One}
	if err := b.Apply(tk); err != nil {
		t.Fatal(err)
	}
	old := *tk
	old.UpdateID = 4
	old.BidPrice = decimal.MustParse("1")
	if err := b.Apply(&old); err != nil {
		t.Fatal(err)
	}
	if got, ok := b.Ticker(); !ok || got.UpdateID != 5 || b.Stats().StaleTickers != 1 {
		t.Fatalf("stale ticker replaced the newer one: %+v", got)
	}
	crossed := *tk
	crossed.UpdateID = 6
	crossed.BidPrice = decimal.MustParse("101")
	if err := b.Apply(&crossed); !errors.Is(err, ErrCrossed) || b.Stats().CrossedTickers != 1 {
		t.Fatalf("crossed ticker: %v", err)
	}
	bad := *tk
	bad.UpdateID = 7
	bad.AskQty = decimal.MustParse("-1")
	if err := b.Apply(&bad); !errors.Is(err, ErrBadTicker) {
		t.Fatalf("bad ticker: %v", err)
	}
}

// Malformed, misrouted or unsupported events are rejected and change nothing.
func TestRejects(t *testing.T) {
	b := New("binance", "BTCUSDT", Options{})
	_ = b.Apply(snapshot("binance", 100))
	before, _ := b.Depth(all)
	cases := []struct {
		name string
		ev   streams.Event
		want error
	}{
		{"nil event", nil, ErrUnsupported},
		{"trade", &streams.Trade{Venue: "binance", Symbol: "BTCUSDT"}, ErrUnsupported},
		{"nil depth", (*streams.Depth)(nil), ErrBadUpdate},
		{"nil snapshot", (*streams.Snapshot)(nil), ErrBadSnapshot},
		{"nil ticker", (*streams.Ticker)(nil), ErrBadTicker},
		{"other symbol", &streams.Depth{Venue: "binance", Symbol: "ETHUSDT", FirstID: 101, FinalID: 101}, ErrWrongSymbol},
		{"other venue", snapshot(VenueFutures, 500), ErrWrongSymbol},
		{"U above u", dep("binance", 105, 101, 0, nil, nil), ErrBadUpdate},
		{"negative qty", dep("binance", 101, 101, 0, []streams.Level{lv("99", "-1")}, nil), ErrBadUpdate},
		{"zero price", dep("binance", 101, 101, 0, nil, []streams.Level{lv("0", "1")}), ErrBadUpdate},
		{"snapshot price twice", &streams.Snapshot{Venue: "binance", Symbol: "BTCUSDT", LastUpdateID: 500,
			Bids: []streams.Level{lv("99.0", "1"), lv("99", "2")}}, ErrBadSnapshot},
		{"snapshot negative qty", &streams.Snapshot{Venue: "binance", Symbol: "BTCUSDT", LastUpdateID: 500,
			Asks: []streams.Level{lv("101", "-2")}}, ErrBadSnapshot},
	}
	for _, tc := range cases {
		if err := b.Apply(tc.ev); !errors.Is(err, tc.want) {
			t.Errorf("%s: got %v, want %v", tc.name, err, tc.want)
		}
	}
	after, _ := b.Depth(all)
	if !sameLevels(before, after) || b.LastUpdateID() != 100 || !b.Synced() || b.Stats().Rejected != uint64(len(cases)) {
		t.Fatalf("rejected events changed the book: %v, %+v", b.State(), b.Stats())
	}
	// An older snapshot than a synced book is ignored.
	_ = b.Apply(dep("binance", 101, 110, 0, nil, nil))
	if err := b.Apply(snapshot("binance", 105)); err != nil || b.LastUpdateID() != 110 || b.Stats().StaleSnapshots != 1 {
		t.Fatalf("stale snapshot: %v, at %d, %+v", err, b.LastUpdateID(), b.Stats())
	}
}

func TestBooksRoutes(t *testing.T) {
	bs := NewBooks(Options{})
	if err := bs.Apply(snapshot("binance", 100)); err != nil {
		t.Fatal(err)
	}
	if err := bs.Apply(snapshot(VenueFutures, 200)); err != nil {
		t.Fatal(err)
	}
	if err := bs.Apply(dep(VenueFutures, 195, 205, 190, nil, nil)); err != nil {
		t.Fatal(err)
	}
	spot, fut := bs.Book("binance", "BTCUSDT"), bs.Book(VenueFutures, "BTCUSDT")
	if spot == nil || fut == nil || spot.LastUpdateID() != 100 || fut.LastUpdateID() != 205 || !fut.futures || spot.futures {
		t.Fatalf("books %+v %+v", spot, fut)
	}
	if bs.Book("binance", "ETHUSDT") != nil {
		t.Fatal("a book appeared from nowhere")
	}
	for _, ev := range []streams.Event{nil, (*streams.Depth)(nil), &streams.Kline{}} {
		if err := bs.Apply(ev); err == nil {
			t.Fatalf("%T accepted", ev)
		}
	}
}
