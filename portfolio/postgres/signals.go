package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"math"

	"github.com/jackc/pgx/v5"

	"github.com/synapse-trading/synapse/streams"
)

// signalFold folds SIG into signal_summaries: per model (live or shadow), venue, symbol and
// hour of feature time, the number of signals, the mean of their "probability" output and
// the newest signal. A batch is summed in memory and added to the rows in one statement.
// Probabilities are model outputs (floats), not money: the mean is a float, but their sum is
// kept exact, each counted in units of 1e-12, so that it does not depend on the batches.
type signalFold struct{}

func (signalFold) committed() {}
func (signalFold) reset()     {}

const hourMs = 3_600_000

type signalKey struct {
	model  string
	shadow bool
	venue  string
	symbol string
	hour   int64
}

type signalSum struct {
	signals, probabilities int64
	sum                    int64 // in units of 1e-12
	last                   *streams.Signal
	seq                    uint64
}

func (signalFold) fold(_ context.Context, _ inTx, items []item, b *pgx.Batch) (int, error) {
	refused := 0
	sums := map[signalKey]*signalSum{}
	var order []signalKey
	for _, it := range items {
		s, ok := it.ev.(*streams.Signal)
		if !ok {
			refused++
			continue
		}
		k := signalKey{model: s.Model, shadow: s.Shadow, venue: s.Venue, symbol: s.Symbol, hour: s.FeatureTime - s.FeatureTime%hourMs}
		sum := sums[k]
		if sum == nil {
			sum = &signalSum{}
			sums[k] = sum
			order = append(order, k)
		}
		sum.signals++
		if p, ok := s.Prediction["probability"]; ok && p >= -1e6 && p <= 1e6 { // NaN fails both
			sum.probabilities++
			sum.sum += int64(math.Round(p * 1e12))
		}
		if sum.last == nil || s.FeatureTime >= sum.last.FeatureTime {
			sum.last = s
		}
		sum.seq = it.seq
	}
	if len(order) == 0 {
		return refused, nil
	}
	n := len(order)
	var (
		models, venues, symbols, versions, predictions = make([]string, 0, n), make([]string, 0, n), make([]string, 0, n), make([]string, 0, n), make([]string, 0, n)
		shadows                                        = make([]bool, 0, n)
		hours, counts, probs, featureTimes, latencies  = make([]int64, 0, n), make([]int64, 0, n), make([]int64, 0, n), make([]int64, 0, n), make([]int64, 0, n)
		seqs                                           = make([]int64, 0, n)
		sumsP, confidences                             = make([]string, 0, n), make([]float64, 0, n)
	)
	for _, k := range order {
		s := sums[k]
		pred, err := json.Marshal(s.last.Prediction)
		if err != nil || s.last.Prediction == nil {
			pred = []byte("{}")
		}
		models, venues, symbols, versions, predictions = append(models, k.model), append(venues, k.venue), append(symbols, k.symbol), append(versions, s.last.Version), append(predictions, string(pred))
		shadows, hours, counts, probs = append(shadows, k.shadow), append(hours, k.hour), append(counts, s.signals), append(probs, s.probabilities)
		featureTimes, latencies, seqs = append(featureTimes, s.last.FeatureTime), append(latencies, s.last.LatencyUs), append(seqs, int64(s.seq))
		sumsP, confidences = append(sumsP, units12(s.sum)), append(confidences, s.last.Confidence)
	}
	newer := "excluded.last_feature_time >= signal_summaries.last_feature_time"
	pick := func(col string) string {
		return col + " = case when " + newer + " then excluded." + col + " else signal_summaries." + col + " end"
	}
	b.Queue(`insert into signal_summaries (model, shadow, venue, symbol, hour, signals, probabilities, probability_sum,
			last_version, last_feature_time, last_prediction, last_confidence, last_latency_us, seq)
		select model, shadow, venue, symbol, hour, signals, probabilities, probability_sum,
			last_version, last_feature_time, last_prediction::jsonb, last_confidence, last_latency_us, seq
		from unnest($1::text[], $2::bool[], $3::text[], $4::text[], $5::int8[], $6::int8[], $7::int8[], $8::numeric[],
			$9::text[], $10::int8[], $11::text[], $12::float8[], $13::int8[], $14::int8[])
			as u(model, shadow, venue, symbol, hour, signals, probabilities, probability_sum,
				last_version, last_feature_time, last_prediction, last_confidence, last_latency_us, seq)
		on conflict (model, shadow, venue, symbol, hour) do update set
			signals = signal_summaries.signals + excluded.signals,
			probabilities = signal_summaries.probabilities + excluded.probabilities,
			probability_sum = signal_summaries.probability_sum + excluded.probability_sum,
			`+pick("last_version")+`, `+pick("last_prediction")+`, `+pick("last_confidence")+`, `+pick("last_latency_us")+`,
			`+pick("last_feature_time")+`, seq = excluded.seq`,
		models, shadows, venues, symbols, hours, counts, probs, sumsP, versions, featureTimes, predictions, confidences, latencies, seqs)
	return refused, nil
}

// units12 writes n units of 1e-12 as a decimal string.
func units12(n int64) string {
	sign := ""
	if n < 0 {
		sign, n = "-", -n
	}
	return fmt.Sprintf("%s%d.%012d", sign, n/1e12, n%1e12)
}
