package postgres

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/synapse-trading/synapse/migrations"
	"github.com/synapse-trading/synapse/streams"
)

// ProjectorOptions configure a Projector. The zero value projects ORD, PF, CMD and SIG in
// batches of up to 5000 events, each written as soon as the one before has committed.
type ProjectorOptions struct {
	// Streams to project (default ORD, PF, CMD, SIG). Others are not the read model's.
	Streams []string
	// Consumer prefixes the durable consumer names: <Consumer>-<stream> (default
	// "synapse-postgres"). Two projectors into two databases from one log need two.
	Consumer string
	// BatchSize bounds a batch. A batch is what arrived while the one before was written:
	// a lone event on a quiet log is written at once, a backlog in batches of BatchSize.
	BatchSize int
	// BatchWait, if set, also holds a batch up to BatchWait after its first event to gather
	// more (fewer, larger transactions on a quiet log, each event later). Default 0.
	BatchWait time.Duration
	// CommitTimeout bounds one attempt at writing a batch (default 30 s): a Postgres that
	// stops answering is an outage like one that refuses connections.
	CommitTimeout time.Duration
	// RetryMin and RetryMax bound the backoff between attempts at a batch that failed
	// (default 100 ms doubling up to 5 s). A batch is retried until it commits.
	RetryMin, RetryMax time.Duration
	// MaxCachedOrders bounds the orders kept in memory between batches (default 100,000);
	// beyond it finished orders are dropped and read back from their row when needed.
	MaxCachedOrders int
	Logger          *slog.Logger
	// OnCommit, if set, is called after each batch commits and before its messages are
	// acknowledged, with the stream and the batch's last sequence (tests stop a projector
	// there, as a crash between commit and ack would).
	OnCommit func(stream string, lastSeq uint64)
}

func (o *ProjectorOptions) defaults() {
	if len(o.Streams) == 0 {
		o.Streams = []string{streams.StreamOrders, streams.StreamPortfolio, streams.StreamCommands, streams.StreamSignals}
	}
	if o.Consumer == "" {
		o.Consumer = "synapse-postgres"
	}
	if o.BatchSize <= 0 {
		o.BatchSize = 5000
	}
	if o.CommitTimeout <= 0 {
		o.CommitTimeout = 30 * time.Second
	}
	if o.RetryMin <= 0 {
		o.RetryMin = 100 * time.Millisecond
	}
	if o.RetryMax < o.RetryMin {
		o.RetryMax = max(5*time.Second, o.RetryMin)
	}
	if o.MaxCachedOrders <= 0 {
		o.MaxCachedOrders = 100_000
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
}

// Projector folds the log into the read model's tables. Each stream has its own durable
// JetStream consumer (explicit acks) and its own row in projector_offsets; a batch of
// events is written in one transaction together with that row, and acknowledged only after
// it committed. On start the consumer is created afresh to deliver from the committed
// offset + 1, and a message at or below the offset (a crash between commit and ack, a
// redelivery) is skipped, so every event is folded in exactly once. A Postgres outage stops
// the projection where it is: the batch is retried with backoff until it commits.
//
// Orders are folded by portfolio.Order.Apply and positions by portfolio.Account.Fill, the
// same code the engine and the in-memory read model run, so the rows equal their state to
// the last digit.
//
// Throughput: new orders and fills are written with COPY, new orders without a read first;
// the next batch is fetched and decoded while one is written; a batch is one transaction
// of two round trips besides its COPYs (BEGIN with the offset's read, COMMIT with the other
// writes) and is acknowledged by one ack of its last message (AckAll); its commit does not
// wait for its WAL flush (synchronous_commit off: a Postgres crash can lose the last
// batches, and their offset with them, so they are projected again from the log).
type Projector struct {
	db    *DB
	js    jetstream.JetStream
	opts  ProjectorOptions
	projs []*projection
}

// projection is one stream's part of the projector.
type projection struct {
	stream  string
	fold    folder
	applied atomic.Uint64 // last sequence committed
	events  atomic.Int64  // events folded in (committed)
	bad     atomic.Int64  // undecodable events skipped
	reject  atomic.Int64  // events the fold refused (an impossible transition, a fill without its order)
	batches atomic.Int64
	retries atomic.Int64
	refolds atomic.Int64
	// lastEvent is the fingerprint of the event at applied as the database recorded it when
	// the projector started (checkLastEvent).
	lastEvent string
}

// item is one event of a batch and its sequence; ev is nil for an undecodable one.
type item struct {
	seq uint64
	ev  streams.Event
}

// folder folds one stream's events into its tables.
type folder interface {
	// fold folds items (in sequence order, each past the committed offset) inside the
	// batch's transaction: it reads the rows it needs, may copy new rows in on tx, and queues
	// its other writes on b (sent with the offset's update and the commit). It returns how
	// many events it refused.
	fold(ctx context.Context, tx inTx, items []item, b *pgx.Batch) (refused int, err error)
	// committed says the transaction of the last fold committed; reset that it may not
	// have, so any state kept from it must be read again.
	committed()
	reset()
}

// inTx is the connection a batch's transaction is open on (a *pgx.Conn; a pgx.Tx would do).
type inTx interface {
	CopyFrom(ctx context.Context, table pgx.Identifier, columns []string, rows pgx.CopyFromSource) (int64, error)
	SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults
}

// errRefold says a batch must be folded again more carefully: the fold assumed something
// the database contradicted (an intent whose order is already stored). It is not an outage.
var errRefold = errors.New("refold the batch")

// NewProjector returns a projector writing to db from the log behind js. Run starts it.
func NewProjector(db *DB, js jetstream.JetStream, opts ProjectorOptions) *Projector {
	opts.defaults()
	p := &Projector{db: db, js: js, opts: opts}
	for _, s := range opts.Streams {
		pr := &projection{stream: s}
		switch s {
		case streams.StreamOrders:
			pr.fold = newOrderFold(opts.MaxCachedOrders)
		case streams.StreamPortfolio:
			pr.fold = &portfolioFold{}
		case streams.StreamCommands:
			pr.fold = &commandFold{}
		case streams.StreamSignals:
			pr.fold = &signalFold{}
		default:
			pr.fold = nil // rejected by Run
		}
		p.projs = append(p.projs, pr)
	}
	return p
}

// Run projects until ctx ends (nil) or an error that retrying cannot cure: the schema is
// missing (ErrSchema), the database was projected from another log (ErrDiverged), or a
// stream is missing from the log.
func (p *Projector) Run(ctx context.Context) error {
	for _, pr := range p.projs {
		if pr.fold == nil {
			return fmt.Errorf("projector: stream %q is not projected into Postgres (ORD, PF, CMD or SIG)", pr.stream)
		}
	}
	if err := p.start(ctx); err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errs := make(chan error, len(p.projs))
	var wg sync.WaitGroup
	for _, pr := range p.projs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := p.follow(ctx, pr); err != nil {
				errs <- fmt.Errorf("projecting %s: %w", pr.stream, err)
				cancel()
			}
		}()
	}
	wg.Wait()
	close(errs)
	return <-errs
}

// start creates the offset rows and reads them, retrying while Postgres is unreachable.
func (p *Projector) start(ctx context.Context) error {
	for attempt := 0; ; attempt++ {
		err := p.readOffsets(ctx)
		if err == nil {
			break
		}
		if ctx.Err() != nil || isSchemaError(err) {
			return err
		}
		p.opts.Logger.Warn("read model: cannot read the projector offsets; retrying", "err", err, "attempt", attempt+1)
		if streams.Sleep(ctx, p.backoff(attempt)) != nil {
			return ctx.Err()
		}
	}
	for _, pr := range p.projs {
		head, err := p.head(ctx, pr.stream)
		if err != nil {
			return err
		}
		if a := pr.applied.Load(); a > head {
			return fmt.Errorf("%w: projector_offsets says %s is applied up to %d, but the log's %s ends at %d: %s", ErrDiverged, pr.stream, a, pr.stream, head, anotherLog)
		}
		if err := p.checkLastEvent(ctx, pr); err != nil {
			return err
		}
	}
	return nil
}

const anotherLog = "this database was projected from another log; give the --data-dir it came from, or a read model of its own for this one (another database, or ?search_path=NEW_SCHEMA in --database-url)"

// checkLastEvent compares the event at the stream's committed offset with the one the
// database recorded applying there: another log's event means the tables hold another
// log's rows. An offset without a record (older rows) or an event the log no longer holds
// cannot be checked.
func (p *Projector) checkLastEvent(ctx context.Context, pr *projection) error {
	seq := pr.applied.Load()
	if seq == 0 || pr.lastEvent == "" {
		return nil
	}
	stream, err := p.js.Stream(ctx, pr.stream)
	if err != nil {
		return fmt.Errorf("reading the stream %s: %w", pr.stream, err)
	}
	msg, err := stream.GetMsg(ctx, seq)
	if errors.Is(err, jetstream.ErrMsgNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("reading %s's event %d: %w", pr.stream, seq, err)
	}
	if fingerprint(msg.Subject, msg.Data) != pr.lastEvent {
		return fmt.Errorf("%w: the event at %s sequence %d is not the one this database applied there: %s", ErrDiverged, pr.stream, seq, anotherLog)
	}
	return nil
}

// fingerprint names an event by its subject and data, for projector_offsets.last_event.
func fingerprint(subject string, data []byte) string {
	h := sha256.New()
	h.Write([]byte(subject))
	h.Write([]byte{0})
	h.Write(data)
	return hex.EncodeToString(h.Sum(nil)[:12])
}

func (p *Projector) readOffsets(ctx context.Context) error {
	// Each statement borrows a connection from the pool, which closes it if it broke.
	conn := p.db.pool
	err := func() error {
		names := make([]string, len(p.projs))
		for i, pr := range p.projs {
			names[i] = pr.stream
		}
		if _, err := conn.Exec(ctx, "insert into projector_offsets (stream) select unnest($1::text[]) on conflict do nothing", names); err != nil {
			return err
		}
		rows, err := conn.Query(ctx, "select stream, last_seq, last_event from projector_offsets where stream = any($1)", names)
		if err != nil {
			return err
		}
		type offset struct {
			stream, event string
			seq           int64
		}
		offsets, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (offset, error) {
			var o offset
			return o, r.Scan(&o.stream, &o.seq, &o.event)
		})
		if err != nil {
			return err
		}
		for _, o := range offsets {
			for _, pr := range p.projs {
				if pr.stream == o.stream {
					pr.applied.Store(uint64(o.seq))
					pr.lastEvent = o.event
				}
			}
		}
		return nil
	}()
	if isSchemaError(err) {
		return fmt.Errorf("%w: %w", ErrSchema, migrations.Explain(p.db.cfg, err))
	}
	return err
}

// follow (re)creates the stream's durable consumer at the committed offset and projects
// its batches until ctx ends.
func (p *Projector) follow(ctx context.Context, pr *projection) error {
	name := p.opts.Consumer + "-" + pr.stream
	if err := p.js.DeleteConsumer(ctx, pr.stream, name); err != nil && !errors.Is(err, jetstream.ErrConsumerNotFound) {
		if ctx.Err() != nil {
			return nil
		}
		return fmt.Errorf("removing the consumer %s: %w", name, err)
	}
	cons, err := p.js.CreateConsumer(ctx, pr.stream, jetstream.ConsumerConfig{
		Durable:       name,
		Description:   "Postgres read model (portfolio/postgres); recreated from projector_offsets on every start",
		DeliverPolicy: jetstream.DeliverByStartSequencePolicy,
		OptStartSeq:   pr.applied.Load() + 1,
		AckPolicy:     jetstream.AckAllPolicy, // a batch is acknowledged by its last message
		AckWait:       10 * time.Minute,       // a batch waiting out an outage is not redelivered meanwhile
		MaxDeliver:    -1,
		MaxAckPending: 4 * p.opts.BatchSize,
	})
	if err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return fmt.Errorf("creating the consumer %s: %w", name, err)
	}
	// The next batch is fetched and decoded while this one is written, and a batch is
	// acknowledged while the next is written. Both goroutines end before follow returns.
	ctx, cancel := context.WithCancel(ctx)
	batches := make(chan fetched)
	go p.fetch(ctx, pr, cons, batches)
	acks := make(chan []jetstream.Msg, 4)
	acked := make(chan struct{})
	go func() {
		defer close(acked)
		for msgs := range acks {
			if len(msgs) > 0 {
				_ = msgs[len(msgs)-1].Ack() // and every message before it (AckAll)
			}
		}
	}()
	defer func() {
		cancel()
		for range batches { // until fetch has returned
		}
		close(acks)
		<-acked
	}()
	for f := range batches {
		if f.err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("consuming %s: %w", name, f.err)
		}
		if f.last > pr.applied.Load() {
			if err := p.write(ctx, pr, f.items, f.last, fingerprint(f.lastMsg.Subject(), f.lastMsg.Data())); err != nil {
				return err
			}
			if ctx.Err() != nil {
				return nil // not committed, or committed and not acknowledged: the next start knows
			}
			if p.opts.OnCommit != nil {
				p.opts.OnCommit(pr.stream, f.last)
				if ctx.Err() != nil {
					return nil
				}
			}
		}
		acks <- f.msgs
	}
	return nil
}

// fetched is one batch: its messages, their events and the last sequence, or the error
// that ended fetching.
type fetched struct {
	msgs    []jetstream.Msg
	items   []item
	last    uint64
	lastMsg jetstream.Msg // the message at last
	err     error
}

// fetch hands the writer batches of decoded events until ctx ends or the consumer fails.
// The events are decoded as they arrive, and a batch is handed over as soon as the writer
// is free: a lone event on a quiet log is written at once, and the events that arrive
// while a batch is written form the next one, up to BatchSize (then fetch waits for the
// writer). With BatchWait set, a batch also waits up to BatchWait after its first event to
// fill. out must be unbuffered: a send on it is the writer being free.
func (p *Projector) fetch(ctx context.Context, pr *projection, cons jetstream.Consumer, out chan<- fetched) {
	defer close(out)
	hand := func(err error) {
		select {
		case out <- fetched{err: err}:
		case <-ctx.Done():
		}
	}
	msgs, failed, stop, err := streams.Deliver(ctx, cons, 256, 2*p.opts.BatchSize)
	if err != nil {
		hand(err)
		return
	}
	defer stop()
	var f fetched
	var window <-chan time.Time // with BatchWait: open from a batch's first event, holding it
	for {
		in, writer := msgs, out
		switch {
		case len(f.msgs) >= p.opts.BatchSize:
			in = nil // full: it waits for the writer
		case len(f.msgs) == 0 || window != nil:
			writer = nil // nothing to hand over yet
		}
		select {
		case msg := <-in:
			if len(f.msgs) == 0 && p.opts.BatchWait > 0 {
				window = time.After(p.opts.BatchWait)
			}
			f.msgs = append(f.msgs, msg)
			if it, ok := p.decode(pr, msg); ok {
				f.items = append(f.items, it)
				f.last, f.lastMsg = it.seq, msg
			}
		case writer <- f: // the writer is free: it takes what has come
			f, window = fetched{}, nil
		case <-window:
			window = nil
		case err := <-failed:
			hand(err)
			return
		case <-ctx.Done():
			return
		}
	}
}

// decode turns a message into an item if it is past the committed offset (a message at or
// below it is a redelivery of one committed already); an event that does not decode is an
// item without an event.
func (p *Projector) decode(pr *projection, msg jetstream.Msg) (item, bool) {
	d := streams.DecodeMsg(msg)
	if d.Seq == 0 || d.Seq <= pr.applied.Load() {
		return item{}, false // not a JetStream message, or committed already
	}
	return item{seq: d.Seq, ev: d.Event}, true
}

// write commits a batch, retrying with backoff until it commits or ctx ends.
func (p *Projector) write(ctx context.Context, pr *projection, items []item, last uint64, lastEvent string) error {
	for attempt := 0; ; attempt++ {
		attemptCtx, cancel := context.WithTimeout(ctx, p.opts.CommitTimeout)
		c, err := p.commit(attemptCtx, pr, items, last, lastEvent)
		cancel()
		if err == nil {
			pr.fold.committed()
			pr.applied.Store(last)
			pr.events.Add(int64(c.folded))
			pr.reject.Add(int64(c.refused))
			pr.bad.Add(int64(len(c.bad)))
			pr.batches.Add(1)
			for _, seq := range c.bad {
				p.opts.Logger.Warn("read model: skipped an event that does not decode", "stream", pr.stream, "seq", seq)
			}
			return nil
		}
		pr.fold.reset()
		if ctx.Err() != nil {
			return nil
		}
		if errors.Is(err, errRefold) {
			pr.refolds.Add(1)
			attempt-- // at once, and not an outage
			continue
		}
		if isSchemaError(err) {
			return fmt.Errorf("%w: %w", ErrSchema, migrations.Explain(p.db.cfg, err))
		}
		pr.retries.Add(1)
		wait := p.backoff(attempt)
		p.opts.Logger.Warn("read model: writing a batch failed; retrying", "stream", pr.stream, "last_seq", last,
			"events", len(items), "attempt", attempt+1, "retry_in", wait, "err", err)
		if streams.Sleep(ctx, wait) != nil {
			return nil
		}
	}
}

// commit writes one batch and the stream's offset in one transaction. Items at or below the
// offset found in the database (the previous attempt committed after all) are skipped.
//
// The transaction costs two round trips besides the fold's own: BEGIN goes with the offset's
// read, COMMIT with the offset's update and the fold's queued writes (pipelined batches).
func (p *Projector) commit(ctx context.Context, pr *projection, items []item, last uint64, lastEvent string) (c counts, err error) {
	conn, err := p.db.pool.Acquire(ctx)
	if err != nil {
		return c, err
	}
	// A connection left inside a transaction (a failed rollback) is closed by the pool at
	// Release rather than reused.
	defer conn.Release()
	open := false
	defer func() {
		if open {
			_, _ = conn.Exec(context.WithoutCancel(ctx), "rollback")
		}
	}()
	// The commit need not wait for its WAL flush: a Postgres crash that loses it loses the
	// offset with the rows, and the projector folds those events again from the log.
	var offset int64
	b := &pgx.Batch{}
	b.Queue("begin")
	b.Queue("set local synchronous_commit = off")
	b.Queue("select last_seq from projector_offsets where stream = $1 for update", pr.stream).QueryRow(func(row pgx.Row) error { return row.Scan(&offset) })
	open = true
	if err := conn.SendBatch(ctx, b).Close(); err != nil {
		return c, err
	}
	if uint64(offset) >= last {
		return c, nil // committed by an earlier attempt; the deferred rollback ends this one
	}
	if uint64(offset) != pr.applied.Load() {
		pr.fold.reset() // someone else wrote here: what is in memory may be stale
	}
	good := make([]item, 0, len(items))
	for _, it := range items {
		switch {
		case it.seq <= uint64(offset):
		case it.ev == nil:
			c.bad = append(c.bad, it.seq)
		default:
			good = append(good, it)
		}
	}
	b = &pgx.Batch{}
	if len(good) > 0 {
		if c.refused, err = pr.fold.fold(ctx, conn.Conn(), good, b); err != nil {
			return counts{}, err
		}
	}
	b.Queue("update projector_offsets set last_seq = $2, last_event = $3, updated_at = now() where stream = $1", pr.stream, int64(last), lastEvent)
	b.Queue("commit").Exec(func(tag pgconn.CommandTag) error {
		if tag.String() == "ROLLBACK" { // what COMMIT answers in a transaction that failed
			return pgx.ErrTxCommitRollback
		}
		return nil
	})
	if err := conn.SendBatch(ctx, b).Close(); err != nil {
		return counts{}, err
	}
	open = false
	c.folded = len(good) - c.refused
	return c, nil
}

// counts are what a committed batch did with its events.
type counts struct {
	folded, refused int
	bad             []uint64 // sequences of the events that did not decode
}

func (p *Projector) backoff(attempt int) time.Duration {
	d := p.opts.RetryMin
	for i := 0; i < attempt && d < p.opts.RetryMax; i++ {
		d *= 2
	}
	return min(d, p.opts.RetryMax)
}

// head is the last sequence of a stream of the log.
func (p *Projector) head(ctx context.Context, stream string) (uint64, error) {
	return streams.LastSeq(ctx, p.js, stream)
}

// Applied is the last sequence committed per stream.
func (p *Projector) Applied() map[string]uint64 {
	out := make(map[string]uint64, len(p.projs))
	for _, pr := range p.projs {
		out[pr.stream] = pr.applied.Load()
	}
	return out
}

// Lag is the projection's lag per stream in events: the stream's last sequence minus the
// last one committed.
func (p *Projector) Lag(ctx context.Context) (map[string]uint64, error) {
	out := make(map[string]uint64, len(p.projs))
	for _, pr := range p.projs {
		head, err := p.head(ctx, pr.stream)
		if err != nil {
			return nil, err
		}
		if a := pr.applied.Load(); head > a {
			out[pr.stream] = head - a
		} else {
			out[pr.stream] = 0
		}
	}
	return out, nil
}

// CatchUp waits until every stream is committed up to the sequence it ended at when
// CatchUp was called, or ctx ends.
func (p *Projector) CatchUp(ctx context.Context) error {
	heads := make([]uint64, len(p.projs))
	for i, pr := range p.projs {
		h, err := p.head(ctx, pr.stream)
		if err != nil {
			return err
		}
		heads[i] = h
	}
	for {
		done := true
		for i, pr := range p.projs {
			if pr.applied.Load() < heads[i] {
				done = false
			}
		}
		if done {
			return nil
		}
		if err := streams.Sleep(ctx, 5*time.Millisecond); err != nil {
			return fmt.Errorf("catching up with the log: %w (applied %v)", err, p.Applied())
		}
	}
}

// StreamStats counts what the projector did with one stream since it started.
type StreamStats struct {
	Applied uint64 `json:"applied"` // last sequence committed
	Events  int64  `json:"events"`  // events folded in
	Bad     int64  `json:"bad"`     // undecodable events skipped
	Refused int64  `json:"refused"` // events the fold refused (an impossible transition, a fill without its order)
	Batches int64  `json:"batches"`
	Retries int64  `json:"retries"` // failed attempts at writing a batch (Postgres down)
	Refolds int64  `json:"refolds"` // batches folded a second time, reading every order back (an intent the log repeated)
}

// Stats reports the counters per stream.
func (p *Projector) Stats() map[string]StreamStats {
	out := make(map[string]StreamStats, len(p.projs))
	for _, pr := range p.projs {
		out[pr.stream] = StreamStats{Applied: pr.applied.Load(), Events: pr.events.Load(), Bad: pr.bad.Load(),
			Refused: pr.reject.Load(), Batches: pr.batches.Load(), Retries: pr.retries.Load(), Refolds: pr.refolds.Load()}
	}
	return out
}

// isSchemaError reports a missing table or column (class 42: the schema is not this
// build's), which no retry cures.
func isSchemaError(err error) bool {
	if errors.Is(err, ErrSchema) {
		return true
	}
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && strings.HasPrefix(pgErr.Code, "42")
}
