package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/govalues/decimal"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/synapse-trading/synapse/portfolio"
	"github.com/synapse-trading/synapse/streams"
)

// orderFold folds ORD into orders, fills and positions with portfolio.Order.Apply and
// portfolio.Account.Fill. Orders and positions stay in memory between batches; one that is
// not there is read back: an order from its row (and the trade IDs of its fills, so a fill
// reported twice is not booked twice), a position by replaying its fills, in log order,
// through a fresh Account. After a failed transaction everything is read back.
//
// An order whose first event in a batch is its intent is taken to be new, without a read:
// the desk writes one intent per client order ID. An intent whose order is stored after all
// (the log repeated it) makes its COPY fail on the primary key; the batch is then folded
// again with every order read back, and the repeated intent is refused as it would be in
// memory.
type orderFold struct {
	maxCached   int
	orders      map[string]*orderState
	accounts    map[posKey]*portfolio.Account
	written     []*orderState // by the last fold: stored once it commits
	readIntents bool          // read back the orders of intents too (after errRefold)
}

type orderState struct {
	order  *portfolio.Order
	trades map[string]struct{} // trade IDs of the fills applied
	stored bool                // its row exists (committed): it is updated, not inserted
}

type posKey struct{ agent, venue, symbol string }

func newOrderFold(maxCached int) *orderFold {
	f := &orderFold{maxCached: maxCached}
	f.reset()
	return f
}

func (f *orderFold) reset() {
	f.orders = map[string]*orderState{}
	f.accounts = map[posKey]*portfolio.Account{}
	f.written = nil
}

func (f *orderFold) committed() {
	f.readIntents = false
	for _, st := range f.written {
		st.stored = true
	}
	f.written = f.written[:0]
	if len(f.orders) <= f.maxCached {
		return
	}
	for id, st := range f.orders {
		if st.order.Status.Terminal() {
			delete(f.orders, id)
		}
	}
	if len(f.orders) > f.maxCached {
		clear(f.orders)
	}
}

func (f *orderFold) fold(ctx context.Context, tx inTx, items []item, b *pgx.Batch) (int, error) {
	if err := f.load(ctx, tx, items); err != nil {
		return 0, err
	}
	refused := 0
	dirty := map[string]uint64{} // order ID → the sequence of its last event in the batch
	var touched []string         // the dirty order IDs in the order of their first event
	positions := map[posKey]posChange{}
	var fills []fillRow
	for _, it := range items {
		ev, ok := it.ev.(*streams.OrderEvent)
		if !ok {
			refused++
			continue
		}
		st := f.orders[ev.ClientOrderID]
		if st == nil {
			if ev.Type != streams.OrderIntent {
				refused++ // an event of an order whose intent is not on the log
				continue
			}
			o, err := portfolio.NewOrder(ev)
			if err != nil {
				refused++
				continue
			}
			f.orders[ev.ClientOrderID] = &orderState{order: o, trades: map[string]struct{}{}}
			dirty[ev.ClientOrderID] = it.seq
			touched = append(touched, ev.ClientOrderID)
			continue
		}
		if ev.Type == streams.OrderFill {
			if _, seen := st.trades[ev.TradeID]; seen {
				continue // what Order.Apply does with a trade it has seen
			}
		}
		applied, err := st.order.Apply(ev)
		if err != nil {
			refused++
			continue
		}
		if !applied {
			continue
		}
		if _, ok := dirty[ev.ClientOrderID]; !ok {
			touched = append(touched, ev.ClientOrderID)
		}
		dirty[ev.ClientOrderID] = it.seq
		if ev.Type != streams.OrderFill {
			continue
		}
		st.trades[ev.TradeID] = struct{}{}
		fills = append(fills, fillRow{ev: ev, seq: it.seq})
		k := posKey{ev.Agent, ev.Venue, ev.Symbol}
		if err := f.accounts[k].Fill(ev); err != nil {
			refused++
			continue
		}
		positions[k] = posChange{seq: it.seq, fillTime: max(positions[k].fillTime, ev.Time)}
	}
	// New orders and fills are copied in (COPY, as fast as Postgres loads rows); orders
	// whose row exists are updated in one statement, positions upserted.
	var inserts, updates []orderRow
	f.written = f.written[:0]
	// In log order: new orders go into the primary key's b-tree in the order they were
	// created, which for time-ordered IDs is Postgres's fast path (its rightmost leaf).
	for _, id := range touched {
		seq := dirty[id]
		st := f.orders[id]
		f.written = append(f.written, st)
		if st.stored {
			updates = append(updates, orderRow{st.order, seq})
		} else {
			inserts = append(inserts, orderRow{st.order, seq})
		}
	}
	if err := copyOrders(ctx, tx, inserts); err != nil {
		var pgErr *pgconn.PgError
		if errors.As(err, &pgErr) && pgErr.Code == "23505" && !f.readIntents { // unique_violation
			f.readIntents = true
			return 0, fmt.Errorf("%w: an intent's order is stored already: %v", errRefold, err)
		}
		return 0, err
	}
	if err := copyFills(ctx, tx, fills); err != nil {
		return 0, err
	}
	queueOrderUpdates(b, updates)
	queuePositions(b, f.accounts, positions)
	return refused, nil
}

// load reads the orders and positions the batch touches that are not in memory, but for
// orders that begin with their intent in the batch (unless readIntents).
func (f *orderFold) load(ctx context.Context, tx inTx, items []item) error {
	var ids []string
	var agents, venues, symbols []string
	wantID := map[string]bool{} // order ID → read back (false: new, by its intent)
	wantKey := map[posKey]bool{}
	for _, it := range items {
		ev, ok := it.ev.(*streams.OrderEvent)
		if !ok {
			continue
		}
		if _, ok := f.orders[ev.ClientOrderID]; !ok {
			if _, seen := wantID[ev.ClientOrderID]; !seen {
				// The first event of this order in the batch decides: its intent means new.
				want := ev.Type != streams.OrderIntent || f.readIntents
				wantID[ev.ClientOrderID] = want
				if want {
					ids = append(ids, ev.ClientOrderID)
				}
			}
		}
		k := posKey{ev.Agent, ev.Venue, ev.Symbol}
		if _, ok := f.accounts[k]; !ok && ev.Type == streams.OrderFill && !wantKey[k] {
			wantKey[k] = true
			agents, venues, symbols = append(agents, k.agent), append(venues, k.venue), append(symbols, k.symbol)
		}
	}
	if len(ids) == 0 && len(agents) == 0 {
		return nil
	}
	b := &pgx.Batch{}
	if len(ids) > 0 {
		b.Queue("select "+orderColumns+" from orders where client_order_id = any($1)", ids).Query(func(rows pgx.Rows) error {
			for rows.Next() {
				o, err := scanOrder(rows)
				if err != nil {
					return err
				}
				f.orders[o.ClientOrderID] = &orderState{order: &o, trades: map[string]struct{}{}, stored: true}
			}
			return rows.Err()
		})
		b.Queue("select client_order_id, trade_id from fills where client_order_id = any($1)", ids).Query(func(rows pgx.Rows) error {
			var id, trade string
			_, err := pgx.ForEachRow(rows, []any{&id, &trade}, func() error {
				if st := f.orders[id]; st != nil {
					st.trades[trade] = struct{}{}
				}
				return nil
			})
			return err
		})
	}
	if len(agents) > 0 {
		for k := range wantKey {
			f.accounts[k] = portfolio.NewAccount(k.agent, decimal.Decimal{})
		}
		b.Queue(`select f.agent, f.venue, f.symbol, f.side, f.qty::text, f.price::text, f.fee::text
			from fills f join unnest($1::text[], $2::text[], $3::text[]) as k(agent, venue, symbol) using (agent, venue, symbol)
			order by f.seq`, agents, venues, symbols).Query(func(rows pgx.Rows) error {
			for rows.Next() {
				ev := &streams.OrderEvent{Type: streams.OrderFill}
				var qty, price, fee string
				if err := rows.Scan(&ev.Agent, &ev.Venue, &ev.Symbol, &ev.Side, &qty, &price, &fee); err != nil {
					return err
				}
				var err error
				if ev.FillQty, ev.FillPrice, ev.Fee, err = decimals3(qty, price, fee); err != nil {
					return err
				}
				// A fill the ledger refused when it was folded is refused again: the same result.
				_ = f.accounts[posKey{ev.Agent, ev.Venue, ev.Symbol}].Fill(ev)
			}
			return rows.Err()
		})
	}
	return tx.SendBatch(ctx, b).Close()
}

const orderColumns = `client_order_id, venue_order_id, agent, venue, symbol, side, type, qty::text, price::text, reduce_only,
	status, filled::text, notional::text, fees::text, reason, created, updated, fills`

func scanOrder(row pgx.Row) (portfolio.Order, error) {
	var o portfolio.Order
	var qty, price, filled, notional, fees string
	err := row.Scan(&o.ClientOrderID, &o.VenueOrderID, &o.Agent, &o.Venue, &o.Symbol, &o.Side, &o.Type, &qty, &price, &o.ReduceOnly,
		&o.Status, &filled, &notional, &fees, &o.Reason, &o.Created, &o.Updated, &o.Fills)
	if err != nil {
		return o, err
	}
	if o.Qty, o.Price, o.Filled, err = decimals3(qty, price, filled); err != nil {
		return o, err
	}
	if o.Notional, err = parseDecimal(notional); err != nil {
		return o, err
	}
	o.Fees, err = parseDecimal(fees)
	return o, err
}

type orderRow struct {
	o   *portfolio.Order
	seq uint64
}

var orderCopyColumns = []string{"client_order_id", "venue_order_id", "agent", "venue", "symbol", "side", "type", "qty", "price",
	"reduce_only", "status", "filled", "notional", "fees", "reason", "created", "updated", "fills", "seq"}

func copyOrders(ctx context.Context, tx inTx, rows []orderRow) error {
	if len(rows) == 0 {
		return nil
	}
	_, err := tx.CopyFrom(ctx, pgx.Identifier{"orders"}, orderCopyColumns, pgx.CopyFromSlice(len(rows), func(i int) ([]any, error) {
		o := rows[i].o
		return []any{o.ClientOrderID, o.VenueOrderID, o.Agent, o.Venue, o.Symbol, string(o.Side), string(o.Type), o.Qty,
			o.Price, o.ReduceOnly, string(o.Status), o.Filled, o.Notional, o.Fees, o.Reason,
			o.Created, o.Updated, int32(o.Fills), int64(rows[i].seq)}, nil
	}))
	return err
}

// queueOrderUpdates writes what an order's events change (never its description, which its
// intent fixed).
func queueOrderUpdates(b *pgx.Batch, rows []orderRow) {
	if len(rows) == 0 {
		return
	}
	n := len(rows)
	var (
		ids, vids, statuses, filled, notionals, fees, reasons = make([]string, 0, n), make([]string, 0, n), make([]string, 0, n), make([]string, 0, n), make([]string, 0, n), make([]string, 0, n), make([]string, 0, n)
		updated, seqs                                         = make([]int64, 0, n), make([]int64, 0, n)
		nfills                                                = make([]int32, 0, n)
	)
	for _, r := range rows {
		o := r.o
		ids, vids, statuses, filled = append(ids, o.ClientOrderID), append(vids, o.VenueOrderID), append(statuses, string(o.Status)), append(filled, o.Filled.String())
		notionals, fees, reasons, updated = append(notionals, o.Notional.String()), append(fees, o.Fees.String()), append(reasons, o.Reason), append(updated, o.Updated)
		nfills, seqs = append(nfills, int32(o.Fills)), append(seqs, int64(r.seq))
	}
	b.Queue(`update orders set venue_order_id = u.vid, status = u.status, filled = u.filled::numeric, notional = u.notional::numeric,
			fees = u.fees::numeric, reason = u.reason, updated = u.updated, fills = u.fills, seq = u.seq
		from unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::int8[], $9::int4[], $10::int8[])
			as u(id, vid, status, filled, notional, fees, reason, updated, fills, seq)
		where orders.client_order_id = u.id`,
		ids, vids, statuses, filled, notionals, fees, reasons, updated, nfills, seqs)
}

type fillRow struct {
	ev  *streams.OrderEvent
	seq uint64
}

var fillCopyColumns = []string{"client_order_id", "trade_id", "agent", "venue", "symbol", "side", "qty", "price", "fee", "maker", "time", "seq"}

// copyFills copies the fills in: each is new (the fold applies a trade ID once).
func copyFills(ctx context.Context, tx inTx, fills []fillRow) error {
	if len(fills) == 0 {
		return nil
	}
	_, err := tx.CopyFrom(ctx, pgx.Identifier{"fills"}, fillCopyColumns, pgx.CopyFromSlice(len(fills), func(i int) ([]any, error) {
		e := fills[i].ev
		return []any{e.ClientOrderID, e.TradeID, e.Agent, e.Venue, e.Symbol, string(e.Side), e.FillQty, e.FillPrice,
			e.Fee, e.Maker, e.Time, int64(fills[i].seq)}, nil
	}))
	return err
}

// posChange is a position a batch changed: the sequence of its last fill in the batch and the
// newest fill time.
type posChange struct {
	seq      uint64
	fillTime int64
}

func queuePositions(b *pgx.Batch, accounts map[posKey]*portfolio.Account, dirty map[posKey]posChange) {
	if len(dirty) == 0 {
		return
	}
	n := len(dirty)
	var (
		agents, venues, symbols            = make([]string, 0, n), make([]string, 0, n), make([]string, 0, n)
		qtys, costs, realized, fees, marks = make([]string, 0, n), make([]string, 0, n), make([]string, 0, n), make([]string, 0, n), make([]string, 0, n)
		nfills                             = make([]int32, 0, n)
		seqs, fillTimes                    = make([]int64, 0, n), make([]int64, 0, n)
	)
	for k, c := range dirty {
		p := accounts[k].Position(k.venue, k.symbol)
		agents, venues, symbols = append(agents, k.agent), append(venues, k.venue), append(symbols, k.symbol)
		qtys, costs, realized, fees, marks = append(qtys, p.Qty.String()), append(costs, p.Cost.String()), append(realized, p.Realized.String()), append(fees, p.Fees.String()), append(marks, p.Mark.String())
		nfills, seqs, fillTimes = append(nfills, int32(p.Fills)), append(seqs, int64(c.seq)), append(fillTimes, c.fillTime)
	}
	b.Queue(`insert into positions (agent, venue, symbol, qty, cost, realized, fees, mark, fills, seq, fill_time)
		select agent, venue, symbol, qty::numeric, cost::numeric, realized::numeric, fees::numeric, mark::numeric, fills, seq, fill_time
		from unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::int4[], $10::int8[], $11::int8[])
			as u(agent, venue, symbol, qty, cost, realized, fees, mark, fills, seq, fill_time)
		on conflict (agent, venue, symbol) do update set qty = excluded.qty, cost = excluded.cost, realized = excluded.realized,
			fees = excluded.fees, mark = excluded.mark, fills = excluded.fills, seq = excluded.seq,
			fill_time = greatest(positions.fill_time, excluded.fill_time)`,
		agents, venues, symbols, qtys, costs, realized, fees, marks, nfills, seqs, fillTimes)
}

func parseDecimal(s string) (decimal.Decimal, error) {
	d, err := decimal.Parse(s)
	if err != nil {
		return d, fmt.Errorf("%w: numeric %q does not fit a decimal: %v", ErrDatabase, s, err)
	}
	return d, nil
}

func decimals3(a, b, c string) (x, y, z decimal.Decimal, err error) {
	if x, err = parseDecimal(a); err != nil {
		return
	}
	if y, err = parseDecimal(b); err != nil {
		return
	}
	z, err = parseDecimal(c)
	return
}
