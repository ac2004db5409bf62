package inference

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/anthdm/hollywood/actor"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// batcherSession loads a 23→16→2 MLP made from seed into ONNX Runtime.
func batcherSession(t testing.TB, seed uint64) (*MLP, *Session) {
	t.Helper()
	initRuntime(t)
	m := randomMLP(seed, []int{23, 16, 2}, []Activation{ReLU, Linear})
	data, err := ExportONNX(m, "features", "output")
	if err != nil {
		t.Fatal(err)
	}
	s, err := NewSession(data, m.Inputs(), m.Outputs(), SessionOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return m, s
}

func batcherRow(r *rand.Rand, width int) []float32 {
	row := make([]float32, width)
	for i := range row {
		row[i] = float32(r.NormFloat64() * 3)
	}
	return row
}

// newTestBatcher starts an engine and a batcher on it, stopped at the end of the test.
func newTestBatcher(t testing.TB, opts BatcherOptions) (*actor.Engine, *Batcher) {
	t.Helper()
	e, err := actor.NewEngine(actor.NewEngineConfig())
	if err != nil {
		t.Fatal(err)
	}
	b, err := NewBatcher(e, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Stop)
	return e, b
}

// replyInbox spawns an actor that puts every BatchReply it receives on a channel.
func replyInbox(e *actor.Engine, name string, size int) (*actor.PID, chan BatchReply) {
	ch := make(chan BatchReply, size)
	pid := e.SpawnFunc(func(c *actor.Context) {
		if r, ok := c.Message().(BatchReply); ok {
			ch <- r
		}
	}, "requester", actor.WithID(name))
	return pid, ch
}

func nextReply(t testing.TB, ch chan BatchReply) BatchReply {
	t.Helper()
	select {
	case r := <-ch:
		return r
	case <-time.After(10 * time.Second):
		t.Fatal("no reply within 10s")
		return BatchReply{}
	}
}

// checkForBatcher polls cond until it holds or the deadline passes.
func checkForBatcher(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 10s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

func isClosed(s *Session) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closed
}

func closeTo(got, want []float32) bool {
	if len(got) != len(want) {
		return false
	}
	for i := range got {
		if math.Abs(float64(got[i]-want[i])) > 1e-5*math.Max(1, math.Abs(float64(want[i]))) {
			return false
		}
	}
	return true
}

// Many requesters with many requests in flight each: the batcher forms batches of more than
// one row, every output equals Session.Run of the same row and MLP.Forward, and each
// requester gets its own replies in the order it asked, also with two batches in flight,
// where a later batch can finish first.
func TestBatcherBatchesAndAnswersInOrder(t *testing.T) {
	for _, inFlight := range []int{1, 2} {
		t.Run(fmt.Sprintf("%d in flight", inFlight), func(t *testing.T) { testBatchesAndAnswersInOrder(t, inFlight) })
	}
}

func testBatchesAndAnswersInOrder(t *testing.T, inFlight int) {
	mlp, s := batcherSession(t, 1)
	reg := prometheus.NewRegistry()
	e, b := newTestBatcher(t, BatcherOptions{Registry: reg, InFlight: inFlight})
	b.Deploy("m", "v1", s)

	const requesters, each = 16, 40
	r := rand.New(rand.NewPCG(5, 6))
	inputs := make([][][]float32, requesters)
	pids := make([]*actor.PID, requesters)
	inboxes := make([]chan BatchReply, requesters)
	for i := range requesters {
		pids[i], inboxes[i] = replyInbox(e, "r"+string(rune('a'+i)), each)
		for range each {
			inputs[i] = append(inputs[i], batcherRow(r, 23))
		}
	}
	for k := range each {
		for i := range requesters {
			if err := b.Submit(BatchRequest{Model: "m", ID: uint64(k), Input: inputs[i][k], ReplyTo: pids[i], Deadline: time.Now().Add(time.Minute)}); err != nil {
				t.Fatal(err)
			}
		}
	}
	for i := range requesters {
		for k := range each {
			rep := nextReply(t, inboxes[i])
			if rep.Err != nil {
				t.Fatalf("requester %d request %d: %v", i, k, rep.Err)
			}
			if rep.ID != uint64(k) || rep.Model != "m" || rep.Version != "v1" {
				t.Fatalf("requester %d: reply %d is %+v, want ID %d of m v1", i, k, rep, k)
			}
			direct, err := s.Run(inputs[i][k], 1)
			if err != nil {
				t.Fatal(err)
			}
			if !closeTo(rep.Output, direct) || !closeTo(rep.Output, mlp.Forward(inputs[i][k])) {
				t.Fatalf("requester %d request %d: batched %v, alone %v, Go %v", i, k, rep.Output, direct, mlp.Forward(inputs[i][k]))
			}
		}
	}
	st, err := b.Stats(5 * time.Second)
	if err != nil {
		t.Fatal(err)
	}
	ms := st.Models[0]
	if ms.Served != requesters*each || ms.Rows != requesters*each || ms.Requests != requesters*each {
		t.Fatalf("stats %+v, want %d served", ms, requesters*each)
	}
	if ms.MeanBatch() <= 1 {
		t.Fatalf("mean batch %.2f: no batching happened (%+v)", ms.MeanBatch(), ms)
	}
	if ms.RunTime <= 0 || ms.Running != 0 || ms.Provider != "cpu" {
		t.Fatalf("run time %v, %d running after the last reply, provider %q", ms.RunTime, ms.Running, ms.Provider)
	}
	t.Logf("%d batches, mean %.1f rows", ms.Batches, ms.MeanBatch())

	// The Prometheus metrics say the same.
	fams, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]*dto.MetricFamily{}
	for _, f := range fams {
		got[f.GetName()] = f
	}
	for _, name := range []string{"synapse_batcher_batch_rows", "synapse_batcher_queue_wait_seconds", "synapse_batcher_run_seconds", "synapse_batcher_rows_total"} {
		if got[name] == nil {
			t.Fatalf("metric %s not registered (have %v)", name, fams)
		}
	}
	if v := got["synapse_batcher_rows_total"].Metric[0].GetCounter().GetValue(); v != requesters*each {
		t.Fatalf("rows_total %v, want %d", v, requesters*each)
	}
	if n := got["synapse_batcher_batch_rows"].Metric[0].GetHistogram().GetSampleCount(); int64(n) != ms.Batches {
		t.Fatalf("batch_rows count %d, want %d batches", n, ms.Batches)
	}
	if n := got["synapse_batcher_queue_wait_seconds"].Metric[0].GetHistogram().GetSampleCount(); n != requesters*each {
		t.Fatalf("queue_wait count %d, want %d", n, requesters*each)
	}

	// ModelStats carries the same histograms, bucket by bucket, for the UI: the batch sizes
	// sum to the batches, the waits to the requests, the run times to the batches.
	if n := ms.BatchRows.Total(); n != ms.Batches {
		t.Fatalf("BatchRows holds %d runs, want %d batches (%v)", n, ms.Batches, ms.BatchRows.Counts)
	}
	if n := ms.QueueWait.Total(); n != requesters*each {
		t.Fatalf("QueueWait holds %d requests, want %d", n, requesters*each)
	}
	if n := ms.RunSeconds.Total(); n != ms.Batches {
		t.Fatalf("RunSeconds holds %d runs, want %d batches", n, ms.Batches)
	}
	var rows float64 // rows per batch bucket by bucket: at most the bound, above the previous
	for i, c := range ms.BatchRows.Counts[:len(ms.BatchRows.Bounds)] {
		rows += float64(c) * ms.BatchRows.Bounds[i]
	}
	if rows < float64(ms.Rows) {
		t.Fatalf("the batch-size buckets bound %v rows, fewer than the %d run", rows, ms.Rows)
	}
	for name, h := range map[string]Histogram{"synapse_batcher_batch_rows": ms.BatchRows, "synapse_batcher_run_seconds": ms.RunSeconds, "synapse_batcher_queue_wait_seconds": ms.QueueWait} {
		var cum uint64
		for i, b := range got[name].Metric[0].GetHistogram().GetBucket() {
			cum += uint64(h.Counts[i])
			if b.GetUpperBound() != h.Bounds[i] || b.GetCumulativeCount() != cum {
				t.Fatalf("%s bucket %d: Prometheus ≤%g holds %d, ModelStats ≤%g holds %d", name, i, b.GetUpperBound(), b.GetCumulativeCount(), h.Bounds[i], cum)
			}
		}
	}
	if !st.Taken.After(time.Now().Add(-time.Minute)) {
		t.Fatalf("stats taken at %v", st.Taken)
	}
}

// Under the adaptive policy a lone request on an idle session runs at once, not after
// MaxWait; under the window policy it waits MaxWait for company.
func TestBatcherLoneRequestRunsAtOnce(t *testing.T) {
	_, s := batcherSession(t, 2)
	const maxWait = 300 * time.Millisecond
	e, b := newTestBatcher(t, BatcherOptions{MaxWait: maxWait, Policy: PolicyAdaptive})
	b.Deploy("m", "v1", s)
	pid, ch := replyInbox(e, "lone", 1)
	for i := range 3 {
		if err := b.Submit(BatchRequest{Model: "m", ID: uint64(i), Input: make([]float32, 23), ReplyTo: pid}); err != nil {
			t.Fatal(err)
		}
		rep := nextReply(t, ch)
		if rep.Err != nil {
			t.Fatal(rep.Err)
		}
		if rep.QueueWait >= maxWait/2 {
			t.Fatalf("adaptive: a lone request waited %v (MaxWait %v)", rep.QueueWait, maxWait)
		}
	}

	_, s2 := batcherSession(t, 2)
	e2, w := newTestBatcher(t, BatcherOptions{MaxWait: 20 * time.Millisecond, Policy: PolicyWindow})
	w.Deploy("m", "v1", s2)
	pid2, ch2 := replyInbox(e2, "lone", 1)
	if err := w.Submit(BatchRequest{Model: "m", Input: make([]float32, 23), ReplyTo: pid2}); err != nil {
		t.Fatal(err)
	}
	if rep := nextReply(t, ch2); rep.Err != nil || rep.QueueWait < 20*time.Millisecond {
		t.Fatalf("window: lone request waited %v (err %v), want ≥ MaxWait 20ms", rep.QueueWait, rep.Err)
	}
}

// A request past its deadline is answered with ErrDeadline and counted, whether it is late on
// arrival or its deadline passes while it waits.
func TestBatcherDropsLateRequests(t *testing.T) {
	_, s := batcherSession(t, 3)
	reg := prometheus.NewRegistry()
	// A window far longer than the deadlines, so requests wait until the sweep finds them.
	e, b := newTestBatcher(t, BatcherOptions{Policy: PolicyWindow, MaxWait: time.Hour, Registry: reg})
	b.Deploy("m", "v1", s)
	pid, ch := replyInbox(e, "late", 2)
	b.Submit(BatchRequest{Model: "m", ID: 1, Input: make([]float32, 23), ReplyTo: pid, Deadline: time.Now().Add(20 * time.Millisecond)})
	b.Submit(BatchRequest{Model: "m", ID: 2, Input: make([]float32, 23), ReplyTo: pid, Deadline: time.Now().Add(30 * time.Millisecond)})
	for id := uint64(1); id <= 2; id++ {
		rep := nextReply(t, ch)
		if !errors.Is(rep.Err, ErrDeadline) || rep.ID != id {
			t.Fatalf("reply %+v, want ID %d with ErrDeadline", rep, id)
		}
	}

	// Late on arrival, on the adaptive policy.
	_, s2 := batcherSession(t, 3)
	e2, a := newTestBatcher(t, BatcherOptions{})
	a.Deploy("m", "v1", s2)
	pid2, ch2 := replyInbox(e2, "late", 1)
	a.Submit(BatchRequest{Model: "m", ID: 3, Input: make([]float32, 23), ReplyTo: pid2, Deadline: time.Now().Add(-time.Millisecond)})
	if rep := nextReply(t, ch2); !errors.Is(rep.Err, ErrDeadline) {
		t.Fatalf("reply %+v, want ErrDeadline", rep)
	}
	st, _ := b.Stats(5 * time.Second)
	st2, _ := a.Stats(5 * time.Second)
	if st.Models[0].DroppedDeadline != 2 || st2.Models[0].DroppedDeadline != 1 || st.Models[0].Batches != 0 {
		t.Fatalf("stats %+v and %+v, want 2 and 1 deadline drops and no batch", st.Models[0], st2.Models[0])
	}
	if v := counterValue(t, reg, "synapse_batcher_drops_total", "deadline"); v != 2 {
		t.Fatalf("drops_total{reason=deadline} %v, want 2", v)
	}
}

// counterValue reads the drops counter of reason from reg.
func counterValue(t *testing.T, reg *prometheus.Registry, name, reason string) float64 {
	t.Helper()
	fams, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fams {
		if f.GetName() != name {
			continue
		}
		for _, m := range f.Metric {
			for _, l := range m.Label {
				if l.GetName() == "reason" && l.GetValue() == reason {
					return m.GetCounter().GetValue()
				}
			}
		}
	}
	return 0
}

// drops reads synapse_batcher_drops_total{model, reason} from reg, and whether it is there.
func drops(t *testing.T, reg *prometheus.Registry, model, reason string) (float64, bool) {
	t.Helper()
	fams, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fams {
		if f.GetName() != "synapse_batcher_drops_total" {
			continue
		}
		for _, m := range f.Metric {
			labels := map[string]string{}
			for _, l := range m.Label {
				labels[l.GetName()] = l.GetValue()
			}
			if labels["model"] == model && labels["reason"] == reason {
				return m.GetCounter().GetValue(), true
			}
		}
	}
	return 0, false
}

// The pending queue of a model is capped: requests past QueueCap are answered with
// ErrQueueFull at once, and Submit refuses past MailboxCap.
func TestBatcherQueueCap(t *testing.T) {
	_, s := batcherSession(t, 4)
	reg := prometheus.NewRegistry()
	e, b := newTestBatcher(t, BatcherOptions{Policy: PolicyWindow, MaxWait: time.Hour, QueueCap: 4, Registry: reg})
	b.Deploy("m", "v1", s)
	waiting, waitCh := replyInbox(e, "waiting", 4)
	refused, refusedCh := replyInbox(e, "refused", 2)
	for i := range 4 {
		b.Submit(BatchRequest{Model: "m", ID: uint64(i), Input: make([]float32, 23), ReplyTo: waiting})
	}
	for i := range 2 {
		b.Submit(BatchRequest{Model: "m", ID: uint64(10 + i), Input: make([]float32, 23), ReplyTo: refused})
	}
	for i := range 2 {
		if rep := nextReply(t, refusedCh); !errors.Is(rep.Err, ErrQueueFull) || rep.ID != uint64(10+i) {
			t.Fatalf("reply %+v, want ID %d with ErrQueueFull", rep, 10+i)
		}
	}
	st, _ := b.Stats(5 * time.Second)
	if m := st.Models[0]; m.Queued != 4 || m.DroppedQueueFull != 2 {
		t.Fatalf("stats %+v, want 4 queued and 2 dropped", m)
	}
	if v := counterValue(t, reg, "synapse_batcher_drops_total", "queue_full"); v != 2 {
		t.Fatalf("drops_total{reason=queue_full} %v, want 2", v)
	}
	// Every reason is on /metrics from the deployment on, at 0 until the first drop.
	for _, reason := range dropReasons {
		if v, ok := drops(t, reg, "m", reason); !ok || (reason != "queue_full" && v != 0) {
			t.Fatalf("drops_total{model=m,reason=%s}: %v, present %v", reason, v, ok)
		}
	}
	// Undeploying answers the waiting ones.
	b.Undeploy("m")
	for range 4 {
		if rep := nextReply(t, waitCh); !errors.Is(rep.Err, ErrUnknownModel) {
			t.Fatalf("reply %+v, want ErrUnknownModel after Undeploy", rep)
		}
	}
	checkForBatcher(t, "session closed after Undeploy", func() bool { return isClosed(s) })

	// The incoming cap: while MailboxCap requests wait for the actor to take them (here a
	// wake-up it has not had yet), Submit refuses; those that wait are answered once it wakes.
	in := b.queue("m")
	in.mu.Lock()
	in.armed, in.cap = true, 3
	in.mu.Unlock()
	for i := range 3 {
		if err := b.Submit(BatchRequest{Model: "m", ID: uint64(20 + i), Input: make([]float32, 23), ReplyTo: waiting}); err != nil {
			t.Fatalf("Submit %d under MailboxCap: %v", i, err)
		}
	}
	if err := b.Submit(BatchRequest{Model: "m", ReplyTo: waiting}); !errors.Is(err, ErrOverloaded) {
		t.Fatalf("Submit over MailboxCap: %v, want ErrOverloaded", err)
	}
	if st, _ := b.Stats(5 * time.Second); st.DroppedMailbox != 1 {
		t.Fatalf("DroppedMailbox %d, want 1", st.DroppedMailbox)
	}
	if v, _ := drops(t, reg, "m", "overloaded"); v != 1 {
		t.Fatalf("drops_total{model=m,reason=overloaded} %v, want 1", v)
	}
	e.Send(b.PID(), wakeUp{in})
	for i := range 3 {
		if rep := nextReply(t, waitCh); rep.ID != uint64(20+i) || !errors.Is(rep.Err, ErrUnknownModel) {
			t.Fatalf("reply %+v, want ID %d with ErrUnknownModel (m is undeployed)", rep, 20+i)
		}
	}
}

// Deploying v2 while requests flow loses none: every request is answered without error,
// each requester sees v1 then v2 (never back), replies after the swap run on v2's weights,
// and v1's session is closed after its last batch.
func TestBatcherHotSwapUnderLoad(t *testing.T) {
	for _, inFlight := range []int{1, 2} {
		t.Run(fmt.Sprintf("%d in flight", inFlight), func(t *testing.T) { testHotSwapUnderLoad(t, inFlight) })
	}
}

func testHotSwapUnderLoad(t *testing.T, inFlight int) {
	m1, s1 := batcherSession(t, 10)
	m2, s2 := batcherSession(t, 11)
	e, b := newTestBatcher(t, BatcherOptions{InFlight: inFlight})
	b.Deploy("m", "v1", s1)

	const requesters, each = 8, 150
	var wg sync.WaitGroup
	var mu sync.Mutex
	var problems []string
	v2Seen := make(chan struct{}, requesters)
	swapped := make(chan struct{})
	for i := range requesters {
		pid, ch := replyInbox(e, "hot"+string(rune('a'+i)), 1)
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(i), 9))
			onV2, told := false, false
			for k := range each {
				if k == each/3 && i == 0 {
					b.Deploy("m", "v2", s2)
					close(swapped)
				}
				if k == each/2 {
					<-swapped
				}
				in := batcherRow(r, 23)
				b.Submit(BatchRequest{Model: "m", ID: uint64(k), Input: in, ReplyTo: pid, Deadline: time.Now().Add(time.Minute)})
				rep := <-ch
				problem := ""
				switch {
				case rep.Err != nil:
					problem = rep.Err.Error()
				case rep.ID != uint64(k):
					problem = "reply out of order"
				case rep.Version == "v1" && onV2:
					problem = "v1 after v2"
				case rep.Version == "v1" && !closeTo(rep.Output, m1.Forward(in)), rep.Version == "v2" && !closeTo(rep.Output, m2.Forward(in)):
					problem = "output does not match its version's model"
				}
				if problem != "" {
					mu.Lock()
					problems = append(problems, problem)
					mu.Unlock()
					return
				}
				if rep.Version == "v2" {
					onV2 = true
					if !told {
						v2Seen <- struct{}{}
						told = true
					}
				}
			}
		}()
	}
	wg.Wait()
	if len(problems) > 0 {
		t.Fatalf("%d requesters failed: %v", len(problems), problems)
	}
	if len(v2Seen) != requesters {
		t.Fatalf("%d of %d requesters saw v2", len(v2Seen), requesters)
	}
	checkForBatcher(t, "v1's session closed", func() bool { return isClosed(s1) })
	if isClosed(s2) {
		t.Fatal("v2's session closed while deployed")
	}
	st, _ := b.Stats(5 * time.Second)
	if m := st.Models[0]; m.Served != requesters*each || m.Version != "v2" {
		t.Fatalf("stats %+v, want %d served on v2", m, requesters*each)
	}
}

// Unknown models and rows of the wrong width are answered with errors naming the problem.
func TestBatcherUnknownModelAndWrongWidth(t *testing.T) {
	_, s := batcherSession(t, 12)
	reg := prometheus.NewRegistry()
	e, b := newTestBatcher(t, BatcherOptions{Registry: reg})
	b.Deploy("m", "v1", s)
	pid, ch := replyInbox(e, "bad", 3)
	b.Submit(BatchRequest{Model: "nope", ID: 1, Input: make([]float32, 23), ReplyTo: pid})
	b.Submit(BatchRequest{Model: "m", ID: 2, Input: make([]float32, 22), ReplyTo: pid})
	b.Submit(BatchRequest{Model: "m", ID: 3, Input: make([]float32, 23), ReplyTo: pid})
	if rep := nextReply(t, ch); !errors.Is(rep.Err, ErrUnknownModel) || rep.ID != 1 {
		t.Fatalf("reply %+v, want ErrUnknownModel", rep)
	}
	if rep := nextReply(t, ch); !errors.Is(rep.Err, ErrShape) || rep.ID != 2 {
		t.Fatalf("reply %+v, want ErrShape", rep)
	}
	if rep := nextReply(t, ch); rep.Err != nil || rep.ID != 3 || len(rep.Output) != 2 {
		t.Fatalf("reply %+v, want an output of 2", rep)
	}
	if v := counterValue(t, reg, "synapse_batcher_drops_total", "shape"); v != 1 {
		t.Fatalf("drops_total{reason=shape} %v, want 1", v)
	}
	if _, err := NewBatcher(e, BatcherOptions{Policy: Policy(7)}); err == nil {
		t.Fatal("an unknown policy was accepted")
	}
	if _, err := NewBatcher(e, BatcherOptions{Registry: reg}); err == nil {
		t.Fatal("a second batcher registered the same metrics on one registry")
	}
}

// Two models run side by side, each with its own batches and versions; one requester of
// both gets each model's replies in the order it asked that model.
func TestBatcherServesSeveralModels(t *testing.T) {
	ma, sa := batcherSession(t, 20)
	mb, sb := batcherSession(t, 21)
	e, b := newTestBatcher(t, BatcherOptions{})
	b.Deploy("a", "a1", sa)
	b.Deploy("b", "b1", sb)
	pid, ch := replyInbox(e, "both", 64)
	r := rand.New(rand.NewPCG(1, 2))
	var rows [][]float32
	for i := range 64 {
		rows = append(rows, batcherRow(r, 23))
		key := "a"
		if i%2 == 1 {
			key = "b"
		}
		b.Submit(BatchRequest{Model: key, ID: uint64(i), Input: rows[i], ReplyTo: pid})
	}
	next := map[string]uint64{"a": 0, "b": 1} // the ID each model's next reply must have
	for range 64 {
		rep := nextReply(t, ch)
		i := next[rep.Model]
		want, version := ma.Forward(rows[i]), "a1"
		if i%2 == 1 {
			want, version = mb.Forward(rows[i]), "b1"
		}
		if rep.Err != nil || rep.ID != i || rep.Version != version || !closeTo(rep.Output, want) {
			t.Fatalf("reply from %s: %+v, want ID %d, %v from %s", rep.Model, rep, i, want, version)
		}
		next[rep.Model] += 2
	}
}

// Stop answers every request it holds, those in a model's queue and those Submit queued
// that the actor had not taken yet, and Submit refuses after it.
func TestBatcherStopAnswersQueued(t *testing.T) {
	_, s := batcherSession(t, 5)
	// No sweep: it would take the armed queue below before Stop does.
	e, b := newTestBatcher(t, BatcherOptions{Policy: PolicyWindow, MaxWait: time.Hour, SweepEvery: time.Hour})
	b.Deploy("m", "v1", s)
	pid, ch := replyInbox(e, "stopped", 8)
	for i := range 2 { // wait in m's queue for a window that never closes
		if err := b.Submit(BatchRequest{Model: "m", ID: uint64(i), Input: make([]float32, 23), ReplyTo: pid}); err != nil {
			t.Fatal(err)
		}
	}
	checkForBatcher(t, "two requests in m's queue", func() bool {
		st, err := b.Stats(5 * time.Second)
		return err == nil && len(st.Models) == 1 && st.Models[0].Queued == 2
	})
	in := b.queue("m")
	in.mu.Lock()
	in.armed = true // the actor will not be woken for the next one
	in.mu.Unlock()
	if err := b.Submit(BatchRequest{Model: "m", ID: 2, Input: make([]float32, 23), ReplyTo: pid}); err != nil {
		t.Fatal(err)
	}
	b.Stop()
	for i := range 3 {
		if rep := nextReply(t, ch); rep.ID != uint64(i) || !errors.Is(rep.Err, ErrUnknownModel) {
			t.Fatalf("reply %+v, want ID %d with ErrUnknownModel", rep, i)
		}
	}
	if err := b.Submit(BatchRequest{Model: "m", ID: 3, Input: make([]float32, 23), ReplyTo: pid}); !errors.Is(err, ErrBatcherStopped) {
		t.Fatalf("Submit after Stop: %v, want ErrBatcherStopped", err)
	}
	checkForBatcher(t, "session closed after Stop", func() bool { return isClosed(s) })
}

// Each model has its own incoming queue: while one model's queue waits for its batch in
// flight (armed, so its requesters send no wake-up), another model's requests are served.
func TestBatcherModelsQueueApart(t *testing.T) {
	_, sa := batcherSession(t, 30)
	_, sb := batcherSession(t, 31)
	e, b := newTestBatcher(t, BatcherOptions{SweepEvery: time.Hour}) // the sweep would take a's queue too
	b.Deploy("a", "a1", sa)
	b.Deploy("b", "b1", sb)
	pid, ch := replyInbox(e, "apart", 4)
	if err := b.Submit(BatchRequest{Model: "b", ID: 1, Input: make([]float32, 23), ReplyTo: pid}); err != nil {
		t.Fatal(err)
	}
	if rep := nextReply(t, ch); rep.Err != nil || rep.Model != "b" {
		t.Fatalf("reply %+v, want b's output", rep)
	}
	qa, qb := b.queue("a"), b.queue("b")
	if qa == qb || qa == b.other {
		t.Fatal("models a and b share an incoming queue")
	}
	qa.mu.Lock()
	qa.armed = true // as while a batch of a is in flight: the actor takes the queue when it ends
	qa.mu.Unlock()
	if err := b.Submit(BatchRequest{Model: "a", ID: 2, Input: make([]float32, 23), ReplyTo: pid}); err != nil {
		t.Fatal(err)
	}
	if err := b.Submit(BatchRequest{Model: "b", ID: 3, Input: make([]float32, 23), ReplyTo: pid}); err != nil {
		t.Fatal(err)
	}
	if rep := nextReply(t, ch); rep.Err != nil || rep.ID != 3 {
		t.Fatalf("reply %+v, want b's request 3 while a's queue waits", rep)
	}
	select {
	case rep := <-ch:
		t.Fatalf("a's request was answered without its queue being taken: %+v", rep)
	case <-time.After(50 * time.Millisecond):
	}
	e.Send(b.PID(), wakeUp{qa}) // what a's batch completing does
	if rep := nextReply(t, ch); rep.Err != nil || rep.ID != 2 {
		t.Fatalf("reply %+v, want a's request 2", rep)
	}
}

// A request waiting in an armed incoming queue is not stranded when no batch comes to take
// it: the sweep takes it (and serves it, or drops it at its deadline).
func TestBatcherSweepTakesArmedQueue(t *testing.T) {
	_, s := batcherSession(t, 32)
	e, b := newTestBatcher(t, BatcherOptions{SweepEvery: 5 * time.Millisecond})
	b.Deploy("m", "v1", s)
	pid, ch := replyInbox(e, "stranded", 1)
	checkForBatcher(t, "m deployed", func() bool {
		st, err := b.Stats(5 * time.Second)
		return err == nil && len(st.Models) == 1
	})
	in := b.queue("m")
	in.mu.Lock()
	in.armed = true // as if a batch were in flight whose completion never comes
	in.mu.Unlock()
	if err := b.Submit(BatchRequest{Model: "m", ID: 7, Input: make([]float32, 23), ReplyTo: pid, Deadline: time.Now().Add(time.Minute)}); err != nil {
		t.Fatal(err)
	}
	if rep := nextReply(t, ch); rep.ID != 7 || rep.Err != nil {
		t.Fatalf("reply %+v, want request 7 served", rep)
	}
}
