package binance

import (
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"
)

// The venues the feed speaks, as they appear in events and subjects.
const (
	VenueSpot    = "binance"    // Binance spot
	VenueFutures = "binance-um" // Binance USDⓈ-M futures
)

// Production endpoints, used when Options.WebsocketURL or RESTURL is empty.
const (
	SpotWebsocketURL    = "wss://stream.binance.com:9443"
	SpotRESTURL         = "https://api.binance.com"
	FuturesWebsocketURL = "wss://fstream.binance.com"
	FuturesRESTURL      = "https://fapi.binance.com"
)

// maxStreams is the most streams Binance allows on one connection.
const maxStreams = 1024

// Options configure a Feed. Start from DefaultOptions and change what you need.
type Options struct {
	// Venue is VenueSpot or VenueFutures.
	Venue string
	// Symbols to subscribe to, e.g. "BTCUSDT" (case does not matter; events carry upper case).
	Symbols []string
	// Interval of the klines, in Binance's notation: 1s (spot only), 1m, 3m, 5m, 15m, 30m,
	// 1h, 2h, 4h, 6h, 8h, 12h, 1d, 3d or 1w.
	Interval string

	// Which streams to subscribe to.
	Klines     bool
	Trades     bool
	AggTrades  bool // with Trades: subscribe to <symbol>@aggTrade instead of <symbol>@trade
	Depth      bool // diff depth every 100 ms, plus REST snapshots
	BookTicker bool

	// SnapshotLimit is the number of levels a side asked of the REST depth snapshot
	// (spot: 1 to 5000; futures: 5, 10, 20, 50, 100, 500 or 1000).
	SnapshotLimit int

	// WebsocketURL is the websocket base: the feed connects to
	// WebsocketURL+"/stream?streams=...". Empty: the venue's production URL.
	WebsocketURL string
	// RESTURL is the REST base (go-binance's Client.BaseURL). Empty: the venue's production URL.
	RESTURL string

	// MinBackoff and MaxBackoff bound the delay before a reconnect; it doubles from
	// MinBackoff on each failed attempt, with jitter, up to MaxBackoff.
	MinBackoff time.Duration
	MaxBackoff time.Duration
	// ResetBackoffAfter: a connection that stayed up this long resets the delay to MinBackoff.
	ResetBackoffAfter time.Duration
	// ReadTimeout: a connection with no message for this long is considered dead and
	// replaced (it also bounds the websocket handshake). Binance sends kline updates every
	// 1 to 2 s, so a minute of silence is a fault.
	ReadTimeout time.Duration
	// ReadLimit is the largest websocket message accepted, in bytes.
	ReadLimit int64

	// RESTTimeout bounds each REST call; RESTAttempts is how many times a failed klines
	// backfill is tried (depth snapshots are retried on the next diff, at most once per
	// SnapshotRetry).
	RESTTimeout   time.Duration
	RESTAttempts  int
	SnapshotRetry time.Duration

	// Logger receives reconnects, gaps and malformed frames. Nil: slog.Default().
	Logger *slog.Logger
}

// DefaultOptions are spot BTCUSDT, 1m klines, trades, depth and bookTicker, with
// production URLs and reconnect delays from 250 ms to 30 s.
func DefaultOptions() Options {
	return Options{
		Venue:             VenueSpot,
		Symbols:           []string{"BTCUSDT"},
		Interval:          "1m",
		Klines:            true,
		Trades:            true,
		Depth:             true,
		BookTicker:        true,
		SnapshotLimit:     1000,
		MinBackoff:        250 * time.Millisecond,
		MaxBackoff:        30 * time.Second,
		ResetBackoffAfter: time.Minute,
		ReadTimeout:       time.Minute,
		ReadLimit:         1 << 20,
		RESTTimeout:       10 * time.Second,
		RESTAttempts:      3,
		SnapshotRetry:     time.Second,
	}
}

// intervalLength is the length of one of Binance's kline intervals ("1M" varies, so it is
// not accepted).
func intervalLength(interval string) (time.Duration, bool) {
	const day = 24 * time.Hour
	switch interval {
	case "1s":
		return time.Second, true
	case "1m", "3m", "5m", "15m", "30m":
		n, _ := strconv.Atoi(strings.TrimSuffix(interval, "m"))
		return time.Duration(n) * time.Minute, true
	case "1h", "2h", "4h", "6h", "8h", "12h":
		n, _ := strconv.Atoi(strings.TrimSuffix(interval, "h"))
		return time.Duration(n) * time.Hour, true
	case "1d":
		return day, true
	case "3d":
		return 3 * day, true
	case "1w":
		return 7 * day, true
	}
	return 0, false
}

// check fills the venue's default URLs and returns an error wrapping ErrOptions naming the
// first unusable field.
func (o *Options) check() error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: "+format, append([]any{ErrOptions}, args...)...)
	}
	switch o.Venue {
	case VenueSpot:
		o.WebsocketURL = orDefault(o.WebsocketURL, SpotWebsocketURL)
		o.RESTURL = orDefault(o.RESTURL, SpotRESTURL)
	case VenueFutures:
		o.WebsocketURL = orDefault(o.WebsocketURL, FuturesWebsocketURL)
		o.RESTURL = orDefault(o.RESTURL, FuturesRESTURL)
	default:
		return bad("Venue %q: use %q or %q", o.Venue, VenueSpot, VenueFutures)
	}
	if len(o.Symbols) == 0 {
		return bad("Symbols is empty: name at least one, e.g. BTCUSDT")
	}
	for _, s := range o.Symbols {
		if s == "" || strings.ContainsAny(s, "/@? ") {
			return bad("symbol %q: use Binance's symbol, e.g. BTCUSDT", s)
		}
	}
	if _, ok := intervalLength(o.Interval); o.Klines && !ok {
		return bad("Interval %q: use one of 1s, 1m, 3m, 5m, 15m, 30m, 1h, 2h, 4h, 6h, 8h, 12h, 1d, 3d, 1w", o.Interval)
	}
	if !o.Klines && !o.Trades && !o.Depth && !o.BookTicker {
		return bad("no stream chosen: set Klines, Trades, Depth or BookTicker")
	}
	if n := len(o.streamNames()); n > maxStreams {
		return bad("%d streams: one connection carries at most %d; use fewer symbols or streams per feed", n, maxStreams)
	}
	if o.Depth && o.SnapshotLimit <= 0 {
		return bad("SnapshotLimit %d: use a positive number of levels, e.g. 1000", o.SnapshotLimit)
	}
	if o.MinBackoff <= 0 || o.MaxBackoff < o.MinBackoff {
		return bad("MinBackoff %v, MaxBackoff %v: need 0 < MinBackoff <= MaxBackoff", o.MinBackoff, o.MaxBackoff)
	}
	if o.ReadTimeout <= 0 || o.RESTTimeout <= 0 || o.ResetBackoffAfter <= 0 || o.SnapshotRetry < 0 {
		return bad("ReadTimeout, RESTTimeout and ResetBackoffAfter must be positive, SnapshotRetry not negative")
	}
	if o.RESTAttempts <= 0 {
		return bad("RESTAttempts %d: need at least 1", o.RESTAttempts)
	}
	if o.ReadLimit <= 0 {
		return bad("ReadLimit %d: need a positive number of bytes, e.g. 1 MiB", o.ReadLimit)
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return nil
}

// streamNames lists the combined-stream names to subscribe to, e.g. "btcusdt@kline_1m".
func (o *Options) streamNames() []string {
	var names []string
	for _, s := range o.Symbols {
		s = strings.ToLower(s)
		if o.Klines {
			names = append(names, s+"@kline_"+o.Interval)
		}
		if o.Trades && o.AggTrades {
			names = append(names, s+"@aggTrade")
		} else if o.Trades {
			names = append(names, s+"@trade")
		}
		if o.Depth {
			names = append(names, s+"@depth@100ms")
		}
		if o.BookTicker {
			names = append(names, s+"@bookTicker")
		}
	}
	return names
}

func orDefault(v, def string) string {
	if v == "" {
		return def
	}
	return v
}
