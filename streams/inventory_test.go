package streams

import (
	"context"
	"testing"
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
	subjects, err := ReadSubjectContent(ctx, l.JS, StreamMarketData)
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
