package main

import (
	"context"
	"log/slog"

	"github.com/synapse-trading/synapse/portfolio"
	orders "github.com/synapse-trading/synapse/portfolio/binance"
	"github.com/synapse-trading/synapse/streams"
	"github.com/synapse-trading/synapse/streams/binance"
)

// runLive streams Binance market data for the configured symbols onto the log until ctx ends.
func runLive(ctx context.Context, cfg Config, log *streams.Log, logger *slog.Logger) error {
	opts := binance.DefaultOptions()
	if cfg.Live.Venue != "" {
		opts.Venue = cfg.Live.Venue
	}
	opts.Symbols = cfg.Live.Symbols
	opts.RESTURL = cfg.Live.RESTURL
	opts.WebsocketURL = cfg.Live.WSURL
	opts.Logger = logger
	feed, err := binance.New(opts, func(ev streams.Event) {
		if err := log.Publish(ctx, ev); err != nil && ctx.Err() == nil {
			logger.Error("putting live market data on the log", "subject", ev.Subject(), "err", err)
		}
	})
	if err != nil {
		return err
	}
	logger.Info("live Binance feed starting", "venue", opts.Venue, "symbols", opts.Symbols)
	return feed.Run(ctx)
}

// liveVenue connects the Binance order adapter for agents with execution: live. Keys come
// from the environment only.
func liveVenue(ctx context.Context, cfg Config, logger *slog.Logger, report portfolio.Report) (portfolio.Venue, error) {
	key, secret, err := orders.KeysFromEnv()
	if err != nil {
		return nil, err
	}
	return orders.New(ctx, orders.Options{BaseURL: cfg.Orders.RESTURL, StreamURL: cfg.Orders.StreamURL, Testnet: cfg.Orders.Testnet,
		APIKey: key, SecretKey: secret, Logger: logger}, report)
}
