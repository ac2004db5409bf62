package binance

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/synapse-trading/synapse/portfolio"
	"github.com/synapse-trading/synapse/streams"
)

// flaky is a transport that fails chosen requests: "before" fails one without sending it,
// "after" sends it and loses Binance's answer (a timeout after the order went through).
type flaky struct {
	mu     sync.Mutex
	faults map[string][]string // "POST /api/v3/order" → modes, used in turn
}

func (f *flaky) fail(request string, modes ...string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.faults[request] = append(f.faults[request], modes...)
}

func (f *flaky) RoundTrip(r *http.Request) (*http.Response, error) {
	key := r.Method + " " + r.URL.Path
	f.mu.Lock()
	mode := ""
	if q := f.faults[key]; len(q) > 0 {
		mode, f.faults[key] = q[0], q[1:]
	}
	f.mu.Unlock()
	switch mode {
	case "before":
		if r.Body != nil {
			io.Copy(io.Discard, r.Body)
			r.Body.Close()
		}
		return nil, errors.New("connection reset by peer (test)")
	case "after":
		res, err := http.DefaultTransport.RoundTrip(r)
		if err == nil {
			io.Copy(io.Discard, res.Body)
			res.Body.Close()
		}
		return nil, errors.New("i/o timeout (test)")
	}
	return http.DefaultTransport.RoundTrip(r)
}

// A submit whose answer is lost: the venue asks Binance whether it has the order and
// reports it (placed) or fails the submit (not placed); when it cannot even ask, it keeps
// checking and expires the order once Binance says it does not know it.
func TestSubmitWithUnknownOutcome(t *testing.T) {
	srv, e := newFake(t), newEngine()
	net := &flaky{faults: map[string][]string{}}
	opts := testOptions(srv, &logBuffer{})
	opts.HTTPClient = &http.Client{Transport: net}
	v := open(t, opts, e)
	ctx := context.Background()

	placed := e.order(t, "u1", streams.Buy, streams.Market, "0.3", "")
	net.fail("POST /api/v3/order", "after")
	if err := v.Submit(ctx, placed); err != nil {
		t.Fatalf("placed, answer lost: %v", err)
	}
	if s, filled, _, _ := e.state(placed.ClientOrderID); s != portfolio.StatusFilled || filled.Cmp(dec("0.3")) != 0 {
		t.Errorf("placed, answer lost: %s %s; %s", s, filled, e.describe(placed.ClientOrderID))
	}

	lost := e.order(t, "u2", streams.Buy, streams.Market, "0.3", "")
	net.fail("POST /api/v3/order", "before")
	err := v.Submit(ctx, lost)
	if !errors.Is(err, portfolio.ErrVenue) || !strings.Contains(err.Error(), "was not placed") {
		t.Errorf("not placed: %v", err)
	}
	if _, ok := srv.Order(lost.ClientOrderID); ok || len(e.of(lost.ClientOrderID, "")) != 0 {
		t.Errorf("not placed: at the venue or reported: %s", e.describe(lost.ClientOrderID))
	}

	unsure := e.order(t, "u3", streams.Buy, streams.Market, "0.3", "")
	net.fail("POST /api/v3/order", "before")
	net.fail("GET /api/v3/order", "before")
	if err := v.Submit(ctx, unsure); err != nil {
		t.Fatalf("outcome unknown: %v", err)
	}
	checkFor(t, wait, "expired by the catch-up", func() bool { s, _, _, _ := e.state(unsure.ClientOrderID); return s == portfolio.StatusExpired })
	if _, _, _, reason := e.state(unsure.ClientOrderID); reason != reasonSubmitLost {
		t.Errorf("reason %q", reason)
	}
	e.check(t)
}
