package postgres

import (
	"context"
	"encoding/json"

	"github.com/jackc/pgx/v5"

	"github.com/synapse-trading/synapse/streams"
)

// portfolioFold folds PF into agent_state_events and agent_states (pf.<agent>.state),
// equity_snapshots and position_marks (pf.<agent>.equity), capital_moves (pf.<agent>.capital)
// and killswitch_events (pf.risk.killswitch). It keeps nothing between batches.
type portfolioFold struct{}

func (portfolioFold) committed() {}
func (portfolioFold) reset()     {}

func (portfolioFold) fold(_ context.Context, _ inTx, items []item, b *pgx.Batch) (int, error) {
	refused := 0
	var states []agentStateRow
	latest := map[string]int{} // agent → index in states of its newest change
	equity := map[[2]any]int{} // (agent, time) → index in snaps of the newest snapshot
	var snaps []equityRow
	marks := map[posKey]markRow{} // the newest mark per position in the batch
	var kills []killRow
	var moves []moveRow
	for _, it := range items {
		switch ev := it.ev.(type) {
		case *streams.AgentEvent:
			if ev.Agent == "" {
				refused++
				continue
			}
			latest[ev.Agent] = len(states)
			states = append(states, agentStateRow{ev: ev, seq: it.seq})
		case *streams.EquitySnapshot:
			if ev.Agent == "" {
				refused++
				continue
			}
			for _, mk := range ev.Marks {
				pk := posKey{ev.Agent, mk.Venue, mk.Symbol}
				if old, ok := marks[pk]; !ok || ev.MarkTime >= old.time {
					marks[pk] = markRow{price: mk.Price.String(), time: ev.MarkTime, seq: it.seq}
				}
			}
			k := [2]any{ev.Agent, ev.Time}
			if i, ok := equity[k]; ok {
				snaps[i] = equityRow{ev: ev, seq: it.seq}
				continue
			}
			equity[k] = len(snaps)
			snaps = append(snaps, equityRow{ev: ev, seq: it.seq})
		case *streams.KillSwitchEvent:
			kills = append(kills, killRow{ev: ev, seq: it.seq})
		case *streams.CapitalMove:
			if ev.Check() != nil {
				refused++
				continue
			}
			moves = append(moves, moveRow{ev: ev, seq: it.seq})
		case *streams.Peak:
			// the desk's, for drawdown after a restart; the read model's drawdown comes from
			// the equity snapshots
		default:
			refused++
		}
	}
	if len(states) > 0 {
		queueAgentStates(b, "agent_state_events", states, "on conflict (seq) do nothing")
		last := make([]agentStateRow, 0, len(latest))
		for _, i := range latest {
			last = append(last, states[i])
		}
		queueAgentStates(b, "agent_states", last, `on conflict (agent) do update set state = excluded.state, previous = excluded.previous,
			reason = excluded.reason, equity = excluded.equity, drawdown = excluded.drawdown, time = excluded.time, cause = excluded.cause,
			command_seq = excluded.command_seq, seq = excluded.seq`)
	}
	if len(snaps) > 0 {
		queueEquity(b, snaps)
	}
	if len(marks) > 0 {
		queueMarks(b, marks)
	}
	if len(moves) > 0 {
		queueMoves(b, moves)
	}
	for _, k := range kills {
		b.Queue(`insert into killswitch_events (seq, switched_on, reason, cause, command_seq, time) values ($1, $2, $3, $4, $5, $6)
			on conflict (seq) do nothing`, int64(k.seq), k.ev.On, k.ev.Reason, k.ev.Cause, int64(k.ev.CommandSeq), k.ev.Time)
	}
	return refused, nil
}

type agentStateRow struct {
	ev  *streams.AgentEvent
	seq uint64
}

type equityRow struct {
	ev  *streams.EquitySnapshot
	seq uint64
}

type markRow struct {
	price string
	time  int64
	seq   uint64
}

// queueMarks keeps the newest mark of each position (a tie: the later snapshot's).
func queueMarks(b *pgx.Batch, marks map[posKey]markRow) {
	n := len(marks)
	agents, venues, symbols, prices := make([]string, 0, n), make([]string, 0, n), make([]string, 0, n), make([]string, 0, n)
	times, seqs := make([]int64, 0, n), make([]int64, 0, n)
	for k, m := range marks {
		agents, venues, symbols, prices = append(agents, k.agent), append(venues, k.venue), append(symbols, k.symbol), append(prices, m.price)
		times, seqs = append(times, m.time), append(seqs, int64(m.seq))
	}
	b.Queue(`insert into position_marks (agent, venue, symbol, mark, time, seq)
		select agent, venue, symbol, mark::numeric, time, seq
		from unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::int8[], $6::int8[]) as u(agent, venue, symbol, mark, time, seq)
		on conflict (agent, venue, symbol) do update set mark = excluded.mark, time = excluded.time, seq = excluded.seq
			where excluded.time >= position_marks.time`,
		agents, venues, symbols, prices, times, seqs)
}

type moveRow struct {
	ev  *streams.CapitalMove
	seq uint64
}

type killRow struct {
	ev  *streams.KillSwitchEvent
	seq uint64
}

// queueAgentStates writes agent changes into agent_state_events (history) or agent_states
// (newest per agent): both have the same columns.
func queueAgentStates(b *pgx.Batch, table string, rows []agentStateRow, conflict string) {
	n := len(rows)
	var (
		agents, states, previous, reasons, equity, drawdown, causes = make([]string, 0, n), make([]string, 0, n), make([]string, 0, n), make([]string, 0, n), make([]string, 0, n), make([]string, 0, n), make([]string, 0, n)
		times, cmdSeqs, seqs                                        = make([]int64, 0, n), make([]int64, 0, n), make([]int64, 0, n)
	)
	for _, r := range rows {
		e := r.ev
		agents, states, previous, reasons = append(agents, e.Agent), append(states, string(e.State)), append(previous, string(e.Previous)), append(reasons, e.Reason)
		equity, drawdown, causes = append(equity, e.Equity.String()), append(drawdown, e.Drawdown.String()), append(causes, e.Cause)
		times, cmdSeqs, seqs = append(times, e.Time), append(cmdSeqs, int64(e.CommandSeq)), append(seqs, int64(r.seq))
	}
	b.Queue(`insert into `+table+` (agent, state, previous, reason, equity, drawdown, time, cause, command_seq, seq)
		select agent, state, previous, reason, equity::numeric, drawdown::numeric, time, cause, command_seq, seq
		from unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::int8[], $8::text[], $9::int8[], $10::int8[])
			as u(agent, state, previous, reason, equity, drawdown, time, cause, command_seq, seq) `+conflict,
		agents, states, previous, reasons, equity, drawdown, times, causes, cmdSeqs, seqs)
}

func queueEquity(b *pgx.Batch, rows []equityRow) {
	n := len(rows)
	var (
		agents                                    = make([]string, 0, n)
		times, seqs                               = make([]int64, 0, n), make([]int64, 0, n)
		capital, cash, equity, exposure, realized = make([]string, 0, n), make([]string, 0, n), make([]string, 0, n), make([]string, 0, n), make([]string, 0, n)
		unrealized, fees, drawdown                = make([]string, 0, n), make([]string, 0, n), make([]string, 0, n)
	)
	for _, r := range rows {
		e := r.ev
		agents, times, seqs = append(agents, e.Agent), append(times, e.Time), append(seqs, int64(r.seq))
		capital, cash, equity, exposure = append(capital, e.Capital.String()), append(cash, e.Cash.String()), append(equity, e.Equity.String()), append(exposure, e.Exposure.String())
		realized, unrealized, fees, drawdown = append(realized, e.Realized.String()), append(unrealized, e.Unrealized.String()), append(fees, e.Fees.String()), append(drawdown, e.Drawdown.String())
	}
	b.Queue(`insert into equity_snapshots (agent, time, capital, cash, equity, exposure, realized, unrealized, fees, drawdown, seq)
		select agent, time, capital::numeric, cash::numeric, equity::numeric, exposure::numeric, realized::numeric,
			unrealized::numeric, fees::numeric, drawdown::numeric, seq
		from unnest($1::text[], $2::int8[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[], $10::text[], $11::int8[])
			as u(agent, time, capital, cash, equity, exposure, realized, unrealized, fees, drawdown, seq)
		on conflict (agent, time) do update set capital = excluded.capital, cash = excluded.cash, equity = excluded.equity,
			exposure = excluded.exposure, realized = excluded.realized, unrealized = excluded.unrealized, fees = excluded.fees,
			drawdown = excluded.drawdown, seq = excluded.seq`,
		agents, times, capital, cash, equity, exposure, realized, unrealized, fees, drawdown, seqs)
}

// queueMoves writes capital moves in log order; a second move of an agent with the same cause
// (a resend past the dedup window) is not one: the first stays.
func queueMoves(b *pgx.Batch, rows []moveRow) {
	n := len(rows)
	var (
		seqs, cmdSeqs, times, fills                    = make([]int64, 0, n), make([]int64, 0, n), make([]int64, 0, n), make([]int64, 0, n)
		agents, causes, types, amounts, highs, reasons = make([]string, 0, n), make([]string, 0, n), make([]string, 0, n), make([]string, 0, n), make([]string, 0, n), make([]string, 0, n)
		equity, plans                                  = make([]string, 0, n), make([]*string, 0, n)
	)
	for _, r := range rows {
		e := r.ev
		seqs, cmdSeqs, times, fills = append(seqs, int64(r.seq)), append(cmdSeqs, int64(e.CommandSeq)), append(times, e.Time), append(fills, int64(e.AfterFills))
		agents, causes, types, amounts = append(agents, e.Agent), append(causes, e.Cause), append(types, string(e.Type)), append(amounts, e.Amount.String())
		highs, reasons, equity = append(highs, e.HighWater.String()), append(reasons, e.Reason), append(equity, e.Equity.String())
		plans = append(plans, planJSON(e.Plan))
	}
	b.Queue(`insert into capital_moves (seq, agent, cause, type, amount, high_water, reason, command_seq, equity, after_fills, time, plan)
		select seq, agent, cause, type, amount::numeric, high_water::numeric, reason, command_seq, equity::numeric, after_fills, time, plan::jsonb
		from unnest($1::int8[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::int8[], $9::text[], $10::int8[], $11::int8[], $12::text[])
			with ordinality as u(seq, agent, cause, type, amount, high_water, reason, command_seq, equity, after_fills, time, plan, n)
		order by n
		on conflict do nothing`,
		seqs, agents, causes, types, amounts, highs, reasons, cmdSeqs, equity, fills, times, plans)
}

// planJSON is a move's plan as the plan column keeps it: JSON with the amounts as decimal
// strings, or null without one.
func planJSON(plan []streams.PlannedMove) *string {
	if len(plan) == 0 {
		return nil
	}
	data, err := json.Marshal(plan)
	if err != nil {
		panic(err) // decimals and strings always marshal
	}
	s := string(data)
	return &s
}
