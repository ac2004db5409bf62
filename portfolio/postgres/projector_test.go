package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"math/rand/v2"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/synapse-trading/synapse/portfolio"
	"github.com/synapse-trading/synapse/portfolio/readmodeltest"
	"github.com/synapse-trading/synapse/streams"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

func waitMemory(t *testing.T, m *portfolio.Memory, log *streams.Log) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := m.Wait(ctx, log.JS); err != nil {
		t.Fatal(err)
	}
}

func catchUp(t *testing.T, r *running) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := r.catchUp(ctx); err != nil {
		t.Fatal(err)
	}
}

// same checks that two read models answer every query identically, decimals to the last
// digit (their JSON, scale included), and returns the number of orders and fills.
func same(t *testing.T, got, want portfolio.ReadModel) (orders, fills int) {
	t.Helper()
	ctx := context.Background()
	check := func(what string, g, w any, errG, errW error) {
		t.Helper()
		if errG != nil || errW != nil {
			t.Fatalf("%s: %v / %v", what, errG, errW)
		}
		gj, _ := json.Marshal(g)
		wj, _ := json.Marshal(w)
		if string(gj) != string(wj) {
			t.Errorf("%s differs:\n postgres %s\n   memory %s", what, firstDiff(string(gj), string(wj)), firstDiff(string(wj), string(gj)))
		}
	}
	queries := []portfolio.OrderQuery{{Limit: 1000}, {Status: "open", Limit: 1000}, {Agent: "ATLAS", Limit: 7, Offset: 3},
		{Venue: "binance-um", Symbol: "ETHUSDT", Status: portfolio.StatusCanceled}, {Since: 1723161600000 + 3_600_000, Until: 1723161600000 + 5*3_600_000, Limit: 50}}
	for _, q := range queries {
		for off := q.Offset; ; off += max(q.Limit, 1) {
			q.Offset = off
			g, errG := got.Orders(ctx, q)
			w, errW := want.Orders(ctx, q)
			check(fmt.Sprintf("orders %+v", q), g, w, errG, errW)
			if q.Offset == 0 && q.Agent == "" && q.Status == "" && q.Since == 0 {
				orders = w.Total
			}
			if len(w.Items) == 0 || q.Limit < 1000 && off > 100 {
				break
			}
		}
	}
	for _, q := range []portfolio.FillQuery{{Limit: 1000}, {Agent: "NOVA", Symbol: "SOLUSDT", Limit: 5}, {Since: 1723161600000 + 7_200_000, Limit: 20, Offset: 10}} {
		for off := q.Offset; ; off += q.Limit {
			q.Offset = off
			g, errG := got.Fills(ctx, q)
			w, errW := want.Fills(ctx, q)
			check(fmt.Sprintf("fills %+v", q), g, w, errG, errW)
			if q.Offset == 0 && q.Agent == "" && q.Since == 0 {
				fills = w.Total
			}
			if len(w.Items) == 0 || q.Limit < 1000 && off > 100 {
				break
			}
		}
	}
	for _, a := range []string{"", "ATLAS", "NOBODY"} {
		g, errG := got.Positions(ctx, a)
		w, errW := want.Positions(ctx, a)
		check("positions of "+a, g, w, errG, errW)
	}
	g, errG := got.Equity(ctx, "", 0, 0)
	w, errW := want.Equity(ctx, "", 0, 0)
	check("equity", g, w, errG, errW)
	ga, errG := got.Agents(ctx)
	wa, errW := want.Agents(ctx)
	check("agents", ga, wa, errG, errW)
	gt, errG := got.Total(ctx)
	wt, errW := want.Total(ctx)
	check("total", gt, wt, errG, errW)
	for _, a := range []string{"", "ORION"} {
		gm, errG := got.CapitalMoves(ctx, a, 0, 0)
		wm, errW := want.CapitalMoves(ctx, a, 0, 0)
		check("capital moves of "+a, gm, wm, errG, errW)
	}
	gp, errG := got.Applied(ctx)
	wp, errW := want.Applied(ctx)
	check("applied", gp, wp, errG, errW)
	return orders, fills
}

func firstDiff(a, b string) string {
	i := 0
	for i < len(a) && i < len(b) && a[i] == b[i] {
		i++
	}
	lo := max(0, i-120)
	return "…" + a[lo:min(len(a), i+120)] + "…"
}

// checkSignals compares signal_summaries and model_deployments with what was published.
func checkSignals(t *testing.T, rm *ReadModel, h *history) {
	t.Helper()
	ctx := context.Background()
	type key struct {
		model, venue, symbol string
		shadow               bool
		hour                 int64
	}
	type agg struct {
		n, np int64
		sum   float64
		last  *streams.Signal
	}
	want := map[key]*agg{}
	for _, s := range h.signals {
		k := key{s.Model, s.Venue, s.Symbol, s.Shadow, s.FeatureTime - s.FeatureTime%3_600_000}
		a := want[k]
		if a == nil {
			a = &agg{}
			want[k] = a
		}
		a.n++
		if p, ok := s.Prediction["probability"]; ok {
			a.np++
			a.sum += p
		}
		if a.last == nil || s.FeatureTime >= a.last.FeatureTime {
			a.last = s
		}
	}
	got, err := rm.Signals(ctx, SignalQuery{})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Errorf("%d signal summaries, want %d", len(got), len(want))
	}
	for _, s := range got {
		w := want[key{s.Model, s.Venue, s.Symbol, s.Shadow, s.Hour}]
		if w == nil {
			t.Errorf("unexpected summary %+v", s)
			continue
		}
		if s.Signals != w.n || (w.np == 0) != (s.MeanProbability == nil) ||
			(w.np > 0 && math.Abs(*s.MeanProbability-w.sum/float64(w.np)) > 1e-9) ||
			s.Last.FeatureTime != w.last.FeatureTime || s.Last.Confidence != w.last.Confidence {
			t.Errorf("summary %s %s %s %d: %+v, want %d signals, mean %v of %d, last %+v", s.Model, s.Venue, s.Symbol, s.Hour, s, w.n, w.sum/float64(w.np), w.np, w.last)
		}
	}
	deps, err := rm.Deployments(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	var wantDeps []string
	for _, c := range h.commands {
		if strings.HasPrefix(c.Name, "models.") {
			wantDeps = append(wantDeps, c.CommandID)
		}
	}
	var gotDeps []string
	for i, d := range deps {
		gotDeps = append(gotDeps, d.CommandID)
		if i > 0 && d.Seq <= deps[i-1].Seq {
			t.Errorf("deployments out of order: %+v", deps)
		}
		if d.Model == "" || (d.Action == "deploy") != (d.Mode == "shadow") || (d.Action == "deploy") != (len(d.SHA256) == 64) {
			t.Errorf("deployment %+v", d)
		}
	}
	if strings.Join(gotDeps, ",") != strings.Join(wantDeps, ",") {
		t.Errorf("deployments %v, want %v", gotDeps, wantDeps)
	}
}

// TestProjectorEqualsMemory projects a generated log in small batches (so orders and
// positions cross batches and are read back from their rows) and checks every answer
// against the in-memory read model folded from the same log.
func TestProjectorEqualsMemory(t *testing.T) {
	databaseURL := migrated(t)
	log := openLog(t)
	h := generate(1, 400)
	mem := readmodeltest.Memory(t, log)
	db := openDB(t, databaseURL)
	r := start(t, db, log, ProjectorOptions{BatchSize: 23, BatchWait: 2 * time.Millisecond, MaxCachedOrders: 10, Logger: quiet})
	publish(t, log, h.msgs[:len(h.msgs)/2])
	catchUp(t, r)
	publish(t, log, h.msgs[len(h.msgs)/2:])
	catchUp(t, r)
	waitMemory(t, mem, log)
	rm := NewReadModel(db)
	orders, fills := same(t, rm, mem)
	if orders < 400 || fills < 300 {
		t.Errorf("only %d orders and %d fills: the history is too small to mean much", orders, fills)
	}
	if moves, err := rm.CapitalMoves(context.Background(), "", 0, 0); err != nil || len(moves) < 3 {
		t.Errorf("%d capital moves (%v): the history has too few to mean much", len(moves), err)
	}
	checkSignals(t, rm, h)
	stats := r.p.Stats()
	for stream, n := range h.bad {
		if stats[stream].Bad != int64(n) {
			t.Errorf("%s: %d bad events counted, %d published", stream, stats[stream].Bad, n)
		}
	}
	if st := stats[streams.StreamOrders]; st.Refused == 0 || st.Batches < 10 || st.Refolds == 0 || st.Retries != 0 {
		t.Errorf("ORD stats %+v: want refused events (fills of rejected orders, without intent), many batches, batches folded again "+
			"for an intent repeated after its order left memory, and no retry (Postgres never failed)", st)
	}
	t.Logf("%d messages, %d orders, %d fills; stats %+v", len(h.msgs), orders, fills, stats)
}

// TestCrashResume kills the projector again and again between batches (after it committed a
// batch and before it acknowledged it), publishing more while it is down, and checks that
// every restart resumes where the last committed: the rows equal the log's fold.
func TestCrashResume(t *testing.T) {
	databaseURL := migrated(t)
	log := openLog(t)
	h := generate(2, 300)
	mem := readmodeltest.Memory(t, log)
	db := openDB(t, databaseURL)
	chunks := 4
	restarts := 0
	for i := 0; ; i++ {
		if i < chunks {
			publish(t, log, h.msgs[i*len(h.msgs)/chunks:(i+1)*len(h.msgs)/chunks])
		}
		// Killed after its third batch, or stopped after a while when fewer are left.
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		var commits atomic.Int64
		p := NewProjector(db, log.JS, ProjectorOptions{BatchSize: 17, BatchWait: time.Millisecond, Logger: quiet,
			OnCommit: func(string, uint64) {
				if commits.Add(1) == 3 {
					cancel() // as if the process died between the commit and the ack
				}
			}})
		before := p.Applied()
		err := p.Run(ctx)
		cancel()
		if err != nil {
			t.Fatal(err)
		}
		lag, err := p.Lag(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		var behind uint64
		for _, l := range lag {
			behind += l
		}
		if i >= chunks && behind == 0 {
			break
		}
		restarts++
		if i > 200 {
			t.Fatalf("no progress after %d restarts: applied %v (was %v), lag %v", i, p.Applied(), before, lag)
		}
	}
	if restarts < 10 {
		t.Errorf("only %d restarts: the test did not kill the projector mid-log", restarts)
	}
	waitMemory(t, mem, log)
	rm := NewReadModel(db)
	orders, fills := same(t, rm, mem)
	checkSignals(t, rm, h)
	t.Logf("%d restarts; %d orders, %d fills", restarts, orders, fills)
}

// TestRedeliveredSkipped hands a projector a batch that was committed already, and one that
// overlaps the committed offset: what is at or below the offset is not folded in again.
func TestRedeliveredSkipped(t *testing.T) {
	databaseURL := migrated(t)
	log := openLog(t)
	h := generate(3, 60)
	mem := readmodeltest.Memory(t, log)
	db := openDB(t, databaseURL)
	publish(t, log, h.msgs)
	r := start(t, db, log, ProjectorOptions{Logger: quiet})
	catchUp(t, r)
	r.wait(t)
	ctx := context.Background()
	items := readItems(t, log, streams.StreamOrders)
	p := NewProjector(db, log.JS, ProjectorOptions{Logger: quiet, Streams: []string{streams.StreamOrders}})
	pr := p.projs[0]
	if c, err := p.commit(ctx, pr, items, items[len(items)-1].seq, ""); err != nil || c.folded != 0 {
		t.Fatalf("the whole stream again: %+v, %v; want nothing folded", c, err)
	}
	// one more order on the log, handed over with the ten events before it
	extra := newIntent(rand.New(rand.NewPCG(9, 9)), "extra", 1723161600000)
	msg, err := streams.Encode(&extra)
	if err != nil {
		t.Fatal(err)
	}
	publish(t, log, []*nats.Msg{msg})
	items = readItems(t, log, streams.StreamOrders)
	tail := items[len(items)-11:]
	if c, err := p.commit(ctx, pr, tail, tail[len(tail)-1].seq, ""); err != nil || c.folded != 1 {
		t.Fatalf("overlapping batch: %+v, %v; want 1 folded", c, err)
	}
	waitMemory(t, mem, log)
	same(t, NewReadModel(db), mem)
}

// readItems decodes a whole stream as a projector batch would.
func readItems(t *testing.T, log *streams.Log, stream string) []item {
	t.Helper()
	var items []item
	last, err := log.LastSeq(context.Background(), stream)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err = streams.Follow(ctx, log.JS, stream, jetstream.OrderedConsumerConfig{}, 256, func(msgs []jetstream.Msg) error {
		for _, m := range msgs {
			meta, err := m.Metadata()
			if err != nil {
				return err
			}
			ev, err := streams.Decode(m.Subject(), m.Headers(), m.Data())
			if err != nil {
				ev = nil
			}
			items = append(items, item{seq: meta.Sequence.Stream, ev: ev})
			if meta.Sequence.Stream >= last {
				cancel()
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return items
}

// A database projected from one log, then pointed at another that is longer (its offsets
// are within the new log's streams), is refused: the events at its offsets are not the ones
// it applied. The same log, restarted, is not.
func TestAnotherLongerLogIsRefused(t *testing.T) {
	db := openDB(t, migrated(t))
	project := func(log *streams.Log) error { return projectAll(db, log, ProjectorOptions{}) }
	first := openLog(t)
	publish(t, first, generate(5, 20).msgs)
	if err := project(first); err != nil {
		t.Fatal(err)
	}
	if err := project(first); err != nil {
		t.Fatalf("the same log again: %v", err)
	}
	other := openLog(t)
	publish(t, other, generate(6, 60).msgs)
	if err := project(other); !errors.Is(err, ErrDiverged) || !strings.Contains(err.Error(), "not the one this database applied") {
		t.Fatalf("a longer log of other events: %v, want ErrDiverged", err)
	}
}

// projectAll runs a projector of log into db until it has applied every stream's last event.
func projectAll(db *DB, log *streams.Log, opts ProjectorOptions) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	opts.Logger = quiet
	p := NewProjector(db, log.JS, opts)
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	for {
		select {
		case err := <-done:
			return err
		case <-time.After(20 * time.Millisecond):
		}
		lag, err := p.Lag(ctx)
		if err != nil {
			continue
		}
		behind := uint64(0)
		for _, l := range lag {
			behind += l
		}
		if behind == 0 {
			cancel()
			return <-done
		}
	}
}

// The sums of the signal summaries do not depend on how the events were batched.
func TestSignalSumsDoNotDependOnBatches(t *testing.T) {
	log := openLog(t)
	// An hour of one model's signals for one symbol: sixty probabilities in one summary.
	r := rand.New(rand.NewPCG(7, 7))
	var msgs []*nats.Msg
	for m := range int64(60) {
		s := &streams.Signal{Model: "direction", Version: "1", Venue: "binance", Symbol: "BTCUSDT", FeatureTime: 1723161600000 + m*60_000,
			Prediction: map[string]float64{"probability": r.Float64()}}
		msg, err := streams.Encode(s)
		if err != nil {
			t.Fatal(err)
		}
		msgs = append(msgs, msg)
	}
	publish(t, log, msgs)
	var sums [2]string
	for i, batch := range []int{3, 5000} {
		databaseURL := migrated(t)
		if err := projectAll(openDB(t, databaseURL), log, ProjectorOptions{BatchSize: batch}); err != nil {
			t.Fatal(err)
		}
		conn, err := pgx.Connect(context.Background(), databaseURL)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close(context.Background())
		if err := conn.QueryRow(context.Background(), `select count(*) || ':' || string_agg(probability_sum::text || '/' || mean_probability::text, ',' order by model, shadow, venue, symbol, hour)
			from signal_summaries`).Scan(&sums[i]); err != nil {
			t.Fatal(err)
		}
	}
	if sums[0] != sums[1] || strings.HasPrefix(sums[0], "0:") {
		t.Fatalf("batches of 3: %s\nbatches of 5000: %s", sums[0], sums[1])
	}
}

// TestSchemaAndDivergence: a database without the tables is refused with the fix named; a
// database whose offsets are past the log's end was projected from another log.
func TestSchemaAndDivergence(t *testing.T) {
	ctx := context.Background()
	bare := freshSchema(t)
	_, err := Open(ctx, bare, DBOptions{})
	if !errors.Is(err, ErrSchema) || !strings.Contains(err.Error(), "synapse migrate") {
		t.Errorf("open without the schema: %v, want ErrSchema naming synapse migrate", err)
	}
	databaseURL := migrated(t)
	db := openDB(t, databaseURL)
	conn, err := pgx.Connect(ctx, databaseURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "insert into projector_offsets (stream, last_seq) values ('ORD', 100)"); err != nil {
		t.Fatal(err)
	}
	log := openLog(t)
	err = NewProjector(db, log.JS, ProjectorOptions{Logger: quiet}).Run(ctx)
	if !errors.Is(err, ErrDiverged) {
		t.Errorf("offsets past the log: %v, want ErrDiverged", err)
	}
	if _, err := conn.Exec(ctx, "drop table fills"); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, "update projector_offsets set last_seq = 0"); err != nil {
		t.Fatal(err)
	}
	h := generate(4, 5)
	publish(t, log, h.msgs)
	runCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	err = NewProjector(db, log.JS, ProjectorOptions{Logger: quiet}).Run(runCtx)
	if !errors.Is(err, ErrSchema) {
		t.Errorf("a table missing: %v, want ErrSchema", err)
	}
}

// TestQueryParameters: bad parameters are errors wrapping portfolio.ErrQuery, before any
// query reaches Postgres.
func TestQueryParameters(t *testing.T) {
	rm := NewReadModel(openDB(t, migrated(t)))
	ctx := context.Background()
	for name, call := range map[string]func() error{
		"orders limit -1":      func() error { _, err := rm.Orders(ctx, portfolio.OrderQuery{Limit: -1}); return err },
		"orders limit 1001":    func() error { _, err := rm.Orders(ctx, portfolio.OrderQuery{Limit: 1001}); return err },
		"orders offset -1":     func() error { _, err := rm.Orders(ctx, portfolio.OrderQuery{Offset: -1}); return err },
		"orders status done":   func() error { _, err := rm.Orders(ctx, portfolio.OrderQuery{Status: "done"}); return err },
		"orders until < since": func() error { _, err := rm.Orders(ctx, portfolio.OrderQuery{Since: 10, Until: 5}); return err },
		"fills since -1":       func() error { _, err := rm.Fills(ctx, portfolio.FillQuery{Since: -1}); return err },
		"fills limit 5000":     func() error { _, err := rm.Fills(ctx, portfolio.FillQuery{Limit: 5000}); return err },
		"equity until -1":      func() error { _, err := rm.Equity(ctx, "ATLAS", 0, -1); return err },
		"signals until < since": func() error {
			_, err := rm.Signals(ctx, SignalQuery{Since: 10, Until: 1})
			return err
		},
	} {
		if err := call(); !errors.Is(err, portfolio.ErrQuery) {
			t.Errorf("%s: %v, want ErrQuery", name, err)
		}
	}
	// An unreachable database is ErrDatabase, not ErrQuery.
	rm.db.Close()
	pcfg := rm.db.pool.Config()
	pcfg.ConnConfig.Port = 1
	pool, err := pgxpool.NewWithConfig(ctx, pcfg)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	unreachable := &ReadModel{db: &DB{pool: pool, cfg: pcfg.ConnConfig}}
	if _, err := unreachable.Orders(ctx, portfolio.OrderQuery{}); !errors.Is(err, ErrDatabase) || errors.Is(err, portfolio.ErrQuery) {
		t.Errorf("unreachable: %v, want ErrDatabase", err)
	}
}
