package portfolio

import (
	"fmt"
	"sort"

	"github.com/govalues/decimal"

	"github.com/synapse-trading/synapse/streams"
)

// MoneyScale is the number of decimals the ledger keeps for amounts of the quote asset:
// a fill's notional (qty × price) is rounded half-to-even to it, as venues round what they
// charge. Every other ledger operation is an exact addition or subtraction.
const MoneyScale = 8

// Position is an agent's holding of one symbol on one venue. Qty is signed: positive long,
// negative short. Cost is what the open quantity cost (negative for a short: what it
// raised); AvgCost = Cost / Qty.
type Position struct {
	Venue    string          `json:"venue"`
	Symbol   string          `json:"symbol"`
	Qty      decimal.Decimal `json:"qty"`
	Cost     decimal.Decimal `json:"cost"`
	Realized decimal.Decimal `json:"realized"` // realized PnL, fees not included
	Fees     decimal.Decimal `json:"fees"`
	Mark     decimal.Decimal `json:"mark"` // last price seen
	Fills    int             `json:"fills"`
}

// AvgCost is the average cost of the open quantity (zero when flat).
func (p *Position) AvgCost() decimal.Decimal {
	if p.Qty.IsZero() {
		return decimal.Decimal{}
	}
	c, err := p.Cost.Quo(p.Qty)
	if err != nil {
		return decimal.Decimal{}
	}
	return c
}

// Value is the open quantity at the mark, rounded to MoneyScale.
func (p *Position) Value() decimal.Decimal {
	v, err := p.Qty.Mul(p.Mark)
	if err != nil {
		return decimal.Decimal{}
	}
	return v.Round(MoneyScale)
}

// Unrealized is Value − Cost.
func (p *Position) Unrealized() decimal.Decimal {
	u, _ := p.Value().Sub(p.Cost)
	return u
}

// Account is one agent's ledger: its cash in the quote asset and its positions, marked to
// market on every price. The identity Equity = Capital + Realized + Unrealized − Fees holds
// exactly after every operation (tested), because the only rounding is of a fill's notional
// and of a position's value, and both sides of the identity use the same rounded amounts.
type Account struct {
	Agent     string
	Capital   decimal.Decimal // what the agent started with (plus capital moved in, minus out)
	Cash      decimal.Decimal
	positions map[[2]string]*Position
	Peak      decimal.Decimal // highest equity seen
	Fills     int
}

// NewAccount opens an account with capital in cash.
func NewAccount(agent string, capital decimal.Decimal) *Account {
	return &Account{Agent: agent, Capital: capital, Cash: capital, Peak: capital, positions: map[[2]string]*Position{}}
}

// Position returns the position in venue/symbol (a zero one if none).
func (a *Account) Position(venue, symbol string) Position {
	if p, ok := a.positions[[2]string{venue, symbol}]; ok {
		return *p
	}
	return Position{Venue: venue, Symbol: symbol}
}

// Positions lists the positions ever held, sorted by venue and symbol.
func (a *Account) Positions() []Position {
	out := make([]Position, 0, len(a.positions))
	for _, p := range a.positions {
		out = append(out, *p)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Venue != out[j].Venue {
			return out[i].Venue < out[j].Venue
		}
		return out[i].Symbol < out[j].Symbol
	})
	return out
}

// Fill books a fill: cash moves by the rounded notional and the fee, the position grows or
// shrinks (realizing PnL on what it closes, possibly flipping sides) and its mark becomes
// the fill price. On error the account is unchanged.
func (a *Account) Fill(ev *streams.OrderEvent) error {
	if ev.Type != streams.OrderFill {
		return fmt.Errorf("%w: %s is not a fill", ErrLedger, ev.Type)
	}
	notional, err := ev.FillQty.Mul(ev.FillPrice)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrLedger, err)
	}
	notional = notional.Round(MoneyScale)
	qty := ev.FillQty
	if ev.Side == streams.Sell {
		qty, notional = qty.Neg(), notional.Neg()
	} else if ev.Side != streams.Buy {
		return fmt.Errorf("%w: side %q", ErrLedger, ev.Side)
	}
	key := [2]string{ev.Venue, ev.Symbol}
	p := a.positions[key]
	if p == nil {
		p = &Position{Venue: ev.Venue, Symbol: ev.Symbol}
	}
	next := *p
	if err := next.apply(qty, notional, ev.Fee); err != nil {
		return err
	}
	cash, err := a.Cash.Sub(notional)
	if err == nil {
		cash, err = cash.Sub(ev.Fee)
	}
	if err != nil {
		return fmt.Errorf("%w: %v", ErrLedger, err)
	}
	next.Mark = ev.FillPrice
	next.Fills++
	*p = next
	a.positions[key] = p
	a.Cash = cash
	a.Fills++
	a.updatePeak()
	return nil
}

// apply adds a signed quantity bought (+) or sold (−) for a signed notional to the position.
func (p *Position) apply(qty, notional, fee decimal.Decimal) error {
	var err error
	fail := func(e error) error { return fmt.Errorf("%w: %s: %v", ErrLedger, p.Symbol, e) }
	if p.Fees, err = p.Fees.Add(fee); err != nil {
		return fail(err)
	}
	if p.Qty.IsZero() || p.Qty.Sign() == qty.Sign() { // opening or adding
		if p.Qty, err = p.Qty.Add(qty); err != nil {
			return fail(err)
		}
		if p.Cost, err = p.Cost.Add(notional); err != nil {
			return fail(err)
		}
		return nil
	}
	// Reducing, closing or flipping: the closed part realizes against the average cost.
	closing := qty
	if qty.Abs().Cmp(p.Qty.Abs()) > 0 {
		closing = p.Qty.Neg()
	}
	// The share of the notional that belongs to the closing part.
	closingNotional := notional
	if closing.Cmp(qty) != 0 {
		share, err := notional.Mul(closing)
		if err == nil {
			share, err = share.Quo(qty)
		}
		if err != nil {
			return fail(err)
		}
		closingNotional = share.Round(MoneyScale)
	}
	// The cost the closing quantity takes away: Cost × closing / Qty, rounded. Whatever it
	// rounds to, Cost − costOut + costOut stays exact, so the identity holds.
	costOut, err := p.Cost.Mul(closing)
	if err == nil {
		costOut, err = costOut.Quo(p.Qty)
	}
	if err != nil {
		return fail(err)
	}
	costOut = costOut.Round(MoneyScale).Neg()
	if closing.Cmp(p.Qty.Neg()) == 0 {
		costOut = p.Cost // closes it all: no rounding remainder may stay behind
	}
	// Proceeds of the closing part are −closingNotional; realized = proceeds − cost taken out.
	realized, err := closingNotional.Neg().Sub(costOut)
	if err != nil {
		return fail(err)
	}
	if p.Realized, err = p.Realized.Add(realized); err != nil {
		return fail(err)
	}
	if p.Cost, err = p.Cost.Sub(costOut); err != nil {
		return fail(err)
	}
	if p.Qty, err = p.Qty.Add(closing); err != nil {
		return fail(err)
	}
	if rest, _ := qty.Sub(closing); !rest.IsZero() { // flips: the rest opens the other side
		restNotional, _ := notional.Sub(closingNotional)
		p.Qty, p.Cost = rest, restNotional
	}
	return nil
}

// Mark sets the price of venue/symbol for the positions holding it and lifts the peak to the
// equity if it is higher; it returns whether the account holds that symbol.
func (a *Account) Mark(venue, symbol string, price decimal.Decimal) bool {
	if !a.Reprice(venue, symbol, price) {
		return false
	}
	a.updatePeak()
	return true
}

// Reprice is Mark without the peak: for a ledger rebuilt to its end that the log's older
// prices reprice, whose peak is the one on the log, not its positions of now at the prices of
// then.
func (a *Account) Reprice(venue, symbol string, price decimal.Decimal) bool {
	p, ok := a.positions[[2]string{venue, symbol}]
	if !ok || !price.IsPos() {
		return false
	}
	p.Mark = price
	return true
}

// Totals is the account summed over its positions.
type Totals struct {
	Capital    decimal.Decimal `json:"capital"`
	Cash       decimal.Decimal `json:"cash"`
	Equity     decimal.Decimal `json:"equity"`   // cash + Σ position values
	Exposure   decimal.Decimal `json:"exposure"` // Σ |position value|
	Realized   decimal.Decimal `json:"realized"`
	Unrealized decimal.Decimal `json:"unrealized"`
	Fees       decimal.Decimal `json:"fees"`
	Peak       decimal.Decimal `json:"peak"`
	Drawdown   decimal.Decimal `json:"drawdown"` // (peak − equity) / peak, rounded to 6 decimals
	Fills      int             `json:"fills"`
}

// Totals sums the account.
func (a *Account) Totals() Totals {
	t := Totals{Capital: a.Capital, Cash: a.Cash, Equity: a.Cash, Peak: a.Peak, Fills: a.Fills}
	for _, p := range a.positions {
		v := p.Value()
		t.Equity, _ = t.Equity.Add(v)
		t.Exposure, _ = t.Exposure.Add(v.Abs())
		t.Realized, _ = t.Realized.Add(p.Realized)
		t.Unrealized, _ = t.Unrealized.Add(p.Unrealized())
		t.Fees, _ = t.Fees.Add(p.Fees)
	}
	t.Drawdown = drawdown(a.Peak, t.Equity)
	return t
}

// Identity checks Equity = Capital + Realized + Unrealized − Fees, exactly.
func (t Totals) Identity() error {
	sum, err := t.Capital.Add(t.Realized)
	if err == nil {
		sum, err = sum.Add(t.Unrealized)
	}
	if err == nil {
		sum, err = sum.Sub(t.Fees)
	}
	if err != nil {
		return fmt.Errorf("%w: identity: %v", ErrLedger, err)
	}
	if sum.Cmp(t.Equity) != 0 {
		return fmt.Errorf("%w: identity broken: capital %s + realized %s + unrealized %s − fees %s = %s, equity is %s",
			ErrLedger, t.Capital, t.Realized, t.Unrealized, t.Fees, sum, t.Equity)
	}
	return nil
}

// Move adds (or with a negative amount removes) capital: a rebalance, a distribution or an
// allocation. Capital and cash change by amount and the peak is reset to the equity then, so
// the drawdown is measured afresh. On error (ErrLedger: an amount the ledger cannot hold) the
// account is unchanged.
func (a *Account) Move(amount decimal.Decimal) error {
	capital, cash, err := moved(a.Capital, a.Cash, amount)
	if err != nil {
		return err
	}
	a.Capital, a.Cash = capital, cash
	a.Peak = a.equity()
	return nil
}

// AfterMove returns what Totals will say once Move(amount) has applied: capital, cash and
// equity moved by amount, the peak reset to the equity, no drawdown. It fails exactly when
// Move would, so a caller can check every move of a decision before it applies any.
func (t Totals) AfterMove(amount decimal.Decimal) (Totals, error) {
	var err error
	if t.Capital, t.Cash, err = moved(t.Capital, t.Cash, amount); err != nil {
		return Totals{}, err
	}
	if t.Equity, err = t.Equity.Add(amount); err != nil {
		return Totals{}, fmt.Errorf("%w: %v", ErrLedger, err)
	}
	t.Peak, t.Drawdown = t.Equity, decimal.Decimal{}
	return t, nil
}

func moved(capital, cash, amount decimal.Decimal) (decimal.Decimal, decimal.Decimal, error) {
	c, err := capital.Add(amount)
	if err != nil {
		return capital, cash, fmt.Errorf("%w: moving %s into capital %s: %v", ErrLedger, amount, capital, err)
	}
	k, err := cash.Add(amount)
	if err != nil {
		return capital, cash, fmt.Errorf("%w: moving %s into cash %s: %v", ErrLedger, amount, cash, err)
	}
	return c, k, nil
}

// ResetPeak makes the current equity the peak the drawdown is measured from (an agent that
// resumes after a drawdown halt starts afresh).
func (a *Account) ResetPeak() { a.Peak = a.equity() }

func (a *Account) equity() decimal.Decimal {
	e := a.Cash
	for _, p := range a.positions {
		e, _ = e.Add(p.Value())
	}
	return e
}

func (a *Account) updatePeak() {
	if e := a.equity(); e.Cmp(a.Peak) > 0 {
		a.Peak = e
	}
}

// Drawdown is how far equity is below peak, as a fraction of the peak rounded half-to-even
// to 6 decimals: (peak − equity) / peak, or 0 when equity is at or above a positive peak.
func Drawdown(peak, equity decimal.Decimal) decimal.Decimal { return drawdown(peak, equity) }

func drawdown(peak, equity decimal.Decimal) decimal.Decimal {
	if !peak.IsPos() || equity.Cmp(peak) >= 0 {
		return decimal.Decimal{}
	}
	diff, _ := peak.Sub(equity)
	dd, err := diff.Quo(peak)
	if err != nil {
		return decimal.Decimal{}
	}
	return dd.Round(6)
}
