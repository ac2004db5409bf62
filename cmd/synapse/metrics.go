package main

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/synapse-trading/synapse/actors"
	"github.com/synapse-trading/synapse/portfolio/postgres"
	"github.com/synapse-trading/synapse/streams"
	"github.com/synapse-trading/synapse/web"
)

// registerEngineMetrics exposes the log's and the graph's state on /metrics: stream sequences,
// the MD consumer's lag, symbol mailbox depths, events routed.
func registerEngineMetrics(reg *prometheus.Registry, log *streams.Log, graph *actors.Graph) error {
	lastSeq := func(stream string) float64 {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		seq, _ := log.LastSeq(ctx, stream) // 0 when the log does not answer: a gap in the graph
		return float64(seq)
	}
	if err := web.RegisterCallback(reg, "synapse_stream_last_sequence", "Last sequence of each stream of the log.", prometheus.GaugeValue,
		[]string{"stream"}, func(emit func(float64, ...string)) {
			for _, s := range streams.Catalog() {
				emit(lastSeq(s.Name), s.Name)
			}
		}); err != nil {
		return err
	}
	if err := reg.Register(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "synapse_md_consumer_lag", Help: "MD stream head minus the last sequence routed to the symbol actors."},
		func() float64 { return max(0, lastSeq(streams.StreamMarketData)-float64(graph.Stats().LastSeq)) })); err != nil {
		return err
	}
	if err := reg.Register(prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "synapse_events_routed_total", Help: "Market-data events routed to symbol actors."},
		func() float64 { return float64(graph.Stats().Routed) })); err != nil {
		return err
	}
	return web.RegisterCallback(reg, "synapse_symbol_mailbox_batches", "MarketData batches waiting in each symbol actor's mailbox (bounded).", prometheus.GaugeValue,
		[]string{"venue", "symbol"}, func(emit func(float64, ...string)) {
			for k, depth := range graph.MailboxDepths() {
				emit(float64(depth), k[0], k[1])
			}
		})
}

// registerProjectionMetrics exposes the Postgres projection: per stream, its lag behind the
// log's head, the events applied, and the batches retried during an outage.
func registerProjectionMetrics(reg *prometheus.Registry, p *postgres.Projector) error {
	if err := web.RegisterCallback(reg, "synapse_projection_lag", "Stream head minus the last sequence committed to Postgres.", prometheus.GaugeValue,
		[]string{"stream"}, func(emit func(float64, ...string)) {
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			defer cancel()
			lag, _ := p.Lag(ctx)
			for s, n := range lag {
				emit(float64(n), s)
			}
		}); err != nil {
		return err
	}
	return web.RegisterCallback(reg, "synapse_projection_retries_total", "Batches the projector had to retry (Postgres unreachable or failing).", prometheus.CounterValue,
		[]string{"stream"}, func(emit func(float64, ...string)) {
			for s, st := range p.Stats() {
				emit(float64(st.Retries), s)
			}
		})
}
