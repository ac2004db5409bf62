package binance

import (
	"context"
	"fmt"
	"time"

	"github.com/synapse-trading/synapse/streams"
)

// backfillPage is the most klines one REST call returns (Binance's limit).
const backfillPage = 1000

// symbolState is what the feed remembers about one symbol to check continuity. It survives
// reconnects, which is how a gap across a reconnect is noticed.
type symbolState struct {
	lastKline    int64     // open time of the last kline delivered; 0: none yet
	lastTrade    int64     // ID of the last trade delivered
	haveTrade    bool      // lastTrade is set
	lastDepth    int64     // final update ID (u) of the last diff delivered
	depthSynced  bool      // a snapshot was delivered since the last break in continuity
	nextSnapshot time.Time // after a failed snapshot, do not try again before this
}

func (f *Feed) state(symbol string) *symbolState {
	st, ok := f.symbols[symbol]
	if !ok {
		st = &symbolState{}
		f.symbols[symbol] = st
	}
	return st
}

// onKline delivers a closed kline once, backfilling over REST the klines missing before it.
func (f *Feed) onKline(ctx context.Context, k *streams.Kline) {
	st := f.state(k.Symbol)
	if st.lastKline != 0 {
		switch {
		case k.OpenTime <= st.lastKline:
			f.duplicates.Add(1)
			return
		case k.OpenTime > st.lastKline+f.interval:
			f.klineGaps.Add(1)
			f.backfill(ctx, st, k)
		}
	}
	st.lastKline = k.OpenTime
	f.deliver(k)
}

// backfill fetches and delivers, in order, the klines between the last one delivered and
// next. A failed backfill is logged and leaves the gap; the feed carries on.
func (f *Feed) backfill(ctx context.Context, st *symbolState, next *streams.Kline) {
	missing := (next.OpenTime-st.lastKline)/f.interval - 1
	f.log.Info("binance feed: kline gap, backfilling over REST", "symbol", next.Symbol,
		"after", time.UnixMilli(st.lastKline).UTC(), "before", time.UnixMilli(next.OpenTime).UTC(), "missing", missing)

	got := int64(0)
	from, to := st.lastKline+f.interval, next.OpenTime-1
	for from <= to {
		page, err := f.klinesWithRetry(ctx, next.Symbol, next.Interval, from, to)
		if err != nil {
			f.log.Error("binance feed: kline backfill failed, the gap stays", "symbol", next.Symbol, "err", err)
			break
		}
		for _, k := range page {
			if k.OpenTime > st.lastKline && k.OpenTime < next.OpenTime {
				st.lastKline = k.OpenTime
				f.backfilled.Add(1)
				f.deliver(k)
				got++
			}
		}
		if len(page) < backfillPage {
			break
		}
		from = page[len(page)-1].OpenTime + f.interval
	}
	if got < missing {
		f.log.Warn("binance feed: kline backfill incomplete", "symbol", next.Symbol, "missing", missing, "backfilled", got)
	}
}

// klinesWithRetry calls REST klines up to RESTAttempts times, waiting MinBackoff, then
// twice that, between attempts. Errors wrap ErrREST.
func (f *Feed) klinesWithRetry(ctx context.Context, symbol, interval string, from, to int64) ([]*streams.Kline, error) {
	var err error
	wait := f.opts.MinBackoff
	for attempt := 1; attempt <= f.opts.RESTAttempts; attempt++ {
		var page []*streams.Kline
		page, err = f.rest.klines(ctx, symbol, interval, from, to, backfillPage)
		if err == nil {
			return page, nil
		}
		f.restErrors.Add(1)
		if attempt == f.opts.RESTAttempts || streams.Sleep(ctx, wait) != nil {
			break
		}
		wait *= 2
	}
	return nil, fmt.Errorf("%w: klines %s %s from %d to %d: %v", ErrREST, symbol, interval, from, to, err)
}

// onTrade delivers a trade, counting jumps in trade ID as gaps. Missing trades are not
// backfilled in this version.
func (f *Feed) onTrade(t *streams.Trade) {
	st := f.state(t.Symbol)
	if st.haveTrade {
		if t.TradeID <= st.lastTrade {
			f.duplicates.Add(1)
			return
		}
		if t.TradeID > st.lastTrade+1 {
			f.tradeGaps.Add(1)
			f.log.Warn("binance feed: trade gap", "symbol", t.Symbol, "last_id", st.lastTrade, "id", t.TradeID, "missing", t.TradeID-st.lastTrade-1)
		}
	}
	st.haveTrade, st.lastTrade = true, t.TradeID
	f.deliver(t)
}

// onDepth delivers a diff, preceded by a fresh REST snapshot when the symbol has none yet
// or when update-ID continuity broke.
func (f *Feed) onDepth(ctx context.Context, d *streams.Depth) {
	st := f.state(d.Symbol)
	if st.lastDepth != 0 && d.FinalID <= st.lastDepth {
		f.duplicates.Add(1)
		return
	}
	if st.depthSynced && !f.continues(st.lastDepth, d) {
		f.depthGaps.Add(1)
		f.log.Warn("binance feed: depth gap, fetching a fresh snapshot", "symbol", d.Symbol,
			"last_u", st.lastDepth, "U", d.FirstID, "pu", d.PrevFinalID)
		st.depthSynced = false
	}
	if !st.depthSynced {
		f.snapshot(ctx, st, d)
	}
	st.lastDepth = d.FinalID
	f.deliver(d)
}

// continues reports whether d follows the diff whose final update ID was last: on spot
// U = last + 1, on futures pu = last.
func (f *Feed) continues(last int64, d *streams.Depth) bool {
	if f.opts.Venue == VenueFutures {
		return d.PrevFinalID == last
	}
	return d.FirstID == last+1
}

// snapshot fetches and delivers a REST snapshot that d can be applied on. A failed or stale
// snapshot is logged; the next diff tries again (at most once per SnapshotRetry).
func (f *Feed) snapshot(ctx context.Context, st *symbolState, d *streams.Depth) {
	if time.Now().Before(st.nextSnapshot) {
		return
	}
	snap, err := f.rest.depth(ctx, d.Symbol, f.opts.SnapshotLimit)
	if err != nil {
		if ctx.Err() == nil {
			f.restErrors.Add(1)
			f.log.Error("binance feed: depth snapshot failed, will retry", "symbol", d.Symbol,
				"err", fmt.Errorf("%w: depth %s: %v", ErrREST, d.Symbol, err))
		}
		st.nextSnapshot = time.Now().Add(f.opts.SnapshotRetry)
		return
	}
	// The diffs to apply on a snapshot start with the one whose U <= lastUpdateId + 1 (spot)
	// or U <= lastUpdateId (futures); an older snapshot leaves a hole before d.
	need := d.FirstID - 1
	if f.opts.Venue == VenueFutures {
		need = d.FirstID
	}
	if snap.LastUpdateID < need {
		f.log.Warn("binance feed: depth snapshot older than the stream, will retry", "symbol", d.Symbol,
			"lastUpdateId", snap.LastUpdateID, "U", d.FirstID)
		st.nextSnapshot = time.Now().Add(f.opts.SnapshotRetry)
		return
	}
	st.depthSynced = true
	f.snapshots.Add(1)
	f.deliver(snap)
}
