package binance

import (
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"
)

// Endpoints, used when Options.BaseURL or StreamURL is empty. The stream URLs are Binance's
// WebSocket API, where the venue subscribes to the user-data stream.
const (
	ProductionBaseURL   = "https://api.binance.com"
	ProductionStreamURL = "wss://ws-api.binance.com:443/ws-api/v3"
	TestnetBaseURL      = "https://testnet.binance.vision"
	TestnetStreamURL    = "wss://ws-api.testnet.binance.vision/ws-api/v3"
)

// The environment variables KeysFromEnv reads.
const (
	EnvAPIKey    = "SYNAPSE_BINANCE_API_KEY"
	EnvAPISecret = "SYNAPSE_BINANCE_API_SECRET" // the HMAC key's secret key
)

// Options configure a Venue. The zero value of every field but the keys means its default.
type Options struct {
	// BaseURL is the REST base. Empty: ProductionBaseURL, or TestnetBaseURL with Testnet.
	BaseURL string
	// StreamURL is Binance's WebSocket API endpoint (…/ws-api/v3): the venue connects to it
	// and subscribes to the user-data stream with userDataStream.subscribe.signature.
	// Empty: ProductionStreamURL, or TestnetStreamURL with Testnet. The listenKey stream
	// URLs (wss://stream.binance.com:9443/ws) are refused: Binance removed that flow on
	// 2026-02-20.
	StreamURL string
	// Testnet picks the spot testnet's URLs for the empty ones above.
	Testnet bool
	// APIKey and SecretKey authenticate every request (from KeysFromEnv): an HMAC API key
	// and its secret key, which signs the REST requests and the user-data subscription
	// (HMAC-SHA256). They are never logged and never appear in an error.
	APIKey, SecretKey string
	// WeightPerMinute is the request weight the venue allows itself per minute, counted
	// locally and from what Binance reports (X-MBX-USED-WEIGHT-1M, and the rateLimits of
	// WebSocket API answers). Default 1200, a safe share of Binance's 6000.
	WeightPerMinute int
	// MaxRetryWait is the longest a call waits out a 429's Retry-After before trying again;
	// a longer backoff makes the call fail with ErrRateLimited. Default 3 s.
	MaxRetryWait time.Duration
	// MinBackoff and MaxBackoff bound the delay before reconnecting the user-data stream
	// (doubling, with jitter). Defaults 250 ms and 30 s.
	MinBackoff, MaxBackoff time.Duration
	// PingInterval is how often the user-data connection is pinged; a ping unanswered
	// for PingInterval closes it and the venue reconnects. Default 1 min.
	PingInterval time.Duration
	// Retention is how long a closed order is remembered, so that a late or repeated
	// report of it is recognised. Default 10 min.
	Retention time.Duration
	// Logger receives reconnects, rate limits and anomalies. Nil: slog.Default().
	Logger *slog.Logger
	// HTTPClient carries REST calls and the WebSocket API handshake; its Transport is wrapped
	// by the request-weight budget. Nil: a client with a 10 s timeout.
	HTTPClient *http.Client

	clock func() time.Time // the budget's clock (tests); nil: time.Now
}

// KeysFromEnv reads the API key and secret from SYNAPSE_BINANCE_API_KEY and
// SYNAPSE_BINANCE_API_SECRET. The error (wrapping ErrKeys) names both variables.
func KeysFromEnv() (key, secret string, err error) {
	key, secret = strings.TrimSpace(os.Getenv(EnvAPIKey)), strings.TrimSpace(os.Getenv(EnvAPISecret))
	if key == "" || secret == "" {
		return "", "", fmt.Errorf("%w: set both %s and %s (the secret is never logged)", ErrKeys, EnvAPIKey, EnvAPISecret)
	}
	return key, secret, nil
}

// check fills in the defaults and returns an error wrapping ErrOptions or ErrKeys for the
// first unusable field.
func (o *Options) check() error {
	if o.APIKey == "" || o.SecretKey == "" {
		return fmt.Errorf("%w: Options.APIKey and SecretKey are required: set %s and %s and use KeysFromEnv", ErrKeys, EnvAPIKey, EnvAPISecret)
	}
	if o.BaseURL == "" {
		o.BaseURL = ProductionBaseURL
		if o.Testnet {
			o.BaseURL = TestnetBaseURL
		}
	}
	if o.StreamURL == "" {
		o.StreamURL = ProductionStreamURL
		if o.Testnet {
			o.StreamURL = TestnetStreamURL
		}
	}
	o.BaseURL, o.StreamURL = strings.TrimSuffix(o.BaseURL, "/"), strings.TrimSuffix(o.StreamURL, "/")
	if !strings.HasPrefix(o.BaseURL, "http://") && !strings.HasPrefix(o.BaseURL, "https://") {
		return fmt.Errorf("%w: BaseURL %q: use an http(s) URL, e.g. %s", ErrOptions, o.BaseURL, ProductionBaseURL)
	}
	u, err := url.Parse(o.StreamURL)
	if err != nil || (u.Scheme != "ws" && u.Scheme != "wss") || u.Host == "" {
		return fmt.Errorf("%w: StreamURL %q: use the WebSocket API's ws(s) URL, e.g. %s", ErrOptions, o.StreamURL, ProductionStreamURL)
	}
	if strings.HasSuffix(u.Path, "/ws") || strings.HasSuffix(u.Path, "/stream") {
		return fmt.Errorf("%w: StreamURL %q is a listenKey stream URL, which Binance removed on 2026-02-20: use the WebSocket API, e.g. %s (testnet %s)",
			ErrOptions, o.StreamURL, ProductionStreamURL, TestnetStreamURL)
	}
	defaults := []struct {
		d   *time.Duration
		def time.Duration
	}{
		{&o.MaxRetryWait, 3 * time.Second}, {&o.MinBackoff, 250 * time.Millisecond}, {&o.MaxBackoff, 30 * time.Second},
		{&o.PingInterval, time.Minute}, {&o.Retention, 10 * time.Minute},
	}
	for _, d := range defaults {
		if *d.d < 0 {
			return fmt.Errorf("%w: a negative duration (%v): leave it zero for the default", ErrOptions, *d.d)
		}
		if *d.d == 0 {
			*d.d = d.def
		}
	}
	if o.MaxBackoff < o.MinBackoff {
		return fmt.Errorf("%w: MaxBackoff %v is below MinBackoff %v", ErrOptions, o.MaxBackoff, o.MinBackoff)
	}
	if o.WeightPerMinute < 0 {
		return fmt.Errorf("%w: WeightPerMinute %d: leave it zero for 1200", ErrOptions, o.WeightPerMinute)
	}
	if o.WeightPerMinute == 0 {
		o.WeightPerMinute = 1200
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.HTTPClient == nil {
		o.HTTPClient = &http.Client{Timeout: 10 * time.Second}
	}
	return nil
}
