package benchmarks

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
	"github.com/govalues/decimal"
	"github.com/jackc/pgx/v5"
	"github.com/nats-io/nats.go"

	"github.com/synapse-trading/synapse/migrations"
	"github.com/synapse-trading/synapse/portfolio"
	"github.com/synapse-trading/synapse/portfolio/postgres"
	"github.com/synapse-trading/synapse/streams"
)

// ProjectionOptions configure the projection scenario.
type ProjectionOptions struct {
	// DatabaseURL is a Postgres the scenario may create scratch schemas in (dropped at the
	// end). Default $SYNAPSE_DATABASE_URL, else postgres://postgres@127.0.0.1:5432/postgres.
	DatabaseURL string
	// Orders in the backlog the throughput is measured on (default 15,000: about 66,000
	// order events, 36,000 rows).
	Orders int
	// Rounds alternates baseline and figure this many times and keeps the best of each
	// (default 2).
	Rounds int
	// Rate (events/s, default 10,000) and Duration (default 5 s) of the open-loop load the
	// projection lag is measured under.
	Rate     float64
	Duration time.Duration
}

// Projection measures the Postgres projector (portfolio/postgres) draining a backlog of
// order events from the log into orders and fills (decode, Order.Apply and Account.Fill,
// batched upserts, one transaction per batch with its offset, acks), in rows/s, against raw
// pgx COPY of the same final rows into identical tables in the same run. Then, with the
// projector following the log, it publishes order events open-loop at Rate and measures the
// projection lag: for every event, the time from when it was due to be published until the
// batch holding it committed (coordinated omission corrected), and head − applied in events,
// sampled every 5 ms.
func Projection(ctx context.Context, opts ProjectionOptions) (Result, error) {
	if opts.DatabaseURL == "" {
		opts.DatabaseURL = os.Getenv("SYNAPSE_DATABASE_URL")
	}
	if opts.DatabaseURL == "" {
		opts.DatabaseURL = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"
	}
	if opts.Orders <= 0 {
		opts.Orders = 15_000
	}
	if opts.Rounds <= 0 {
		opts.Rounds = 2
	}
	if opts.Rate <= 0 {
		opts.Rate = 10_000
	}
	if opts.Duration <= 0 {
		opts.Duration = 5 * time.Second
	}
	admin, err := migrations.Connect(ctx, opts.DatabaseURL)
	if err != nil {
		return Result{}, fmt.Errorf("the projection scenario needs a Postgres it may create schemas in (set SYNAPSE_DATABASE_URL): %w", err)
	}
	defer admin.Close(context.WithoutCancel(ctx))
	backlog := projectionLoad(opts.Orders, 0)
	var best, bestCopy timed
	for r := 0; r < opts.Rounds; r++ {
		c, err := copyRows(ctx, admin, opts.DatabaseURL, backlog)
		if err != nil {
			return Result{}, fmt.Errorf("raw COPY: %w", err)
		}
		if c.rate() > bestCopy.rate() {
			bestCopy = c
		}
		p, err := projectBacklog(ctx, admin, opts.DatabaseURL, backlog)
		if err != nil {
			return Result{}, fmt.Errorf("projector: %w", err)
		}
		if p.rows != c.rows {
			return Result{}, fmt.Errorf("the projector wrote %d rows, the fold has %d", p.rows, c.rows)
		}
		if p.rate() > best.rate() {
			best = p
		}
	}
	rows := best.rows
	lag, err := projectionLag(ctx, admin, opts)
	if err != nil {
		return Result{}, fmt.Errorf("projection lag: %w", err)
	}
	ratio := best.rate() / bestCopy.rate()
	lat := LatencyOf(lag.visible)
	return Result{
		Scenario: "projection", Time: time.Now().UTC(),
		Figure:   Measure{Name: "Postgres projector: log → orders and fills, one transaction per batch", Value: best.rate(), Unit: "rows/s"},
		Baseline: Measure{Name: "raw pgx COPY of the same rows", Value: bestCopy.rate(), Unit: "rows/s"},
		Ratio:    ratio, Goal: "≥ 70% of raw COPY", Met: ratio >= 0.7,
		Latency: lat,
		Extra: map[string]float64{
			"rows":                             float64(rows),
			"order events in the backlog":      float64(len(backlog.msgs)),
			"projector events/s":               best.rate() * float64(len(backlog.msgs)) / float64(rows),
			"projector s":                      best.elapsed.Seconds(),
			"projector CPU s, this process":    best.cpu.Seconds(),
			"projector CPU s, Postgres":        best.postgresCPU.Seconds(),
			"raw COPY s":                       bestCopy.elapsed.Seconds(),
			"raw COPY CPU s, this process":     bestCopy.cpu.Seconds(),
			"raw COPY CPU s, Postgres":         bestCopy.postgresCPU.Seconds(),
			"lag load events/s":                lag.rate,
			"lag p50 s":                        lat.P50 / 1e6,
			"lag p99 s":                        lat.P99 / 1e6,
			"lag max s":                        lat.Max / 1e6,
			"lag head − applied p99 (events)":  float64(lag.behind.ValueAtQuantile(99)),
			"lag head − applied max (events)":  float64(lag.behind.Max()),
			"lag batches committed":            float64(lag.batches),
			"lag publisher behind schedule ms": float64(lag.late.Milliseconds()),
		},
		Machine: ThisMachine(),
	}, nil
}

// projectionBacklog is a log's worth of order events and the rows they fold to.
type projectionBacklog struct {
	msgs   []*nats.Msg
	orders [][]any // orders rows, in the table's column order
	fills  [][]any
}

// projectionLoad builds the events of n orders of three agents on three symbols, 16 orders
// in flight at a time, interleaved: intent, submitted, accepted, then one fill (60%) or
// two, each fill with its trade ID. Order IDs start at offset (distinct loads never clash).
func projectionLoad(n, offset int) *projectionBacklog {
	agents := []string{"ATLAS", "ORION", "NOVA"}
	symbols := []string{"BTCUSDT", "ETHUSDT", "SOLUSDT"}
	prices := []int64{6184947, 265120, 14137} // cents
	b := &projectionBacklog{}
	var events []*streams.OrderEvent
	const inFlight = 16
	t0 := int64(1723161600000)
	for g := 0; g < n; g += inFlight {
		var lanes [][]*streams.OrderEvent
		for i := g; i < min(g+inFlight, n); i++ {
			k := i + offset
			agent, sym := agents[k%3], k/3%3
			side := streams.Buy
			if k%5 >= 3 {
				side = streams.Sell
			}
			qty := decimal.MustNew(int64(1+k%997), 3)
			t := t0 + int64(k)*100
			in := &streams.OrderEvent{Type: streams.OrderIntent, ClientOrderID: fmt.Sprintf("bench-%08d", k), Agent: agent, Venue: "binance",
				Symbol: symbols[sym], Side: side, OrderType: streams.Market, Qty: qty, Reason: "bench", Time: t}
			lane := []*streams.OrderEvent{in}
			step := func(typ streams.OrderEventType, dt int64) *streams.OrderEvent {
				e := *in
				e.Type, e.Time, e.VenueOrderID = typ, t+dt, fmt.Sprintf("v-%d", k)
				return &e
			}
			lane = append(lane, step(streams.OrderSubmitted, 1), step(streams.OrderAccepted, 5))
			parts := []decimal.Decimal{qty}
			if k%5 >= 3 && qty.Coef() > 1 {
				first := decimal.MustNew(int64(qty.Coef()/2), 3)
				rest, _ := qty.Sub(first)
				parts = []decimal.Decimal{first, rest}
			}
			cum := decimal.Zero
			for j, q := range parts {
				f := step(streams.OrderFill, int64(10+j))
				price := decimal.MustNew(prices[sym]+int64(k%200)-100, 2)
				notional, _ := q.Mul(price)
				fee, _ := notional.Mul(decimal.MustNew(1, 3))
				cum, _ = cum.Add(q)
				f.TradeID, f.FillQty, f.FillPrice, f.Fee, f.CumQty = fmt.Sprintf("t-%d-%d", k, j), q, price, fee.Round(8), cum
				lane = append(lane, f)
			}
			lanes = append(lanes, lane)
		}
		for more := true; more; {
			more = false
			for i := range lanes {
				if len(lanes[i]) > 0 {
					events = append(events, lanes[i][0])
					lanes[i] = lanes[i][1:]
					more = true
				}
			}
		}
	}
	orders := map[string]*portfolio.Order{}
	var ids []string
	lastSeq := map[string]int64{}
	for i, e := range events {
		seq := int64(i + 1)
		msg, err := streams.Encode(e)
		if err != nil {
			panic(err) // the events are built above
		}
		b.msgs = append(b.msgs, msg)
		if e.Type == streams.OrderIntent {
			o, err := portfolio.NewOrder(e)
			if err != nil {
				panic(err)
			}
			orders[e.ClientOrderID] = o
			ids = append(ids, e.ClientOrderID)
		} else if applied, err := orders[e.ClientOrderID].Apply(e); err != nil || !applied {
			panic(fmt.Sprint("bench load: ", e.Type, " of ", e.ClientOrderID, " did not apply: ", err))
		}
		lastSeq[e.ClientOrderID] = seq
		if e.Type == streams.OrderFill {
			b.fills = append(b.fills, []any{e.ClientOrderID, e.TradeID, e.Agent, e.Venue, e.Symbol, string(e.Side), e.FillQty,
				e.FillPrice, e.Fee, e.Maker, e.Time, seq})
		}
	}
	for _, id := range ids {
		o := orders[id]
		b.orders = append(b.orders, []any{o.ClientOrderID, o.VenueOrderID, o.Agent, o.Venue, o.Symbol, string(o.Side), string(o.Type),
			o.Qty, o.Price, o.ReduceOnly, string(o.Status), o.Filled, o.Notional, o.Fees,
			o.Reason, o.Created, o.Updated, int32(o.Fills), lastSeq[id]})
	}
	return b
}

var (
	orderCopyColumns = []string{"client_order_id", "venue_order_id", "agent", "venue", "symbol", "side", "type", "qty", "price", "reduce_only",
		"status", "filled", "notional", "fees", "reason", "created", "updated", "fills", "seq"}
	fillCopyColumns = []string{"client_order_id", "trade_id", "agent", "venue", "symbol", "side", "qty", "price", "fee", "maker", "time", "seq"}
)

// scratch creates a migrated schema and returns its URL and what drops it.
func scratch(ctx context.Context, admin *pgx.Conn, databaseURL string) (string, func(), error) {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	schema := "synapse_bench_" + hex.EncodeToString(b)
	if _, err := admin.Exec(ctx, "create schema "+schema); err != nil {
		return "", nil, fmt.Errorf("creating a scratch schema: %w", migrations.Explain(admin.Config(), err))
	}
	drop := func() { _, _ = admin.Exec(context.WithoutCancel(ctx), "drop schema "+schema+" cascade") }
	schemaURL := migrations.WithParam(databaseURL, "search_path", schema)
	if err := migrations.Apply(ctx, schemaURL); err != nil {
		drop()
		return "", nil, err
	}
	return schemaURL, drop, nil
}

// timed is one timed run: the rows it wrote, how long it took, and the CPU this process and
// the local Postgres server's processes used meanwhile.
type timed struct {
	rows             int
	elapsed          time.Duration
	cpu, postgresCPU time.Duration
}

func (t timed) rate() float64 {
	if t.elapsed <= 0 {
		return 0
	}
	return float64(t.rows) / t.elapsed.Seconds()
}

// clock starts timing a run; stop ends it with its row count.
func clock() (stop func(rows int) timed) {
	start, cpu, pg := time.Now(), cpuTime(), postgresCPU()
	return func(rows int) timed {
		return timed{rows: rows, elapsed: time.Since(start), cpu: cpuTime() - cpu, postgresCPU: postgresCPU() - pg}
	}
}

// copyRows COPYs the backlog's rows into fresh tables: the baseline.
func copyRows(ctx context.Context, admin *pgx.Conn, databaseURL string, b *projectionBacklog) (timed, error) {
	u, drop, err := scratch(ctx, admin, databaseURL)
	if err != nil {
		return timed{}, err
	}
	defer drop()
	conn, err := migrations.Connect(ctx, u)
	if err != nil {
		return timed{}, err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	postgres.RegisterDecimal(conn.TypeMap()) // the decimals encoded as the projector encodes them
	stop := clock()
	tx, err := conn.Begin(ctx)
	if err != nil {
		return timed{}, err
	}
	defer tx.Rollback(context.WithoutCancel(ctx)) //nolint:errcheck // after Commit it does nothing
	n1, err := tx.CopyFrom(ctx, pgx.Identifier{"orders"}, orderCopyColumns, pgx.CopyFromRows(b.orders))
	if err != nil {
		return timed{}, err
	}
	n2, err := tx.CopyFrom(ctx, pgx.Identifier{"fills"}, fillCopyColumns, pgx.CopyFromRows(b.fills))
	if err != nil {
		return timed{}, err
	}
	if err := tx.Commit(ctx); err != nil {
		return timed{}, err
	}
	return stop(int(n1 + n2)), nil
}

// projectBacklog publishes the backlog on a fresh log, then times the projector from its
// start until it has committed the last event.
func projectBacklog(ctx context.Context, admin *pgx.Conn, databaseURL string, b *projectionBacklog) (timed, error) {
	u, drop, err := scratch(ctx, admin, databaseURL)
	if err != nil {
		return timed{}, err
	}
	defer drop()
	l, closeLog, err := freshLog(ctx)
	if err != nil {
		return timed{}, err
	}
	defer closeLog()
	for _, m := range b.msgs {
		if err := l.PublishMsg(ctx, m); err != nil {
			return timed{}, err
		}
	}
	if err := l.Flush(ctx); err != nil {
		return timed{}, err
	}
	db, err := postgres.Open(ctx, u, postgres.DBOptions{})
	if err != nil {
		return timed{}, err
	}
	defer db.Close()
	last := uint64(len(b.msgs))
	done := make(chan struct{}, 1)
	p := postgres.NewProjector(db, l.JS, postgres.ProjectorOptions{Streams: []string{streams.StreamOrders}, Logger: quietBench(),
		OnCommit: func(_ string, seq uint64) {
			if seq >= last {
				done <- struct{}{}
			}
		}})
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	errc := make(chan error, 1)
	stop := clock()
	go func() { errc <- p.Run(runCtx) }()
	var run timed
	select {
	case <-done:
		run = stop(0)
	case err := <-errc:
		return timed{}, fmt.Errorf("the projector stopped: %v", err)
	case <-time.After(5 * time.Minute):
		return timed{}, errors.New("the projector did not drain the backlog in 5 minutes")
	}
	cancel()
	<-errc
	if st := p.Stats()[streams.StreamOrders]; st.Refused > 0 || st.Bad > 0 || st.Retries > 0 {
		return timed{}, fmt.Errorf("projector stats %+v: the backlog must fold cleanly", st)
	}
	var n int
	if err := admin.QueryRow(ctx, "select (select count(*) from "+pgx.Identifier{schemaOfURL(u), "orders"}.Sanitize()+") + (select count(*) from "+
		pgx.Identifier{schemaOfURL(u), "fills"}.Sanitize()+")").Scan(&n); err != nil {
		return timed{}, err
	}
	run.rows = n
	return run, nil
}

func schemaOfURL(u string) string {
	cfg, err := migrations.ParseURL(u)
	if err != nil {
		return ""
	}
	return cfg.RuntimeParams["search_path"]
}

type lagResult struct {
	visible *hdrhistogram.Histogram // ns from an event's due time to its batch's commit
	behind  *hdrhistogram.Histogram // head − applied, events, sampled
	rate    float64
	batches int
	late    time.Duration // how far the publisher fell behind its schedule at worst
}

// projectionLag runs the projector on a fresh log and schema while order events are
// published open-loop at opts.Rate for opts.Duration.
func projectionLag(ctx context.Context, admin *pgx.Conn, opts ProjectionOptions) (*lagResult, error) {
	n := int(opts.Rate * opts.Duration.Seconds())
	load := projectionLoad(n/4+1, 10_000_000) // about 4 events an order
	msgs := load.msgs[:min(n, len(load.msgs))]
	u, drop, err := scratch(ctx, admin, opts.DatabaseURL)
	if err != nil {
		return nil, err
	}
	defer drop()
	l, closeLog, err := freshLog(ctx)
	if err != nil {
		return nil, err
	}
	defer closeLog()
	db, err := postgres.Open(ctx, u, postgres.DBOptions{})
	if err != nil {
		return nil, err
	}
	defer db.Close()
	res := &lagResult{visible: hdrhistogram.New(1, int64(time.Minute), 3), behind: hdrhistogram.New(0, 100_000_000, 3)}
	due := make([]time.Time, len(msgs)+1) // by sequence
	var mu sync.Mutex
	var applied uint64
	p := postgres.NewProjector(db, l.JS, postgres.ProjectorOptions{Streams: []string{streams.StreamOrders}, Logger: quietBench(),
		OnCommit: func(_ string, seq uint64) {
			now := time.Now()
			mu.Lock()
			for s := applied + 1; s <= seq && s < uint64(len(due)); s++ {
				_ = res.visible.RecordValue(max(1, int64(now.Sub(due[s]))))
			}
			applied = seq
			res.batches++
			mu.Unlock()
		}})
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	errc := make(chan error, 1)
	go func() { errc <- p.Run(runCtx) }()
	// wait for the consumer: the first event's clock starts when the projector can read it
	if err := streams.Sleep(ctx, 200*time.Millisecond); err != nil {
		return nil, err
	}
	var published atomic.Uint64
	sampleDone := make(chan struct{})
	go func() { // head − applied, every 5 ms
		defer close(sampleDone)
		t := time.NewTicker(5 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-runCtx.Done():
				return
			case <-t.C:
				head, a := published.Load(), p.Applied()[streams.StreamOrders]
				if head > a {
					_ = res.behind.RecordValue(int64(head - a))
				} else {
					_ = res.behind.RecordValue(0)
				}
				if a >= uint64(len(msgs)) {
					return
				}
			}
		}
	}()
	start := time.Now()
	interval := time.Duration(float64(time.Second) / opts.Rate)
	for i, m := range msgs {
		d := start.Add(time.Duration(i) * interval)
		if wait := time.Until(d); wait > 0 {
			if wait > time.Millisecond {
				if err := streams.Sleep(ctx, wait); err != nil {
					return nil, err
				}
			}
		} else if -wait > res.late {
			res.late = -wait
		}
		mu.Lock()
		due[i+1] = d
		mu.Unlock()
		if err := l.PublishMsg(ctx, m); err != nil {
			return nil, err
		}
		published.Store(uint64(i + 1))
	}
	if err := l.Flush(ctx); err != nil {
		return nil, err
	}
	res.rate = float64(len(msgs)) / time.Since(start).Seconds()
	select {
	case <-sampleDone:
	case err := <-errc:
		return nil, fmt.Errorf("the projector stopped: %v", err)
	case <-time.After(time.Minute):
		return nil, errors.New("the projector did not catch up within a minute of the load's end")
	}
	cancel()
	<-errc
	return res, nil
}

func quietBench() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }
