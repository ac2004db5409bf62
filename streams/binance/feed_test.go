package binance

import (
	"context"
	"errors"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/synapse-trading/synapse/streams"
	"github.com/synapse-trading/synapse/streams/binance/binancetest"
)

// Real spot klines flow through the fake Binance; the connection is dropped twice and 7
// closed klines are lost each time. The consumer must still see every minute exactly once,
// in order, equal to the source CSV.
func TestKlinesReconnectAndBackfill(t *testing.T) {
	ks := loadKlines(t, "ETHUSDT-1m-2022-08-14.csv.gz", VenueSpot, "ETHUSDT", 300)
	srv := binancetest.NewServer(binancetest.Options{})
	defer srv.Close()
	srv.SetKlines("ETHUSDT", "1m", ks)
	srv.SetFaults(binancetest.Faults{DropAfter: 100, MaxDrops: 2, SkipKlines: 7})
	for _, k := range ks {
		srv.SendKline(k, false) // an in-progress update: must not become an event
		srv.SendKline(k, true)
	}

	opts := testOptions(srv, VenueSpot, "ETHUSDT")
	opts.Trades, opts.Depth, opts.BookTicker = false, false, false
	feed, rec := runFeed(t, opts)

	checkFor(t, 20*time.Second, "all 300 klines delivered", func() bool { return rec.len() >= len(ks) })
	got := rec.klines()
	if len(got) != len(ks) {
		t.Fatalf("got %d klines, want %d", len(got), len(ks))
	}
	for i := range ks {
		if got[i] != ks[i] {
			t.Fatalf("kline %d:\n got %+v\nwant %+v", i, got[i], ks[i])
		}
	}
	st, fake := feed.Stats(), srv.Stats()
	if fake.Drops != 2 || fake.SkippedKlines != 14 {
		t.Fatalf("fake server: %+v, want 2 drops and 14 skipped klines", fake)
	}
	if st.Reconnects != 2 || st.Connects != 3 || st.KlineGaps != 2 || st.BackfilledKlines != 14 || st.Duplicates != 0 {
		t.Errorf("stats %+v: want 2 reconnects, 3 connects, 2 kline gaps, 14 backfilled, 0 duplicates", st)
	}
	if st.Messages != int64(fake.FramesSent) {
		t.Errorf("feed received %d messages, server sent %d", st.Messages, fake.FramesSent)
	}
}

// A gap longer than one REST page (1000 klines) is backfilled page by page.
func TestBackfillSpansPages(t *testing.T) {
	ks := loadKlines(t, "ETHUSDT-1m-2022-08-15.csv.gz", VenueSpot, "ETHUSDT", 1300)
	srv := binancetest.NewServer(binancetest.Options{})
	defer srv.Close()
	srv.SetKlines("ETHUSDT", "1m", ks)
	srv.SetFaults(binancetest.Faults{DropAfter: 10, MaxDrops: 1, SkipKlines: 1200})
	for _, k := range ks {
		srv.SendKline(k, true)
	}
	opts := testOptions(srv, VenueSpot, "ETHUSDT")
	opts.Trades, opts.Depth, opts.BookTicker = false, false, false
	feed, rec := runFeed(t, opts)

	checkFor(t, 20*time.Second, "all klines delivered", func() bool { return rec.len() >= len(ks) })
	got := rec.klines()
	for i := range ks {
		if got[i] != ks[i] {
			t.Fatalf("kline %d: got open time %d, want %d", i, got[i].OpenTime, ks[i].OpenTime)
		}
	}
	if st := feed.Stats(); st.BackfilledKlines != 1200 || srv.Stats().KlineRequests != 2 {
		t.Errorf("backfilled %d klines in %d requests, want 1200 in 2", st.BackfilledKlines, srv.Stats().KlineRequests)
	}
}

// Malformed frames are counted and skipped; the connection stays up.
func TestGarbageFramesAreCounted(t *testing.T) {
	ks := loadKlines(t, "ETHUSDT-1m-2022-08-14.csv.gz", VenueSpot, "ETHUSDT", 100)
	srv := binancetest.NewServer(binancetest.Options{})
	defer srv.Close()
	srv.SetFaults(binancetest.Faults{GarbageEvery: 7})
	for _, k := range ks {
		srv.SendKline(k, true)
	}
	opts := testOptions(srv, VenueSpot, "ETHUSDT")
	opts.Trades, opts.Depth, opts.BookTicker = false, false, false
	feed, rec := runFeed(t, opts)

	checkFor(t, 10*time.Second, "all klines and all garbage received", func() bool {
		return rec.len() == len(ks) && feed.Stats().DecodeErrors == int64(srv.Stats().GarbageSent)
	})
	st := feed.Stats()
	if st.DecodeErrors != 14 || st.Reconnects != 0 {
		t.Errorf("stats %+v: want 14 decode errors (100/7) and no reconnect", st)
	}
}

// A break in depth U/u continuity makes the feed fetch and deliver a fresh snapshot before
// the diff that broke it.
func TestDepthGapRefetchesSnapshot(t *testing.T) {
	srv := binancetest.NewServer(binancetest.Options{})
	defer srv.Close()
	level := []streams.Level{{Price: dec("100.00"), Qty: dec("1.5")}}
	snap := func(id int64) streams.Snapshot {
		return streams.Snapshot{Venue: VenueSpot, Symbol: "BTCUSDT", LastUpdateID: id, Bids: level, Asks: level}
	}
	diff := func(first, final int64) streams.Depth {
		return streams.Depth{Venue: VenueSpot, Symbol: "BTCUSDT", FirstID: first, FinalID: final,
			Time: 1723161255208 + final, Bids: level, Asks: []streams.Level{}}
	}
	srv.SetDepth("BTCUSDT", snap(100))
	for _, d := range []streams.Depth{diff(95, 105), diff(106, 110), diff(111, 115)} {
		srv.SendDepth(d)
	}
	opts := testOptions(srv, VenueSpot, "BTCUSDT")
	opts.Klines, opts.Trades, opts.BookTicker = false, false, false
	feed, rec := runFeed(t, opts)
	checkFor(t, 10*time.Second, "snapshot and 3 diffs", func() bool { return rec.len() == 4 })

	srv.SetDepth("BTCUSDT", snap(122))
	srv.SendDepth(diff(121, 125)) // 116..120 lost
	srv.SendDepth(diff(126, 130))
	checkFor(t, 10*time.Second, "second snapshot and 2 more diffs", func() bool { return rec.len() == 7 })

	want := []string{"snapshot 100", "depth 105", "depth 110", "depth 115", "snapshot 122", "depth 125", "depth 130"}
	for i, ev := range rec.all() {
		if got := describe(ev); got != want[i] {
			t.Errorf("event %d: %s, want %s", i, got, want[i])
		}
	}
	if st := feed.Stats(); st.DepthGaps != 1 || st.Snapshots != 2 || srv.Stats().DepthRequests != 2 {
		t.Errorf("stats %+v, %d depth requests: want 1 gap, 2 snapshots, 2 requests", st, srv.Stats().DepthRequests)
	}
}

// Real captured spot frames (trades, depth, bookTicker, and the capture's own REST snapshot)
// decode without a single error, and their IDs are continuous as the README says.
func TestRecordedSpotFrames(t *testing.T) {
	lines := loadRecording(t, "BTCUSDT-wsfeed-2024-08-08.txt.gz", VenueSpot, "BTCUSDT", 3000)
	srv := binancetest.NewServer(binancetest.Options{})
	defer srv.Close()
	frames := 0
	for _, l := range lines {
		if l.snapshot != nil {
			srv.SetDepth("BTCUSDT", *l.snapshot)
			continue
		}
		srv.SendRaw(l.stream, l.data)
		frames++
	}
	opts := testOptions(srv, VenueSpot, "BTCUSDT")
	feed, rec := runFeed(t, opts)
	checkFor(t, 20*time.Second, "every frame delivered", func() bool { return rec.len() == frames+1 })

	st := feed.Stats()
	if st.DecodeErrors != 0 || st.TradeGaps != 0 || st.DepthGaps != 0 || st.Snapshots != 1 || st.Duplicates != 0 {
		t.Errorf("stats %+v: want no error, gap or duplicate, and one snapshot", st)
	}
	kinds := map[streams.Kind]int{}
	for _, ev := range rec.all() {
		kinds[ev.Kind()]++
		if v, s := ev.Key(); v != VenueSpot || s != "BTCUSDT" {
			t.Fatalf("event %s has key %s/%s", ev.ID(), v, s)
		}
	}
	if kinds[streams.KindTrade] != 518 || kinds[streams.KindDepth] != 281 || kinds[streams.KindTicker] != 2200 {
		t.Errorf("kinds %v: want 518 trades, 281 diffs, 2200 tickers (counted in the capture)", kinds)
	}
	for _, ev := range rec.all() {
		if ev.Kind() == streams.KindDepth {
			t.Fatal("a diff came before the snapshot")
		}
		if ev.Kind() == streams.KindSnapshot {
			break
		}
	}
}

// USDⓈ-M futures: real captured frames (continuity by pu) plus real futures klines with a
// dropped connection, backfilled over /fapi/v1/klines.
func TestFutures(t *testing.T) {
	lines := loadRecording(t, "BTCUSDT-futures-wsfeed-2024-08-08-head20000.txt.gz", VenueFutures, "BTCUSDT", 2000)
	ks := loadKlines(t, "BTCUSDT-1m-2022-09-05.csv.gz", VenueFutures, "BTCUSDT", 60)
	srv := binancetest.NewServer(binancetest.Options{Futures: true})
	defer srv.Close()
	srv.SetKlines("BTCUSDT", "1m", ks)
	frames := 0
	for _, l := range lines {
		switch {
		case l.snapshot != nil:
			srv.SetDepth("BTCUSDT", *l.snapshot)
			continue
		case l.stream == "btcusdt@depth@0ms":
			l.stream = "btcusdt@depth@100ms" // the capture used the 0 ms stream; same layout
		}
		srv.SendRaw(l.stream, l.data)
		frames++
	}
	for _, k := range ks {
		srv.SendKline(k, true)
	}
	srv.SetFaults(binancetest.Faults{DropAfter: frames + 20, MaxDrops: 1, SkipKlines: 5})

	feed, rec := runFeed(t, testOptions(srv, VenueFutures, "BTCUSDT"))
	checkFor(t, 20*time.Second, "every frame and kline delivered", func() bool { return rec.len() == frames+1+len(ks) })

	st := feed.Stats()
	if st.DecodeErrors != 0 || st.TradeGaps != 0 || st.DepthGaps != 0 || st.Snapshots != 1 || st.BackfilledKlines != 5 || st.Reconnects != 1 {
		t.Errorf("stats %+v: want no error or gap, one snapshot, 5 backfilled klines, 1 reconnect", st)
	}
	got := rec.klines()
	for i := range ks {
		if got[i] != ks[i] {
			t.Fatalf("kline %d:\n got %+v\nwant %+v", i, got[i], ks[i])
		}
	}
	for _, ev := range rec.all() {
		if v, _ := ev.Key(); v != VenueFutures {
			t.Fatalf("event %s has venue %s", ev.ID(), v)
		}
		if d, ok := ev.(*streams.Depth); ok && d.PrevFinalID == 0 {
			t.Fatalf("futures diff %s has no pu", d.ID())
		}
	}
}

// Stopping the feed, or cancelling Run's context, closes everything: no goroutine is left.
func TestStopLeavesNoGoroutine(t *testing.T) {
	for _, how := range []string{"Stop", "cancel"} {
		t.Run(how, func(t *testing.T) {
			srv := binancetest.NewServer(binancetest.Options{})
			defer srv.Close()
			ks := loadKlines(t, "ETHUSDT-1m-2022-08-14.csv.gz", VenueSpot, "ETHUSDT", 20)
			srv.SetKlines("ETHUSDT", "1m", ks)
			srv.SetDepth("ETHUSDT", streams.Snapshot{LastUpdateID: 10})
			srv.SendKline(ks[0], true)
			srv.SendKline(ks[10], true) // a gap: a REST backfill runs
			srv.SendDepth(streams.Depth{Symbol: "ETHUSDT", FirstID: 5, FinalID: 12, Time: 1})
			before := runtime.NumGoroutine()

			rec := &recorder{}
			feed, err := New(testOptions(srv, VenueSpot, "ETHUSDT"), rec.handle)
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			errc := make(chan error, 1)
			go func() { errc <- feed.Run(ctx) }()
			checkFor(t, 10*time.Second, "events delivered", func() bool { return rec.len() == 13 })

			if how == "Stop" {
				feed.Stop()
			} else {
				cancel()
			}
			if err := <-errc; err != nil {
				t.Fatalf("Run returned %v", err)
			}
			checkFor(t, 5*time.Second, "goroutines back to where they were", func() bool {
				return runtime.NumGoroutine() <= before
			})
			if err := feed.Run(context.Background()); !errors.Is(err, ErrRunning) {
				t.Errorf("second Run: %v, want ErrRunning", err)
			}
		})
	}
}

// A feed that cannot connect keeps retrying with growing delays and still stops at once.
func TestReconnectBackoffWhenDown(t *testing.T) {
	srv := binancetest.NewServer(binancetest.Options{})
	url := srv.WebsocketURL()
	srv.Close() // nothing listens there now

	opts := testOptions(srv, VenueSpot, "BTCUSDT")
	opts.WebsocketURL = url
	opts.MinBackoff, opts.MaxBackoff = time.Millisecond, 4*time.Millisecond
	feed, _ := runFeed(t, opts)
	checkFor(t, 10*time.Second, "several reconnect attempts", func() bool { return feed.Stats().Reconnects >= 5 })
	if st := feed.Stats(); st.Connects != 0 {
		t.Errorf("connected %d times to a closed server", st.Connects)
	}
}

// A connection that stays silent for ReadTimeout is replaced.
func TestSilentConnectionIsReplaced(t *testing.T) {
	srv := binancetest.NewServer(binancetest.Options{})
	defer srv.Close()
	opts := testOptions(srv, VenueSpot, "BTCUSDT")
	opts.ReadTimeout = 30 * time.Millisecond
	feed, _ := runFeed(t, opts)
	checkFor(t, 10*time.Second, "silent connections replaced", func() bool {
		return feed.Stats().Reconnects >= 2 && srv.Stats().Connections >= 3
	})
}

// A backfill that fails (here the REST server does not know the symbol) is retried
// RESTAttempts times, then the feed carries on with the gap.
func TestBackfillFailureKeepsGoing(t *testing.T) {
	ks := loadKlines(t, "ETHUSDT-1m-2022-08-14.csv.gz", VenueSpot, "ETHUSDT", 10)
	srv := binancetest.NewServer(binancetest.Options{})
	defer srv.Close()
	for _, i := range []int{0, 5, 6} {
		srv.SendKline(ks[i], true)
	}
	opts := testOptions(srv, VenueSpot, "ETHUSDT")
	opts.Trades, opts.Depth, opts.BookTicker = false, false, false
	feed, rec := runFeed(t, opts)
	checkFor(t, 10*time.Second, "the 3 klines delivered", func() bool { return rec.len() == 3 })
	if st := feed.Stats(); st.KlineGaps != 1 || st.RESTErrors != 3 || st.BackfilledKlines != 0 {
		t.Errorf("stats %+v: want 1 gap, 3 failed REST attempts, nothing backfilled", st)
	}
	if _, err := feed.klinesWithRetry(context.Background(), "ETHUSDT", "1m", 0, 1); !errors.Is(err, ErrREST) {
		t.Errorf("klinesWithRetry: %v, want ErrREST", err)
	}
}

func TestOptionsAreChecked(t *testing.T) {
	cases := map[string]func(*Options){
		"venue":    func(o *Options) { o.Venue = "kraken" },
		"symbols":  func(o *Options) { o.Symbols = nil },
		"symbol":   func(o *Options) { o.Symbols = []string{"BTC/USDT"} },
		"interval": func(o *Options) { o.Interval = "7m" },
		"streams":  func(o *Options) { o.Klines, o.Trades, o.Depth, o.BookTicker = false, false, false, false },
		"backoff":  func(o *Options) { o.MaxBackoff = o.MinBackoff / 2 },
		"limit":    func(o *Options) { o.SnapshotLimit = 0 },
		"attempts": func(o *Options) { o.RESTAttempts = 0 },
		"too many": func(o *Options) {
			for i := range 300 {
				o.Symbols = append(o.Symbols, "SYM"+strconv.Itoa(i))
			}
		},
	}
	for name, change := range cases {
		opts := DefaultOptions()
		change(&opts)
		if _, err := New(opts, func(streams.Event) {}); !errors.Is(err, ErrOptions) {
			t.Errorf("%s: New returned %v, want ErrOptions", name, err)
		}
	}
	if _, err := New(DefaultOptions(), nil); !errors.Is(err, ErrOptions) {
		t.Errorf("nil handler: %v, want ErrOptions", err)
	}
	opts := DefaultOptions()
	opts.Venue = VenueFutures
	f, err := New(opts, func(streams.Event) {})
	if err != nil {
		t.Fatal(err)
	}
	if want := FuturesWebsocketURL + "/stream?streams=btcusdt@kline_1m/btcusdt@trade/btcusdt@depth@100ms/btcusdt@bookTicker"; f.url != want {
		t.Errorf("url %s, want %s", f.url, want)
	}
	f.Stop() // never ran: returns at once
}

func describe(ev streams.Event) string {
	switch e := ev.(type) {
	case *streams.Snapshot:
		return "snapshot " + itoa(e.LastUpdateID)
	case *streams.Depth:
		return "depth " + itoa(e.FinalID)
	}
	return string(ev.Kind())
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
