package binance

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
	"github.com/jpillora/backoff"

	"github.com/synapse-trading/synapse/streams"
)

// Handler receives the feed's events, one at a time, from the feed's goroutine, in the
// order of the exchange. It must not block for long (the socket waits meanwhile) and must
// not call Stop (cancel Run's context instead). To get a channel, send into one here.
type Handler func(streams.Event)

// Stats are the feed's counters since New.
type Stats struct {
	Connects         int64 // websocket connections opened
	Reconnects       int64 // reconnect attempts after a lost or failed connection
	Messages         int64 // websocket messages received
	Events           int64 // events delivered to the handler
	DecodeErrors     int64 // malformed messages, counted, logged and skipped
	Duplicates       int64 // klines, trades and diffs dropped because already delivered
	KlineGaps        int64 // closed klines that came more than one interval after the previous one
	BackfilledKlines int64 // klines delivered from REST backfills
	TradeGaps        int64 // jumps in trade ID (not backfilled)
	DepthGaps        int64 // breaks in depth U/u continuity (each answered by a snapshot)
	Snapshots        int64 // depth snapshots delivered
	RESTErrors       int64 // failed REST calls, each attempt counted
}

// Feed is a live Binance market-data feed. Create it with New, run it with Run, end it by
// cancelling Run's context or with Stop.
type Feed struct {
	opts     Options
	emit     Handler
	log      *slog.Logger
	http     *http.Client // REST and websocket handshakes; its idle connections close with the feed
	rest     restClient
	url      string // the combined-stream URL
	interval int64  // kline interval in ms

	// counters, readable while the feed runs (see Stats).
	connects, reconnects, messages, events, decodeErrors, duplicates   atomic.Int64
	klineGaps, backfilled, tradeGaps, depthGaps, snapshots, restErrors atomic.Int64

	// symbols holds the per-symbol continuity state; only Run's goroutine touches it.
	symbols map[string]*symbolState

	mu      sync.Mutex
	started bool
	stopped bool
	cancel  context.CancelFunc // cancels the running Run
	done    chan struct{}      // closed when Run returns
}

// New checks the options and returns a feed that delivers its events to emit.
// Errors wrap ErrOptions.
func New(opts Options, emit Handler) (*Feed, error) {
	opts.Symbols = slices.Clone(opts.Symbols) // the caller's slice may change later
	if err := opts.check(); err != nil {
		return nil, err
	}
	if emit == nil {
		return nil, fmt.Errorf("%w: the handler is nil: pass a function that receives the events", ErrOptions)
	}
	httpClient := &http.Client{
		Timeout:   opts.RESTTimeout,
		Transport: http.DefaultTransport.(*http.Transport).Clone(),
	}
	length, _ := intervalLength(opts.Interval)
	return &Feed{
		opts:     opts,
		emit:     emit,
		log:      opts.Logger.With("venue", opts.Venue),
		http:     httpClient,
		rest:     newREST(&opts, httpClient),
		url:      strings.TrimSuffix(opts.WebsocketURL, "/") + "/stream?streams=" + strings.Join(opts.streamNames(), "/"),
		interval: length.Milliseconds(),
		symbols:  make(map[string]*symbolState),
		done:     make(chan struct{}),
	}, nil
}

// Run connects and delivers events until ctx is cancelled or Stop is called, reconnecting
// whenever the connection fails. It returns nil once stopped, or ErrRunning if the feed
// already ran.
func (f *Feed) Run(ctx context.Context) error {
	f.mu.Lock()
	if f.started || f.stopped {
		f.mu.Unlock()
		return ErrRunning
	}
	f.started = true
	ctx, cancel := context.WithCancel(ctx)
	f.cancel = cancel
	f.mu.Unlock()

	defer close(f.done)
	defer f.http.CloseIdleConnections()
	defer cancel()

	delays := &backoff.Backoff{Min: f.opts.MinBackoff, Max: f.opts.MaxBackoff, Factor: 2, Jitter: true}
	for {
		began := time.Now()
		err := f.connection(ctx)
		if ctx.Err() != nil {
			return nil
		}
		if time.Since(began) >= f.opts.ResetBackoffAfter {
			delays.Reset()
		}
		delay := delays.Duration()
		f.reconnects.Add(1)
		f.log.Warn("binance feed: connection lost, reconnecting",
			"err", err, "attempt", int(delays.Attempt()), "delay", delay.Round(time.Millisecond))
		if streams.Sleep(ctx, delay) != nil {
			return nil
		}
	}
}

// Stop ends Run and waits for it to return: the connection and every goroutine of the feed
// are gone when Stop returns. A feed that was never run will not run. Stop is safe to call
// more than once, but not from the handler.
func (f *Feed) Stop() {
	f.mu.Lock()
	f.stopped = true
	started, cancel := f.started, f.cancel
	f.mu.Unlock()
	if started {
		cancel()
		<-f.done
	}
}

// Stats returns the counters so far; safe to call while the feed runs.
func (f *Feed) Stats() Stats {
	return Stats{
		Connects:         f.connects.Load(),
		Reconnects:       f.reconnects.Load(),
		Messages:         f.messages.Load(),
		Events:           f.events.Load(),
		DecodeErrors:     f.decodeErrors.Load(),
		Duplicates:       f.duplicates.Load(),
		KlineGaps:        f.klineGaps.Load(),
		BackfilledKlines: f.backfilled.Load(),
		TradeGaps:        f.tradeGaps.Load(),
		DepthGaps:        f.depthGaps.Load(),
		Snapshots:        f.snapshots.Load(),
		RESTErrors:       f.restErrors.Load(),
	}
}

// connection opens one websocket connection and handles its messages until it fails, goes
// silent for ReadTimeout or ctx is cancelled. The error says why it ended.
func (f *Feed) connection(ctx context.Context) error {
	dialCtx, cancelDial := context.WithTimeout(ctx, f.opts.ReadTimeout)
	conn, _, err := websocket.Dial(dialCtx, f.url, &websocket.DialOptions{HTTPClient: f.http})
	cancelDial()
	if err != nil {
		return fmt.Errorf("%w: dialling %s: %v", ErrConnection, f.opts.WebsocketURL, err)
	}
	defer conn.CloseNow()
	conn.SetReadLimit(f.opts.ReadLimit)
	f.connects.Add(1)
	f.log.Info("binance feed: connected", "url", f.opts.WebsocketURL, "symbols", len(f.opts.Symbols))

	// The watchdog closes a connection that stays silent for ReadTimeout. It only runs
	// while waiting for a message, so a long REST backfill does not trip it.
	var silent atomic.Bool
	watchdog := time.AfterFunc(f.opts.ReadTimeout, func() {
		silent.Store(true)
		conn.CloseNow()
	})
	defer watchdog.Stop()

	for {
		typ, msg, err := conn.Read(ctx)
		if !watchdog.Stop() && silent.Load() {
			return fmt.Errorf("%w: no message for %v", ErrConnection, f.opts.ReadTimeout)
		}
		if err != nil {
			return fmt.Errorf("%w: reading: %v", ErrConnection, err)
		}
		f.messages.Add(1)
		if typ != websocket.MessageText {
			f.malformed("", fmt.Errorf("%w: a binary message", ErrMalformedFrame), msg)
		} else {
			f.handle(ctx, msg)
		}
		watchdog.Reset(f.opts.ReadTimeout)
	}
}

// handle decodes one message and passes its event through the continuity checks.
func (f *Feed) handle(ctx context.Context, msg []byte) {
	stream, ev, err := decodeFrame(f.opts.Venue, msg, time.Now().UnixMilli())
	if err != nil {
		f.malformed(stream, err, msg)
		return
	}
	switch e := ev.(type) {
	case nil:
		// an in-progress kline: nothing to publish
	case *streams.Kline:
		f.onKline(ctx, e)
	case *streams.Trade:
		f.onTrade(e)
	case *streams.Depth:
		f.onDepth(ctx, e)
	default:
		f.deliver(ev)
	}
}

func (f *Feed) malformed(stream string, err error, msg []byte) {
	f.decodeErrors.Add(1)
	if stream == "" {
		stream = "unknown"
	}
	const show = 200
	if len(msg) > show {
		msg = msg[:show]
	}
	f.log.Warn("binance feed: malformed frame skipped", "stream", stream, "err", err, "frame", string(msg))
}

func (f *Feed) deliver(ev streams.Event) {
	f.events.Add(1)
	f.emit(ev)
}
