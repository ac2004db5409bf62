package binance

import (
	"context"
	"io"
	"log"
	"net/http"
	"time"

	gobinance "github.com/adshao/go-binance/v2"
	"github.com/adshao/go-binance/v2/futures"
	"github.com/synapse-trading/synapse/streams"
)

// restClient is the feed's view of Binance REST: klines for backfills and depth snapshots.
// It has one implementation per venue, both on go-binance clients with their own BaseURL
// and http.Client (nothing global is touched).
type restClient interface {
	// klines returns up to limit klines whose open time is in [start, end], oldest first.
	klines(ctx context.Context, symbol, interval string, start, end int64, limit int) ([]*streams.Kline, error)
	// depth returns an order-book snapshot of limit levels a side.
	depth(ctx context.Context, symbol string, limit int) (*streams.Snapshot, error)
}

// newREST returns the REST client of the options' venue. httpClient carries the timeout
// and is closed by the feed when it stops.
func newREST(opts *Options, httpClient *http.Client) restClient {
	quiet := log.New(io.Discard, "", 0) // go-binance logs only in Debug mode; errors reach us as values
	if opts.Venue == VenueFutures {
		c := futures.NewClient("", "")
		c.BaseURL, c.HTTPClient, c.Logger = opts.RESTURL, httpClient, quiet
		return &futuresREST{venue: opts.Venue, c: c}
	}
	c := gobinance.NewClient("", "")
	c.BaseURL, c.HTTPClient, c.Logger = opts.RESTURL, httpClient, quiet
	return &spotREST{venue: opts.Venue, c: c}
}

type spotREST struct {
	venue string
	c     *gobinance.Client
}

func (r *spotREST) klines(ctx context.Context, symbol, interval string, start, end int64, limit int) ([]*streams.Kline, error) {
	rows, err := r.c.NewKlinesService().Symbol(symbol).Interval(interval).
		StartTime(start).EndTime(end).Limit(limit).Do(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]*streams.Kline, len(rows))
	for i, row := range rows {
		if out[i], err = klineFromSpotREST(r.venue, symbol, interval, row); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func (r *spotREST) depth(ctx context.Context, symbol string, limit int) (*streams.Snapshot, error) {
	res, err := r.c.NewDepthService().Symbol(symbol).Limit(limit).Do(ctx)
	if err != nil {
		return nil, err
	}
	return snapshotFromSpotREST(r.venue, symbol, res, time.Now().UnixMilli())
}

type futuresREST struct {
	venue string
	c     *futures.Client
}

func (r *futuresREST) klines(ctx context.Context, symbol, interval string, start, end int64, limit int) ([]*streams.Kline, error) {
	rows, err := r.c.NewKlinesService().Symbol(symbol).Interval(interval).
		StartTime(start).EndTime(end).Limit(limit).Do(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]*streams.Kline, len(rows))
	for i, row := range rows {
		if out[i], err = klineFromFuturesREST(r.venue, symbol, interval, row); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func (r *futuresREST) depth(ctx context.Context, symbol string, limit int) (*streams.Snapshot, error) {
	res, err := r.c.NewDepthService().Symbol(symbol).Limit(limit).Do(ctx)
	if err != nil {
		return nil, err
	}
	return snapshotFromFuturesREST(r.venue, symbol, res)
}
