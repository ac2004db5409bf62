package inference

import (
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/anthdm/hollywood/actor"
)

// benchBatcher runs b.N requests through a batcher from `requesters` closed-loop
// requesters; ns/op is per request.
func benchBatcher(b *testing.B, opts BatcherOptions, requesters int) {
	_, s := batcherSession(b, 1)
	e, bat := newTestBatcher(b, opts)
	bat.Deploy("m", "v1", s)
	row := batcherRow(rand.New(rand.NewPCG(1, 1)), 23)
	pids := make([]*actor.PID, requesters)
	chans := make([]chan BatchReply, requesters)
	for i := range requesters {
		pids[i], chans[i] = replyInbox(e, fmt.Sprint("bench", i), 1)
	}
	b.ResetTimer()
	var wg sync.WaitGroup
	for i := range requesters {
		n := b.N / requesters
		if i < b.N%requesters {
			n++
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := range n {
				bat.Submit(BatchRequest{Model: "m", ID: uint64(k), Input: row, ReplyTo: pids[i], Deadline: time.Now().Add(time.Minute)})
				if r := <-chans[i]; r.Err != nil {
					b.Error(r.Err)
					return
				}
			}
		}()
	}
	wg.Wait()
	b.StopTimer()
	st, err := bat.Stats(5 * time.Second)
	if err == nil && len(st.Models) == 1 {
		b.ReportMetric(st.Models[0].MeanBatch(), "rows/batch")
	}
}

func BenchmarkBatcherAdaptive1(b *testing.B)  { benchBatcher(b, BatcherOptions{}, 1) }
func BenchmarkBatcherAdaptive64(b *testing.B) { benchBatcher(b, BatcherOptions{}, 64) }
func BenchmarkBatcherWindow64(b *testing.B) {
	benchBatcher(b, BatcherOptions{Policy: PolicyWindow}, 64)
}
func BenchmarkBatcherBatchOne64(b *testing.B) { benchBatcher(b, BatcherOptions{MaxBatch: 1}, 64) }

// BenchmarkSessionRun64 is the raw ONNX Runtime cost the batcher is judged against: ns/op
// per row of a 64-row run.
func BenchmarkSessionRun64(b *testing.B) {
	_, s := batcherSession(b, 1)
	r := rand.New(rand.NewPCG(1, 1))
	var in []float32
	for range 64 {
		in = append(in, batcherRow(r, 23)...)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i += 64 {
		if _, err := s.Run(in, 64); err != nil {
			b.Fatal(err)
		}
	}
}
