package actors

import (
	"context"
	"time"

	"github.com/anthdm/hollywood/actor"
	"github.com/govalues/decimal"

	"github.com/synapse-trading/synapse/portfolio"
	"github.com/synapse-trading/synapse/streams"
)

// The messages of a venue actor.
type (
	// venueSubmit sends an order that passed the risk gate (status submitted).
	venueSubmit struct{ Order *portfolio.Order }
	// venueCancel asks the venue to cancel an open order.
	venueCancel struct {
		Order  *portfolio.Order
		Reason string
	}
	// venueReport is an order event the venue reported, from any goroutine.
	venueReport struct{ Event *streams.OrderEvent }
	// orderReport is an order event on the log, for the risk gate and the agents.
	orderReport struct{ Event *streams.OrderEvent }
	// venueCheckBalances compares the balances the venue reported at reconcile with the
	// last check on the log plus the fills since (Net, and those this actor recorded since
	// it started).
	venueCheckBalances struct {
		Venue    string
		Balances map[string]decimal.Decimal
		Last     *streams.BalanceCheck
		Net      map[string]decimal.Decimal
	}
)

// VenueView is what a venue actor shows (topic "venue/<name>").
type VenueView struct {
	Name      string `json:"name"`
	Submitted int64  `json:"submitted"`
	Reports   int64  `json:"reports"`
	Errors    int64  `json:"errors"`
	LastError string `json:"last_error,omitempty"`
}

// venueActor is the only caller of one portfolio.Venue. Everything the venue reports is put
// on the log first and then routed to the risk gate and the order's agent.
type venueActor struct {
	desk  *Desk
	venue portfolio.Venue
	view  VenueView
	shown time.Time
	net   map[string]decimal.Decimal // balance changes of the fills it recorded since it started
}

func newVenueActor(desk *Desk, v portfolio.Venue) actor.Producer {
	return func() actor.Receiver {
		return &venueActor{desk: desk, venue: v, view: VenueView{Name: v.Name()}, net: map[string]decimal.Decimal{}}
	}
}

func (a *venueActor) Receive(c *actor.Context) {
	switch msg := c.Message().(type) {
	case actor.Started:
		a.show(true)
		return
	case MarketTap:
		for _, ev := range msg.Events {
			a.venue.Market(ev.Event)
		}
		msg.Done()
		return
	case venueSubmit:
		a.view.Submitted++
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		err := a.venue.Submit(ctx, msg.Order)
		cancel()
		if err != nil {
			a.fail(msg.Order, err)
		}
	case venueCancel:
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		err := a.venue.Cancel(ctx, msg.Order)
		cancel()
		if err != nil {
			a.view.Errors++
			a.view.LastError = err.Error()
			a.desk.problem("venue "+a.venue.Name()+": cancel "+msg.Order.ClientOrderID, err)
		}
	case venueReconcile:
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Second)
		bal, err := a.venue.Reconcile(ctx, msg.Open)
		cancel()
		c.Respond(venueReconciled{Balances: bal, Err: err})
		return
	case venueReport:
		a.view.Reports++
		if err := a.desk.record(msg.Event); err != nil {
			a.desk.problem("venue "+a.venue.Name()+": recording a report", err)
		} else if msg.Event.Type == streams.OrderFill {
			streams.BalanceChanges(a.net, msg.Event)
		}
		a.desk.route(msg.Event)
	case venueCheckBalances:
		a.checkBalances(msg)
	default:
		return
	}
	a.show(false)
	a.desk.done(c.PID())
}

// fail rejects an order the venue could not be asked to take.
func (a *venueActor) fail(o *portfolio.Order, err error) {
	a.view.Errors++
	a.view.LastError = err.Error()
	ev := o.Event(streams.OrderRejected, o.Created)
	ev.Reason = "venue: " + err.Error()
	if rerr := a.desk.record(ev); rerr != nil {
		a.desk.problem("venue "+a.venue.Name()+": recording a rejection", rerr)
	}
	a.desk.route(ev)
}

func (a *venueActor) show(force bool) {
	if now := time.Now(); force || now.Sub(a.shown) >= 250*time.Millisecond {
		a.shown = now
		a.desk.observe("venue/"+a.view.Name, a.view)
	}
}

// checkBalances records how the venue's balances compare with what the log explains; any
// difference happened outside the engine and is logged loudly.
func (a *venueActor) checkBalances(m venueCheckBalances) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	seq, err := streams.LastSeq(ctx, a.desk.opts.Log, streams.StreamOrders)
	cancel()
	if err != nil {
		a.desk.problem("venue "+m.Venue+": checking balances", err)
		return
	}
	check := &streams.BalanceCheck{Venue: m.Venue, Balances: m.Balances, ORDSeq: seq, Time: time.Now().UnixMilli(), Baseline: m.Last == nil}
	if m.Last != nil {
		check.Expected, check.Differences = map[string]decimal.Decimal{}, map[string]decimal.Decimal{}
		for asset, v := range m.Last.Balances {
			check.Expected[asset] = v
		}
		for _, net := range []map[string]decimal.Decimal{m.Net, a.net} {
			for asset, v := range net {
				check.Expected[asset], _ = check.Expected[asset].Add(v)
			}
		}
		for _, assets := range []map[string]decimal.Decimal{check.Expected, m.Balances} {
			for asset := range assets {
				if d, _ := m.Balances[asset].Sub(check.Expected[asset]); !d.IsZero() {
					check.Differences[asset] = d
				}
			}
		}
	}
	if err := a.desk.record(check); err != nil {
		a.desk.problem("venue "+m.Venue+": recording its balances", err)
		return
	}
	if len(check.Differences) > 0 {
		a.desk.opts.Logger.Warn("the venue's balances differ from what the log explains: deposits, withdrawals or trades outside the engine",
			"venue", m.Venue, "differences", check.Differences)
	}
	a.desk.observe("venue/"+m.Venue+"/balances", check)
}
