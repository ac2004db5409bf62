package binance

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/synapse-trading/synapse/portfolio"
	"github.com/synapse-trading/synapse/streams"
)

// restart closes v (the engine "crashes") and returns a new venue on the same account,
// reporting to the same engine.
func restart(t *testing.T, v *Venue, opts Options, e *engine) *Venue {
	t.Helper()
	if err := v.Close(); err != nil {
		t.Fatal(err)
	}
	return open(t, opts, e)
}

// Orders changed while the engine was down: a fill (a), a cancel outside (b), an order
// that never reached the venue (c), one partly filled before the crash and more after
// (d), one untouched (e). Reconcile reports each difference with Source "reconcile",
// returns the balances, and keeps tracking what is still open.
func TestReconcileAfterRestart(t *testing.T) {
	srv, e := newFake(t), newEngine()
	logs := &logBuffer{}
	opts := testOptions(srv, logs)
	v := open(t, opts, e)
	ctx := context.Background()
	a := e.order(t, "ra", streams.Buy, streams.Limit, "0.4", "48000")
	b := e.order(t, "rb", streams.Sell, streams.Limit, "0.5", "52000")
	c := e.order(t, "rc", streams.Buy, streams.Limit, "0.1", "47000") // never sent
	d := e.order(t, "rd", streams.Buy, streams.Limit, "0.3", "49000")
	u := e.order(t, "ru", streams.Buy, streams.Limit, "0.1", "30000")
	for _, o := range []*portfolio.Order{a, b, d, u} {
		if err := v.Submit(ctx, o); err != nil {
			t.Fatal(err)
		}
	}
	if err := srv.FillOrder(d.ClientOrderID, dec("0.1"), dec("49000")); err != nil {
		t.Fatal(err)
	}
	checkFor(t, wait, "d's first fill", func() bool { return len(e.of(d.ClientOrderID, streams.OrderFill)) == 1 })

	if err := v.Close(); err != nil { // down
		t.Fatal(err)
	}
	if err := srv.FillOrder(a.ClientOrderID, dec("0.4"), dec("48000")); err != nil {
		t.Fatal(err)
	}
	if err := srv.CancelOutside(b.ClientOrderID); err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{"0.05", "0.15"} {
		if err := srv.FillOrder(d.ClientOrderID, dec(q), dec("48900")); err != nil {
			t.Fatal(err)
		}
	}

	v2 := open(t, opts, e) // back up
	openOrders := []*portfolio.Order{e.snapshot(t, a.ClientOrderID), e.snapshot(t, b.ClientOrderID),
		e.snapshot(t, c.ClientOrderID), e.snapshot(t, d.ClientOrderID)} // u not listed
	before := len(e.events)
	balances, err := v2.Reconcile(ctx, openOrders)
	if err != nil {
		t.Fatal(err)
	}
	for _, ev := range e.events[before:] {
		if ev.Source != sourceReconcile {
			t.Errorf("a reconcile report without Source reconcile: %+v", ev)
		}
	}
	// (a) the fill while down.
	if s, filled, _, _ := e.state(a.ClientOrderID); s != portfolio.StatusFilled || filled.Cmp(dec("0.4")) != 0 {
		t.Errorf("a: %s %s; %s", s, filled, e.describe(a.ClientOrderID))
	}
	// (b) the cancel outside.
	if s, _, _, reason := e.state(b.ClientOrderID); s != portfolio.StatusCanceled || reason != reasonCanceledOutside {
		t.Errorf("b: %s %q; %s", s, reason, e.describe(b.ClientOrderID))
	}
	// (c) never at the venue: expired, never resent.
	s, _, _, reason := e.state(c.ClientOrderID)
	if s != portfolio.StatusExpired || reason != reasonNotAtVenue {
		t.Errorf("c: %s %q", s, reason)
	}
	if _, ok := srv.Order(c.ClientOrderID); ok {
		t.Error("c was sent to the venue by Reconcile")
	}
	// (d) every trade reported, the engine keeping each once.
	if s, filled, _, _ := e.state(d.ClientOrderID); s != portfolio.StatusFilled || filled.Cmp(dec("0.3")) != 0 {
		t.Errorf("d: %s %s; %s", s, filled, e.describe(d.ClientOrderID))
	}
	// (e) the open "syn-" order the engine did not list is logged.
	if v2.Stats().Untracked != 1 || !strings.Contains(logs.String(), u.ClientOrderID) {
		t.Errorf("u not reported: %d untracked", v2.Stats().Untracked)
	}
	// Balances: free + locked per asset, as the venue holds them.
	for asset, bal := range srv.Balances() {
		total, _ := bal.Free.Add(bal.Locked)
		if got := balances[asset]; got.Cmp(total) != 0 {
			t.Errorf("balance %s: %s, the venue holds %s", asset, got, total)
		}
	}
	if len(balances) != 2 {
		t.Errorf("balances %v", balances)
	}
	// A second Reconcile reports nothing new.
	n := len(e.events)
	if _, err := v2.Reconcile(ctx, nil); err != nil || len(e.events) != n {
		t.Errorf("second reconcile: %v, %d new reports", err, len(e.events)-n)
	}
	e.check(t)
}

// An order Reconcile finds open is tracked from then on: its later fills are reported.
func TestReconciledOrderKeepsReporting(t *testing.T) {
	srv, e := newFake(t), newEngine()
	opts := testOptions(srv, &logBuffer{})
	v := open(t, opts, e)
	ctx := context.Background()
	o := e.order(t, "k1", streams.Buy, streams.Limit, "0.2", "45000")
	if err := v.Submit(ctx, o); err != nil {
		t.Fatal(err)
	}
	id := o.ClientOrderID
	checkFor(t, wait, "accepted", func() bool { s, _, _, _ := e.state(id); return s == portfolio.StatusAccepted })
	v2 := restart(t, v, opts, e)
	if err := srv.FillOrder(id, dec("0.05"), dec("45000")); err != nil { // before Reconcile: not tracked yet
		t.Fatal(err)
	}
	checkFor(t, wait, "the untracked report seen", func() bool { return v2.Stats().Unknown == 1 })
	if _, err := v2.Reconcile(ctx, []*portfolio.Order{e.snapshot(t, id)}); err != nil {
		t.Fatal(err)
	}
	if f := e.of(id, streams.OrderFill); len(f) != 1 || f[0].Source != sourceReconcile {
		t.Fatalf("the fill before Reconcile: %s", e.describe(id))
	}
	if err := srv.FillOrder(id, dec("0.15"), dec("45000")); err != nil {
		t.Fatal(err)
	}
	checkFor(t, wait, "filled by the stream", func() bool { s, _, _, _ := e.state(id); return s == portfolio.StatusFilled })
	if f := e.of(id, streams.OrderFill); f[1].Source != "" {
		t.Errorf("a stream fill marked %q", f[1].Source)
	}
	e.check(t)
}

// Reconcile goes on past an order it cannot read and says which.
func TestReconcileErrors(t *testing.T) {
	srv, e := newFake(t), newEngine()
	opts := testOptions(srv, &logBuffer{})
	opts.MaxRetryWait = time.Millisecond
	v := open(t, opts, e)
	o := e.order(t, "e1", streams.Buy, streams.Limit, "0.1", "40000")
	srv.FailNext(1, http.StatusTooManyRequests, 0)
	balances, err := v.Reconcile(context.Background(), []*portfolio.Order{e.snapshot(t, o.ClientOrderID)})
	if err != nil {
		// Retry-After 0: the backoff is over at once, so the call is retried and succeeds.
		t.Fatalf("a 429 with Retry-After 0: %v", err)
	}
	if len(balances) != 2 {
		t.Errorf("balances %v", balances)
	}
	srv.FailNext(1, http.StatusTooManyRequests, 5*time.Second)
	_, err = v.Reconcile(context.Background(), []*portfolio.Order{e.snapshot(t, o.ClientOrderID)})
	if !errors.Is(err, portfolio.ErrVenue) || !errors.Is(err, ErrRateLimited) || !strings.Contains(err.Error(), o.ClientOrderID) {
		t.Errorf("reconcile during a backoff: %v", err)
	}
}
