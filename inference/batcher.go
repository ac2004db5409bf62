package inference

import (
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/anthdm/hollywood/actor"
	"github.com/prometheus/client_golang/prometheus"
)

// The batcher's errors. They live here rather than in errors.go while another engineer
// edits that file; a BatchReply's Err wraps one of them (check with errors.Is).
var (
	// ErrDeadline means a request would have been served after its deadline, so it was
	// dropped without running: send it again with a later deadline, or shed the load.
	ErrDeadline = errors.New("inference deadline exceeded")
	// ErrUnknownModel means no version of the requested model is deployed: send Deploy first.
	ErrUnknownModel = errors.New("unknown model")
	// ErrQueueFull means the model's pending queue was at BatcherOptions.QueueCap: the model
	// cannot keep up with its requesters; lower their rate or raise the cap.
	ErrQueueFull = errors.New("inference queue full")
	// ErrOverloaded means BatcherOptions.MailboxCap requests were already waiting for the
	// actor to take them, so Batcher.Submit did not queue the request.
	ErrOverloaded = errors.New("batcher overloaded")
	// ErrBatcherStopped means Batcher.Submit was called after Batcher.Stop.
	ErrBatcherStopped = errors.New("batcher stopped")
)

// Policy decides when a model's queued requests run as a batch.
type Policy int

const (
	// PolicyAdaptive runs a lone request at once when the model's session is idle (once the
	// messages already in the mailbox are read, so requests that arrived together share the
	// run); requests that arrive while a run is in flight form the next batch (up to MaxBatch
	// rows), which runs as soon as that run finishes. It never waits on a timer.
	//
	// It is the default because it wins at low load by two orders of magnitude and at high
	// load matches or beats the window, as measured by the inference scenario
	// (benchmarks/inference.go: 2-core VM, 23→16→1 MLP on ONNX Runtime's CPU provider,
	// closed-loop requester actors, MaxBatch 64, MaxWait 2ms; the suite at 08b60aa):
	//   1 requester:    adaptive p50 9 µs, 59k req/s; window p50 2.3 ms, 418 req/s
	//   8 requesters:   adaptive p50 24 µs, 236k req/s; window p50 2.4 ms, 3.3k req/s
	//   64 requesters:  adaptive 520k req/s (batches of 20), p99 0.4 ms; window 275k req/s
	//                   (batches of 64), p99 0.4 ms
	//   512 requesters: adaptive 526k req/s, window 544k req/s, p99 2.7 / 3.1 ms
	// The window only pays off when requesters arrive in lockstep with MaxBatch; below that it
	// adds MaxWait to every request.
	PolicyAdaptive Policy = iota
	// PolicyWindow runs a batch when it reaches MaxBatch rows or its oldest request has
	// waited MaxWait, whichever comes first (the classic batching window).
	PolicyWindow
)

func (p Policy) String() string {
	if p == PolicyWindow {
		return "window"
	}
	return "adaptive"
}

// BatcherOptions configure the batching actor. Zero values take the defaults.
type BatcherOptions struct {
	// MaxBatch is the most rows in one run (default 64).
	MaxBatch int
	// MaxWait is how long PolicyWindow lets the oldest request wait for a fuller batch
	// (default 2ms). PolicyAdaptive does not use it.
	MaxWait time.Duration
	// QueueCap is the hard cap on one model's pending requests (default 4096); a request
	// past it is answered with ErrQueueFull at once.
	QueueCap int
	// MailboxCap is the most requests Batcher.Submit lets wait for the actor to take them
	// (default 65536); past it Submit returns ErrOverloaded without queueing.
	MailboxCap int
	// Policy is PolicyAdaptive (default) or PolicyWindow.
	Policy Policy
	// InFlight is how many batches of one model may run at once (default 1). ONNX Runtime
	// takes concurrent runs on one session; a second batch in flight lets a GPU work on one
	// batch while the batcher answers the last one and gathers the next.
	InFlight int
	// SweepEvery is how often queued requests are checked against their deadlines while
	// their model is busy (default 5ms), so that none waits forever behind a stuck run.
	SweepEvery time.Duration
	// Registry receives the Prometheus metrics (synapse_batcher_*); nil registers none.
	Registry *prometheus.Registry
	Logger   *slog.Logger
}

func (o *BatcherOptions) defaults() {
	if o.MaxBatch <= 0 {
		o.MaxBatch = 64
	}
	if o.MaxWait <= 0 {
		o.MaxWait = 2 * time.Millisecond
	}
	if o.QueueCap <= 0 {
		o.QueueCap = 4096
	}
	if o.MailboxCap <= 0 {
		o.MailboxCap = 65536
	}
	if o.SweepEvery <= 0 {
		o.SweepEvery = 5 * time.Millisecond
	}
	if o.InFlight <= 0 {
		o.InFlight = 1
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
}

// BatchRequest asks for one row of model Model to be run. The BatchReply goes to ReplyTo; replies
// to one requester about one model come in the order of its requests for that model (a
// requester of two models may get a reply from the faster one first).
type BatchRequest struct {
	Model    string
	ID       uint64    // the requester's own ID, echoed in the BatchReply
	Input    []float32 // one row of the model's input width; not modified
	Deadline time.Time // zero: no deadline
	ReplyTo  *actor.PID
}

// BatchReply answers a BatchRequest: Output is the model's output row, or Err says why there is none.
type BatchReply struct {
	Model     string
	ID        uint64
	Output    []float32
	Version   string        // the model version that ran the row
	QueueWait time.Duration // from the batcher receiving the request to its batch starting
	RunTime   time.Duration // of the whole batch the row ran in
	Err       error
}

// Deploy makes Version the version of model Key that new requests run on. A batch already
// running finishes on the session it started with; the old session is closed once no batch
// uses it. The batcher owns Session from now on.
type Deploy struct {
	Key     string
	Version string
	Session *Session
}

// Undeploy removes model Key: its queued requests are answered with ErrUnknownModel and its
// session is closed once its running batch (if any) has finished.
type Undeploy struct {
	Key string
}

// StatsQuery asks the batcher for its BatcherStats (send it with Engine.Request).
type StatsQuery struct{}

// BatcherStats are the batcher's plain counters, for the UI.
type BatcherStats struct {
	Taken  time.Time // when the actor answered: two answers' counts apart over their Taken apart are rates
	Models []ModelStats
	// DroppedMailbox counts requests Batcher.Submit refused with ErrOverloaded.
	DroppedMailbox int64
}

// ModelStats are one model's counters since it was first deployed.
type ModelStats struct {
	Key, Version     string
	Provider         string // where the current version runs: cpu or cuda
	Requests         int64  // received
	Served           int64  // answered with an output
	Batches, Rows    int64  // runs and the rows they held
	DroppedDeadline  int64
	DroppedQueueFull int64
	Failed           int64         // rows whose run failed, or whose width did not fit the model
	RunTime          time.Duration // the runs' time added up
	Queued           int           // waiting now
	Running          int           // batches in flight now
	// The histograms of synapse_batcher_batch_rows, _queue_wait_seconds and _run_seconds as
	// plain counts: rows per run (its total is Batches), each answered request's wait from
	// its receipt to its batch's start, and each run's time, in seconds.
	BatchRows, QueueWait, RunSeconds Histogram
}

// MeanBatch is the mean rows per run.
func (m ModelStats) MeanBatch() float64 {
	if m.Batches == 0 {
		return 0
	}
	return float64(m.Rows) / float64(m.Batches)
}

// Batcher is the handle of a running batching actor.
//
// Requests do not travel as Hollywood messages: Submit appends them to their model's
// incoming queue, bounded by MailboxCap (past it Submit refuses with ErrOverloaded). While
// the model has a batch in flight, the actor takes that queue when the batch completes, so
// Submit sends nothing; otherwise it sends one wake-up for a burst of requests. A message
// per request cost a boxed envelope and a wake-up of the actor each, and deepened the
// caller's stack past the 2 KiB a Hollywood mailbox goroutine starts with: a profile of the
// inference scenario put 14 % of all CPU in growing those stacks.
//
// The actor's mailbox itself is bounded by what reaches it: wake-ups (one outstanding per
// queue), batch completions (one per batch in flight), and rare messages (Deploy, Undeploy,
// stats, timer ticks). Past the incoming queues, each model's queue is capped by QueueCap,
// and every queued request leaves by its deadline at the latest.
type Batcher struct {
	engine *actor.Engine
	pid    *actor.PID
	// queues are the incoming queues of the models deployed so far, by key (the actor
	// replaces the map when it deploys a new key; queues are never removed); requests for
	// other keys go to other.
	queues  *atomic.Pointer[map[string]*incoming]
	other   *incoming
	refused *atomic.Int64 // requests Submit refused with ErrOverloaded
	metrics *batcherMetrics
}

// incoming is a queue between Submit and the actor.
type incoming struct {
	key     string // the model's, "" for the queue of keys not deployed
	mu      sync.Mutex
	reqs    []BatchRequest
	armed   bool // the actor will take reqs without a wake-up (one is on its way, or it promised)
	stopped bool
	cap     int
	refused *atomic.Int64
	// overloaded counts this queue's refusals on /metrics (drops_total{reason="overloaded"}).
	overloaded prometheus.Counter
}

// wakeUp tells the actor that Submit queued requests on in.
type wakeUp struct{ in *incoming }

// What put did with a request.
const (
	queued     = iota
	queuedWake // queued, and the actor must be woken
	refusedFull
	refusedStopped
)

// put queues *r unless the queue is full or stopped. It and Submit keep their frames small
// on purpose: they run at the bottom of a requester actor's stack, and a deeper frame made
// every request grow that stack (see Batcher).
func (in *incoming) put(r *BatchRequest) int {
	in.mu.Lock()
	switch {
	case in.stopped:
		in.mu.Unlock()
		return refusedStopped
	case len(in.reqs) >= in.cap:
		in.mu.Unlock()
		in.refused.Add(1)
		in.overloaded.Inc()
		return refusedFull
	}
	if len(in.reqs) == cap(in.reqs) {
		in.grow()
	}
	in.reqs = in.reqs[:len(in.reqs)+1]
	in.reqs[len(in.reqs)-1] = *r
	wake := !in.armed
	in.armed = true
	in.mu.Unlock()
	if wake {
		return queuedWake
	}
	return queued
}

// grow makes room for more requests, outside put's frame.
//
//go:noinline
func (in *incoming) grow() {
	in.reqs = slices.Grow(in.reqs, max(64, len(in.reqs)))
}

// refusal is the error of a request put refused.
//
//go:noinline
func (in *incoming) refusal(how int, r *BatchRequest) error {
	if how == refusedStopped {
		return fmt.Errorf("%w: request %d for model %q", ErrBatcherStopped, r.ID, r.Model)
	}
	return fmt.Errorf("%w: %d requests already wait for it: lower the requesters' in-flight limits or raise MailboxCap", ErrOverloaded, in.cap)
}

// take swaps the queued requests for spare (emptied). The queue stays armed: the actor ends
// with rest.
func (in *incoming) take(spare []BatchRequest) []BatchRequest {
	in.mu.Lock()
	defer in.mu.Unlock()
	reqs := in.reqs
	in.reqs = spare[:0]
	return reqs
}

// rest arms the queue if the actor will take it without a wake-up (busy), else disarms it
// so that the next put wakes the actor; it reports false, changing nothing, if requests
// came in since the last take.
func (in *incoming) rest(busy bool) bool {
	in.mu.Lock()
	defer in.mu.Unlock()
	if len(in.reqs) > 0 {
		return false
	}
	in.armed = busy
	return true
}

// stop refuses further requests and returns those still queued.
func (in *incoming) stop() []BatchRequest {
	in.mu.Lock()
	defer in.mu.Unlock()
	reqs := in.reqs
	in.reqs, in.stopped = nil, true
	return reqs
}

// NewBatcher spawns the batching actor on e.
func NewBatcher(e *actor.Engine, opts BatcherOptions) (*Batcher, error) {
	opts.defaults()
	if opts.Policy != PolicyAdaptive && opts.Policy != PolicyWindow {
		return nil, fmt.Errorf("inference: unknown batching policy %d (PolicyAdaptive or PolicyWindow)", opts.Policy)
	}
	m, err := newBatcherMetrics(opts.Registry)
	if err != nil {
		return nil, err
	}
	opts.Logger.Info("inference batcher", "policy", opts.Policy, "max_batch", opts.MaxBatch, "max_wait", opts.MaxWait,
		"queue_cap", opts.QueueCap, "in_flight", opts.InFlight)
	b := &Batcher{engine: e, queues: new(atomic.Pointer[map[string]*incoming]), refused: new(atomic.Int64), metrics: m}
	b.other = &incoming{cap: opts.MailboxCap, refused: b.refused, overloaded: m.drops.WithLabelValues("unknown", "overloaded")}
	b.queues.Store(&map[string]*incoming{})
	b.pid = e.Spawn(func() actor.Receiver {
		return &batcherActor{opts: opts, metrics: m, queues: b.queues, other: b.other, refused: b.refused,
			models: map[string]*model{}, requesters: map[pidKey]*requester{}}
	}, "batcher", actor.WithInboxSize(1024))
	return b, nil
}

// Dropped counts on /metrics (synapse_batcher_drops_total) n rows a model actor dropped
// before asking the batcher for them, for reason (stale: a newer row of the symbol replaced
// it while the model was behind).
func (b *Batcher) Dropped(key, reason string, n int) {
	b.metrics.drops.WithLabelValues(key, reason).Add(float64(n))
}

// PID is the actor's address: Deploy and Undeploy may also be sent to it directly. Requests
// go through Submit only, so that every one is bounded by MailboxCap.
func (b *Batcher) PID() *actor.PID { return b.pid }

// Submit queues r for the batcher, or returns ErrOverloaded (and queues nothing) when
// MailboxCap requests are already waiting for the actor to take them.
func (b *Batcher) Submit(r BatchRequest) error {
	in := b.queue(r.Model)
	switch how := in.put(&r); how {
	case queued:
		return nil
	case queuedWake:
		b.engine.Send(b.pid, wakeUp{in})
		return nil
	default:
		return in.refusal(how, &r)
	}
}

// queue is model key's incoming queue.
func (b *Batcher) queue(key string) *incoming {
	if in, ok := (*b.queues.Load())[key]; ok {
		return in
	}
	return b.other
}

// Deploy sends a Deploy message.
func (b *Batcher) Deploy(key, version string, s *Session) {
	b.engine.Send(b.pid, Deploy{Key: key, Version: version, Session: s})
}

// Undeploy sends an Undeploy message.
func (b *Batcher) Undeploy(key string) { b.engine.Send(b.pid, Undeploy{Key: key}) }

// Stats asks the actor for its counters, waiting at most timeout.
func (b *Batcher) Stats(timeout time.Duration) (BatcherStats, error) {
	v, err := b.engine.Request(b.pid, StatsQuery{}, timeout).Result()
	if err != nil {
		return BatcherStats{}, fmt.Errorf("inference: the batcher did not answer its stats within %v: %w", timeout, err)
	}
	return v.(BatcherStats), nil
}

// Stop stops the actor: queued requests are answered with ErrUnknownModel, and sessions are
// closed once their running batches finish. It returns when the actor has stopped.
func (b *Batcher) Stop() { <-b.engine.Poison(b.pid).Done() }

// deployment is one deployed version; refs counts the batches running on it. A batch's
// goroutine releases it itself, so a session is closed even when the actor has stopped
// before the batch came back.
type deployment struct {
	version string
	session *Session
	mu      sync.Mutex
	refs    int
	retired bool // no longer the current version: close when refs reaches 0
}

func (d *deployment) acquire() {
	d.mu.Lock()
	d.refs++
	d.mu.Unlock()
}

func (d *deployment) release() {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.refs--
	if d.retired && d.refs == 0 {
		d.session.Close()
	}
}

func (d *deployment) retire() {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.retired = true
	if d.refs == 0 {
		d.session.Close()
	}
}

// pending is a received request waiting for (or in) a batch.
type pending struct {
	req      BatchRequest
	received time.Time
	seq      uint64     // its place among its requester's requests
	q        *requester // its requester's reply order
}

type model struct {
	key     string
	in      *incoming   // what Submit queued for it
	current *deployment // nil: undeployed
	queue   []*pending  // FIFO; queue[head:] are waiting
	head    int
	running int         // batches in flight
	timer   *time.Timer // PolicyWindow's MaxWait timer, armed while requests wait
	timerID uint64
	kicked  bool          // PolicyAdaptive: a runNow is on its way
	estRun  time.Duration // moving average of run time, to drop requests that cannot make their deadline
	stats   ModelStats
	m       *modelMetrics
	buf     []float32 // input buffer, handed back by each batch
	// jobs feeds the model's worker goroutines, each running one batch at a time. Long-lived
	// workers, rather than a goroutine per batch, keep the stack that cgo calls into ONNX
	// Runtime grow: a fresh goroutine per batch paid for that growth every time (about a
	// tenth of the CPU at small batches).
	jobs chan func()
}

// startWorkers starts m's n worker goroutines: n batches in flight at most.
func (m *model) startWorkers(n int) {
	m.jobs = make(chan func(), n)
	for range n {
		go func(jobs <-chan func()) {
			for job := range jobs {
				job()
			}
		}(m.jobs)
	}
}

// stopWorkers ends m's workers once their current batches (if any) are done.
func (m *model) stopWorkers() {
	if m.jobs != nil {
		close(m.jobs)
		m.jobs = nil
	}
}

func (m *model) waiting() int { return len(m.queue) - m.head }

// requester is the reply order of one requester of one model: next is the sequence of its
// next request, sent the sequence of the next reply to deliver; held are replies that came
// back early.
type requester struct {
	next, sent uint64
	held       map[uint64]BatchReply
}

// pidKey is a requester of one model: replies are ordered per requester and model, since
// each model's requests come through a queue of their own.
type pidKey struct{ address, id, model string }

// batchDone comes back from a batch's goroutine.
type batchDone struct {
	m       *model
	dep     *deployment
	batch   []*pending
	in      []float32
	out     []float32
	err     error
	start   time.Time
	runTime time.Duration
}

type windowTimer struct {
	key string
	id  uint64
}

type sweepTick struct{}

// runNow starts an adaptive model's next batch once the mailbox before it is read.
type runNow struct{ key string }

type batcherActor struct {
	opts       BatcherOptions
	metrics    *batcherMetrics
	queues     *atomic.Pointer[map[string]*incoming] // the Batcher's
	other      *incoming
	refused    *atomic.Int64
	spare      []BatchRequest // an incoming queue's other buffer
	models     map[string]*model
	requesters map[pidKey]*requester
	sweeper    actor.SendRepeater
	engine     *actor.Engine
	self       *actor.PID
}

func (a *batcherActor) Receive(c *actor.Context) {
	growStack(0)
	switch msg := c.Message().(type) {
	case actor.Started:
		a.engine, a.self = c.Engine(), c.PID()
		a.sweeper = c.SendRepeat(c.PID(), sweepTick{}, a.opts.SweepEvery)
		// After a restart the queues may be armed by the actor that died: answer what they
		// hold (no model is deployed yet) and leave them to wake this one.
		for _, in := range a.incomingQueues() {
			a.drain(in)
		}
	case wakeUp:
		a.drain(msg.in)
	case *batchDone:
		a.done(msg)
	case runNow:
		a.runNow(msg.key)
	case windowTimer:
		if m := a.models[msg.key]; m != nil && m.timer != nil && m.timerID == msg.id {
			m.timer = nil
			a.maybeRun(m)
		}
	case sweepTick:
		a.sweep()
	case Deploy:
		a.deploy(msg)
	case Undeploy:
		a.undeploy(msg.Key)
	case StatsQuery:
		c.Respond(a.stats())
	case actor.Stopped:
		a.stop()
	}
}

// growStack grows the goroutine's stack, if it must grow, while it holds only Hollywood's
// few frames and Receive's. Hollywood runs the actor on a fresh goroutine with a 2 KiB
// stack whenever its mailbox has been empty, and the path of a reply (Receive, done,
// reply, Engine.Send and its registry lookup) needs more: growing there, a dozen frames
// deep, cost twice what growing here does, once per wake-up of the actor. The functions on
// the paths of a request and a reply (take, request, maybeRun, done, reply) keep their
// frames small too, building errors in functions of their own.
//
//go:noinline
func growStack(i int) byte {
	var pad [2048]byte
	return pad[i]
}

// runNext runs m's next batch at once if requests wait and a run may start.
func (a *batcherActor) runNext(m *model) {
	if m.running < a.opts.InFlight && m.current != nil && m.waiting() > 0 {
		a.run(m)
	}
}

func (a *batcherActor) runNow(key string) {
	m := a.models[key]
	if m == nil || !m.kicked {
		return
	}
	a.take(m.in) // what came in meanwhile joins the batch
	m.kicked = false
	a.runNext(m)
	a.drain(m.in)
}

func (a *batcherActor) stop() {
	a.sweeper.Stop()
	for key := range a.models {
		a.undeploy(key)
	}
	for _, in := range a.incomingQueues() {
		a.receive(in.stop()) // answered at once: no model is deployed now
	}
	for _, m := range a.models { // still running a batch: nobody will see it finish
		m.stopWorkers()
	}
}

// incomingQueues are every model's incoming queue and the one for keys not deployed.
func (a *batcherActor) incomingQueues() []*incoming {
	queues := *a.queues.Load()
	all := make([]*incoming, 0, len(queues)+1)
	for _, in := range queues {
		all = append(all, in)
	}
	return append(all, a.other)
}

// take takes every request Submit has queued on in.
func (a *batcherActor) take(in *incoming) {
	reqs := in.take(a.spare)
	a.receive(reqs)
	clear(reqs) // their inputs and PIDs are the requesters'
	a.spare = reqs[:0]
}

// receive passes requests taken from a queue to request.
func (a *batcherActor) receive(reqs []BatchRequest) {
	now := time.Now() // when they are received: one clock read for the lot
	for i := range reqs {
		a.request(&reqs[i], now)
	}
}

// drain takes in's requests until it can leave the queue at rest: armed while its model has
// a batch in flight or a runNow on its way (either takes the queue again), so that
// requesters need not wake the actor; disarmed otherwise.
func (a *batcherActor) drain(in *incoming) {
	for {
		a.take(in)
		m := a.models[in.key]
		busy := m != nil && m.in == in && (m.running > 0 || m.kicked) // other is no model's
		if in.rest(busy) {
			return
		}
	}
}

func (a *batcherActor) request(r *BatchRequest, now time.Time) {
	q := a.requester(r)
	p := &pending{req: *r, received: now, seq: q.next, q: q}
	q.next++
	m := a.models[r.Model]
	if m == nil || m.current == nil {
		a.refuse(p, m, ErrUnknownModel)
		return
	}
	m.stats.Requests++
	if len(r.Input) != m.current.session.Inputs() {
		a.refuse(p, m, ErrShape)
		return
	}
	if m.waiting() >= a.opts.QueueCap {
		a.refuse(p, m, ErrQueueFull)
		return
	}
	if m.head > 0 && m.head >= len(m.queue)/2 {
		// Reclaim the served prefix, so that a queue that never drains (steady overload)
		// does not grow with every request it ever served.
		n := copy(m.queue, m.queue[m.head:])
		clear(m.queue[n:])
		m.queue, m.head = m.queue[:n], 0
	}
	m.queue = append(m.queue, p)
	a.maybeRun(m)
}

// requester is r's requester's reply order, made on its first request.
func (a *batcherActor) requester(r *BatchRequest) *requester {
	who := pidKey{model: r.Model}
	if r.ReplyTo != nil {
		who.address, who.id = r.ReplyTo.Address, r.ReplyTo.ID
	}
	q := a.requesters[who]
	if q == nil {
		q = &requester{}
		a.requesters[who] = q
	}
	return q
}

// refuse answers a request that cannot queue, for the reason why: ErrUnknownModel (m is
// nil or not deployed), ErrShape (its input does not fit m's current version) or
// ErrQueueFull (m's queue is full).
//
//go:noinline
func (a *batcherActor) refuse(p *pending, m *model, why error) {
	r := &p.req
	var reply BatchReply
	switch why {
	case ErrUnknownModel:
		reply.Err = fmt.Errorf("%w: %q is not deployed (send Deploy first)", ErrUnknownModel, r.Model)
	case ErrShape:
		m.stats.Failed++
		m.m.drops.WithLabelValues("shape").Inc()
		reply.Version = m.current.version
		reply.Err = fmt.Errorf("%w: %d values for model %q (%s), which takes %d", ErrShape, len(r.Input), r.Model, m.current.version, m.current.session.Inputs())
	default:
		m.stats.DroppedQueueFull++
		m.m.drops.WithLabelValues("queue_full").Inc()
		reply.Err = fmt.Errorf("%w: model %q has %d requests waiting", ErrQueueFull, r.Model, a.opts.QueueCap)
	}
	a.reply(p, &reply)
}

// maybeRun starts m's next batch when its policy says so, or arms the window timer.
func (a *batcherActor) maybeRun(m *model) {
	if m.running >= a.opts.InFlight || m.current == nil || m.waiting() == 0 {
		return
	}
	if a.opts.Policy == PolicyWindow && m.waiting() < a.opts.MaxBatch {
		wait := a.opts.MaxWait - time.Since(m.queue[m.head].received)
		if wait > 0 {
			if m.timer == nil {
				m.timerID++
				id, key, e, self := m.timerID, m.key, a.engine, a.self
				m.timer = time.AfterFunc(wait, func() { e.Send(self, windowTimer{key: key, id: id}) })
			}
			return
		}
	}
	if a.opts.Policy == PolicyAdaptive {
		// Run after the messages already in the mailbox: a request that arrives alone runs
		// as soon as this message comes round (microseconds), and requests that arrived
		// together, or were queued by Submit meanwhile, join it in one batch.
		if !m.kicked {
			m.kicked = true
			a.engine.Send(a.self, runNow{key: m.key})
		}
		return
	}
	a.run(m)
}

// run takes up to MaxBatch requests off m's queue, drops those that cannot make their
// deadline, and runs the rest on their own goroutine.
func (a *batcherActor) run(m *model) {
	if m.timer != nil {
		m.timer.Stop()
		m.timer = nil
	}
	now := time.Now()
	dep := m.current
	width := dep.session.Inputs()
	batch := make([]*pending, 0, min(m.waiting(), a.opts.MaxBatch))
	in := m.buf[:0]
	m.buf = nil
	for m.waiting() > 0 && len(batch) < a.opts.MaxBatch {
		p := m.queue[m.head]
		m.queue[m.head] = nil
		m.head++
		switch {
		case a.late(m, p, now):
			continue
		case len(p.req.Input) != width: // queued before a Deploy changed the width
			a.refuse(p, m, ErrShape)
			continue
		}
		batch = append(batch, p)
		in = append(in, p.req.Input...)
	}
	if len(batch) == 0 {
		m.buf = in
		a.maybeRun(m)
		return
	}
	m.running++
	dep.acquire()
	e, self := a.engine, a.self
	m.jobs <- func() {
		start := time.Now()
		out, err := dep.session.Run(in, len(batch))
		runTime := time.Since(start)
		dep.release()
		e.Send(self, &batchDone{m: m, dep: dep, batch: batch, in: in, out: out, err: err, start: start, runTime: runTime})
	}
}

// late answers p with ErrDeadline when it would be served after its deadline.
func (a *batcherActor) late(m *model, p *pending, now time.Time) bool {
	if p.req.Deadline.IsZero() || now.Add(m.estRun).Before(p.req.Deadline) {
		return false
	}
	a.dropLate(m, p, now)
	return true
}

//go:noinline
func (a *batcherActor) dropLate(m *model, p *pending, now time.Time) {
	m.stats.DroppedDeadline++
	m.m.drops.WithLabelValues("deadline").Inc()
	a.reply(p, &BatchReply{Err: fmt.Errorf("%w: request %d for model %q, deadline %s, waited %v", ErrDeadline, p.req.ID, m.key, p.req.Deadline.Format(time.RFC3339Nano), now.Sub(p.received))})
}

func (a *batcherActor) done(d *batchDone) {
	m := d.m
	m.buf = d.in
	rows := int64(len(d.batch))
	m.stats.Batches++
	m.stats.Rows += rows
	m.stats.RunTime += d.runTime
	m.estRun = (3*m.estRun + d.runTime) / 4
	m.m.batchSize.Observe(float64(rows))
	m.m.runTime.Observe(d.runTime.Seconds())
	m.stats.BatchRows.observe(float64(rows))
	m.stats.RunSeconds.observe(d.runTime.Seconds())
	m.m.rows.Add(float64(rows))
	if m.current != nil && a.opts.Policy == PolicyAdaptive {
		// The next batch starts before this one is answered: its requests came in during
		// the run, and its run then overlaps the replies below instead of following them.
		// They are taken while this batch still counts as running, so that queueing them
		// sends no runNow: they run just below.
		a.take(m.in)
		m.running--
		a.runNext(m)
	} else {
		m.running--
	}
	width := d.dep.session.Outputs()
	var failed error
	if d.err != nil {
		failed = d.failure()
	}
	for i, p := range d.batch {
		r := BatchReply{Version: d.dep.version, QueueWait: d.start.Sub(p.received), RunTime: d.runTime}
		m.m.queueWait.Observe(r.QueueWait.Seconds())
		m.stats.QueueWait.observe(r.QueueWait.Seconds())
		if failed != nil {
			m.stats.Failed++
			r.Err = failed
		} else {
			m.stats.Served++
			r.Output = d.out[i*width : (i+1)*width : (i+1)*width]
		}
		a.reply(p, &r)
	}
	switch {
	case m.current != nil:
		a.maybeRun(m)
	case m.running == 0: // undeployed, and this was its last batch
		a.forget(m)
	}
	a.drain(m.in) // what came in during the run: the next batch, or answered if undeployed
}

// failure is the error of every row of a batch whose run failed.
//
//go:noinline
func (d *batchDone) failure() error {
	return fmt.Errorf("inference: model %q (%s), batch of %d: %w", d.m.key, d.dep.version, len(d.batch), d.err)
}

// reply delivers r to p's requester once every earlier reply to that requester has gone.
func (a *batcherActor) reply(p *pending, r *BatchReply) {
	r.Model, r.ID = p.req.Model, p.req.ID
	q := p.q
	if p.seq != q.sent {
		q.hold(p.seq, r)
		return
	}
	a.send(p.req.ReplyTo, r)
	q.sent++
	if len(q.held) > 0 {
		a.sendHeld(q, p.req.ReplyTo)
	}
}

// sendHeld sends q's held replies that are next in order.
//
//go:noinline
func (a *batcherActor) sendHeld(q *requester, to *actor.PID) {
	for len(q.held) > 0 {
		next, ok := q.held[q.sent]
		if !ok {
			break
		}
		delete(q.held, q.sent)
		a.send(to, &next)
		q.sent++
	}
}

//go:noinline
func (q *requester) hold(seq uint64, r *BatchReply) {
	if q.held == nil {
		q.held = map[uint64]BatchReply{}
	}
	q.held[seq] = *r
}

func (a *batcherActor) send(to *actor.PID, r *BatchReply) {
	if to != nil {
		a.engine.Send(to, *r)
	}
}

// sweep drops queued requests whose deadline has passed while their model was busy (taking
// what waits in the incoming queues first, which a busy model's queue holds until its batch
// ends), and forgets the requesters with nothing outstanding (kept until then, so that a
// closed-loop requester is not forgotten and made again for every request).
func (a *batcherActor) sweep() {
	for _, m := range a.models {
		a.drain(m.in)
	}
	now := time.Now()
	for who, q := range a.requesters {
		if q.sent == q.next {
			delete(a.requesters, who)
		}
	}
	for _, m := range a.models {
		if m.waiting() == 0 {
			continue
		}
		kept := m.queue[:m.head]
		for _, p := range m.queue[m.head:] {
			if !a.late(m, p, now) {
				kept = append(kept, p)
			}
		}
		clear(m.queue[len(kept):])
		m.queue = kept
	}
}

func (a *batcherActor) deploy(d Deploy) {
	if d.Session == nil {
		a.opts.Logger.Error("inference: Deploy without a session ignored", "model", d.Key, "version", d.Version)
		return
	}
	m := a.models[d.Key]
	if m == nil {
		m = &model{key: d.Key, m: a.metrics.model(d.Key), in: a.queue(d.Key)}
		m.stats.BatchRows, m.stats.QueueWait, m.stats.RunSeconds = newHistogram(batchRowBounds), newHistogram(latencyBounds), newHistogram(latencyBounds)
		m.startWorkers(a.opts.InFlight)
		a.models[d.Key] = m
	}
	if m.current != nil {
		m.current.retire()
	}
	m.current = &deployment{version: d.Version, session: d.Session}
	m.stats.Version = d.Version
	a.maybeRun(m)
}

func (a *batcherActor) undeploy(key string) {
	m := a.models[key]
	if m == nil || m.current == nil {
		return
	}
	m.current.retire()
	m.current = nil
	m.stats.Version = ""
	if m.timer != nil {
		m.timer.Stop()
		m.timer = nil
	}
	for _, p := range m.queue[m.head:] {
		a.reply(p, &BatchReply{Err: fmt.Errorf("%w: %q was undeployed while request %d waited", ErrUnknownModel, key, p.req.ID)})
	}
	m.queue, m.head = nil, 0
	if m.running == 0 {
		a.forget(m)
	}
	a.drain(m.in) // answers what Submit queued, and leaves the queue to wake the actor
}

// queue returns key's incoming queue, making it (and publishing it to Submit) on first use.
func (a *batcherActor) queue(key string) *incoming {
	old := *a.queues.Load()
	if in, ok := old[key]; ok {
		return in
	}
	in := &incoming{key: key, cap: a.opts.MailboxCap, refused: a.refused, overloaded: a.metrics.drops.WithLabelValues(key, "overloaded")}
	queues := maps.Clone(old)
	queues[key] = in
	a.queues.Store(&queues)
	return in
}

// forget removes an undeployed model whose last batch has finished; its counters go with it.
func (a *batcherActor) forget(m *model) {
	if a.models[m.key] == m {
		delete(a.models, m.key)
	}
	m.stopWorkers()
}

func (a *batcherActor) stats() BatcherStats {
	s := BatcherStats{Taken: time.Now(), DroppedMailbox: a.refused.Load()}
	for _, m := range a.models {
		ms := m.stats
		// copies: the answer is read (encoded) on another goroutine while the actor counts on
		ms.BatchRows, ms.QueueWait, ms.RunSeconds = ms.BatchRows.clone(), ms.QueueWait.clone(), ms.RunSeconds.clone()
		ms.Key, ms.Queued, ms.Running = m.key, m.waiting(), m.running
		if m.current != nil {
			ms.Provider = m.current.session.Provider()
		}
		s.Models = append(s.Models, ms)
	}
	slices.SortFunc(s.Models, func(x, y ModelStats) int { return strings.Compare(x.Key, y.Key) })
	return s
}
