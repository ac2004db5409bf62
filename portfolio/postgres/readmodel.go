package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/govalues/decimal"
	"github.com/jackc/pgx/v5"

	"github.com/synapse-trading/synapse/migrations"
	"github.com/synapse-trading/synapse/portfolio"
	"github.com/synapse-trading/synapse/streams"
)

// ReadModel answers portfolio.ReadModel's queries from the tables the Projector writes, by
// the rules of the conformance suite (portfolio/readmodeltest), like the in-memory model.
// Each query reads one snapshot (a repeatable-read transaction), so a page and its total
// agree even while the projector commits. It is safe for concurrent use.
type ReadModel struct {
	db *DB
}

var _ portfolio.ReadModel = (*ReadModel)(nil)

// NewReadModel returns the read model on db.
func NewReadModel(db *DB) *ReadModel { return &ReadModel{db: db} }

// terminal lists the statuses portfolio.Status.Terminal reports, for SQL.
var terminal = func() string {
	var out []string
	for _, s := range []portfolio.Status{portfolio.StatusIntent, portfolio.StatusSubmitted, portfolio.StatusAccepted, portfolio.StatusPartiallyFilled,
		portfolio.StatusFilled, portfolio.StatusCanceled, portfolio.StatusRejected, portfolio.StatusExpired} {
		if s.Terminal() {
			out = append(out, "'"+string(s)+"'")
		}
	}
	return "(" + strings.Join(out, ", ") + ")"
}()

// Orders lists orders newest first (created, then client order ID, descending).
func (r *ReadModel) Orders(ctx context.Context, q portfolio.OrderQuery) (portfolio.Page[portfolio.Order], error) {
	if err := errors.Join(q.Normalize(), portfolio.CheckRange(q.Since, q.Until)); err != nil {
		return portfolio.Page[portfolio.Order]{}, err
	}
	var w where
	w.eq("agent", q.Agent)
	w.eq("venue", q.Venue)
	w.eq("symbol", q.Symbol)
	switch q.Status {
	case "":
	case "open":
		w.add("status not in " + terminal)
	default:
		w.eq("status", string(q.Status))
	}
	w.between("created", q.Since, q.Until)
	p := portfolio.Page[portfolio.Order]{Items: []portfolio.Order{}, Limit: q.Limit, Offset: q.Offset}
	err := r.read(ctx, func(b *pgx.Batch) {
		b.Queue("select count(*) from orders"+w.sql(), w.args...).QueryRow(func(row pgx.Row) error { return row.Scan(&p.Total) })
		b.Queue("select "+orderColumns+" from orders"+w.sql()+" order by created desc, client_order_id desc"+limitOffset(q.Limit, q.Offset), w.args...).
			Query(func(rows pgx.Rows) error {
				for rows.Next() {
					o, err := scanOrder(rows)
					if err != nil {
						return err
					}
					p.Items = append(p.Items, o)
				}
				return rows.Err()
			})
	})
	return p, err
}

// Fills lists fills newest first (time, client order ID, trade ID, descending).
func (r *ReadModel) Fills(ctx context.Context, q portfolio.FillQuery) (portfolio.Page[portfolio.Fill], error) {
	if err := errors.Join(q.Normalize(), portfolio.CheckRange(q.Since, q.Until)); err != nil {
		return portfolio.Page[portfolio.Fill]{}, err
	}
	var w where
	w.eq("agent", q.Agent)
	w.eq("venue", q.Venue)
	w.eq("symbol", q.Symbol)
	w.between("time", q.Since, q.Until)
	p := portfolio.Page[portfolio.Fill]{Items: []portfolio.Fill{}, Limit: q.Limit, Offset: q.Offset}
	err := r.read(ctx, func(b *pgx.Batch) {
		b.Queue("select count(*) from fills"+w.sql(), w.args...).QueryRow(func(row pgx.Row) error { return row.Scan(&p.Total) })
		b.Queue(`select client_order_id, trade_id, agent, venue, symbol, side, qty::text, price::text, fee::text, maker, time
			from fills`+w.sql()+" order by time desc, client_order_id desc, trade_id desc"+limitOffset(q.Limit, q.Offset), w.args...).
			Query(func(rows pgx.Rows) error {
				for rows.Next() {
					var f portfolio.Fill
					var qty, price, fee string
					if err := rows.Scan(&f.ClientOrderID, &f.TradeID, &f.Agent, &f.Venue, &f.Symbol, &f.Side, &qty, &price, &fee, &f.Maker, &f.Time); err != nil {
						return err
					}
					var err error
					if f.Qty, f.Price, f.Fee, err = decimals3(qty, price, fee); err != nil {
						return err
					}
					p.Items = append(p.Items, f)
				}
				return rows.Err()
			})
	})
	return p, err
}

// Positions lists the positions ever held by agent ("" for every agent), by agent, venue and
// symbol. Their Mark is the newer of their last fill's price and the price the agent's equity
// snapshots last marked them at (position_marks; the mark on a tie).
func (r *ReadModel) Positions(ctx context.Context, agent string) ([]portfolio.Position, error) {
	var w where
	w.eq("p.agent", agent)
	out := []portfolio.Position{}
	err := r.read(ctx, func(b *pgx.Batch) {
		b.Queue(`select p.venue, p.symbol, p.qty::text, p.cost::text, p.realized::text, p.fees::text,
				(case when m.time >= p.fill_time and m.mark > 0 then m.mark else p.mark end)::text, p.fills
			from positions p left join position_marks m on m.agent = p.agent and m.venue = p.venue and m.symbol = p.symbol`+
			w.sql()+" order by p.agent, p.venue, p.symbol", w.args...).Query(func(rows pgx.Rows) error {
			for rows.Next() {
				var p portfolio.Position
				var qty, cost, realized, fees, mark string
				if err := rows.Scan(&p.Venue, &p.Symbol, &qty, &cost, &realized, &fees, &mark, &p.Fills); err != nil {
					return err
				}
				var err error
				if p.Qty, p.Cost, p.Realized, err = decimals3(qty, cost, realized); err != nil {
					return err
				}
				if p.Fees, err = parseDecimal(fees); err != nil {
					return err
				}
				if p.Mark, err = parseDecimal(mark); err != nil {
					return err
				}
				out = append(out, p)
			}
			return rows.Err()
		})
	})
	return out, err
}

const equityColumns = `agent, time, capital::text, cash::text, equity::text, exposure::text, realized::text, unrealized::text, fees::text, drawdown::text`

// Equity lists agent's equity snapshots in [since, until) of market time (0: open), oldest
// first; agent "" lists every agent's, by time then agent.
func (r *ReadModel) Equity(ctx context.Context, agent string, since, until int64) ([]streams.EquitySnapshot, error) {
	if err := portfolio.CheckRange(since, until); err != nil {
		return nil, err
	}
	var w where
	w.eq("agent", agent)
	w.between("time", since, until)
	out := []streams.EquitySnapshot{}
	err := r.read(ctx, func(b *pgx.Batch) { queueSnapshots(b, w, &out) })
	return out, err
}

// queueSnapshots reads the equity snapshots w selects into out, by time then agent.
func queueSnapshots(b *pgx.Batch, w where, out *[]streams.EquitySnapshot) {
	b.Queue("select "+equityColumns+" from equity_snapshots"+w.sql()+" order by time, agent", w.args...).Query(func(rows pgx.Rows) error {
		for rows.Next() {
			s, err := scanEquity(rows)
			if err != nil {
				return err
			}
			*out = append(*out, s)
		}
		return rows.Err()
	})
}

func scanEquity(row pgx.Row) (streams.EquitySnapshot, error) {
	var s streams.EquitySnapshot
	var v [8]string
	if err := row.Scan(&s.Agent, &s.Time, &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &v[6], &v[7]); err != nil {
		return s, err
	}
	var err error
	for i, d := range []*decimal.Decimal{&s.Capital, &s.Cash, &s.Equity, &s.Exposure, &s.Realized, &s.Unrealized, &s.Fees, &s.Drawdown} {
		if *d, err = parseDecimal(v[i]); err != nil {
			return s, err
		}
	}
	return s, nil
}

// Agents summarises every agent named by an order's intent, an agent event, an equity
// snapshot or a capital move, by name: ACTIVE until its first agent event, its newest
// snapshot by time with the capital moves after it (by seq) applied, its orders and fills
// counted and their fees, its positions' realized PnL and its capital moves summed (exact
// numeric sums), the high-water mark of its newest move.
func (r *ReadModel) Agents(ctx context.Context) ([]portfolio.AgentSummary, error) {
	out := []portfolio.AgentSummary{}
	err := r.read(ctx, func(b *pgx.Batch) { queueAgents(b, &out) })
	return out, err
}

// Total sums every agent's summary and measures the total's drawdown over its curve
// (portfolio.TotalCurve, as the in-memory read model does), from one snapshot of the tables.
func (r *ReadModel) Total(ctx context.Context) (portfolio.Total, error) {
	var agents []portfolio.AgentSummary
	var snaps []streams.EquitySnapshot
	err := r.read(ctx, func(b *pgx.Batch) {
		queueAgents(b, &agents)
		queueSnapshots(b, where{}, &snaps)
	})
	if err != nil {
		return portfolio.Total{}, err
	}
	curve, peak, last := portfolio.TotalCurve(snaps)
	t := portfolio.TotalOf(agents, peak, last)
	t.MaxDrawdown = portfolio.MaxDrawdown(curve)
	return t, nil
}

func queueAgents(b *pgx.Batch, out *[]portfolio.AgentSummary) {
	b.Queue(`with names as (select agent from orders union select agent from agent_states union select agent from equity_snapshots
				union select agent from capital_moves)
			select n.agent, coalesce(s.state, $1), coalesce(s.reason, ''),
				(select count(*) from orders o where o.agent = n.agent),
				(select count(*) from orders o where o.agent = n.agent and o.status not in `+terminal+`),
				(select count(*) from fills f where f.agent = n.agent),
				(select coalesce(sum(f.fee), 0)::text from fills f where f.agent = n.agent),
				(select coalesce(sum(p.realized), 0)::text from positions p where p.agent = n.agent),
				(select coalesce(sum(m.amount), 0)::text from capital_moves m where m.agent = n.agent),
				coalesce((select m.high_water::text from capital_moves m where m.agent = n.agent order by m.seq desc limit 1), e.capital::text, '0'),
				(select count(*) from capital_moves m where m.agent = n.agent and m.seq > e.seq),
				(select coalesce(sum(m.amount), 0)::text from capital_moves m where m.agent = n.agent and m.seq > e.seq),
				e.agent is not null, coalesce(e.agent, ''), coalesce(e.time, 0), coalesce(e.capital::text, '0'), coalesce(e.cash::text, '0'),
				coalesce(e.equity::text, '0'), coalesce(e.exposure::text, '0'), coalesce(e.realized::text, '0'),
				coalesce(e.unrealized::text, '0'), coalesce(e.fees::text, '0'), coalesce(e.drawdown::text, '0')
			from names n
			left join agent_states s on s.agent = n.agent
			left join lateral (select * from equity_snapshots x where x.agent = n.agent order by x.time desc limit 1) e on true
			order by n.agent`, string(streams.AgentActive)).Query(func(rows pgx.Rows) error {
		for rows.Next() {
			var a portfolio.AgentSummary
			var fees, realized, moved, high, pending string
			var pendingN int
			var latest bool
			var v [8]string
			l := &a.Latest
			if err := rows.Scan(&a.Agent, &a.State, &a.Reason, &a.Orders, &a.OpenOrders, &a.Fills, &fees, &realized, &moved, &high, &pendingN, &pending,
				&latest, &l.Agent, &l.Time, &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &v[6], &v[7]); err != nil {
				return err
			}
			var err error
			if a.Fees, a.Realized, a.Moved, err = decimals3(fees, realized, moved); err != nil {
				return err
			}
			if a.HighWater, err = parseDecimal(high); err != nil {
				return err
			}
			if latest {
				for i, d := range []*decimal.Decimal{&l.Capital, &l.Cash, &l.Equity, &l.Exposure, &l.Realized, &l.Unrealized, &l.Fees, &l.Drawdown} {
					if *d, err = parseDecimal(v[i]); err != nil {
						return err
					}
				}
				if pendingN > 0 { // the moves after the snapshot, as they moved the ledger
					p, err := parseDecimal(pending)
					if err != nil {
						return err
					}
					*l = portfolio.LatestAfterMoves(*l, p)
				}
			}
			*out = append(*out, a)
		}
		return rows.Err()
	})
}

// CapitalMoves lists agent's capital moves ("" for every agent's) in [since, until) of market
// time, in log order.
func (r *ReadModel) CapitalMoves(ctx context.Context, agent string, since, until int64) ([]streams.CapitalMove, error) {
	if err := portfolio.CheckRange(since, until); err != nil {
		return nil, err
	}
	var w where
	w.eq("agent", agent)
	w.between("time", since, until)
	out := []streams.CapitalMove{}
	err := r.read(ctx, func(b *pgx.Batch) {
		b.Queue(`select agent, cause, type, amount::text, high_water::text, reason, command_seq, equity::text, after_fills, time, plan::text
			from capital_moves`+w.sql()+" order by seq", w.args...).Query(func(rows pgx.Rows) error {
			for rows.Next() {
				var c streams.CapitalMove
				var amount, high, equity string
				var plan *string
				var cmdSeq int64
				if err := rows.Scan(&c.Agent, &c.Cause, &c.Type, &amount, &high, &c.Reason, &cmdSeq, &equity, &c.AfterFills, &c.Time, &plan); err != nil {
					return err
				}
				var err error
				if c.Amount, c.HighWater, c.Equity, err = decimals3(amount, high, equity); err != nil {
					return err
				}
				if plan != nil {
					if err := json.Unmarshal([]byte(*plan), &c.Plan); err != nil {
						return fmt.Errorf("capital_moves: the plan of %s's move %s: %w", c.Agent, c.Cause, err)
					}
				}
				c.CommandSeq = uint64(cmdSeq)
				out = append(out, c)
			}
			return rows.Err()
		})
	})
	return out, err
}

// Applied is the last sequence committed of ORD, PF and CMD (0 before the projector's first
// start).
func (r *ReadModel) Applied(ctx context.Context) (map[string]uint64, error) {
	out := map[string]uint64{streams.StreamOrders: 0, streams.StreamPortfolio: 0, streams.StreamCommands: 0}
	err := r.read(ctx, func(b *pgx.Batch) {
		b.Queue("select stream, last_seq from projector_offsets where stream = any($1)", []string{streams.StreamOrders, streams.StreamPortfolio, streams.StreamCommands}).
			Query(func(rows pgx.Rows) error {
				var stream string
				var seq int64
				_, err := pgx.ForEachRow(rows, []any{&stream, &seq}, func() error {
					out[stream] = uint64(seq)
					return nil
				})
				return err
			})
	})
	return out, err
}

// Deployment is one models.* command as model_deployments keeps it.
type Deployment struct {
	Seq       uint64 `json:"seq" db:"seq"` // CMD sequence
	CommandID string `json:"command_id" db:"command_id"`
	Action    string `json:"action" db:"action"` // deploy, promote or retire_shadow
	Model     string `json:"model" db:"model"`
	Dir       string `json:"dir,omitempty" db:"dir"`
	Mode      string `json:"mode,omitempty" db:"mode"`     // deploy: live or shadow
	SHA256    string `json:"sha256,omitempty" db:"sha256"` // deploy: the .onnx's, when the command named it
	Issuer    string `json:"issuer,omitempty" db:"issuer"`
	Time      int64  `json:"time" db:"time"`
}

// Deployments lists the models.* commands of model ("" for every model), oldest first.
func (r *ReadModel) Deployments(ctx context.Context, model string) ([]Deployment, error) {
	var w where
	w.eq("model", model)
	out := []Deployment{}
	err := r.read(ctx, func(b *pgx.Batch) {
		b.Queue("select seq, command_id, action, model, dir, mode, sha256, issuer, time from model_deployments"+w.sql()+" order by seq", w.args...).
			Query(func(rows pgx.Rows) error {
				for rows.Next() {
					var d Deployment
					var seq int64
					if err := rows.Scan(&seq, &d.CommandID, &d.Action, &d.Model, &d.Dir, &d.Mode, &d.SHA256, &d.Issuer, &d.Time); err != nil {
						return err
					}
					d.Seq = uint64(seq)
					out = append(out, d)
				}
				return rows.Err()
			})
	})
	return out, err
}

// SignalSummary is one model's signals for one symbol in one hour of feature time.
type SignalSummary struct {
	Model   string `json:"model" db:"model"`
	Shadow  bool   `json:"shadow,omitempty" db:"shadow"`
	Venue   string `json:"venue" db:"venue"`
	Symbol  string `json:"symbol" db:"symbol"`
	Hour    int64  `json:"hour" db:"hour"` // epoch ms, the start of the hour
	Signals int64  `json:"signals" db:"signals"`
	// MeanProbability is the mean "probability" output of the signals that carry one (nil:
	// none do).
	MeanProbability *float64        `json:"mean_probability" db:"mean_probability"`
	Last            *streams.Signal `json:"last"` // the signal with the greatest feature time
}

// SignalQuery filters signal summaries; empty fields do not filter, Since and Until select
// [since, until) of the hour.
type SignalQuery struct {
	Model  string `json:"model"`
	Venue  string `json:"venue"`
	Symbol string `json:"symbol"`
	Since  int64  `json:"since"`
	Until  int64  `json:"until"`
}

// Signals lists signal summaries by hour, model, shadow, venue and symbol.
func (r *ReadModel) Signals(ctx context.Context, q SignalQuery) ([]SignalSummary, error) {
	if err := portfolio.CheckRange(q.Since, q.Until); err != nil {
		return nil, err
	}
	var w where
	w.eq("model", q.Model)
	w.eq("venue", q.Venue)
	w.eq("symbol", q.Symbol)
	w.between("hour", q.Since, q.Until)
	out := []SignalSummary{}
	err := r.read(ctx, func(b *pgx.Batch) {
		b.Queue(`select model, shadow, venue, symbol, hour, signals, mean_probability, last_version, last_feature_time,
				last_prediction::text, last_confidence, last_latency_us
			from signal_summaries`+w.sql()+" order by hour, model, shadow, venue, symbol", w.args...).Query(func(rows pgx.Rows) error {
			for rows.Next() {
				var s SignalSummary
				l := &streams.Signal{}
				var pred string
				if err := rows.Scan(&s.Model, &s.Shadow, &s.Venue, &s.Symbol, &s.Hour, &s.Signals, &s.MeanProbability,
					&l.Version, &l.FeatureTime, &pred, &l.Confidence, &l.LatencyUs); err != nil {
					return err
				}
				if err := json.Unmarshal([]byte(pred), &l.Prediction); err != nil {
					return err
				}
				l.Model, l.Shadow, l.Venue, l.Symbol = s.Model, s.Shadow, s.Venue, s.Symbol
				s.Last = l
				out = append(out, s)
			}
			return rows.Err()
		})
	})
	return out, err
}

// read runs the queries that queue adds to a batch in one read-only, repeatable-read
// transaction. Errors wrap ErrDatabase.
func (r *ReadModel) read(ctx context.Context, queue func(*pgx.Batch)) (err error) {
	// The pool's transaction holds one connection and releases it at Commit or Rollback.
	tx, err := r.db.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("%w: %w", ErrDatabase, err)
		}
		return fmt.Errorf("%w: %w", ErrDatabase, migrations.Explain(r.db.cfg, err))
	}
	defer tx.Rollback(context.WithoutCancel(ctx)) //nolint:errcheck // after Commit it does nothing
	b := &pgx.Batch{}
	queue(b)
	if err := tx.SendBatch(ctx, b).Close(); err != nil {
		return fmt.Errorf("%w: %w", ErrDatabase, migrations.Explain(r.db.cfg, err))
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("%w: %w", ErrDatabase, migrations.Explain(r.db.cfg, err))
	}
	return nil
}

// where builds a WHERE clause of ANDed conditions with numbered arguments.
type where struct {
	conds []string
	args  []any
}

func (w *where) add(cond string) { w.conds = append(w.conds, cond) }

// eq matches col = value; an empty value does not filter.
func (w *where) eq(col, value string) {
	if value == "" {
		return
	}
	w.args = append(w.args, value)
	w.add(col + " = $" + strconv.Itoa(len(w.args)))
}

// between selects [since, until) of col; 0 leaves a side open.
func (w *where) between(col string, since, until int64) {
	if since != 0 {
		w.args = append(w.args, since)
		w.add(col + " >= $" + strconv.Itoa(len(w.args)))
	}
	if until != 0 {
		w.args = append(w.args, until)
		w.add(col + " < $" + strconv.Itoa(len(w.args)))
	}
}

func (w *where) sql() string {
	if len(w.conds) == 0 {
		return ""
	}
	return " where " + strings.Join(w.conds, " and ")
}

// limitOffset is the LIMIT and OFFSET of a normalized query, as numbers (the count query
// shares the arguments).
func limitOffset(limit, offset int) string {
	return " limit " + strconv.Itoa(limit) + " offset " + strconv.Itoa(offset)
}
