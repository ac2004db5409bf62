package binance

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/synapse-trading/synapse/portfolio"
	"github.com/synapse-trading/synapse/streams"
)

// A whole session at debug level (orders, fills, a cancel, a dropped stream, a refusal,
// a rate limit, a ban, a venue with a wrong secret, a reconcile, Close) logs plenty, and
// neither the key nor the secret appears in any log line, error or report.
func TestKeysNeverLogged(t *testing.T) {
	srv, e := newFake(t), newEngine()
	logs := &logBuffer{}
	opts := testOptions(srv, logs)
	v := open(t, opts, e)
	ctx := context.Background()
	var errs []error
	keep := func(err error) {
		if err != nil {
			errs = append(errs, err)
		}
	}
	m := e.order(t, "s1", streams.Buy, streams.Market, "0.3", "")
	l := e.order(t, "s2", streams.Buy, streams.Limit, "0.2", "49000")
	keep(v.Submit(ctx, m))
	keep(v.Submit(ctx, l))
	keep(srv.FillOrder(l.ClientOrderID, dec("0.1"), dec("49000")))
	srv.DropUserStream()
	checkFor(t, wait, "reconnected", func() bool { return v.Stats().Connects >= 2 })
	keep(v.Cancel(ctx, l))
	keep(v.Submit(ctx, e.order(t, "s3", streams.Buy, streams.Market, "1000", ""))) // rejected
	_, err := v.Reconcile(ctx, []*portfolio.Order{e.snapshot(t, l.ClientOrderID)})
	keep(err)
	srv.FailNext(1, http.StatusTooManyRequests, 10*time.Second)
	keep(v.Submit(ctx, e.order(t, "s4", streams.Buy, streams.Market, "0.01", "")))
	v.limits.mu.Lock()
	v.limits.backoffUntil = time.Time{}
	v.limits.mu.Unlock()
	srv.FailNext(1, http.StatusTeapot, time.Minute)
	keep(v.Submit(ctx, e.order(t, "s5", streams.Buy, streams.Market, "0.01", "")))
	keep(v.Submit(ctx, e.order(t, "s6", streams.Buy, streams.Market, "0.01", "")))
	keep(v.Close())

	bad := testOptions(srv, logs)
	bad.SecretKey = "wrong-" + testSecret
	_, err = New(ctx, bad, e.report)
	keep(err)
	bad = testOptions(srv, logs)
	bad.APIKey = testKey + "-wrong"
	_, err = New(ctx, bad, e.report)
	keep(err)

	text := logs.String()
	if strings.Count(text, "\n") < 10 || len(errs) < 4 {
		t.Fatalf("the session logged %d lines and made %d errors: too little to show anything", strings.Count(text, "\n"), len(errs))
	}
	var everything strings.Builder
	everything.WriteString(text)
	for _, err := range errs {
		everything.WriteString(err.Error() + "\n")
	}
	for _, ev := range e.events {
		everything.WriteString(ev.Reason + "\n")
	}
	for _, secret := range []string{testKey, testSecret} {
		if strings.Contains(everything.String(), secret) {
			t.Errorf("%q appears in the logs, errors or reports", secret)
		}
	}
}
