package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strings"

	"github.com/synapse-trading/synapse/actors"
	"github.com/synapse-trading/synapse/portfolio"
	"github.com/synapse-trading/synapse/web"
)

// venues builds the venues the desk may use: the paper exchange always, Binance (live
// execution) when an agent asks for it.
func venues(ctx context.Context, cfg Config, logger *slog.Logger) map[string]func(portfolio.Report) (portfolio.Venue, error) {
	return map[string]func(portfolio.Report) (portfolio.Venue, error){
		"paper": func(report portfolio.Report) (portfolio.Venue, error) {
			return portfolio.NewPaper(portfolio.PaperOptions{}, report), nil
		},
		"live": func(report portfolio.Report) (portfolio.Venue, error) {
			return liveVenue(ctx, cfg, logger, report)
		},
	}
}

// checkAgentCommands makes the agents.* and orders.cancel_all commands refuse, with a 400
// naming the field, an agent the engine does not run (the desk would only log it).
func checkAgentCommands(gw *web.Gateway, agents []*actors.Agent) {
	known := func(name string) error {
		names := make([]string, len(agents))
		for i, a := range agents {
			if strings.EqualFold(a.Name, name) {
				return nil
			}
			names[i] = a.Name
		}
		return &web.FieldError{Field: "agent", Msg: fmt.Sprintf("no agent %q (this engine runs %s)", name, strings.Join(names, ", "))}
	}
	for _, name := range []string{"agents.start", "agents.stop", "agents.halt", "agents.resume"} {
		decode := web.Args[web.AgentArgs]()
		gw.HandleCommand(name, web.RoleTrader, func(body []byte) (any, error) {
			v, err := decode(body)
			if err != nil {
				return nil, err
			}
			return v, known(v.(*web.AgentArgs).Agent)
		})
	}
	decode := web.Args[web.CancelAllArgs]()
	gw.HandleCommand("orders.cancel_all", web.RoleTrader, func(body []byte) (any, error) {
		v, err := decode(body)
		if err != nil {
			return nil, err
		}
		if a := v.(*web.CancelAllArgs).Agent; a != nil {
			return v, known(*a)
		}
		return v, nil
	})
}

// handleDeskQueries serves the agents, orders and risk queries.
func handleDeskQueries(gw *web.Gateway, hub *web.Hub, desk *actors.Desk, agents []*actors.Agent) {
	gw.HandleQuery("agents", func(r *http.Request) (any, error) {
		if _, err := params(r); err != nil {
			return nil, err
		}
		out := make([]any, 0, len(agents))
		for _, a := range agents {
			if v, ok := hub.Get(actors.AgentTopic(a.Name)); ok {
				out = append(out, v)
			}
		}
		return out, nil
	})
	gw.HandleQuery("orders", func(r *http.Request) (any, error) {
		if _, err := params(r); err != nil { // the newest order events; order_list filters and pages
			return nil, fmt.Errorf("%w (order_list filters and pages the orders)", err)
		}
		if recent := desk.Recent(); recent != nil {
			return recent, nil
		}
		return []any{}, nil
	})
	gw.HandleQuery("risk", func(r *http.Request) (any, error) {
		if _, err := params(r); err != nil {
			return nil, err
		}
		v, ok := hub.Get("risk")
		if !ok {
			return nil, fmt.Errorf("the risk gate has not reported yet")
		}
		n, last := desk.Problems()
		return map[string]any{"gate": v, "problems": n, "last_problem": last}, nil
	})
}
