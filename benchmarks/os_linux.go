// This file holds what the scenarios ask of the operating system, on Linux.

package benchmarks

import (
	"fmt"
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// pacer sleeps an open-loop load until a send is due. A plain time.Sleep wakes up to a
// millisecond late when the process is idle (Go's netpoller waits in whole milliseconds), ten
// ticks at 10,000/s; spinning until the due time costs a core the engine under test then
// lacks. A timerfd read through the netpoller wakes within tens of microseconds and costs
// nothing while it waits.
type pacer struct {
	fd   int
	file *os.File
	buf  [8]byte
}

func newPacer() (*pacer, error) {
	fd, err := unix.TimerfdCreate(unix.CLOCK_MONOTONIC, unix.TFD_NONBLOCK|unix.TFD_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("open-loop pacer: timerfd_create: %w", err)
	}
	return &pacer{fd: fd, file: os.NewFile(uintptr(fd), "pacer-timerfd")}, nil
}

// wait returns at due, or at once when due has passed.
func (p *pacer) wait(due time.Time) error {
	d := time.Until(due)
	if d <= 0 {
		return nil
	}
	spec := unix.ItimerSpec{Value: unix.NsecToTimespec(d.Nanoseconds())}
	if err := unix.TimerfdSettime(p.fd, 0, &spec, nil); err != nil {
		return fmt.Errorf("open-loop pacer: timerfd_settime: %w", err)
	}
	if _, err := p.file.Read(p.buf[:]); err != nil {
		return fmt.Errorf("open-loop pacer: reading the timerfd: %w", err)
	}
	return nil
}

func (p *pacer) close() { p.file.Close() }

// setSchedIdle puts thread tid under SCHED_IDLE: it runs only when no other thread of the
// machine wants its core. Any process may lower its own threads to it.
func setSchedIdle(tid int) error {
	return unix.SchedSetAttr(tid, &unix.SchedAttr{Size: unix.SizeofSchedAttr, Policy: unix.SCHED_IDLE}, 0)
}

// cpuTime is the CPU time (user and system) this process has used.
func cpuTime() time.Duration {
	var ru unix.Rusage
	_ = unix.Getrusage(unix.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
