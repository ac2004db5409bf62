package main

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/synapse-trading/synapse/actors"
)

// The agents query shows each agent's risk limits exactly as configured (actors/agents.yaml,
// the decimals as the same strings), and the models query's batcher histograms hold every
// batch: the batch-size and run-time buckets sum to the batches, the queue waits to the
// requests answered.
func TestQueriesShowRiskLimitsAndBatcherHistograms(t *testing.T) {
	addr, stop := runEngine(t, "--data-dir", t.TempDir(), "--speed", "3000", "--replay", recDir+"ETHUSDT-1m-2022-08-14.csv.gz")
	defer stop()

	builtin, err := actors.BuiltinAgents()
	if err != nil {
		t.Fatal(err)
	}
	type limits struct {
		MaxOrderNotional    string `json:"max_order_notional"`
		MaxPositionNotional string `json:"max_position_notional"`
		PriceBand           string `json:"price_band"`
		MaxOpenOrders       int    `json:"max_open_orders"`
		OrdersPerMinute     int    `json:"orders_per_minute"`
	}
	var agents []struct {
		Name         string `json:"name"`
		Limits       limits `json:"limits"`
		DrawdownHalt string `json:"drawdown_halt"`
	}
	checkFor(t, 30*time.Second, func() error {
		if err := getJSON(addr, "/api/v1/queries/agents", &agents); err != nil {
			return err
		}
		if len(agents) != len(builtin) {
			return fmt.Errorf("%d agents in the query, %d configured", len(agents), len(builtin))
		}
		return nil
	})
	for i, c := range builtin {
		a := agents[i]
		want := limits{c.Risk.MaxOrderNotional, c.Risk.MaxPositionNotional, c.Risk.PriceBand, c.Risk.MaxOpenOrders, c.Risk.OrdersPerMinute}
		if a.Name != c.Name || a.Limits != want || a.DrawdownHalt != c.MaxDrawdown {
			t.Errorf("agents query: %s limits %+v, halt at %q; configured %s %+v, max_drawdown %q", a.Name, a.Limits, a.DrawdownHalt, c.Name, want, c.MaxDrawdown)
		}
	}

	type histogram struct {
		Bounds []float64 `json:"bounds"`
		Counts []int64   `json:"counts"`
	}
	sum := func(h histogram) (n int64) {
		for _, c := range h.Counts {
			n += c
		}
		return n
	}
	var models struct {
		Batcher struct {
			Taken  time.Time
			Models []struct {
				Key                              string
				Batches, Served, Failed          int64
				BatchRows, QueueWait, RunSeconds histogram
			}
		} `json:"batcher"`
	}
	checkFor(t, 60*time.Second, func() error {
		if err := getJSON(addr, "/api/v1/queries/models", &models); err != nil {
			return err
		}
		for _, m := range models.Batcher.Models {
			if m.Batches < 50 {
				return fmt.Errorf("%s ran %d batches", m.Key, m.Batches)
			}
		}
		if len(models.Batcher.Models) < 3 {
			return fmt.Errorf("%d models at the batcher", len(models.Batcher.Models))
		}
		return nil
	})
	if models.Batcher.Taken.IsZero() {
		t.Errorf("the batcher's stats say no time they were taken")
	}
	for _, m := range models.Batcher.Models {
		for name, h := range map[string]histogram{"BatchRows": m.BatchRows, "QueueWait": m.QueueWait, "RunSeconds": m.RunSeconds} {
			if len(h.Counts) != len(h.Bounds)+1 {
				b, _ := json.Marshal(h)
				t.Errorf("%s %s: %d counts for %d bounds: %s", m.Key, name, len(h.Counts), len(h.Bounds), b)
			}
		}
		if n := sum(m.BatchRows); n != m.Batches {
			t.Errorf("%s: batch-size buckets sum to %d, the batches are %d", m.Key, n, m.Batches)
		}
		if n := sum(m.RunSeconds); n != m.Batches {
			t.Errorf("%s: run-time buckets sum to %d, the batches are %d", m.Key, n, m.Batches)
		}
		if n := sum(m.QueueWait); n != m.Served+m.Failed {
			t.Errorf("%s: queue-wait buckets sum to %d, %d requests were answered from a run", m.Key, n, m.Served+m.Failed)
		}
	}
}
