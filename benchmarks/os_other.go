//go:build !linux

package benchmarks

import (
	"errors"
	"time"
)

// pacer sleeps an open-loop load until a send is due. Outside Linux it is time.Sleep, which
// may wake up to a millisecond late when the process is idle; the lag is measured and counted
// in the latencies either way.
type pacer struct{}

func newPacer() (*pacer, error) { return &pacer{}, nil }

// wait returns at due, or at once when due has passed.
func (p *pacer) wait(due time.Time) error {
	time.Sleep(time.Until(due))
	return nil
}

func (p *pacer) close() {}

func setSchedIdle(int) error { return errors.ErrUnsupported }

// cpuTime is not measured outside Linux.
func cpuTime() time.Duration { return 0 }

// postgresCPU is not measured outside Linux.
func postgresCPU() time.Duration { return 0 }
