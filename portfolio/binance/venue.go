package binance

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	gobinance "github.com/adshao/go-binance/v2"

	"github.com/synapse-trading/synapse/portfolio"
	"github.com/synapse-trading/synapse/streams"
)

// Name is the venue's name on subjects and in order events.
const Name = "binance"

var _ portfolio.Venue = (*Venue)(nil)

// Venue is the Binance spot adapter: a portfolio.Venue that places and cancels orders
// over REST and reports their lifecycle from the order answers and the user-data stream.
// Create it with New; Close it when done.
type Venue struct {
	opts     Options
	report   portfolio.Report
	log      *slog.Logger
	client   *gobinance.Client // REST, signed by go-binance
	limits   *limiter
	restHTTP *http.Client
	wsHTTP   *http.Client // the WebSocket API handshake (no timeout: the connection outlives it)
	ctx      context.Context
	cancel   context.CancelFunc
	wg       sync.WaitGroup
	counters counters

	mu       sync.Mutex
	orders   map[string]*tracked // by client order ID
	closed   bool
	catchGen int // generation of the catch-up running
}

// Stats are the venue's counters since New.
type Stats struct {
	Reports        int64 // order events reported
	Frames         int64 // user-data messages received
	Malformed      int64 // user-data messages that could not be read (logged, skipped)
	Ignored        int64 // executionReports of orders the engine did not place (no "syn-" prefix)
	Unknown        int64 // executionReports of "syn-" orders this venue does not track
	Connects       int64 // user-data connections opened and subscribed
	Reconnects     int64 // user-data reconnect attempts
	CatchUps       int64 // catch-up passes completed after a reconnect (or an unknown submit outcome)
	OtherAssetFees int64 // fills whose fee was paid in a third asset (e.g. BNB) and reported as 0
	RateLimited    int64 // HTTP 429 answers
	Banned         int64 // HTTP 418 answers
	BudgetRefusals int64 // requests not sent because the request-weight budget was spent
	Untracked      int64 // open "syn-" orders Reconcile found at Binance that the engine did not list
}

type counters struct {
	reports, frames, malformed, ignored, unknown, connects, reconnects atomic.Int64
	catchUps, otherAssetFees, untracked                                atomic.Int64
}

// New checks the options, starts the user-data stream (a WebSocket API connection
// subscribed with userDataStream.subscribe.signature) and returns the venue; report
// receives every order event from then on. ctx bounds the start only: the stream runs
// until Close. Errors wrap ErrOptions, ErrKeys (missing, or refused by Binance: the
// message names the fix) or portfolio.ErrVenue (Binance could not be reached or refused).
func New(ctx context.Context, opts Options, report portfolio.Report) (*Venue, error) {
	if err := opts.check(); err != nil {
		return nil, err
	}
	if report == nil {
		return nil, fmt.Errorf("%w: report is nil: pass the function that delivers order events to the engine", ErrOptions)
	}
	base := opts.HTTPClient.Transport
	if base == nil { // a transport of its own, whose idle connections Close may close
		base = http.DefaultTransport.(*http.Transport).Clone()
	}
	log := opts.Logger.With("venue", Name)
	limits := &limiter{base: base, budget: opts.WeightPerMinute, log: log, now: time.Now}
	if opts.clock != nil {
		limits.now = opts.clock
	}
	restHTTP := &http.Client{Transport: limits, Timeout: opts.HTTPClient.Timeout, Jar: opts.HTTPClient.Jar,
		CheckRedirect: opts.HTTPClient.CheckRedirect}
	client := gobinance.NewClient(opts.APIKey, opts.SecretKey)
	client.BaseURL, client.HTTPClient = opts.BaseURL, restHTTP
	client.Logger = quietLogger() // go-binance logs requests (with the key header) in Debug mode only; keep it quiet
	runCtx, cancel := context.WithCancel(context.Background())
	v := &Venue{
		opts: opts, report: report, log: log, client: client, limits: limits, restHTTP: restHTTP,
		wsHTTP: &http.Client{Transport: limits}, ctx: runCtx, cancel: cancel, orders: map[string]*tracked{},
	}
	// Signed requests carry a timestamp Binance checks against its clock.
	if _, err := client.NewSetServerTimeService().Do(ctx); err != nil {
		log.Warn("binance: could not read the server time; signing with the local clock", "err", clean(err))
	}
	conn, err := v.connect(ctx)
	if err != nil {
		cancel()
		restHTTP.CloseIdleConnections()
		return nil, fmt.Errorf("%w: binance: starting the user-data stream: %w", portfolio.ErrVenue, err)
	}
	v.wg.Add(1)
	go v.stream(conn)
	return v, nil
}

// Name is "binance".
func (v *Venue) Name() string { return Name }

// Market does nothing: Binance fills orders itself.
func (v *Venue) Market(streams.Event) {}

// Stats returns the counters so far; safe to call at any time.
func (v *Venue) Stats() Stats {
	c := &v.counters
	return Stats{
		Reports: c.reports.Load(), Frames: c.frames.Load(), Malformed: c.malformed.Load(), Ignored: c.ignored.Load(),
		Unknown: c.unknown.Load(), Connects: c.connects.Load(), Reconnects: c.reconnects.Load(), CatchUps: c.catchUps.Load(),
		OtherAssetFees: c.otherAssetFees.Load(), RateLimited: v.limits.rateLimited.Load(),
		Banned: v.limits.banned.Load(), BudgetRefusals: v.limits.refused.Load(), Untracked: c.untracked.Load(),
	}
}

// Submit places o (MARKET, or LIMIT good-till-canceled) with o.ClientOrderID as Binance's
// newClientOrderId and reports what Binance answers: accepted and the fills it already
// made, or rejected with Binance's code and message (a nil error: the venue answered).
// Later fills come from the user-data stream.
//
// The same order is never placed twice: a second Submit of an order this venue already
// sent does nothing, and when Binance refuses it as a duplicate (an open order has that
// client ID, e.g. after a restart) the venue reports that order's state instead.
//
// The error (wrapping portfolio.ErrVenue) means the order was not placed: the budget is
// spent (ErrBudget), Binance is backing us off (ErrRateLimited) or banned us (ErrBanned),
// or the request failed and Binance confirms it does not know the order. When the
// outcome cannot be known (a timeout, then a failed check), Submit returns nil and
// keeps checking; the order is reported when Binance shows it, or expired if Binance
// says it does not know it.
func (v *Venue) Submit(ctx context.Context, o *portfolio.Order) error {
	id := o.ClientOrderID
	if o.Type != streams.Market && o.Type != streams.Limit {
		return fmt.Errorf("%w: binance: order %s: type %q is not supported (MARKET or LIMIT)", portfolio.ErrVenue, id, o.Type)
	}
	v.mu.Lock()
	if v.closed {
		v.mu.Unlock()
		return fmt.Errorf("%w: %w: order %s not sent", portfolio.ErrVenue, ErrClosed, id)
	}
	v.sweep()
	if v.orders[id] != nil {
		v.mu.Unlock()
		v.log.Info("binance: order already sent, not sending it again", "client_order_id", id)
		return nil
	}
	t := newTracked(o) // tracked before it is sent, so its first stream reports are not missed
	t.accepted, t.closed = false, false
	v.orders[id] = t
	v.mu.Unlock()

	svc := v.client.NewCreateOrderService().Symbol(o.Symbol).Side(sideOf(o.Side)).Type(typeOf(o.Type)).
		Quantity(amount(o.Qty)).NewClientOrderID(id).NewOrderRespType(gobinance.NewOrderRespTypeFULL)
	if o.Type == streams.Limit {
		svc.TimeInForce(gobinance.TimeInForceTypeGTC).Price(amount(o.Price))
	}
	var res *gobinance.CreateOrderResponse
	err := v.call(ctx, func(ctx context.Context) (err error) {
		res, err = svc.Do(ctx)
		return err
	})
	if err == nil {
		st, cerr := stateFromCreate(o.Symbol, res)
		v.mu.Lock()
		if cerr != nil {
			v.log.Error("binance: order placed but its answer is unreadable; waiting for the user-data stream", "client_order_id", id, "err", cerr)
			st = orderState{orderID: res.OrderID, status: "NEW", time: res.TransactTime}
		}
		v.apply(t, st, st.fills, "")
		v.mu.Unlock()
		return nil
	}
	if code, msg, ok := apiErrorOf(err); ok && !outcomeUnknown(err) {
		if duplicateOrder(code, msg) {
			v.log.Warn("binance: an open order already has this client ID; reporting it instead of placing another", "client_order_id", id)
			if _, rerr := v.refresh(ctx, t, ""); rerr != nil {
				v.log.Warn("binance: could not read the duplicate order; the user-data stream will report it", "client_order_id", id, "err", rerr)
			}
			return nil
		}
		v.mu.Lock()
		v.finish(t, streams.OrderRejected, fmt.Sprintf("binance %d: %s", code, msg), time.Now().UnixMilli(), "")
		v.mu.Unlock()
		return nil
	}
	var le *limitError
	if errors.As(err, &le) {
		v.forget(id)
		return fmt.Errorf("%w: binance: order %s not sent: %w", portfolio.ErrVenue, id, le)
	}
	// The outcome is unknown: ask Binance whether it has the order.
	found, rerr := v.refresh(ctx, t, "")
	switch {
	case rerr == nil && found:
		return nil
	case rerr == nil:
		v.forget(id)
		return fmt.Errorf("%w: binance: order %s was not placed: %w", portfolio.ErrVenue, id, clean(err))
	}
	// Binance could not be asked either: the catch-up asks until it can.
	v.mu.Lock()
	t.unsure = true
	v.mu.Unlock()
	v.log.Error("binance: order outcome unknown; it will be reported when Binance shows it, or expired if Binance does not know it",
		"client_order_id", id, "err", clean(err), "check", rerr)
	v.catchUp()
	return nil
}

// Cancel cancels o at Binance (by its client order ID) and reports canceled, or what
// Binance says the order became if it is no longer open (filled, expired). The error
// (wrapping portfolio.ErrVenue) means the cancel may not have happened: retry it.
func (v *Venue) Cancel(ctx context.Context, o *portfolio.Order) error {
	id := o.ClientOrderID
	v.mu.Lock()
	if v.closed {
		v.mu.Unlock()
		return fmt.Errorf("%w: %w: cancel of %s not sent", portfolio.ErrVenue, ErrClosed, id)
	}
	t := v.orders[id]
	if t == nil {
		t = newTracked(o)
		v.orders[id] = t
	}
	if t.closed {
		v.mu.Unlock()
		return nil // its end is reported; nothing to cancel
	}
	t.cancelAsked = true
	v.mu.Unlock()

	var res *gobinance.CancelOrderResponse
	err := v.call(ctx, func(ctx context.Context) (err error) {
		res, err = v.client.NewCancelOrderService().Symbol(o.Symbol).OrigClientOrderID(id).Do(ctx)
		return err
	})
	if err == nil {
		st, cerr := stateFromCancel(res)
		if cerr != nil {
			st = orderState{orderID: res.OrderID, status: "CANCELED", time: res.TransactTime}
		}
		if serr := v.settle(ctx, t, st, ""); serr != nil {
			v.log.Warn("binance: canceled, but the trades before the cancel could not be read; catching up", "client_order_id", id, "err", serr)
			v.catchUp()
		}
		return nil
	}
	if code, msg, ok := apiErrorOf(err); ok && code == codeCancelRejected {
		// Unknown or no longer open: report what it became.
		found, rerr := v.refresh(ctx, t, "")
		if rerr != nil {
			return fmt.Errorf("%w: binance: cancel of %s refused (%d: %s) and the order could not be read: %w", portfolio.ErrVenue, id, code, msg, rerr)
		}
		if !found {
			return fmt.Errorf("%w: binance: cancel of %s: Binance does not know the order (%d: %s)", portfolio.ErrVenue, id, code, msg)
		}
		return nil
	}
	return fmt.Errorf("%w: binance: cancel of %s: %w", portfolio.ErrVenue, id, clean(err))
}

// Close stops the user-data stream (closing its connection ends the subscription) and
// closes the idle connections. Reports still on their way may be dropped. Safe to call
// more than once.
func (v *Venue) Close() error {
	v.mu.Lock()
	if v.closed {
		v.mu.Unlock()
		return nil
	}
	v.closed = true
	v.mu.Unlock()
	v.cancel()
	v.wg.Wait()
	v.restHTTP.CloseIdleConnections()
	return nil
}

// forget stops tracking an order that was not placed.
func (v *Venue) forget(id string) {
	v.mu.Lock()
	delete(v.orders, id)
	v.mu.Unlock()
}

// call runs one REST call, waiting out a 429 backoff no longer than Options.MaxRetryWait
// (and ctx) and trying again after it.
func (v *Venue) call(ctx context.Context, fn func(context.Context) error) error {
	for {
		err := fn(ctx)
		var le *limitError
		if !errors.As(err, &le) || le.kind != ErrRateLimited {
			return err
		}
		wait := le.until.Sub(v.limits.now())
		if wait > v.opts.MaxRetryWait {
			return err
		}
		if deadline, ok := ctx.Deadline(); ok && time.Until(deadline) < wait {
			return err
		}
		if streams.Sleep(ctx, wait) != nil {
			return err
		}
	}
}

// queryOrder reads an order by its client order ID.
func (v *Venue) queryOrder(ctx context.Context, symbol, clientID string) (orderState, error) {
	var res *gobinance.Order
	err := v.call(ctx, func(ctx context.Context) (err error) {
		res, err = v.client.NewGetOrderService().Symbol(symbol).OrigClientOrderID(clientID).Do(ctx)
		return err
	})
	if err != nil {
		return orderState{}, err
	}
	return stateFromOrder(res)
}

// myTrades reads every trade of an order, oldest first.
func (v *Venue) myTrades(ctx context.Context, symbol string, orderID int64) ([]fill, error) {
	const page = 1000
	var all []fill
	from := int64(-1)
	for {
		var res []*gobinance.TradeV3
		err := v.call(ctx, func(ctx context.Context) (err error) {
			svc := v.client.NewListTradesService().Symbol(symbol).OrderId(orderID).Limit(page)
			if from >= 0 {
				svc.FromID(from)
			}
			res, err = svc.Do(ctx)
			return err
		})
		if err != nil {
			return nil, err
		}
		fills, err := fillsFromTrades(symbol, res)
		if err != nil {
			return nil, err
		}
		all = append(all, fills...)
		if len(res) < page {
			return all, nil
		}
		from = fills[len(fills)-1].tradeID + 1
	}
}

// refresh reads the order at Binance and reports what was not reported yet. found is
// false when Binance does not know the order (-2013); an order whose submit had an
// unknown outcome is then reported expired.
func (v *Venue) refresh(ctx context.Context, t *tracked, source string) (found bool, err error) {
	st, err := v.queryOrder(ctx, t.tmpl.Symbol, t.tmpl.ClientOrderID)
	if err != nil {
		if code, _, ok := apiErrorOf(err); ok && code == codeNoSuchOrder {
			v.mu.Lock()
			if t.unsure {
				v.finish(t, streams.OrderExpired, reasonSubmitLost, time.Now().UnixMilli(), source)
			}
			v.mu.Unlock()
			return false, nil
		}
		return false, clean(err)
	}
	return true, v.settle(ctx, t, st, source)
}

// settle reports an order's state, with its trades read first when Binance has filled
// more than was reported (for Reconcile: when the fill differs from the log's). If the
// trades cannot be read, the state is reported without them and the error returned; the
// order stays on the catch-up list until its fills are reported.
func (v *Venue) settle(ctx context.Context, t *tracked, st orderState, source string) error {
	v.mu.Lock()
	need := st.executed.Cmp(t.cum) > 0 || (source == sourceReconcile && st.executed.Cmp(t.cum) != 0)
	v.mu.Unlock()
	var trades []fill
	var err error
	if need && st.orderID != 0 {
		trades, err = v.myTrades(ctx, t.tmpl.Symbol, st.orderID)
		err = clean(err)
	}
	v.mu.Lock()
	v.apply(t, st, trades, source)
	v.mu.Unlock()
	return err
}

// clean makes an error safe and short to show: a request's URL (with its signed query)
// is cut to its path. Keys are never in errors: the API key travels in a header (REST) or
// in the subscription request on the WebSocket API, never logged, and the secret only
// signs.
func clean(err error) error {
	if err == nil {
		return nil
	}
	var le *limitError
	if errors.As(err, &le) {
		return le
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		path := "request"
		if u, perr := url.Parse(ue.URL); perr == nil {
			path = u.Path
		}
		return fmt.Errorf("%s %s: %w", ue.Op, path, ue.Err)
	}
	return err
}

func quietLogger() *log.Logger { return log.New(io.Discard, "", 0) }
