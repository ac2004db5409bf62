package postgres

import (
	"context"
	"errors"
	"io"
	"net"
	"net/url"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/synapse-trading/synapse/portfolio/readmodeltest"
	"github.com/synapse-trading/synapse/streams"
)

// proxy forwards TCP connections to Postgres until it is cut: then it closes every
// connection it forwards and refuses new ones, as a network outage would, until restored.
type proxy struct {
	ln     net.Listener
	target string
	mu     sync.Mutex
	cut    bool
	conns  map[net.Conn]struct{}
}

func newProxy(t *testing.T, target string) *proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{ln: ln, target: target, conns: map[net.Conn]struct{}{}}
	t.Cleanup(func() { ln.Close(); p.Cut() })
	go p.serve()
	return p
}

func (p *proxy) serve() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		go p.forward(c)
	}
}

func (p *proxy) forward(c net.Conn) {
	p.mu.Lock()
	if p.cut {
		p.mu.Unlock()
		c.Close()
		return
	}
	up, err := net.Dial("tcp", p.target)
	if err != nil {
		p.mu.Unlock()
		c.Close()
		return
	}
	p.conns[c], p.conns[up] = struct{}{}, struct{}{}
	p.mu.Unlock()
	go func() { _, _ = io.Copy(up, c); up.Close(); c.Close() }()
	_, _ = io.Copy(c, up)
	c.Close()
	up.Close()
}

// Cut closes every forwarded connection and refuses new ones.
func (p *proxy) Cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cut = true
	for c := range p.conns {
		c.Close()
		delete(p.conns, c)
	}
}

// Restore forwards new connections again.
func (p *proxy) Restore() {
	p.mu.Lock()
	p.cut = false
	p.mu.Unlock()
}

// through returns databaseURL with its host and port replaced by the proxy's.
func (p *proxy) through(t *testing.T, databaseURL string) string {
	t.Helper()
	u, err := url.Parse(databaseURL)
	if err != nil {
		t.Fatal(err)
	}
	u.Host = p.ln.Addr().String()
	return u.String()
}

// TestPostgresOutage puts a proxy between the projector and Postgres and cuts it twice:
// once before the projector starts, once in the middle of a run while events keep coming.
// The projector retries (counted), drops nothing and doubles nothing: once restored, the
// orders and fills equal the log's, and so does every other answer.
func TestPostgresOutage(t *testing.T) {
	databaseURL := migrated(t)
	cfg, err := pgx.ParseConfig(databaseURL)
	if err != nil {
		t.Fatal(err)
	}
	px := newProxy(t, net.JoinHostPort(cfg.Host, strconv.Itoa(int(cfg.Port))))
	log := openLog(t)
	h := generate(5, 600)
	mem := readmodeltest.Memory(t, log)
	db := openDB(t, px.through(t, databaseURL))
	direct := NewReadModel(openDB(t, databaseURL))

	// Down before the projector starts: it waits for Postgres.
	px.Cut()
	r := start(t, db, log, ProjectorOptions{BatchSize: 20, BatchWait: 2 * time.Millisecond, RetryMin: 10 * time.Millisecond,
		RetryMax: 100 * time.Millisecond, CommitTimeout: 2 * time.Second, Logger: quiet})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	published := make(chan error, 1)
	go func() { // the log keeps growing through the outages
		for i := 0; i < len(h.msgs); i += 50 {
			for _, m := range h.msgs[i:min(i+50, len(h.msgs))] {
				if err := log.PublishMsg(ctx, m); err != nil {
					published <- err
					return
				}
			}
			if streams.Sleep(ctx, 10*time.Millisecond) != nil {
				published <- ctx.Err()
				return
			}
		}
		published <- log.Flush(ctx)
	}()
	time.Sleep(300 * time.Millisecond)
	if a := r.p.Applied()[streams.StreamOrders]; a != 0 {
		t.Fatalf("applied %d while Postgres was unreachable", a)
	}
	px.Restore()

	// Down in the middle of the run.
	waitFor(t, ctx, "the projector to commit part of the log", func() bool { return r.p.Applied()[streams.StreamOrders] > 300 })
	px.Cut()
	cutAt := r.p.Applied()[streams.StreamOrders]
	waitFor(t, ctx, "failed attempts", func() bool { return r.p.Stats()[streams.StreamOrders].Retries >= 3 })
	if a := r.p.Applied()[streams.StreamOrders]; a != cutAt {
		t.Errorf("applied moved from %d to %d while Postgres was unreachable", cutAt, a)
	}
	px.Restore()
	if err := <-published; err != nil {
		t.Fatal(err)
	}
	catchUp(t, r)
	waitMemory(t, mem, log)

	stats := r.p.Stats()[streams.StreamOrders]
	if stats.Retries < 3 {
		t.Errorf("%d retries counted, want the failed attempts", stats.Retries)
	}
	orders, fills := same(t, direct, mem)
	// counted in Postgres itself: no row twice (the keys forbid it) and none missing
	var rowsOrders, rowsFills, distinctTrades int
	conn, err := pgx.Connect(ctx, databaseURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if err := conn.QueryRow(ctx, "select (select count(*) from orders), (select count(*) from fills), (select count(distinct (client_order_id, trade_id)) from fills)").
		Scan(&rowsOrders, &rowsFills, &distinctTrades); err != nil {
		t.Fatal(err)
	}
	if rowsOrders != orders || rowsFills != fills || distinctTrades != fills {
		t.Errorf("%d order rows and %d fill rows (%d distinct), the log folds to %d orders and %d fills", rowsOrders, rowsFills, distinctTrades, orders, fills)
	}
	t.Logf("%d orders, %d fills; ORD stats %+v", orders, fills, stats)
}

func waitFor(t *testing.T, ctx context.Context, what string, cond func() bool) {
	t.Helper()
	for !cond() {
		if err := streams.Sleep(ctx, 2*time.Millisecond); err != nil {
			t.Fatalf("waiting for %s: %v", what, errors.Join(err, context.Cause(ctx)))
		}
	}
}
