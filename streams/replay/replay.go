package replay

import (
	"container/heap"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"time"

	"github.com/synapse-trading/synapse/streams"
)

// Options configure a Replay. The zero value replays as fast as possible and detects
// everything.
type Options struct {
	// Speed is the multiple of real time: 1 real time, 60 sixty times faster, 0 as fast as
	// possible. ParseSpeed reads it from a flag.
	Speed float64
	// Venue, Symbol and Interval override what each file's reader detects (see
	// ReaderOptions). Leave them empty to detect.
	Venue, Symbol, Interval string
	// MaxIdle cuts a pause in the recordings (between two records, in wall time at Speed) to
	// at most this long, so that files from different days replay back to back instead of
	// waiting out the days between them. 0 keeps every pause.
	MaxIdle time.Duration
	// Skip, if set, tells the events to leave out because the log holds them already (a
	// replay restarted on the same log): counted as Stored, and not paced, so the replay
	// goes on at its speed from the first event the log lacks.
	Skip func(streams.Event) bool
	// Clock returns the current time; nil means time.Now. For tests.
	Clock func() time.Time
	// Sleep waits for d or until ctx is done, returning ctx.Err() then; nil waits on a
	// timer. For tests, together with Clock.
	Sleep func(ctx context.Context, d time.Duration) error
}

// Stats counts what a Replay did, per file and in total, and per (venue, symbol, kind).
type Stats struct {
	Files []FileStats // in the order the files were given
	Keys  []KeyStats  // sorted by venue, symbol, kind
	Total FileStats   // sums over the files; Source is "total", LastErrors is empty
}

// Replay merges several recordings into one sequence ordered by Record.At (ties go to the
// file given first, then the earlier line), drops duplicate and out-of-order events across
// all files, and paces delivery at Options.Speed. A Replay is not safe for concurrent use
// (except Size and Consumed).
type Replay struct {
	opts    Options
	readers []*Reader
	queue   recordQueue
	guard   *Guard

	started   bool      // the first record has been delivered
	startAt   int64     // its At
	startWall time.Time // the wall time it was delivered
	held      *Record   // a record whose wait was cancelled, delivered by the next call
	lastAt    int64     // At of the previous record delivered
	skipped   int64     // ns of recording time cut by MaxIdle
}

// Open replays the files at paths; see OpenFS.
func Open(paths []string, opts Options) (*Replay, error) {
	return open(paths, opts, func(p string, ro ReaderOptions) (*Reader, error) { return OpenFile(p, ro) })
}

// OpenFS replays the files names in fsys, for instance recordings.FS() and
// recordings.Names(). Each file's format, venue and symbol are detected (see Reader).
// A file that cannot be opened, or is in no known format, fails the call; bad lines inside
// a file do not.
func OpenFS(fsys fs.FS, names []string, opts Options) (*Replay, error) {
	return open(names, opts, func(n string, ro ReaderOptions) (*Reader, error) { return OpenFileFS(fsys, n, ro) })
}

func open(names []string, opts Options, openOne func(string, ReaderOptions) (*Reader, error)) (*Replay, error) {
	if len(names) == 0 {
		return nil, fmt.Errorf("%w: name at least one kline CSV or websocket capture", ErrNoFiles)
	}
	if err := checkSpeed(opts.Speed); err != nil {
		return nil, err
	}
	if opts.Clock == nil {
		opts.Clock = time.Now
	}
	if opts.Sleep == nil {
		opts.Sleep = streams.Sleep
	}
	r := &Replay{opts: opts, guard: NewGuard()}
	ro := ReaderOptions{Venue: opts.Venue, Symbol: opts.Symbol, Interval: opts.Interval}
	for i, name := range names {
		rd, err := openOne(name, ro)
		if err != nil {
			r.Close()
			return nil, err
		}
		rd.guard = nil // the Replay checks order across all files instead
		r.readers = append(r.readers, rd)
		if rec, err := rd.next(); err == nil {
			heap.Push(&r.queue, queued{rec: rec, file: i})
		}
	}
	return r, nil
}

// Next returns the next record in At order, waiting until it is due at the replay's speed:
// the wait is measured from the first record's At and the wall time it was delivered, so
// errors do not accumulate. It returns io.EOF after the last record, and ctx.Err() if ctx
// ends first (the record is then kept for the next call).
func (r *Replay) Next(ctx context.Context) (Record, error) {
	if err := ctx.Err(); err != nil {
		return Record{}, err
	}
	var rec Record
	if r.held != nil {
		rec, r.held = *r.held, nil
	} else {
		var err error
		if rec, err = r.pop(); err != nil {
			return Record{}, err
		}
	}
	if err := r.pace(ctx, rec.At); err != nil {
		r.held = &rec
		return Record{}, err
	}
	return rec, nil
}

// pop takes the earliest record, refills the queue from its file and applies the Guard.
func (r *Replay) pop() (Record, error) {
	for r.queue.Len() > 0 {
		q := heap.Pop(&r.queue).(queued)
		rd := r.readers[q.file]
		if rec, err := rd.next(); err == nil {
			heap.Push(&r.queue, queued{rec: rec, file: q.file})
		}
		switch r.guard.Check(q.rec.Event) {
		case Duplicate:
			rd.stats.Duplicates++
		case OutOfOrder:
			rd.stats.OutOfOrder++
		default:
			if r.opts.Skip != nil && r.opts.Skip(q.rec.Event) {
				rd.stats.Stored++
				continue
			}
			rd.stats.Records++
			return q.rec, nil
		}
	}
	return Record{}, io.EOF
}

// pace waits until the record at is due.
func (r *Replay) pace(ctx context.Context, at int64) error {
	if r.opts.Speed == 0 {
		return nil
	}
	now := r.opts.Clock()
	if !r.started {
		r.started, r.startAt, r.startWall, r.lastAt = true, at, now, at
		return nil
	}
	if r.opts.MaxIdle > 0 {
		if maxGap := int64(float64(r.opts.MaxIdle) * r.opts.Speed); at-r.lastAt > maxGap {
			r.skipped += at - r.lastAt - maxGap
		}
	}
	r.lastAt = max(r.lastAt, at)
	due := r.startWall.Add(time.Duration(float64(at-r.startAt-r.skipped) / r.opts.Speed))
	if wait := due.Sub(now); wait > 0 {
		return r.opts.Sleep(ctx, wait)
	}
	return nil
}

// Stats reports the counts so far.
func (r *Replay) Stats() Stats {
	s := Stats{Keys: r.guard.Stats(), Total: FileStats{Source: "total"}}
	for _, rd := range r.readers {
		st := rd.Stats()
		s.Files = append(s.Files, st)
		s.Total.Records += st.Records
		s.Total.Malformed += st.Malformed
		s.Total.OutOfOrder += st.OutOfOrder
		s.Total.Duplicates += st.Duplicates
		s.Total.Stored += st.Stored
		s.Total.NonMarket += st.NonMarket
		s.Total.OpenKlines += st.OpenKlines
		s.Total.OtherStreams += st.OtherStreams
	}
	return s
}

// Size is the total size in bytes of the files as stored (see Reader.Size).
func (r *Replay) Size() int64 {
	var n int64
	for _, rd := range r.readers {
		n += rd.Size()
	}
	return n
}

// Consumed is how many of those bytes have been read so far. Size and Consumed drive a
// progress bar; unlike the other methods they are safe to call from any goroutine.
func (r *Replay) Consumed() int64 {
	var n int64
	for _, rd := range r.readers {
		n += rd.Consumed()
	}
	return n
}

// Close closes every file.
func (r *Replay) Close() error {
	var errs []error
	for _, rd := range r.readers {
		errs = append(errs, rd.Close())
	}
	return errors.Join(errs...)
}

// queued is a record waiting in the merge queue, with the index of its file.
type queued struct {
	rec  Record
	file int
}

// recordQueue is a min-heap of queued records on (At, file, line).
type recordQueue []queued

func (q recordQueue) Len() int { return len(q) }
func (q recordQueue) Less(i, j int) bool {
	a, b := q[i], q[j]
	if a.rec.At != b.rec.At {
		return a.rec.At < b.rec.At
	}
	if a.file != b.file {
		return a.file < b.file
	}
	return a.rec.Line < b.rec.Line
}
func (q recordQueue) Swap(i, j int) { q[i], q[j] = q[j], q[i] }
func (q *recordQueue) Push(x any)   { *q = append(*q, x.(queued)) }
func (q *recordQueue) Pop() any {
	old := *q
	last := old[len(old)-1]
	*q = old[:len(old)-1]
	return last
}
