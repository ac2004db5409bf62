package binance

import (
	"context"
	"errors"
	"net/http"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/govalues/decimal"

	"github.com/synapse-trading/synapse/portfolio"
	"github.com/synapse-trading/synapse/streams"
	"github.com/synapse-trading/synapse/streams/binance/binancetest"
)

const wait = 10 * time.Second

// A market order filled in 3 parts: accepted, 3 fills (each once, though both the answer
// and the stream carry them), the right cumulative quantity and fees in the quote asset.
func TestMarketOrderInPartialFills(t *testing.T) {
	srv, e := newFake(t), newEngine()
	v := open(t, testOptions(srv, &logBuffer{}), e)
	o := e.order(t, "m1", streams.Buy, streams.Market, "0.3", "")
	if err := v.Submit(context.Background(), o); err != nil {
		t.Fatal(err)
	}
	id := o.ClientOrderID
	checkFor(t, wait, "the order filled", func() bool { s, _, _, _ := e.state(id); return s == portfolio.StatusFilled })
	// Let the stream's copies of the fills arrive: the venue must not report them again.
	checkFor(t, wait, "the stream's frames read", func() bool { return v.Stats().Frames >= 4 })
	if n := len(e.of(id, streams.OrderAccepted)); n != 1 {
		t.Errorf("%d accepted reports, want 1: %s", n, e.describe(id))
	}
	fills := e.of(id, streams.OrderFill)
	if len(fills) != 3 {
		t.Fatalf("%d fill reports, want 3: %s", len(fills), e.describe(id))
	}
	for i, f := range fills {
		wantCum := dec([]string{"0.1", "0.2", "0.3"}[i])
		// 0.1% of 0.1 BTC = 0.0001 BTC, at 50000 = 5 USDT.
		if f.FillQty.Cmp(dec("0.1")) != 0 || f.FillPrice.Cmp(dec("50000")) != 0 || f.CumQty.Cmp(wantCum) != 0 ||
			f.Fee.Cmp(dec("5")) != 0 || f.Maker || f.VenueOrderID == "" {
			t.Errorf("fill %d: %+v", i, f)
		}
	}
	_, filled, fees, _ := e.state(id)
	if filled.Cmp(dec("0.3")) != 0 || fees.Cmp(dec("15")) != 0 {
		t.Errorf("engine: filled %s fees %s, want 0.3 and 15", filled, fees)
	}
	if b := srv.Balances(); b["BTC"].Free.Cmp(dec("2.2997")) != 0 || b["USDT"].Free.Cmp(dec("85000")) != 0 {
		t.Errorf("venue balances %+v", b)
	}
	e.check(t)
}

// A limit order rests (accepted), then fills later through the stream, as maker.
func TestLimitOrderFilledLaterByTheStream(t *testing.T) {
	srv, e := newFake(t), newEngine()
	v := open(t, testOptions(srv, &logBuffer{}), e)
	o := e.order(t, "l1", streams.Buy, streams.Limit, "0.5", "49000")
	if err := v.Submit(context.Background(), o); err != nil {
		t.Fatal(err)
	}
	id := o.ClientOrderID
	checkFor(t, wait, "accepted", func() bool { s, _, _, _ := e.state(id); return s == portfolio.StatusAccepted })
	if info, _ := srv.Order(id); info.Status != "NEW" || info.Type != "LIMIT" || info.Price.Cmp(dec("49000")) != 0 {
		t.Fatalf("at the venue: %+v", info)
	}
	if err := srv.FillOrder(id, dec("0.2"), dec("49000")); err != nil {
		t.Fatal(err)
	}
	checkFor(t, wait, "partially filled", func() bool { s, _, _, _ := e.state(id); return s == portfolio.StatusPartiallyFilled })
	if err := srv.FillOrder(id, dec("0.3"), dec("48990")); err != nil {
		t.Fatal(err)
	}
	checkFor(t, wait, "filled", func() bool { s, _, _, _ := e.state(id); return s == portfolio.StatusFilled })
	fills := e.of(id, streams.OrderFill)
	// Fees: 0.0002 BTC × 49000 = 9.8; 0.0003 BTC × 48990 = 14.697.
	if len(fills) != 2 || !fills[0].Maker || fills[0].Fee.Cmp(dec("9.8")) != 0 || fills[1].Fee.Cmp(dec("14.697")) != 0 ||
		fills[1].CumQty.Cmp(dec("0.5")) != 0 || fills[1].FillPrice.Cmp(dec("48990")) != 0 {
		t.Errorf("fills: %s", e.describe(id))
	}
	e.check(t)
}

func TestCancel(t *testing.T) {
	srv, e := newFake(t), newEngine()
	v := open(t, testOptions(srv, &logBuffer{}), e)
	o := e.order(t, "c1", streams.Sell, streams.Limit, "1", "60000")
	ctx := context.Background()
	if err := v.Submit(ctx, o); err != nil {
		t.Fatal(err)
	}
	id := o.ClientOrderID
	checkFor(t, wait, "accepted", func() bool { s, _, _, _ := e.state(id); return s == portfolio.StatusAccepted })
	if b := srv.Balances()["BTC"]; b.Locked.Cmp(dec("1")) != 0 {
		t.Fatalf("BTC %+v, want 1 locked", b)
	}
	if err := v.Cancel(ctx, o); err != nil {
		t.Fatal(err)
	}
	status, _, _, reason := e.state(id)
	if status != portfolio.StatusCanceled || reason != reasonCanceledOnRequest {
		t.Errorf("after Cancel: %s %q", status, reason)
	}
	if info, _ := srv.Order(id); info.Status != "CANCELED" {
		t.Errorf("at the venue: %s", info.Status)
	}
	if b := srv.Balances()["BTC"]; !b.Locked.IsZero() || b.Free.Cmp(dec("2")) != 0 {
		t.Errorf("BTC %+v after the cancel", b)
	}
	// A second cancel (the order is closed) reports nothing new and sends nothing.
	before := srv.TradingStats().Requests
	if err := v.Cancel(ctx, o); err != nil || len(e.of(id, streams.OrderCanceled)) != 1 || srv.TradingStats().Requests != before {
		t.Errorf("second cancel: %v; %s", err, e.describe(id))
	}
	checkFor(t, wait, "the stream's CANCELED frame read", func() bool { return v.Stats().Frames >= 2 })
	if n := len(e.of(id, streams.OrderCanceled)); n != 1 {
		t.Errorf("%d canceled reports: %s", n, e.describe(id))
	}
	e.check(t)
}

// Cancel of an order that filled meanwhile reports the fill, not a cancel.
func TestCancelOfAFilledOrder(t *testing.T) {
	srv, e := newFake(t), newEngine()
	opts := testOptions(srv, &logBuffer{})
	v := open(t, opts, e)
	o := e.order(t, "c2", streams.Buy, streams.Limit, "0.1", "50000")
	ctx := context.Background()
	if err := v.Submit(ctx, o); err != nil {
		t.Fatal(err)
	}
	id := o.ClientOrderID
	srv.Pause() // the stream will not tell
	if err := srv.FillOrder(id, dec("0.1"), dec("50000")); err != nil {
		t.Fatal(err)
	}
	if err := v.Cancel(ctx, o); err != nil {
		t.Fatal(err)
	}
	if s, filled, _, _ := e.state(id); s != portfolio.StatusFilled || filled.Cmp(dec("0.1")) != 0 {
		t.Errorf("after the cancel of a filled order: %s %s; %s", s, filled, e.describe(id))
	}
	srv.Resume()
	e.check(t)
}

func TestCancelOutsideTheEngine(t *testing.T) {
	srv, e := newFake(t), newEngine()
	v := open(t, testOptions(srv, &logBuffer{}), e)
	o := e.order(t, "w1", streams.Buy, streams.Limit, "0.2", "45000")
	if err := v.Submit(context.Background(), o); err != nil {
		t.Fatal(err)
	}
	id := o.ClientOrderID
	checkFor(t, wait, "accepted", func() bool { s, _, _, _ := e.state(id); return s == portfolio.StatusAccepted })
	if err := srv.CancelOutside(id); err != nil {
		t.Fatal(err)
	}
	checkFor(t, wait, "canceled", func() bool { s, _, _, _ := e.state(id); return s == portfolio.StatusCanceled })
	if _, _, _, reason := e.state(id); reason != reasonCanceledOutside {
		t.Errorf("reason %q", reason)
	}
	// An order placed on the website (not "syn-") is none of the engine's business.
	if _, err := srv.PlaceOutside("BTCUSDT", "BUY", dec("0.01"), dec("40000")); err != nil {
		t.Fatal(err)
	}
	checkFor(t, wait, "the outside order ignored", func() bool { return v.Stats().Ignored == 1 })
	if n := len(e.events); n != 2 {
		t.Errorf("%d reports, want accepted and canceled", n)
	}
	e.check(t)
}

// A second Submit of the same order, or a resend after a restart, does not place a second.
func TestDuplicateSubmitDoesNotDouble(t *testing.T) {
	srv, e := newFake(t), newEngine()
	opts := testOptions(srv, &logBuffer{})
	v := open(t, opts, e)
	o := e.order(t, "d1", streams.Buy, streams.Limit, "0.1", "40000")
	ctx := context.Background()
	id := o.ClientOrderID
	for range 2 {
		if err := v.Submit(ctx, o); err != nil {
			t.Fatal(err)
		}
	}
	// A new venue (after a restart) does not know it was sent: Binance refuses the
	// duplicate and the venue reports the existing order instead of a rejection.
	e2 := newEngine()
	v2 := open(t, opts, e2)
	o2 := e2.order(t, "d1", streams.Buy, streams.Limit, "0.1", "40000")
	if err := v2.Submit(ctx, o2); err != nil {
		t.Fatal(err)
	}
	if n := len(srv.Orders()); n != 1 {
		t.Fatalf("%d orders at the venue, want 1", n)
	}
	if st := srv.TradingStats(); st.OrdersPlaced != 1 || st.Duplicates != 1 {
		t.Errorf("venue stats %+v", st)
	}
	if s, _, _, _ := e2.state(id); s != portfolio.StatusAccepted || len(e2.of(id, streams.OrderRejected)) != 0 {
		t.Errorf("after the duplicate: %s; %s", s, e2.describe(id))
	}
	// The restarted venue tracks it: a fill reaches both.
	if err := srv.FillOrder(id, dec("0.1"), dec("40000")); err != nil {
		t.Fatal(err)
	}
	checkFor(t, wait, "filled", func() bool {
		s1, _, _, _ := e.state(id)
		s2, _, _, _ := e2.state(id)
		return s1 == portfolio.StatusFilled && s2 == portfolio.StatusFilled
	})
	e.check(t)
	e2.check(t)
}

func TestRejectedByTheVenue(t *testing.T) {
	srv, e := newFake(t), newEngine()
	v := open(t, testOptions(srv, &logBuffer{}), e)
	o := e.order(t, "r1", streams.Buy, streams.Market, "100", "")
	if err := v.Submit(context.Background(), o); err != nil {
		t.Fatalf("a venue refusal is a report, not an error: %v", err)
	}
	s, _, _, reason := e.state(o.ClientOrderID)
	if s != portfolio.StatusRejected || reason != "binance -2010: Account has insufficient balance for requested action." {
		t.Errorf("%s %q", s, reason)
	}
	e.check(t)
}

// HTTP 429: the venue waits out a short Retry-After and the order goes through; a long one
// fails the call and nothing is sent until it ends.
func TestRateLimitBackoff(t *testing.T) {
	srv, e := newFake(t), newEngine()
	opts := testOptions(srv, &logBuffer{})
	opts.MaxRetryWait = 2 * time.Second
	v := open(t, opts, e)
	ctx := context.Background()
	srv.FailNext(1, http.StatusTooManyRequests, time.Second)
	o := e.order(t, "rl1", streams.Buy, streams.Market, "0.01", "")
	began := time.Now()
	if err := v.Submit(ctx, o); err != nil {
		t.Fatal(err)
	}
	if took := time.Since(began); took < 900*time.Millisecond {
		t.Errorf("Submit took %v: it did not back off for Retry-After (1 s)", took)
	}
	if s, _, _, _ := e.state(o.ClientOrderID); s != portfolio.StatusFilled {
		t.Errorf("after the backoff: %s", s)
	}
	if v.Stats().RateLimited != 1 || srv.TradingStats().Failed != 1 {
		t.Errorf("stats %+v", v.Stats())
	}

	srv.FailNext(1, http.StatusTooManyRequests, 30*time.Second)
	o2 := e.order(t, "rl2", streams.Buy, streams.Market, "0.01", "")
	err := v.Submit(ctx, o2)
	if !errors.Is(err, portfolio.ErrVenue) || !errors.Is(err, ErrRateLimited) || !strings.Contains(err.Error(), "backing off until") {
		t.Fatalf("long Retry-After: %v", err)
	}
	before := srv.TradingStats().Requests
	err = v.Submit(ctx, e.order(t, "rl3", streams.Buy, streams.Market, "0.01", ""))
	if !errors.Is(err, ErrRateLimited) || !strings.Contains(err.Error(), "not sent") || srv.TradingStats().Requests != before {
		t.Errorf("during the backoff: %v; %d requests reached the venue", err, srv.TradingStats().Requests-before)
	}
	if len(e.of(o2.ClientOrderID, "")) != 0 {
		t.Errorf("reports of an order not sent: %s", e.describe(o2.ClientOrderID))
	}
	e.check(t)
}

// HTTP 418: the venue stops sending anything, says so at error level, and every call fails
// with a clear error until the ban ends.
func TestBanStopsEverything(t *testing.T) {
	srv, e := newFake(t), newEngine()
	logs := &logBuffer{}
	v := open(t, testOptions(srv, logs), e)
	ctx := context.Background()
	srv.FailNext(1, http.StatusTeapot, 2*time.Minute)
	err := v.Submit(ctx, e.order(t, "b1", streams.Buy, streams.Market, "0.01", ""))
	if !errors.Is(err, portfolio.ErrVenue) || !errors.Is(err, ErrBanned) || !strings.Contains(err.Error(), "banned this IP") {
		t.Fatalf("418: %v", err)
	}
	before := srv.TradingStats().Requests
	o := e.order(t, "b2", streams.Sell, streams.Limit, "0.01", "70000")
	err = v.Submit(ctx, o)
	if !errors.Is(err, ErrBanned) || !strings.Contains(err.Error(), "banned until") || !strings.Contains(err.Error(), "not sent") {
		t.Errorf("while banned: %v", err)
	}
	if err := v.Cancel(ctx, o); !errors.Is(err, ErrBanned) {
		t.Errorf("cancel while banned: %v", err)
	}
	if _, err := v.Reconcile(ctx, nil); !errors.Is(err, ErrBanned) {
		t.Errorf("reconcile while banned: %v", err)
	}
	if n := srv.TradingStats().Requests - before; n != 0 {
		t.Errorf("%d requests sent while banned", n)
	}
	if !strings.Contains(logs.String(), `"level":"ERROR","msg":"binance: IP BANNED`) || v.Stats().Banned != 1 {
		t.Errorf("the ban was not logged at error level:\n%s", logs.String())
	}
}

// The request-weight budget: a request that would pass it is refused, with the time it
// frees up; Binance's X-MBX-USED-WEIGHT-1M counts too.
func TestWeightBudget(t *testing.T) {
	srv, e := newFake(t), newEngine()
	opts := testOptions(srv, &logBuffer{})
	opts.WeightPerMinute = 8
	now := time.Date(2025, 3, 1, 12, 0, 30, 0, time.UTC)
	opts.clock = func() time.Time { return now }
	v := open(t, opts, e) // server time 1 + WebSocket API connection 2 + subscription 2: 5 used
	ctx := context.Background()
	for i := range 3 {
		if err := v.Submit(ctx, e.order(t, "w"+string(rune('a'+i)), streams.Buy, streams.Limit, "0.01", "40000")); err != nil {
			t.Fatalf("order %d within the budget: %v", i, err)
		}
	}
	before := srv.TradingStats().Requests
	o := e.order(t, "wd", streams.Buy, streams.Limit, "0.01", "40000")
	err := v.Submit(ctx, o)
	if !errors.Is(err, portfolio.ErrVenue) || !errors.Is(err, ErrBudget) ||
		!strings.Contains(err.Error(), "8 of 8 used this minute") || !strings.Contains(err.Error(), "frees up at 12:01:00 (in 30s)") {
		t.Fatalf("over the budget: %v", err)
	}
	if srv.TradingStats().Requests != before || v.Stats().BudgetRefusals != 1 {
		t.Errorf("a refused request reached the venue")
	}
	// The next minute frees it.
	now = now.Add(31 * time.Second)
	srv.SetUsedWeight(0) // the fake counts by the real clock; start its minute with ours
	if err := v.Submit(ctx, o); err != nil {
		t.Fatalf("in the next minute: %v", err)
	}
	// Other clients on the IP used most of it: Binance's count wins.
	srv.SetUsedWeight(7)
	if err := v.Submit(ctx, e.order(t, "we", streams.Buy, streams.Limit, "0.01", "40000")); err != nil {
		t.Fatal(err)
	}
	if err := v.Submit(ctx, e.order(t, "wf", streams.Buy, streams.Limit, "0.01", "40000")); !errors.Is(err, ErrBudget) {
		t.Errorf("after Binance reported 8 used: %v", err)
	}
	e.check(t)
}

// The user stream drops while an order fills: after the reconnect every fill is reported,
// each exactly once.
func TestDroppedStreamDuringFills(t *testing.T) {
	srv, e := newFake(t), newEngine()
	opts := testOptions(srv, &logBuffer{})
	opts.MinBackoff, opts.MaxBackoff = 100*time.Millisecond, 200*time.Millisecond // the fills below happen while it is down
	v := open(t, opts, e)
	o := e.order(t, "ds1", streams.Buy, streams.Limit, "0.3", "50000")
	if err := v.Submit(context.Background(), o); err != nil {
		t.Fatal(err)
	}
	id := o.ClientOrderID
	if err := srv.FillOrder(id, dec("0.1"), dec("50000")); err != nil {
		t.Fatal(err)
	}
	checkFor(t, wait, "the first fill", func() bool { return len(e.of(id, streams.OrderFill)) == 1 })
	if srv.DropUserStream() != 1 {
		t.Fatal("no user stream to drop")
	}
	for _, q := range []string{"0.05", "0.15"} {
		if err := srv.FillOrder(id, dec(q), dec("50001")); err != nil {
			t.Fatal(err)
		}
	}
	if lost := srv.TradingStats().UserFramesLost; lost != 2 {
		t.Fatalf("%d frames lost; the test needs the last 2 fills to happen while the stream is down", lost)
	}
	checkFor(t, wait, "filled after the reconnect", func() bool { s, _, _, _ := e.state(id); return s == portfolio.StatusFilled })
	counts := e.tradeCounts(id)
	if len(counts) != 3 {
		t.Errorf("%d trades reported, want 3: %s", len(counts), e.describe(id))
	}
	for trade, n := range counts {
		if n != 1 {
			t.Errorf("trade %s reported %d times", trade, n)
		}
	}
	last := e.of(id, streams.OrderFill)[2]
	if last.CumQty.Cmp(dec("0.3")) != 0 || last.FillQty.Cmp(dec("0.15")) != 0 {
		t.Errorf("last fill %+v", last)
	}
	if st := v.Stats(); st.Reconnects < 1 || st.CatchUps < 1 {
		t.Errorf("stats %+v", st)
	}
	// Subscribed again on the new connection, never through the removed listenKey endpoints.
	if st := srv.TradingStats(); st.UserSubscriptions < 2 || st.ListenKeyRequests != 0 {
		t.Errorf("venue stats %+v", st)
	}
	e.check(t)
}

// Fills while the venue cannot reach the stream at all (paused) are caught up on resume.
func TestPausedStreamCatchUp(t *testing.T) {
	srv, e := newFake(t), newEngine()
	v := open(t, testOptions(srv, &logBuffer{}), e)
	a := e.order(t, "p1", streams.Buy, streams.Limit, "0.2", "50000")
	b := e.order(t, "p2", streams.Sell, streams.Limit, "0.5", "51000")
	ctx := context.Background()
	for _, o := range []*portfolio.Order{a, b} {
		if err := v.Submit(ctx, o); err != nil {
			t.Fatal(err)
		}
	}
	srv.Pause()
	if err := srv.FillOrder(a.ClientOrderID, dec("0.2"), dec("50000")); err != nil {
		t.Fatal(err)
	}
	if err := srv.FillOrder(b.ClientOrderID, dec("0.1"), dec("51000")); err != nil {
		t.Fatal(err)
	}
	if err := srv.CancelOutside(b.ClientOrderID); err != nil {
		t.Fatal(err)
	}
	checkFor(t, wait, "reconnects refused", func() bool { return v.Stats().Reconnects >= 2 })
	if n := len(e.of(a.ClientOrderID, streams.OrderFill)); n != 0 {
		t.Fatalf("a fill reported while paused: the test would not show the catch-up")
	}
	srv.Resume()
	checkFor(t, wait, "caught up", func() bool {
		sa, _, _, _ := e.state(a.ClientOrderID)
		sb, fb, _, _ := e.state(b.ClientOrderID)
		return sa == portfolio.StatusFilled && sb == portfolio.StatusCanceled && fb.Cmp(dec("0.1")) == 0
	})
	// Sells pay their fee in the quote asset: 0.1% of 5100 = 5.1.
	if f := e.of(b.ClientOrderID, streams.OrderFill); len(f) != 1 || f[0].Fee.Cmp(dec("5.1")) != 0 || !f[0].Maker {
		t.Errorf("b's fill: %s", e.describe(b.ClientOrderID))
	}
	e.check(t)
}

// An order the exchange expires, and a subscription Binance ends (eventStreamTerminated):
// the venue subscribes again on a new connection.
func TestExpiryAndStreamTermination(t *testing.T) {
	srv, e := newFake(t), newEngine()
	v := open(t, testOptions(srv, &logBuffer{}), e)
	o := e.order(t, "x1", streams.Buy, streams.Limit, "0.1", "30000")
	if err := v.Submit(context.Background(), o); err != nil {
		t.Fatal(err)
	}
	if n := srv.TerminateUserStream(); n != 1 {
		t.Fatalf("%d subscriptions ended, want 1", n)
	}
	checkFor(t, wait, "subscribed again", func() bool { return v.Stats().Connects >= 2 && srv.TradingStats().UserSubscriptions >= 2 })
	if err := srv.ExpireOrder(o.ClientOrderID); err != nil {
		t.Fatal(err)
	}
	checkFor(t, wait, "expired", func() bool { s, _, _, _ := e.state(o.ClientOrderID); return s == portfolio.StatusExpired })
	e.check(t)
}

// Fees paid in a third asset (BNB) are reported as 0 and counted.
func TestFeeInAnotherAsset(t *testing.T) {
	srv, e := newFake(t), newEngine()
	srv.SetAccount(binancetest.Account{APIKey: testKey, SecretKey: testSecret, Commission: dec("0.00075"), CommissionAsset: "BNB",
		Balances: map[string]decimal.Decimal{"USDT": dec("100000"), "BNB": dec("10")}})
	v := open(t, testOptions(srv, &logBuffer{}), e)
	o := e.order(t, "f1", streams.Buy, streams.Market, "0.3", "")
	if err := v.Submit(context.Background(), o); err != nil {
		t.Fatal(err)
	}
	_, filled, fees, _ := e.state(o.ClientOrderID)
	if filled.Cmp(dec("0.3")) != 0 || !fees.IsZero() || v.Stats().OtherAssetFees != 3 {
		t.Errorf("filled %s fees %s, %d fees in another asset counted", filled, fees, v.Stats().OtherAssetFees)
	}
	if bnb := srv.Balances()["BNB"].Free; bnb.Cmp(dec("10")) >= 0 {
		t.Errorf("BNB %s: the fake charged no fee", bnb)
	}
	e.check(t)
}

func TestNewChecksItsOptions(t *testing.T) {
	srv := newFake(t)
	ctx := context.Background()
	report := func(*streams.OrderEvent) {}
	opts := testOptions(srv, &logBuffer{})
	opts.SecretKey = ""
	if _, err := New(ctx, opts, report); !errors.Is(err, ErrKeys) || !strings.Contains(err.Error(), EnvAPISecret) {
		t.Errorf("no secret: %v", err)
	}
	opts = testOptions(srv, &logBuffer{})
	opts.StreamURL = "http://example.com"
	if _, err := New(ctx, opts, report); !errors.Is(err, ErrOptions) {
		t.Errorf("bad stream URL: %v", err)
	}
	// The listenKey stream URL of old configurations is refused, naming the WebSocket API.
	opts.StreamURL = "wss://stream.binance.com:9443/ws/"
	if _, err := New(ctx, opts, report); !errors.Is(err, ErrOptions) || !strings.Contains(err.Error(), ProductionStreamURL) {
		t.Errorf("listenKey stream URL: %v", err)
	}
	if _, err := New(ctx, testOptions(srv, &logBuffer{}), nil); !errors.Is(err, ErrOptions) {
		t.Errorf("nil report: %v", err)
	}
	opts = testOptions(srv, &logBuffer{})
	opts.APIKey = "not-the-key"
	if _, err := New(ctx, opts, report); !errors.Is(err, portfolio.ErrVenue) || !errors.Is(err, ErrKeys) ||
		!strings.Contains(err.Error(), "-2015") || !strings.Contains(err.Error(), EnvAPIKey) {
		t.Errorf("wrong key: %v", err)
	}
	if err := (&Options{}).check(); !errors.Is(err, ErrKeys) {
		t.Errorf("zero options: %v", err)
	}
	o := Options{APIKey: "k", SecretKey: "s", Testnet: true}
	if err := o.check(); err != nil || o.BaseURL != TestnetBaseURL || o.StreamURL != TestnetStreamURL || o.WeightPerMinute != 1200 {
		t.Errorf("testnet defaults: %+v, %v", o, err)
	}
	v := open(t, testOptions(srv, &logBuffer{}), newEngine())
	if v.Name() != "binance" {
		t.Errorf("Name() = %q", v.Name())
	}
	v.Close()
	if err := v.Submit(ctx, newEngine().order(t, "z", streams.Buy, streams.Market, "1", "")); !errors.Is(err, ErrClosed) {
		t.Errorf("after Close: %v", err)
	}
}

// A secret that does not sign for the API key: Binance refuses the subscription with
// -1022, and New fails at once with an error that says so and names the fix, without the
// secret, after one try.
func TestBadSignatureIsAClearError(t *testing.T) {
	srv := newFake(t)
	logs := &logBuffer{}
	opts := testOptions(srv, logs)
	opts.SecretKey = "not-" + testSecret
	before := runtime.NumGoroutine()
	v, err := New(context.Background(), opts, func(*streams.OrderEvent) {})
	if err == nil {
		v.Close()
		t.Fatal("New succeeded with a wrong secret")
	}
	for _, want := range []string{"-1022", "Signature for this request is not valid", EnvAPISecret, "HMAC"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("the error does not say %q: %v", want, err)
		}
	}
	if !errors.Is(err, ErrKeys) || !errors.Is(err, portfolio.ErrVenue) {
		t.Errorf("the error wraps neither ErrKeys nor portfolio.ErrVenue: %v", err)
	}
	if strings.Contains(err.Error()+logs.String(), opts.SecretKey) {
		t.Errorf("the secret was shown: %v", err)
	}
	if st := srv.TradingStats(); st.UserSubscriptions != 0 || st.AuthErrors != 1 {
		t.Errorf("venue stats %+v", st)
	}
	deadline := time.Now().Add(3 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > before {
		t.Errorf("%d goroutines left after the failed New, %d before", n, before)
	}
}

func TestKeysFromEnv(t *testing.T) {
	t.Setenv(EnvAPIKey, "")
	t.Setenv(EnvAPISecret, "s")
	_, _, err := KeysFromEnv()
	if !errors.Is(err, ErrKeys) || !strings.Contains(err.Error(), EnvAPIKey) || !strings.Contains(err.Error(), EnvAPISecret) {
		t.Errorf("missing key: %v", err)
	}
	t.Setenv(EnvAPIKey, "k")
	if key, secret, err := KeysFromEnv(); err != nil || key != "k" || secret != "s" {
		t.Errorf("%q %q %v", key, secret, err)
	}
}

// Close leaves no goroutine of the venue behind (the stream, its pinger, catch-ups, idle
// HTTP connections).
func TestCloseLeavesNoGoroutines(t *testing.T) {
	srv, e := newFake(t), newEngine()
	opts := testOptions(srv, &logBuffer{})
	opts.PingInterval = 5 * time.Millisecond
	before := runtime.NumGoroutine()
	v, err := New(context.Background(), opts, e.report)
	if err != nil {
		t.Fatal(err)
	}
	o := e.order(t, "g1", streams.Buy, streams.Limit, "0.1", "40000")
	if err := v.Submit(context.Background(), o); err != nil {
		t.Fatal(err)
	}
	srv.DropUserStream()
	checkFor(t, wait, "reconnected", func() bool { return v.Stats().Connects >= 2 })
	v.Close()
	deadline := time.Now().Add(3 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > before {
		buf := make([]byte, 1<<20)
		t.Fatalf("%d goroutines, %d before:\n%s", n, before, buf[:runtime.Stack(buf, true)])
	}
}
