// Package readmodeltest is the conformance suite of portfolio.ReadModel: every read model
// (the in-memory one, the Postgres projection) runs it and so answers every query the same
// way, to the last digit.
package readmodeltest

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/govalues/decimal"

	"github.com/synapse-trading/synapse/portfolio"
	"github.com/synapse-trading/synapse/streams"
)

// Run publishes a fixed, realistic scenario (see scenario.go) on a real embedded log in two
// phases, catches the model up after each and checks every query against a reference fold,
// then opens a second model on the same log (a restart) and checks that it answers the same.
// open builds the model under test on log; the function it returns catches the model up:
// it returns once the model has folded in every message on the ORD, PF and CMD streams at
// the time of the call (or with ctx's error). The model must keep following the log: the
// suite publishes more and catches up again. Open registers whatever stops the model with
// t.Cleanup; Run calls it twice on the same log (the second time: a restart).
//
// The rules it holds a read model to:
//
//   - Orders are folded with portfolio.NewOrder and Order.Apply, in log order: an event that
//     does not apply (a fill of a rejected order, an event without its intent, a payload that
//     does not decode) is skipped and changes nothing; a fill already applied (same trade ID)
//     is not counted again; a fill after a cancel is booked and the order stays canceled.
//   - Orders are listed newest first: Created descending, then ClientOrderID descending;
//     fills by Time, ClientOrderID, TradeID, all descending. Strings compare byte-wise (in
//     Postgres: COLLATE "C").
//   - Agent, Venue and Symbol filters match exactly (case-sensitive). Status "open" matches
//     intent, submitted, accepted and partially_filled. Since and Until select [since, until)
//     of Created (orders) or Time (fills, equity); 0 leaves that side open.
//   - A page holds Total (every match), Limit (the normalized limit: 0 becomes 100), Offset,
//     and the Items from Offset on; an offset past the end gives no items and the same Total.
//   - Positions are those of a portfolio.Account fed the applied fills in log order (flat
//     positions stay listed), by agent, venue, symbol; agent "" lists every agent's; an
//     unknown agent has none (no error). Mark is the last fill's price unless the agent's
//     equity snapshots marked the position later: the mark with the greatest MarkTime (the
//     later snapshot's on a tie) wins when its MarkTime is at or after the position's newest
//     fill time.
//   - Equity lists snapshots oldest first, without their marks (the positions carry them);
//     agent "" lists every agent's, by time then agent.
//     A second snapshot of the same agent and time (a resend past the dedup window) replaces
//     the first.
//   - Agents lists, by name, every agent named by an intent that started an order, an agent
//     event, an equity snapshot or a capital move. State is ACTIVE until the agent's first
//     agent event, then the state and reason of its latest; Latest is its snapshot with the
//     greatest time, with every capital move logged after that snapshot added to its capital,
//     cash and equity and its drawdown then 0 (moves before an agent's first snapshot are in
//     that snapshot); Orders and OpenOrders count its orders (open: not terminal), Fills and
//     Fees its applied fills, Realized the Σ of its positions' realized PnL, Moved the Σ of
//     its capital moves; HighWater is the high-water mark its newest capital move carries
//     (none: Latest's capital, 0 without a snapshot).
//   - Capital moves fold in log order, once per agent and cause (a resend past the dedup
//     window is not a second move); one that fails CapitalMove.Check is skipped. CapitalMoves
//     lists them in log order, filtered by agent and [since, until) of Time.
//   - Total sums the Latest of every agent of Agents (and their Moved); its Peak and Last are
//     the highest (the first of equals) and the newest point of the curve that has, at each
//     snapshot time, the Σ over the agents of their newest snapshot then, each counted as
//     equity − capital + the capital of the agent's first snapshot; Drawdown is
//     portfolio.Drawdown(Peak, Last).
//   - Applied[stream] is, once caught up, the stream's last sequence: messages that do not
//     decode or apply count as folded in.
//   - Bad parameters are errors wrapping portfolio.ErrQuery: a limit below 0 or above 1000, a
//     negative offset, an unknown status, a negative since or until, an until (≠ 0) before
//     since.
//
// Decimals compare by value: a model may return "1.50" where the fold has "1.5".
func Run(t *testing.T, open func(t *testing.T, log *streams.Log) (portfolio.ReadModel, func(context.Context) error)) {
	log, err := streams.Open(context.Background(), streams.Options{DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(log.Close)
	rm, catchUp := open(t, log)
	ref := newReference()
	phase1, phase2 := scenario()

	catchUpOrFail(t, catchUp)
	t.Run("empty", func(t *testing.T) { checkAll(t, log, rm, ref) })

	publish(t, log, phase1)
	ref.fold(phase1)
	catchUpOrFail(t, catchUp)
	t.Run("phase1", func(t *testing.T) { checkAll(t, log, rm, ref) })

	publish(t, log, phase2)
	ref.fold(phase2)
	catchUpOrFail(t, catchUp)
	t.Run("phase2", func(t *testing.T) { checkAll(t, log, rm, ref) })
	t.Run("numbers", func(t *testing.T) { checkNumbers(t, rm) })
	t.Run("parameters", func(t *testing.T) { checkParameters(t, rm) })
	t.Run("idempotent catch-up", func(t *testing.T) {
		catchUpOrFail(t, catchUp)
		checkAll(t, log, rm, ref)
	})
	t.Run("restart", func(t *testing.T) {
		again, catchUpAgain := open(t, log)
		catchUpOrFail(t, catchUpAgain)
		checkAll(t, log, again, ref)
		checkSame(t, again, rm)
	})
}

func catchUpOrFail(t *testing.T, catchUp func(context.Context) error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := catchUp(ctx); err != nil {
		t.Fatalf("catching up with the log: %v", err)
	}
}

func publish(t *testing.T, log *streams.Log, items []item) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, it := range items {
		msg, err := it.msg()
		if err != nil {
			t.Fatal(err)
		}
		if err := log.PublishMsg(ctx, msg); err != nil {
			t.Fatal(err)
		}
	}
	if err := log.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if d := log.Stats().Duplicates; d != 0 {
		t.Fatalf("the log dropped %d of the scenario's messages as duplicates", d)
	}
}

func report(t *testing.T, what string, got, want any) {
	t.Helper()
	if d := diff(got, want); len(d) > 0 {
		t.Errorf("%s:\n  %s", what, strings.Join(d, "\n  "))
	}
}

// orderQueries and fillQueries are the filters and pages checked against the reference.
func orderQueries() map[string]portfolio.OrderQuery {
	return map[string]portfolio.OrderQuery{
		"all":                   {},
		"all in one page":       {Limit: 1000},
		"agent":                 {Agent: "ATLAS"},
		"agent in lower case":   {Agent: "atlas"},
		"venue":                 {Venue: "binance-um"},
		"symbol":                {Symbol: "SOLUSDT"},
		"unknown agent":         {Agent: "NOBODY"},
		"status open":           {Status: "open"},
		"status filled":         {Status: portfolio.StatusFilled},
		"status canceled":       {Status: portfolio.StatusCanceled},
		"status intent":         {Status: portfolio.StatusIntent},
		"status partial":        {Status: portfolio.StatusPartiallyFilled},
		"status rejected":       {Status: portfolio.StatusRejected},
		"status expired":        {Status: portfolio.StatusExpired},
		"agent and status":      {Agent: "NOVA", Status: portfolio.StatusCanceled},
		"agent venue symbol":    {Agent: "ORION", Venue: "binance-um", Symbol: "ETHUSDT"},
		"since":                 {Since: T0 + 90*minute},
		"since until":           {Since: T0 + 30*minute, Until: T0 + 50*minute},
		"until":                 {Until: T0 + 10*minute},
		"empty range":           {Since: T0 + 30*minute, Until: T0 + 30*minute},
		"page 1":                {Limit: 4},
		"page 2":                {Limit: 4, Offset: 4},
		"page 4":                {Limit: 4, Offset: 12},
		"past the end":          {Limit: 4, Offset: 20},
		"filtered page":         {Agent: "ATLAS", Limit: 2, Offset: 2},
		"filtered open page":    {Status: "open", Limit: 1, Offset: 1},
		"filtered status range": {Status: portfolio.StatusFilled, Since: T0 + 10*minute, Until: T0 + 80*minute, Limit: 2},
	}
}

func fillQueries() map[string]portfolio.FillQuery {
	return map[string]portfolio.FillQuery{
		"all":                 {},
		"agent":               {Agent: "ORION"},
		"agent in lower case": {Agent: "orion"},
		"venue":               {Venue: "binance-um"},
		"symbol":              {Symbol: "SOLUSDT"},
		"unknown symbol":      {Symbol: "DOGEUSDT"},
		"agent venue symbol":  {Agent: "ATLAS", Venue: "binance", Symbol: "BTCUSDT"},
		"since":               {Since: T0 + 50*minute},
		"since until":         {Since: T0 + 50*minute + 500, Until: T0 + 81*minute - 1},
		"page 1":              {Limit: 3},
		"page 2":              {Limit: 3, Offset: 3},
		"past the end":        {Limit: 3, Offset: 30},
		"filtered page":       {Venue: "binance-um", Limit: 2, Offset: 1},
	}
}

func equityQueries() map[string][3]any {
	return map[string][3]any{
		"agent":         {"ATLAS", int64(0), int64(0)},
		"every agent":   {"", int64(0), int64(0)},
		"since":         {"ATLAS", T0 + hour, int64(0)},
		"half-open":     {"ATLAS", T0, T0 + hour},
		"until":         {"", int64(0), T0 + 2*hour},
		"only vega":     {"VEGA", int64(0), int64(0)},
		"unknown agent": {"NOBODY", int64(0), int64(0)},
		"lower case":    {"nova", int64(0), int64(0)},
		"empty range":   {"ORION", T0 + hour, T0 + hour},
	}
}

func moveQueries() map[string][3]any {
	return map[string][3]any{
		"all":           {"", int64(0), int64(0)},
		"agent":         {"ORION", int64(0), int64(0)},
		"lower case":    {"orion", int64(0), int64(0)},
		"since":         {"", T0 + 3*hour, int64(0)},
		"until":         {"ATLAS", int64(0), T0 + 3*hour},
		"unknown agent": {"NOBODY", int64(0), int64(0)},
	}
}

// checkAll compares every query of rm with the reference.
func checkAll(t *testing.T, log *streams.Log, rm portfolio.ReadModel, ref *reference) {
	t.Helper()
	ctx := context.Background()
	for name, q := range orderQueries() {
		got, err := rm.Orders(ctx, q)
		if err != nil {
			t.Errorf("orders %s (%+v): %v", name, q, err)
			continue
		}
		report(t, fmt.Sprintf("orders %s (%+v)", name, q), got, ref.Orders(q))
	}
	for name, q := range fillQueries() {
		got, err := rm.Fills(ctx, q)
		if err != nil {
			t.Errorf("fills %s (%+v): %v", name, q, err)
			continue
		}
		report(t, fmt.Sprintf("fills %s (%+v)", name, q), got, ref.Fills(q))
	}
	for _, agent := range []string{"", "ATLAS", "ORION", "NOVA", "VEGA", "NOBODY", "atlas"} {
		got, err := rm.Positions(ctx, agent)
		if err != nil {
			t.Errorf("positions of %q: %v", agent, err)
			continue
		}
		report(t, fmt.Sprintf("positions of %q", agent), got, ref.Positions(agent))
	}
	for name, q := range equityQueries() {
		agent, since, until := q[0].(string), q[1].(int64), q[2].(int64)
		got, err := rm.Equity(ctx, agent, since, until)
		if err != nil {
			t.Errorf("equity %s: %v", name, err)
			continue
		}
		report(t, fmt.Sprintf("equity %s (%q, %d, %d)", name, agent, since, until), got, ref.Equity(agent, since, until))
	}
	agents, err := rm.Agents(ctx)
	if err != nil {
		t.Errorf("agents: %v", err)
	} else {
		report(t, "agents", agents, ref.Agents())
	}
	total, err := rm.Total(ctx)
	if err != nil {
		t.Errorf("total: %v", err)
	} else {
		report(t, "total", total, ref.Total())
	}
	for name, q := range moveQueries() {
		agent, since, until := q[0].(string), q[1].(int64), q[2].(int64)
		got, err := rm.CapitalMoves(ctx, agent, since, until)
		if err != nil {
			t.Errorf("capital moves %s: %v", name, err)
			continue
		}
		report(t, fmt.Sprintf("capital moves %s (%q, %d, %d)", name, agent, since, until), got, ref.CapitalMoves(agent, since, until))
	}
	applied, err := rm.Applied(ctx)
	if err != nil {
		t.Errorf("applied: %v", err)
		return
	}
	for _, stream := range []string{streams.StreamOrders, streams.StreamPortfolio, streams.StreamCommands} {
		last, err := log.LastSeq(ctx, stream)
		if err != nil {
			t.Fatal(err)
		}
		if applied[stream] != last {
			t.Errorf("applied[%s] = %d, the stream's last sequence is %d", stream, applied[stream], last)
		}
	}
}

// checkNumbers pins what the reference itself must fold to, worked out by hand, so that a
// wrong reference cannot pass a wrong model.
func checkNumbers(t *testing.T, rm portfolio.ReadModel) {
	ctx := context.Background()
	orders, err := rm.Orders(ctx, portfolio.OrderQuery{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	if orders.Total != 13 || len(orders.Items) != 13 {
		t.Errorf("%d orders (%d items), want 13", orders.Total, len(orders.Items))
	}
	statuses := map[portfolio.Status]int{}
	for _, o := range orders.Items {
		statuses[o.Status]++
	}
	want := map[portfolio.Status]int{portfolio.StatusFilled: 6, portfolio.StatusCanceled: 3, portfolio.StatusRejected: 1,
		portfolio.StatusExpired: 1, portfolio.StatusIntent: 1, portfolio.StatusPartiallyFilled: 1}
	report(t, "orders by status", statuses, want)
	if len(orders.Items) == 13 {
		first, last := orders.Items[0], orders.Items[12]
		if first.Agent != "ATLAS" || first.Symbol != "ETHUSDT" || first.Status != portfolio.StatusPartiallyFilled || first.Created != T0+130*minute {
			t.Errorf("newest order: %+v, want ATLAS's partially filled ETHUSDT limit of T0+130m", first)
		}
		if last.Agent != "ATLAS" || last.Created != T0+minute || last.Notional.Cmp(dec("1546.23675")) != 0 {
			t.Errorf("oldest order: %+v, want ATLAS's BTCUSDT market buy of T0+1m, notional 1546.23675", last)
		}
	}
	raced, err := rm.Orders(ctx, portfolio.OrderQuery{Agent: "ATLAS", Symbol: "BTCUSDT", Status: portfolio.StatusCanceled})
	if err != nil {
		t.Fatal(err)
	}
	if raced.Total != 1 || raced.Items[0].Fills != 2 || raced.Items[0].Filled.Cmp(dec("0.006")) != 0 || raced.Items[0].Fees.Cmp(dec("0.375")) != 0 {
		t.Errorf("ATLAS's canceled BTCUSDT sell: %+v, want 2 fills, 0.006 filled, fees 0.375", raced.Items)
	}
	fills, err := rm.Fills(ctx, portfolio.FillQuery{})
	if err != nil {
		t.Fatal(err)
	}
	if fills.Total != 11 {
		t.Errorf("%d fills, want 11 (the resent report, the fill of a rejected order and the fill without intent not counted)", fills.Total)
	}
	positions := map[string][2]string{ // agent venue symbol → qty, realized
		"ATLAS binance BTCUSDT":    {"0.019", "3.90318"},
		"ATLAS binance ETHUSDT":    {"0.1", "0"},
		"ATLAS binance-um SOLUSDT": {"-10", "0"},
		"ORION binance-um ETHUSDT": {"0", "7.79"},
		"NOVA binance SOLUSDT":     {"-5", "-58.75"},
	}
	for key, w := range positions {
		agent, _, _ := strings.Cut(key, " ")
		ps, err := rm.Positions(ctx, agent)
		if err != nil {
			t.Fatal(err)
		}
		found := false
		for _, p := range ps {
			if agent+" "+p.Venue+" "+p.Symbol == key {
				found = true
				if p.Qty.Cmp(dec(w[0])) != 0 || p.Realized.Cmp(dec(w[1])) != 0 {
					t.Errorf("%s: qty %s realized %s, want %s and %s", key, p.Qty, p.Realized, w[0], w[1])
				}
			}
		}
		if !found {
			t.Errorf("no position %s", key)
		}
	}
	agents, err := rm.Agents(ctx)
	if err != nil {
		t.Fatal(err)
	}
	type summary struct {
		state                      streams.AgentState
		orders, open, fills        int
		fees, realized, lastEquity string
		capital, cash, drawdown    string
		moved, highWater           string
	}
	// the newest snapshots with the capital moves since: ATLAS +500 − 3.25, NOVA +1500.25,
	// ORION −5.93 (its −2000.25 is in its snapshot of T0+3h), VEGA none after its snapshot
	wantAgents := map[string]summary{
		"ATLAS": {streams.AgentActive, 5, 1, 6, "2.46947675", "3.90318", "10500.00", "10496.75", "10573.04952", "0", "496.75", "10500.00"},
		"NOVA":  {streams.AgentHalted, 4, 0, 2, "7.70485", "-58.75", "6432.12", "6500.25", "7129.2649", "0", "1500.25", "6500.25"},
		"ORION": {streams.AgentHalted, 4, 1, 3, "0.849942", "7.79", "7999.75", "7993.82", "8000.62", "0", "-2006.18", "7999.75"},
		"VEGA":  {streams.AgentActive, 0, 0, 0, "0", "0", "2500", "2500", "2500", "0", "2500", "2500"},
	}
	if len(agents) != len(wantAgents) {
		t.Errorf("%d agents, want %d", len(agents), len(wantAgents))
	}
	for _, a := range agents {
		w, ok := wantAgents[a.Agent]
		if !ok {
			t.Errorf("unexpected agent %q", a.Agent)
			continue
		}
		l := a.Latest
		got := summary{a.State, a.Orders, a.OpenOrders, a.Fills, a.Fees.String(), a.Realized.String(), l.Equity.String(),
			l.Capital.String(), l.Cash.String(), l.Drawdown.String(), a.Moved.String(), a.HighWater.String()}
		if got.state != w.state || got.orders != w.orders || got.open != w.open || got.fills != w.fills ||
			a.Fees.Cmp(dec(w.fees)) != 0 || a.Realized.Cmp(dec(w.realized)) != 0 || l.Equity.Cmp(dec(w.lastEquity)) != 0 ||
			l.Capital.Cmp(dec(w.capital)) != 0 || l.Cash.Cmp(dec(w.cash)) != 0 || l.Drawdown.Cmp(dec(w.drawdown)) != 0 ||
			a.Moved.Cmp(dec(w.moved)) != 0 || a.HighWater.Cmp(dec(w.highWater)) != 0 {
			t.Errorf("%s: %+v, want %+v", a.Agent, got, w)
		}
	}
	moves, err := rm.CapitalMoves(ctx, "", 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	var sum decimal.Decimal
	for _, m := range moves {
		if m.Cause == "portfolio.rebalance.60718293a4b5c6d7" {
			sum, _ = sum.Add(m.Amount)
		}
	}
	if len(moves) != 6 || !sum.IsZero() || moves[0].Agent != "VEGA" || moves[5].Agent != "ORION" || moves[5].HighWater.Cmp(dec("7999.75")) != 0 {
		t.Errorf("capital moves %+v: want 6 (the resent one and the one without a cause not counted), the rebalance's summing to 0", moves)
	}
	// Σ of the summaries above; the curve: T0 25000, T0+1h 27491.42 (VEGA's first snapshot),
	// T0+2h 27441.05, T0+3h 27441.05 (ORION's snapshot after its move out counts as before it)
	total, err := rm.Total(ctx)
	if err != nil {
		t.Fatal(err)
	}
	totals := map[string][2]decimal.Decimal{
		"capital": {total.Capital, dec("27490.82")}, "cash": {total.Cash, dec("28202.93442")}, "equity": {total.Equity, dec("27431.87")},
		"exposure": {total.Exposure, dec("2193.14")}, "realized": {total.Realized, dec("-47.05682")}, "unrealized": {total.Unrealized, dec("-4.50")},
		"fees": {total.Fees, dec("10.92")}, "moved": {total.Moved, dec("2490.82")}, "peak": {total.Peak, dec("27491.42")},
		"last": {total.Last, dec("27441.05")}, "drawdown": {total.Drawdown, dec("0.001832")},
		"max_drawdown": {total.MaxDrawdown, dec("0.001832")}, // the curve's one fall, from T0+1h
	}
	for field, v := range totals {
		if v[0].Cmp(v[1]) != 0 {
			t.Errorf("total %s %s, want %s", field, v[0], v[1])
		}
	}
	if total.Agents != 4 || total.Time != T0+3*hour {
		t.Errorf("total of %d agents as of %d, want 4 as of T0+3h", total.Agents, total.Time)
	}
}

// checkParameters checks that bad parameters are refused with errors wrapping ErrQuery.
func checkParameters(t *testing.T, rm portfolio.ReadModel) {
	ctx := context.Background()
	expect := func(what string, err error) {
		t.Helper()
		if !errors.Is(err, portfolio.ErrQuery) {
			t.Errorf("%s: got %v, want an error wrapping portfolio.ErrQuery", what, err)
		}
	}
	for name, q := range map[string]portfolio.OrderQuery{
		"negative limit": {Limit: -1}, "limit over 1000": {Limit: 1001}, "negative offset": {Offset: -1},
		"unknown status": {Status: "done"}, "negative since": {Since: -1}, "negative until": {Until: -1},
		"until before since": {Since: T0 + hour, Until: T0},
	} {
		_, err := rm.Orders(ctx, q)
		expect("orders with "+name, err)
	}
	for name, q := range map[string]portfolio.FillQuery{
		"negative limit": {Limit: -1}, "limit over 1000": {Limit: 1001}, "negative offset": {Offset: -1},
		"negative since": {Since: -1}, "negative until": {Until: -1}, "until before since": {Since: T0 + hour, Until: T0},
	} {
		_, err := rm.Fills(ctx, q)
		expect("fills with "+name, err)
	}
	for name, r := range map[string][2]int64{"negative since": {-1, 0}, "negative until": {0, -1}, "until before since": {T0 + hour, T0}} {
		_, err := rm.Equity(ctx, "ATLAS", r[0], r[1])
		expect("equity with "+name, err)
		_, err = rm.CapitalMoves(ctx, "ATLAS", r[0], r[1])
		expect("capital moves with "+name, err)
	}
	// the largest page and the limits themselves are fine
	if p, err := rm.Orders(ctx, portfolio.OrderQuery{Limit: 1000}); err != nil || p.Limit != 1000 {
		t.Errorf("orders with limit 1000: %+v, %v", p.Limit, err)
	}
	if p, err := rm.Fills(ctx, portfolio.FillQuery{}); err != nil || p.Limit != 100 {
		t.Errorf("fills with no limit: limit %d, %v; want the default 100", p.Limit, err)
	}
}

// checkSame compares every answer of two models.
func checkSame(t *testing.T, a, b portfolio.ReadModel) {
	ctx := context.Background()
	for name, q := range orderQueries() {
		x, err1 := a.Orders(ctx, q)
		y, err2 := b.Orders(ctx, q)
		if err1 != nil || err2 != nil {
			t.Fatal(err1, err2)
		}
		report(t, "orders after a restart, "+name, x, y)
		for i := range min(len(x.Items), len(y.Items)) { // to the last digit, scale included
			if xs, ys := x.Items[i].Notional.String()+x.Items[i].Fees.String(), y.Items[i].Notional.String()+y.Items[i].Fees.String(); xs != ys {
				t.Errorf("orders after a restart, %s: item %d: %s, before %s", name, i, xs, ys)
			}
		}
	}
	for name, q := range fillQueries() {
		x, err1 := a.Fills(ctx, q)
		y, err2 := b.Fills(ctx, q)
		if err1 != nil || err2 != nil {
			t.Fatal(err1, err2)
		}
		report(t, "fills after a restart, "+name, x, y)
	}
	x, err1 := a.Positions(ctx, "")
	y, err2 := b.Positions(ctx, "")
	if err1 != nil || err2 != nil {
		t.Fatal(err1, err2)
	}
	report(t, "positions after a restart", x, y)
	for i := range min(len(x), len(y)) {
		if xs, ys := x[i].Cost.String()+" "+x[i].Realized.String(), y[i].Cost.String()+" "+y[i].Realized.String(); xs != ys {
			t.Errorf("position %d after a restart: %s, before %s", i, xs, ys)
		}
	}
	e1, err1 := a.Equity(ctx, "", 0, 0)
	e2, err2 := b.Equity(ctx, "", 0, 0)
	if err1 != nil || err2 != nil {
		t.Fatal(err1, err2)
	}
	report(t, "equity after a restart", e1, e2)
	s1, err1 := a.Agents(ctx)
	s2, err2 := b.Agents(ctx)
	if err1 != nil || err2 != nil {
		t.Fatal(err1, err2)
	}
	report(t, "agents after a restart", s1, s2)
	t1, err1 := a.Total(ctx)
	t2, err2 := b.Total(ctx)
	if err1 != nil || err2 != nil {
		t.Fatal(err1, err2)
	}
	report(t, "total after a restart", t1, t2)
	if x, y := t1.Peak.String()+" "+t1.Last.String()+" "+t1.Equity.String(), t2.Peak.String()+" "+t2.Last.String()+" "+t2.Equity.String(); x != y {
		t.Errorf("total after a restart: %s, before %s", x, y)
	}
	m1, err1 := a.CapitalMoves(ctx, "", 0, 0)
	m2, err2 := b.CapitalMoves(ctx, "", 0, 0)
	if err1 != nil || err2 != nil {
		t.Fatal(err1, err2)
	}
	report(t, "capital moves after a restart", m1, m2)
	ap1, err1 := a.Applied(ctx)
	ap2, err2 := b.Applied(ctx)
	if err1 != nil || err2 != nil {
		t.Fatal(err1, err2)
	}
	for _, s := range []string{streams.StreamOrders, streams.StreamPortfolio, streams.StreamCommands} {
		if ap1[s] != ap2[s] {
			t.Errorf("applied[%s] after a restart %d, before %d", s, ap1[s], ap2[s])
		}
	}
}

// Memory is the in-memory read model following log until the test ends: the reference the
// other read models are compared with.
func Memory(t *testing.T, log *streams.Log) *portfolio.Memory {
	t.Helper()
	m := portfolio.NewMemory()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- m.Follow(ctx, log.JS) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("memory follow: %v", err)
		}
	})
	return m
}
