package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/govalues/decimal"

	"github.com/synapse-trading/synapse/portfolio"
	"github.com/synapse-trading/synapse/streams"
)

// PortfolioConfig is the allocation's part of the config file (portfolio:).
type PortfolioConfig struct {
	// Profile is the risk profile (conservative, moderate, aggressive) whose target weights
	// portfolio.rebalance and the allocation query use when they name none (default
	// moderate); RebalanceThreshold the drift they tolerate (default 0.05).
	Profile            string `yaml:"profile"`
	RebalanceThreshold string `yaml:"rebalance_threshold"`
	// RebalanceEvery and DistributeEvery, when set, send portfolio.rebalance and
	// portfolio.distribute (keeping DistributeKeep, default 0) on that period of wall-clock
	// time, at its multiples since the Unix epoch (24h: at midnight UTC); 0 sends them only
	// on command.
	RebalanceEvery  time.Duration `yaml:"rebalance_every"`
	DistributeEvery time.Duration `yaml:"distribute_every"`
	DistributeKeep  string        `yaml:"distribute_keep"`
}

// allocSettings is PortfolioConfig checked.
type allocSettings struct {
	profile   string
	threshold decimal.Decimal
	keep      decimal.Decimal
}

// check parses the allocation settings; a bad one is an error naming its key.
func (c PortfolioConfig) check() (allocSettings, error) {
	a := allocSettings{profile: portfolio.DefaultProfile, threshold: portfolio.DefaultThreshold}
	if c.Profile != "" {
		p, err := portfolio.FindProfile(portfolio.DefaultProfiles(), c.Profile)
		if err != nil {
			return a, fmt.Errorf("config portfolio.profile: %w", err)
		}
		a.profile = p.Name
	}
	var err error
	if c.RebalanceThreshold != "" {
		if a.threshold, err = streams.ParseDecimal(c.RebalanceThreshold); err != nil || !a.threshold.IsPos() || a.threshold.Cmp(decimal.One) >= 0 {
			return a, fmt.Errorf("config portfolio.rebalance_threshold: %q is not a drift between 0 and 1 (0.05: five points of weight)", c.RebalanceThreshold)
		}
	}
	if c.DistributeKeep != "" {
		if a.keep, err = streams.ParseDecimal(c.DistributeKeep); err != nil || a.keep.IsNeg() || a.keep.Cmp(decimal.One) > 0 {
			return a, fmt.Errorf("config portfolio.distribute_keep: %q is not a growth from 0 to 1 (0.05: each agent keeps 5%% above its high-water mark)", c.DistributeKeep)
		}
	}
	if c.RebalanceEvery < 0 || c.DistributeEvery < 0 {
		return a, fmt.Errorf("config portfolio: rebalance_every and distribute_every are periods such as 24h, or 0 for never")
	}
	return a, nil
}

// scheduleCommand submits the command name with args every period of wall-clock time, at the
// period's multiples since the Unix epoch, until ctx ends. Its ID names the period
// (<name>.schedule.<unix seconds>), so a restart within a period sends nothing new: the log
// deduplicates it. A failed submit is logged and the next period tried.
func scheduleCommand(ctx context.Context, submit func(context.Context, *streams.Command) (uint64, error), name string, args any,
	every time.Duration, logger *slog.Logger) {
	data, err := json.Marshal(args)
	if err != nil {
		logger.Error("scheduled command not started", "command", name, "err", err)
		return
	}
	for {
		next := time.Now().Truncate(every).Add(every)
		if streams.Sleep(ctx, time.Until(next)) != nil {
			return
		}
		cmd := &streams.Command{Name: name, CommandID: name + ".schedule." + strconv.FormatInt(next.Unix(), 10),
			Args: data, Time: next.UnixMilli(), Issuer: "schedule"}
		seq, err := submit(ctx, cmd)
		if err != nil {
			if ctx.Err() == nil {
				logger.Error("scheduled command not sent", "command", name, "id", cmd.CommandID, "err", err)
			}
			continue
		}
		logger.Info("scheduled command sent", "command", name, "id", cmd.CommandID, "seq", seq)
	}
}
