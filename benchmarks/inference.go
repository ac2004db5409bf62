package benchmarks

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
	"github.com/anthdm/hollywood/actor"

	"github.com/synapse-trading/synapse/inference"
)

// InferenceOptions configure the inference scenario.
type InferenceOptions struct {
	// Duration is how long each load runs (default 1s); the scenario runs 8 loads, Rounds
	// pairs of figure and baseline, and one raw ONNX Runtime loop, so it takes about
	// 15 × Duration.
	Duration time.Duration
	// Loads are the numbers of concurrent closed-loop requesters the latency and the policy
	// comparison are measured at (default 1, 8, 64, 512). The figure is always taken at 64.
	Loads []int
	// Library is ONNX Runtime's shared library; "" finds it as inference.LibraryPath does.
	Library string
	// Rounds is how many times the figure and its baseline alternate (default 3); the round
	// with the median ratio is reported, each round's ratio in Extra.
	Rounds int
	// Provider is the execution provider the sessions run on: "cpu" (default) or "cuda". There
	// is no fallback here: a CUDA figure that ran on the CPU would be a wrong figure, so an
	// unavailable provider fails the scenario with ONNX Runtime's reason.
	Provider string
}

// figureLoad is the concurrency the headline figure and its baseline are measured at.
const figureLoad = 64

// Inference measures batched model serving through the batching actor: closed-loop
// requester actors (each sends one request, waits for its reply, sends the next) ask a
// 23→16→1 MLP, exported to ONNX and loaded into a real ONNX Runtime session, for one row
// each. The figure is requests/s at 64 requesters with the default policy; the baseline is
// the same requests at the same concurrency served one row per run (MaxBatch 1) by the
// same actor, the two alternating Rounds times (the round with the median ratio is
// reported). Extra holds raw ONNX Runtime rows/s at the mean batch the batcher formed
// (Session.Run in a loop), latency percentiles at each load, and both policies side by side.
func Inference(ctx context.Context, opts InferenceOptions) (Result, error) {
	if opts.Duration <= 0 {
		opts.Duration = time.Second
	}
	if len(opts.Loads) == 0 {
		opts.Loads = []int{1, 8, 64, 512}
	}
	if opts.Rounds <= 0 {
		opts.Rounds = 3
	}
	if err := inference.InitRuntime(opts.Library); err != nil {
		return Result{}, err
	}
	// The bundled direction model: the served model itself, 22 inputs, 16 hidden, 1 output.
	card, model, err := inference.LoadDefaultModel(inference.ModelDirection)
	if err != nil {
		return Result{}, err
	}
	inputs, outputs := len(card.Features), len(card.OutputNames)
	newSession := func() (*inference.Session, error) {
		return inference.NewSession(model, inputs, outputs, inference.SessionOptions{OutputName: card.Outputs[0].Name, Provider: opts.Provider})
	}
	r := rand.New(rand.NewPCG(1, 2))
	rows := make([][]float32, 1024)
	for i := range rows {
		rows[i] = make([]float32, inputs)
		for j := range rows[i] {
			rows[i][j] = float32(r.NormFloat64())
		}
	}
	serve := func(o inference.BatcherOptions, requesters int) (loadResult, error) {
		s, err := newSession()
		if err != nil {
			return loadResult{}, err
		}
		return serveLoad(ctx, s, o, requesters, rows, opts.Duration)
	}

	extra := map[string]float64{}
	defaultPolicy := inference.BatcherOptions{}.Policy
	for _, policy := range []inference.Policy{inference.PolicyAdaptive, inference.PolicyWindow} {
		for _, n := range opts.Loads {
			res, err := serve(inference.BatcherOptions{Policy: policy}, n)
			if err != nil {
				return Result{}, err
			}
			p := policy.String()
			extra[fmt.Sprintf("%s req/s @%d", p, n)] = res.rate
			extra[fmt.Sprintf("%s p50 µs @%d", p, n)] = res.latency.P50
			extra[fmt.Sprintf("%s p99 µs @%d", p, n)] = res.latency.P99
			extra[fmt.Sprintf("%s mean batch @%d", p, n)] = res.meanBatch
			if policy == defaultPolicy {
				extra[fmt.Sprintf("p50 µs @%d", n)] = res.latency.P50
				extra[fmt.Sprintf("p99 µs @%d", n)] = res.latency.P99
			}
		}
	}
	// The figure and its baseline alternate Rounds times: one second of either moved by a
	// third from one run to the next on 2 cores, and a pair measured back to back shares the
	// machine's state. The round with the median ratio is the one reported.
	type round struct{ figure, baseline loadResult }
	rounds := make([]round, 0, opts.Rounds)
	for r := range opts.Rounds {
		f, err := serve(inference.BatcherOptions{Policy: defaultPolicy}, figureLoad)
		if err != nil {
			return Result{}, err
		}
		b, err := serve(inference.BatcherOptions{Policy: defaultPolicy, MaxBatch: 1}, figureLoad)
		if err != nil {
			return Result{}, err
		}
		rounds = append(rounds, round{f, b})
		extra[fmt.Sprintf("round %d ratio", r+1)] = f.rate / b.rate
	}
	slices.SortFunc(rounds, func(x, y round) int { return cmp.Compare(x.figure.rate/x.baseline.rate, y.figure.rate/y.baseline.rate) })
	figure, baseline := rounds[len(rounds)/2].figure, rounds[len(rounds)/2].baseline

	// Two batches in flight per model, beside the default's one: on a GPU a run waits on
	// the device while the batcher could answer the last batch and gather the next.
	two, err := serve(inference.BatcherOptions{Policy: defaultPolicy, InFlight: 2}, figureLoad)
	if err != nil {
		return Result{}, err
	}
	extra["2 in flight req/s @64"] = two.rate
	extra["2 in flight mean batch @64"] = two.meanBatch
	extra["2 in flight p99 µs @64"] = two.latency.P99

	// Raw ONNX Runtime at the batch size the batcher formed, for as long as a load ran.
	batch := max(1, int(math.Round(figure.meanBatch)))
	s, err := newSession()
	if err != nil {
		return Result{}, err
	}
	in := make([]float32, 0, batch*inputs)
	for i := range batch {
		in = append(in, rows[i%len(rows)]...)
	}
	runs := 0
	start := time.Now()
	for time.Since(start) < opts.Duration {
		if _, err := s.Run(in, batch); err != nil {
			s.Close()
			return Result{}, err
		}
		runs++
	}
	rawElapsed := time.Since(start)
	raw := float64(runs*batch) / rawElapsed.Seconds()
	s.Close()

	extra["on CUDA (1 = yes)"] = 0
	if s.Provider() == "cuda" {
		extra["on CUDA (1 = yes)"] = 1
	}
	extra["mean batch @64"] = figure.meanBatch
	extra["batcher run µs (mean) @64"] = float64(figure.meanRun) / 1e3
	extra["session busy % @64"] = 100 * figure.busy
	extra["raw ORT run µs @ mean batch"] = float64(rawElapsed) / 1e3 / float64(runs)
	extra["raw ORT rows/s @ mean batch"] = raw
	extra["batched / raw ORT %"] = 100 * figure.rate / raw
	extra["batch-1 p99 µs @64"] = baseline.latency.P99
	extra["deadline drops"] = float64(figure.dropped + baseline.dropped)
	ratio := figure.rate / baseline.rate
	return Result{
		Scenario: "inference", Time: time.Now().UTC(),
		Figure:   Measure{Name: fmt.Sprintf("batched serving, %d requesters, %s policy", figureLoad, defaultPolicy), Value: figure.rate, Unit: "req/s"},
		Baseline: Measure{Name: "batch-1 serving, same actor and concurrency", Value: baseline.rate, Unit: "req/s"},
		Ratio:    ratio,
		Goal:     "≥ 5× batch-1 serving; ≥ 80 % of raw ORT at the same batch (Extra)",
		Met:      ratio >= 5,
		Latency:  figure.latency,
		Extra:    extra,
		Machine:  ThisMachine(),
	}, nil
}

// loadResult is what one load measured.
type loadResult struct {
	rate      float64 // replies/s
	latency   *Latency
	meanBatch float64
	dropped   int64
	meanRun   time.Duration // the batcher's mean run time
	busy      float64       // the runs' time over the load's, 1 = one batch always running
}

// serveLoad runs `requesters` closed-loop requester actors against a batcher serving s for
// d, and measures replies/s and each request's latency from send to reply. s is closed at
// the end.
func serveLoad(ctx context.Context, s *inference.Session, o inference.BatcherOptions, requesters int, rows [][]float32, d time.Duration) (loadResult, error) {
	e, err := actor.NewEngine(actor.NewEngineConfig())
	if err != nil {
		s.Close()
		return loadResult{}, err
	}
	b, err := inference.NewBatcher(e, o)
	if err != nil {
		s.Close()
		return loadResult{}, err
	}
	defer b.Stop()
	b.Deploy("bench", "v1", s)

	var stop atomic.Bool
	var failure atomic.Value
	var wg sync.WaitGroup
	hists := make([]*hdrhistogram.Histogram, requesters)
	counts := make([]int64, requesters)
	pids := make([]*actor.PID, requesters)
	wg.Add(requesters)
	for i := range requesters {
		// Two significant digits (1 % resolution): a histogram of three took 200 KiB, and
		// 512 of them, written once a reply each, missed the cache on the measured path.
		h := hdrhistogram.New(1, int64(10*time.Second), 2)
		hists[i] = h
		var sent time.Time
		var id uint64
		send := func(self *actor.PID) {
			id++
			sent = time.Now()
			req := inference.BatchRequest{Model: "bench", ID: id, Input: rows[(i+int(id))%len(rows)], Deadline: sent.Add(time.Second), ReplyTo: self}
			if err := b.Submit(req); err != nil {
				failure.CompareAndSwap(nil, err)
				wg.Done()
			}
		}
		pids[i] = e.SpawnFunc(func(c *actor.Context) {
			switch msg := c.Message().(type) {
			case actor.Started:
				send(c.PID())
			case inference.BatchReply:
				if msg.Err != nil {
					failure.CompareAndSwap(nil, msg.Err)
				} else {
					h.RecordValue(int64(time.Since(sent)))
					counts[i]++
				}
				if stop.Load() || msg.Err != nil {
					wg.Done()
					return
				}
				send(c.PID())
			}
		}, "requester", actor.WithID(fmt.Sprint(i)))
	}
	start := time.Now()
	select {
	case <-time.After(d):
	case <-ctx.Done():
	}
	stop.Store(true)
	wg.Wait()
	elapsed := time.Since(start)
	for _, p := range pids {
		e.Poison(p)
	}
	if err, ok := failure.Load().(error); ok {
		return loadResult{}, fmt.Errorf("inference scenario, %d requesters: %w", requesters, err)
	}
	if err := ctx.Err(); err != nil {
		return loadResult{}, err
	}
	all := hdrhistogram.New(1, int64(10*time.Second), 2)
	var total int64
	for i, h := range hists {
		all.Merge(h)
		total += counts[i]
	}
	res := loadResult{rate: float64(total) / elapsed.Seconds(), latency: LatencyOf(all)}
	if st, err := b.Stats(5 * time.Second); err == nil && len(st.Models) == 1 {
		ms := st.Models[0]
		res.meanBatch, res.dropped = ms.MeanBatch(), ms.DroppedDeadline
		if ms.Batches > 0 {
			res.meanRun = ms.RunTime / time.Duration(ms.Batches)
		}
		res.busy = ms.RunTime.Seconds() / elapsed.Seconds()
	}
	return res, nil
}
