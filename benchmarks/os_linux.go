// This file holds what the scenarios ask of the operating system, on Linux.

package benchmarks

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
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

// postgresCPU is the CPU time (user and system) the processes named postgres on this machine
// have used, from /proc; 0 when none is visible (a remote server).
func postgresCPU() time.Duration {
	dirs, _ := filepath.Glob("/proc/[0-9]*")
	var ticks int64
	for _, d := range dirs {
		if comm, err := os.ReadFile(d + "/comm"); err != nil || !strings.HasPrefix(string(comm), "postgres") {
			continue
		}
		stat, err := os.ReadFile(d + "/stat")
		if err != nil {
			continue
		}
		// Fields after the command (which may hold spaces): state is the first; utime and
		// stime are the 12th and 13th.
		_, rest, ok := strings.Cut(string(stat), ") ")
		f := strings.Fields(rest)
		if !ok || len(f) < 13 {
			continue
		}
		u, _ := strconv.ParseInt(f[11], 10, 64)
		s, _ := strconv.ParseInt(f[12], 10, 64)
		ticks += u + s
	}
	return time.Duration(ticks) * time.Second / clockTicks
}

// clockTicks is the kernel's USER_HZ, the unit of /proc's CPU times (100 on Linux builds).
const clockTicks = 100
