package actors

import (
	"context"
	"runtime"
	"sync/atomic"
	"time"

	"github.com/synapse-trading/synapse/streams"
)

// Clock is a backtest's simulated clock: it feeds recorded events to the graph at full speed
// and, whenever an event closes a candle, waits until the graph has settled (every feature,
// request, signal, order and fill it caused has been handled) before the next event. Market
// time only moves when the graph is idle, so the agents decide on every candle before the
// market moves on, and the paper exchange fills their orders against the events that follow
// — as live trading would, but without waiting, and the same way run after run.
type Clock struct {
	graph    *Graph
	inFlight *atomic.Int64
	buf      []Sequenced
	minute   map[symbolKey]int64 // open minute of the newest trade per symbol
	steps    int64
}

// NewClock returns the clock of graph; inFlight is the counter given to every actor option
// (SymbolOptions, the model registry, the desk).
func NewClock(graph *Graph, inFlight *atomic.Int64) *Clock {
	return &Clock{graph: graph, inFlight: inFlight, minute: map[symbolKey]int64{}}
}

// Feed takes the next event in market-time order.
func (c *Clock) Feed(ctx context.Context, ev streams.Event) error {
	closes := false
	switch e := ev.(type) {
	case *streams.Kline:
		closes = true
	case *streams.Trade:
		k := symbolKey{e.Venue, e.Symbol}
		m := e.Time - e.Time%60_000
		if last, ok := c.minute[k]; ok && m > last {
			closes = true // the first trade of a minute closes the candle of the one before
		}
		if m > c.minute[k] {
			c.minute[k] = m
		}
	}
	if closes {
		if err := c.Flush(ctx); err != nil { // what happened before the candle closed
			return err
		}
		c.buf = append(c.buf, Sequenced{Event: ev})
		return c.Flush(ctx)
	}
	c.buf = append(c.buf, Sequenced{Event: ev})
	if len(c.buf) >= 4096 {
		return c.Flush(ctx)
	}
	return nil
}

// Flush dispatches what is buffered and waits until the graph has settled. It shows the
// events to the venues and the risk gate first and lets what they cause (fills) settle,
// then to the symbol actors: an agent always books the fills of a step before it marks
// its positions at the step's close and before any signal of it, whatever the actors'
// timing.
func (c *Clock) Flush(ctx context.Context) error {
	if len(c.buf) > 0 {
		if err := c.graph.DispatchMarket(ctx, c.buf); err != nil {
			return err
		}
		if err := c.Settle(ctx); err != nil {
			return err
		}
		if err := c.graph.DispatchSymbols(ctx, c.buf); err != nil {
			return err
		}
		c.buf = c.buf[:0]
		c.steps++
	}
	return c.Settle(ctx)
}

// Settle waits until every batch dispatched and every message it caused has been handled.
func (c *Clock) Settle(ctx context.Context) error {
	for spins := 0; !c.graph.Idle() || c.inFlight.Load() != 0; spins++ {
		if spins%64 == 63 {
			if err := ctx.Err(); err != nil {
				return err
			}
			time.Sleep(20 * time.Microsecond)
		} else {
			runtime.Gosched()
		}
	}
	return nil
}

// Steps counts the times the clock waited for the graph.
func (c *Clock) Steps() int64 { return c.steps }
