package streams

import (
	"context"
	"fmt"
	"testing"

	"github.com/nats-io/nats.go/jetstream"
)

// The inventory reads each subject's count and first and last events, and each stream's
// state, from the log: interleaved subjects, so a first message is found past other subjects'.
func TestInventoryReadsSubjectsAndStreams(t *testing.T) {
	l := openTestLog(t, Options{})
	ctx := context.Background()
	const t0 = 1723161240000
	publishKlines(t, l, t0, t0+60_000)
	eth := testKline(t0 + 60_000)
	eth.Symbol = "ETHUSDT"
	if err := l.Publish(ctx, eth); err != nil {
		t.Fatal(err)
	}
	publishKlines(t, l, t0+5*60_000)
	if err := l.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	subjects, err := NewInventory(l.JS).Subjects(ctx, StreamMarketData)
	if err != nil {
		t.Fatal(err)
	}
	if len(subjects) != 2 {
		t.Fatalf("%d subjects: %+v", len(subjects), subjects)
	}
	btc, e := subjects[0], subjects[1] // sorted by subject
	if btc.Subject != "md.binance.btcusdt.kline.1m" || btc.Count != 3 || btc.FirstSeq != 1 || btc.LastSeq != 4 ||
		btc.First.EventTime() != t0+59_999 || btc.Last.EventTime() != t0+5*60_000+59_999 {
		t.Errorf("BTCUSDT: %+v", btc)
	}
	if e.Subject != "md.binance.ethusdt.kline.1m" || e.Count != 1 || e.FirstSeq != 3 || e.LastSeq != 3 || e.First.ID() != eth.ID() {
		t.Errorf("ETHUSDT: %+v", e)
	}
	contents, err := ReadStreamContent(ctx, l.JS)
	if err != nil {
		t.Fatal(err)
	}
	if len(contents) != len(Catalog()) {
		t.Fatalf("%d streams", len(contents))
	}
	if md := contents[0]; md.Name != StreamMarketData || md.Messages != 4 || md.Subjects != 2 || md.FirstSeq != 1 || md.LastSeq != 4 || md.Bytes == 0 || md.LastTime.Before(md.FirstTime) {
		t.Errorf("MD: %+v", md)
	}
	if feat := contents[1]; feat.Name != StreamFeatures || feat.Messages != 0 {
		t.Errorf("FEAT: %+v", feat)
	}
}

// An Inventory keeps each subject's first message and reads only what may have changed:
// nothing when the stream is as it was, the last of a subject that has more messages, the
// first once the retention took it (the stream's first sequence moved past it) or when a
// message was deleted from the middle. Its answers are those of a fresh read throughout.
func TestInventoryKeepsFirstMessagesWhileTheyAreHeld(t *testing.T) {
	l := openTestLog(t, Options{})
	ctx := context.Background()
	const t0 = 1723161240000
	eth := func(openTime int64) {
		k := testKline(openTime)
		k.Symbol = "ETHUSDT"
		if err := l.Publish(ctx, k); err != nil {
			t.Fatal(err)
		}
	}
	publishKlines(t, l, t0, t0+60_000) // seq 1, 2
	eth(t0 + 60_000)                   // 3
	publishKlines(t, l, t0+5*60_000)   // 4
	s, err := l.JS.Stream(ctx, StreamMarketData)
	if err != nil {
		t.Fatal(err)
	}
	inv := NewInventory(l.JS)
	// check reads with inv and with a new Inventory, wants the same answer, summed up as
	// "subject count first_seq@first_time last_seq@last_time" per subject, and that inv read
	// gets messages.
	check := func(step string, gets int, want ...string) {
		t.Helper()
		before := inv.gets
		kept, err := inv.Subjects(ctx, StreamMarketData)
		if err != nil {
			t.Fatal(err)
		}
		fresh, err := NewInventory(l.JS).Subjects(ctx, StreamMarketData)
		if err != nil {
			t.Fatal(err)
		}
		for _, got := range [][]SubjectContent{kept, fresh} {
			var sums []string
			for _, sc := range got {
				sums = append(sums, fmt.Sprintf("%s %d %d@%d %d@%d", sc.Subject[len("md.binance."):len("md.binance.")+3], sc.Count,
					sc.FirstSeq, (sc.First.EventTime()-t0)/60_000, sc.LastSeq, (sc.Last.EventTime()-t0)/60_000))
			}
			if fmt.Sprint(sums) != fmt.Sprint(want) {
				t.Errorf("%s: %q, want %q", step, sums, want)
			}
		}
		if n := inv.gets - before; n != gets {
			t.Errorf("%s: %d messages read, want %d", step, n, gets)
		}
	}
	check("first read", 4, "btc 3 1@0 4@5", "eth 1 3@1 3@1")
	check("again", 0, "btc 3 1@0 4@5", "eth 1 3@1 3@1")

	publishKlines(t, l, t0+6*60_000) // 5
	eth(t0 + 7*60_000)               // 6
	check("new messages", 2, "btc 4 1@0 5@6", "eth 2 3@1 6@7")

	if err := s.Purge(ctx, jetstream.WithPurgeSequence(2)); err != nil { // the retention takes seq 1
		t.Fatal(err)
	}
	check("first sequence moved", 2, "btc 3 2@1 5@6", "eth 2 3@1 6@7")

	if err := s.DeleteMsg(ctx, 3); err != nil { // ETH's first, behind BTC's seq 2
		t.Fatal(err)
	}
	check("a hole", 4, "btc 3 2@1 5@6", "eth 1 6@7 6@7")
}
