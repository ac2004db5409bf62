package web

import (
	"context"
	"fmt"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// The gateway's cost of fanning state out: 1,000 websocket clients, each subscribed to one of
// 8 symbol topics, while the 8 topics change every 5 ms (the engine's symbol actors show
// their state far less often) and the gateway sends each client at most 10 frames a second.
// Reported: CPU time of the whole process (gateway and clients, both here) per frame the
// clients received, and frames per client per second. One iteration is one second of it.
func BenchmarkFanout1000Clients(b *testing.B) {
	hub := NewHub()
	state := map[string]any{"last_price": "97000.12", "closes": strings.Split(strings.Repeat("97000.1,", 120), ",")}
	for i := range 8 {
		_ = hub.Set(fmt.Sprintf("symbol/binance/SYM%d", i), state)
	}
	srv := httptest.NewServer(New(hub, Options{Open: true, MinInterval: 100 * time.Millisecond}).Handler())
	defer srv.Close()
	ctx, cancel := context.WithCancel(context.Background())
	var frames atomic.Int64
	var readers sync.WaitGroup
	for i := range 1000 {
		c, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(srv.URL, "http")+fmt.Sprintf("/ws?topics=symbol/binance/SYM%d", i%8), nil)
		if err != nil {
			b.Fatal(err)
		}
		c.SetReadLimit(1 << 20)
		readers.Add(1)
		go func() {
			defer readers.Done()
			defer c.CloseNow()
			for {
				if _, _, err := c.Read(ctx); err != nil {
					return
				}
				frames.Add(1)
			}
		}()
	}
	done := make(chan struct{})
	go func() {
		tick := time.NewTicker(5 * time.Millisecond)
		defer tick.Stop()
		for n := 0; ; n++ {
			select {
			case <-done:
				return
			case <-tick.C:
				_ = hub.Set(fmt.Sprintf("symbol/binance/SYM%d", n%8), state)
			}
		}
	}()
	time.Sleep(time.Second) // every client has its first frame
	startFrames, startCPU, start := frames.Load(), cpuTime(), time.Now()
	for b.Loop() {
		time.Sleep(time.Second)
	}
	elapsed, cpu, n := time.Since(start), cpuTime()-startCPU, frames.Load()-startFrames
	close(done)
	cancel()
	readers.Wait()
	b.ReportMetric(float64(cpu.Microseconds())/float64(n), "cpu-µs/frame")
	b.ReportMetric(float64(n)/1000/elapsed.Seconds(), "frames/client/s")
	b.ReportMetric(cpu.Seconds()/elapsed.Seconds(), "cores")
}

// cpuTime is the CPU time (user and system) this process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
