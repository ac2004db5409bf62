package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/govalues/decimal"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/synapse-trading/synapse/actors"
	"github.com/synapse-trading/synapse/portfolio"
	"github.com/synapse-trading/synapse/streams"
	"github.com/synapse-trading/synapse/web"
)

// PortfolioQueryOptions configure the portfolio queries.
type PortfolioQueryOptions struct {
	// Profiles are the risk profiles the allocation query knows. Default
	// portfolio.DefaultProfiles().
	Profiles []portfolio.Profile
	// Profile is the one used when the query (or portfolio.rebalance) names none. Default
	// portfolio.DefaultProfile, as the desk's.
	Profile string
	// Threshold is the drift tolerated when the query gives none. Default
	// portfolio.DefaultThreshold, as the desk's.
	Threshold decimal.Decimal
	// Agents are the agents the engine runs: an agent parameter naming another is a 400,
	// and one named in another case reads as the agent's own name. Empty: not checked.
	Agents []string
}

// agent reads the agent parameter: "" when absent, else the name of an agent the engine runs.
func (o *PortfolioQueryOptions) agent(p query) (string, error) {
	name := p.Get("agent")
	if name == "" || len(o.Agents) == 0 {
		return name, nil
	}
	for _, a := range o.Agents {
		if strings.EqualFold(a, name) {
			return a, nil
		}
	}
	return "", badParam("agent", fmt.Sprintf("%q is not an agent of this engine (%s)", name, strings.Join(o.Agents, ", ")))
}

func (o *PortfolioQueryOptions) defaults() {
	portfolio.AllocationDefaults(&o.Profiles, &o.Profile, &o.Threshold)
}

// agentRange reads the agent, since and until parameters (the equity and capital_moves
// queries); a bad one is a portfolio.ErrQuery naming it.
func agentRange(r *http.Request, opts *PortfolioQueryOptions) (agent string, since, until int64, err error) {
	p, err := params(r, "agent", "since", "until")
	if err != nil {
		return "", 0, 0, err
	}
	agent, aerr := opts.agent(p)
	err = errors.Join(aerr, p.int64("since", &since), p.int64("until", &until))
	return agent, since, until, err
}

// followReadModel builds the in-memory read model and folds the log into it until ctx ends;
// a failure to read the log is logged (the model then stops where it was).
func followReadModel(ctx context.Context, js jetstream.JetStream, logger *slog.Logger) *portfolio.Memory {
	m := portfolio.NewMemory()
	go func() {
		if err := m.Follow(ctx, js); err != nil {
			logger.Error("the read model stopped following the log", "err", err)
		}
	}()
	return m
}

// handlePortfolioQueries serves the read model's queries (GET /api/v1/queries/<name>):
//
//	positions   ?agent=                                     positions, by agent, venue, symbol
//	order_list  ?agent&venue&symbol&status&since&until&limit&offset   a page of orders, newest first
//	fills       ?agent&venue&symbol&since&until&limit&offset          a page of fills, newest first
//	equity      ?agent&since&until                          equity snapshots, oldest first
//	allocation  ?profile=conservative|moderate|aggressive&threshold=0.05   targets, weights, drift, suggested moves
//	capital_moves ?agent&since&until                        capital moves (rebalances, distributions), in log order
//	montecarlo  ?agent&paths&horizon&goal&seed              a projection of the agent's equity
//	summary                                                 every agent's summary, their total and the streams folded in
//
// Times are epoch ms; since and until select [since, until). A bad or unknown parameter is
// an error wrapping portfolio.ErrQuery that names it (the gateway answers 400); any other
// failure (the database) is a 500.
func handlePortfolioQueries(gw *web.Gateway, rm portfolio.ReadModel, opts PortfolioQueryOptions) {
	opts.defaults()
	reg := queryErrors{gw}
	reg.HandleQuery("positions", func(r *http.Request) (any, error) {
		p, err := params(r, "agent")
		if err != nil {
			return nil, err
		}
		agent, err := opts.agent(p)
		if err != nil {
			return nil, err
		}
		return positions(r.Context(), rm, agent)
	})
	reg.HandleQuery("order_list", func(r *http.Request) (any, error) {
		p, err := params(r, "agent", "venue", "symbol", "status", "since", "until", "limit", "offset")
		if err != nil {
			return nil, err
		}
		q := portfolio.OrderQuery{Venue: p.Get("venue"), Symbol: p.Get("symbol"), Status: portfolio.Status(p.Get("status"))}
		var aerr error
		q.Agent, aerr = opts.agent(p)
		if err := errors.Join(aerr, p.int64("since", &q.Since), p.int64("until", &q.Until), p.limit(&q.Limit), p.int("offset", &q.Offset)); err != nil {
			return nil, err
		}
		return rm.Orders(r.Context(), q)
	})
	reg.HandleQuery("fills", func(r *http.Request) (any, error) {
		p, err := params(r, "agent", "venue", "symbol", "since", "until", "limit", "offset")
		if err != nil {
			return nil, err
		}
		q := portfolio.FillQuery{Venue: p.Get("venue"), Symbol: p.Get("symbol")}
		var aerr error
		q.Agent, aerr = opts.agent(p)
		if err := errors.Join(aerr, p.int64("since", &q.Since), p.int64("until", &q.Until), p.limit(&q.Limit), p.int("offset", &q.Offset)); err != nil {
			return nil, err
		}
		return rm.Fills(r.Context(), q)
	})
	reg.HandleQuery("equity", func(r *http.Request) (any, error) {
		agent, since, until, err := agentRange(r, &opts)
		if err != nil {
			return nil, err
		}
		return rm.Equity(r.Context(), agent, since, until)
	})
	reg.HandleQuery("allocation", func(r *http.Request) (any, error) {
		p, err := params(r, "profile", "threshold")
		if err != nil {
			return nil, err
		}
		return allocation(r.Context(), rm, opts, p)
	})
	reg.HandleQuery("capital_moves", func(r *http.Request) (any, error) {
		agent, since, until, err := agentRange(r, &opts)
		if err != nil {
			return nil, err
		}
		return rm.CapitalMoves(r.Context(), agent, since, until)
	})
	// One projection runs at a time (up to 10⁸ steps, seconds of a core): more requests wait
	// their turn, or leave, rather than taking every core from the engine.
	simulating := make(chan struct{}, 1)
	reg.HandleQuery("montecarlo", func(r *http.Request) (any, error) {
		p, err := params(r, "agent", "paths", "horizon", "goal", "seed")
		if err != nil {
			return nil, err
		}
		select {
		case simulating <- struct{}{}:
			defer func() { <-simulating }()
		case <-r.Context().Done():
			return nil, r.Context().Err()
		}
		return monteCarlo(r.Context(), rm, p, &opts)
	})
	reg.HandleQuery("summary", func(r *http.Request) (any, error) {
		if _, err := params(r); err != nil {
			return nil, err
		}
		return portfolioSummary(r.Context(), rm)
	})
}

// PortfolioSummary is the summary query's answer and the "portfolio" topic: every agent's
// summary, their total, and how far the read model has folded each stream.
type PortfolioSummary struct {
	Agents  []portfolio.AgentSummary `json:"agents"`
	Total   portfolio.Total          `json:"total"`
	Applied map[string]uint64        `json:"applied"`
}

func portfolioSummary(ctx context.Context, rm portfolio.ReadModel) (PortfolioSummary, error) {
	// applied first: the read model folds on while the summary is read, so the counts beside
	// it hold at least what it says (read after them, it could run ahead of them).
	applied, err := rm.Applied(ctx)
	if err != nil {
		return PortfolioSummary{}, err
	}
	agents, err := rm.Agents(ctx)
	if err != nil {
		return PortfolioSummary{}, err
	}
	total, err := rm.Total(ctx)
	if err != nil {
		return PortfolioSummary{}, err
	}
	return PortfolioSummary{Agents: agents, Total: total, Applied: applied}, nil
}

// publishPortfolio sets the hub's "portfolio" topic to the summary each time it changed,
// looking every interval, until ctx ends: the Portfolio page's live figures, without asking.
// A read that fails (the database) is logged once until one succeeds again.
func publishPortfolio(ctx context.Context, hub *web.Hub, rm portfolio.ReadModel, interval time.Duration, logger *slog.Logger) {
	t := time.NewTicker(interval)
	defer t.Stop()
	var last []byte
	failing := false
	for {
		s, err := portfolioSummary(ctx, rm)
		switch {
		case err != nil && ctx.Err() == nil && !failing:
			failing = true
			logger.Warn("the portfolio topic: reading the summary", "err", err)
		case err == nil:
			failing = false
			if data, err := json.Marshal(s); err == nil && !bytes.Equal(data, last) {
				last = data
				_ = hub.Set("portfolio", json.RawMessage(data))
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// query is a request's parameters, each given at most once.
type query struct{ url.Values }

// params checks that r names no parameter but allowed (and "token", which the gateway reads)
// and none twice.
func params(r *http.Request, allowed ...string) (query, error) {
	v := r.URL.Query()
	for name, vals := range v {
		if name == "token" {
			continue
		}
		if !slices.Contains(allowed, name) {
			if len(allowed) == 0 {
				return query{}, badParam(name, "this query takes no parameters")
			}
			return query{}, badParam(name, "unknown parameter (this query takes "+strings.Join(allowed, ", ")+")")
		}
		if len(vals) > 1 {
			return query{}, badParam(name, "given more than once")
		}
	}
	return query{v}, nil
}

// badParam is a bad query parameter: a 400 naming it (its "field").
func badParam(name, msg string) error { return portfolio.BadParam(name, msg) }

// limit reads the page size: 1 to 1000 when given (0 is refused, not read as the default
// of 100 that leaving it out gives).
func (q query) limit(v *int) error {
	if err := q.int("limit", v); err != nil {
		return err
	}
	if q.Get("limit") != "" && *v == 0 {
		return badParam("limit", "must be 1 to 1000 (leave it out for 100)")
	}
	return nil
}

// int64 reads an integer parameter into v, which keeps its value when the parameter is absent.
func (q query) int64(name string, v *int64) error {
	s := q.Get(name)
	if s == "" {
		return nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return badParam(name, fmt.Sprintf("%q is not an integer", s))
	}
	*v = n
	return nil
}

func (q query) int(name string, v *int) error {
	n := int64(*v)
	if err := q.int64(name, &n); err != nil {
		return err
	}
	if n < math.MinInt32 || n > math.MaxInt32 {
		return badParam(name, fmt.Sprintf("%d is out of range", n))
	}
	*v = int(n)
	return nil
}

// positionView is a position with its agent and its derived amounts.
type positionView struct {
	Agent string `json:"agent"`
	portfolio.Position
	AvgCost    decimal.Decimal `json:"avg_cost"`
	Value      decimal.Decimal `json:"value"`
	Unrealized decimal.Decimal `json:"unrealized"`
}

// positions lists the positions of agent, or of every agent by name: portfolio.Position does
// not carry its agent, so every agent is asked in turn.
func positions(ctx context.Context, rm portfolio.ReadModel, agent string) ([]positionView, error) {
	names := []string{agent}
	if agent == "" {
		agents, err := rm.Agents(ctx)
		if err != nil {
			return nil, err
		}
		names = names[:0]
		for _, a := range agents {
			names = append(names, a.Agent)
		}
	}
	out := []positionView{}
	for _, name := range names {
		ps, err := rm.Positions(ctx, name)
		if err != nil {
			return nil, err
		}
		for _, p := range ps {
			out = append(out, positionView{Agent: name, Position: p, AvgCost: p.AvgCost(), Value: p.Value(), Unrealized: p.Unrealized()})
		}
	}
	return out, nil
}

// allocationView answers the allocation query.
type allocationView struct {
	portfolio.Allocation
	Profiles []string `json:"profiles"` // the profiles one may ask for
	// Moves are the capital moves a rebalance would make now (none within the threshold).
	Moves []streams.CapitalMove `json:"moves"`
	// AsOf is the time of the newest equity snapshot weighed (0: none yet).
	AsOf int64 `json:"as_of"`
}

func allocation(ctx context.Context, rm portfolio.ReadModel, opts PortfolioQueryOptions, p query) (allocationView, error) {
	name := p.Get("profile")
	if name == "" {
		name = opts.Profile
	}
	profile, err := portfolio.FindProfile(opts.Profiles, name)
	if err != nil {
		return allocationView{}, badParam("profile", err.Error())
	}
	threshold := opts.Threshold
	if s := p.Get("threshold"); s != "" {
		if threshold, err = streams.ParseDecimal(s); err != nil || threshold.IsNeg() || threshold.Cmp(decimal.One) > 0 {
			return allocationView{}, badParam("threshold", fmt.Sprintf("%q is not a fraction between 0 and 1 of at most 19 significant digits (0.05: five points of weight)", s))
		}
	}
	agents, err := rm.Agents(ctx)
	if err != nil {
		return allocationView{}, err
	}
	v := allocationView{Moves: []streams.CapitalMove{}}
	for _, pr := range opts.Profiles {
		v.Profiles = append(v.Profiles, pr.Name)
	}
	inProfile := map[string]bool{}
	for _, t := range profile.Targets {
		inProfile[t.Agent] = true
	}
	for _, a := range agents {
		if inProfile[a.Agent] {
			v.AsOf = max(v.AsOf, a.Latest.Time)
		}
	}
	holdings := portfolio.Holdings(agents)
	var total decimal.Decimal
	for _, h := range holdings {
		if inProfile[h.Agent] {
			total, _ = total.Add(h.Equity)
		}
	}
	if !total.IsPos() { // no equity snapshot yet: the targets alone
		v.Allocation = portfolio.Allocation{Profile: profile.Name, Threshold: threshold, Weights: []portfolio.Weight{}}
		for _, t := range profile.Targets {
			v.Weights = append(v.Weights, portfolio.Weight{Agent: t.Agent, Target: t.Weight, Drift: t.Weight.Neg()})
		}
		return v, nil
	}
	if v.Allocation, err = portfolio.Drift(profile, holdings, threshold); err != nil {
		return allocationView{}, err
	}
	if moves := portfolio.Rebalance(v.Allocation, "preview."+profile.Name+"."+strconv.FormatInt(v.AsOf, 10), v.AsOf); moves != nil {
		v.Moves = moves
	}
	return v, nil
}

func monteCarlo(ctx context.Context, rm portfolio.ReadModel, p query, o *PortfolioQueryOptions) (portfolio.Projection, error) {
	agent, err := o.agent(p)
	if err != nil {
		return portfolio.Projection{}, err
	}
	if agent == "" {
		return portfolio.Projection{}, badParam("agent", "required: whose equity to project")
	}
	opts := portfolio.MonteCarloOptions{Paths: 1000, Horizon: 720, Seed: 1}
	if err := errors.Join(p.int("paths", &opts.Paths), p.int("horizon", &opts.Horizon)); err != nil {
		return portfolio.Projection{}, err
	}
	switch {
	case opts.Paths < 1 || opts.Paths > portfolio.MaxPaths:
		return portfolio.Projection{}, badParam("paths", fmt.Sprintf("%d is not between 1 and %d", opts.Paths, portfolio.MaxPaths))
	case opts.Horizon < 1 || opts.Horizon > portfolio.MaxHorizon:
		return portfolio.Projection{}, badParam("horizon", fmt.Sprintf("%d is not between 1 and %d (steps of an hour)", opts.Horizon, portfolio.MaxHorizon))
	}
	if s := p.Get("goal"); s != "" {
		d, err := streams.ParseDecimal(s)
		if err != nil || d.IsNeg() {
			return portfolio.Projection{}, badParam("goal", fmt.Sprintf("%q is not an equity ≥ 0", s))
		}
		opts.Goal, _ = d.Float64()
	}
	if s := p.Get("seed"); s != "" {
		seed, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			return portfolio.Projection{}, badParam("seed", fmt.Sprintf("%q is not an unsigned integer", s))
		}
		opts.Seed = seed
	}
	snaps, err := rm.Equity(ctx, agent, 0, 0)
	if err != nil {
		return portfolio.Projection{}, err
	}
	returns := portfolio.Returns(snaps)
	if len(returns) == 0 {
		return portfolio.Projection{}, badParam("agent", fmt.Sprintf("%s has %d equity snapshot(s): a projection needs two or more (one an hour)", agent, len(snaps)))
	}
	opts.Start, _ = snaps[len(snaps)-1].Equity.Float64()
	return portfolio.MonteCarlo(ctx, returns, opts)
}

// checkPortfolioCommands makes portfolio.rebalance refuse, with a 400 naming the field, a
// profile the engine does not know or one that shares capital with an agent it does not run
// (the desk would only log it), and writes the profile and threshold it will use into the
// command, so that a replay of the log moves the same capital whatever the configuration
// then. portfolio.distribute keeps the gateway's check (keep: a decimal from 0 to 1).
func checkPortfolioCommands(gw *web.Gateway, agents []*actors.Agent, opts PortfolioQueryOptions) {
	opts.defaults()
	decode := web.Args[web.RebalanceArgs]()
	gw.HandleCommand("portfolio.rebalance", web.RoleTrader, func(body []byte) (any, error) {
		v, err := decode(body)
		if err != nil {
			return nil, err
		}
		args := v.(*web.RebalanceArgs)
		name := opts.Profile
		if args.Profile != nil {
			name = *args.Profile
		}
		profile, err := portfolio.FindProfile(opts.Profiles, name)
		if err != nil {
			return nil, &web.FieldError{Field: "profile", Msg: strings.TrimPrefix(err.Error(), portfolio.ErrAllocation.Error()+": ")}
		}
		for _, t := range profile.Targets {
			if !slices.ContainsFunc(agents, func(a *actors.Agent) bool { return strings.EqualFold(a.Name, t.Agent) }) {
				return nil, &web.FieldError{Field: "profile", Msg: fmt.Sprintf("%s shares capital with %s, which this engine does not run", profile.Name, t.Agent)}
			}
		}
		args.Profile = &profile.Name
		if args.Threshold == nil {
			threshold := opts.Threshold.String()
			args.Threshold = &threshold
		}
		return args, nil
	})
}

// queryErrors registers queries whose errors are the read model's own (not a bad
// parameter, which wraps portfolio.ErrQuery) as web.ErrQueryFailed: the gateway answers 500.
type queryErrors struct{ gw *web.Gateway }

func (q queryErrors) HandleQuery(name string, f web.Query) {
	q.gw.HandleQuery(name, func(r *http.Request) (any, error) {
		v, err := f(r)
		if err != nil && !errors.Is(err, portfolio.ErrQuery) {
			err = fmt.Errorf("%w: %w", web.ErrQueryFailed, err)
		}
		return v, err
	})
}
