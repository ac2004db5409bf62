package portfolio

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/govalues/decimal"

	"github.com/synapse-trading/synapse/actors/orderbook"
	"github.com/synapse-trading/synapse/streams"
)

// PaperName is the name of the paper exchange on subjects.
const PaperName = "paper"

// PaperOptions configures the paper exchange. A zero (or negative) field takes its default,
// so the zero value simulates Binance spot; DefaultPaperOptions lists the defaults.
type PaperOptions struct {
	TakerFee decimal.Decimal // fee of a fill that takes liquidity, as a fraction of its notional
	MakerFee decimal.Decimal // fee of a fill of a resting limit order, as a fraction of its notional
	// SlippageBps is how many basis points worse than the reference price (a trade's price,
	// a candle's open) a market order fills: a buy pays more, a sell gets less.
	SlippageBps decimal.Decimal
	// Participation is the largest share of a market event's traded volume (a trade's
	// quantity, a candle's volume) that the resting orders of its symbol may take together.
	Participation decimal.Decimal
	// MarketTimeout is how many milliseconds of event time a market order may wait for
	// volume before its remainder expires.
	MarketTimeout int64
}

// DefaultPaperOptions returns the defaults: Binance spot fees of 0.1%, 2 bps of slippage,
// 10% participation and a 5-minute market-order timeout.
func DefaultPaperOptions() PaperOptions {
	return PaperOptions{
		TakerFee:      decimal.MustParse("0.001"),
		MakerFee:      decimal.MustParse("0.001"),
		SlippageBps:   decimal.MustNew(2, 0),
		Participation: decimal.MustParse("0.1"),
		MarketTimeout: 300_000,
	}
}

// withDefaults replaces zero and negative fields by their defaults.
func (o PaperOptions) withDefaults() PaperOptions {
	d := DefaultPaperOptions()
	if !o.TakerFee.IsPos() {
		o.TakerFee = d.TakerFee
	}
	if !o.MakerFee.IsPos() {
		o.MakerFee = d.MakerFee
	}
	if !o.SlippageBps.IsPos() {
		o.SlippageBps = d.SlippageBps
	}
	if !o.Participation.IsPos() {
		o.Participation = d.Participation
	}
	if o.MarketTimeout <= 0 {
		o.MarketTimeout = d.MarketTimeout
	}
	return o
}

// Paper is a deterministic simulated exchange. It fills the orders it is given against the
// market data it is shown through Market, in the order of the calls: it has no goroutines,
// no clock of its own and no randomness, so the same calls always produce the same reports.
//
// How orders fill:
//   - On a trade, a market order fills at the trade price moved against it by SlippageBps
//     (taker); a resting limit order fills at its limit price when the trade reaches it
//     (maker). Together the orders of the symbol take at most Participation × the trade's
//     quantity, served by time priority (the market time they were accepted at) and, at the
//     same time, by client order ID — never by arrival, which between agents is a race.
//   - On a closed candle, the same with the candle's open as the market orders' reference
//     price, its low (buy) or high (sell) as what reaches a limit, and its volume as the
//     volume.
//   - When a synced order book is known for the symbol (from snapshots and depth updates),
//     after every book update a waiting market order walks its levels and fills at each
//     level's price (taker). So does a limit order on the first market event after it was
//     accepted (it arrives with that event), at the levels at or better than its price;
//     after that it rests, and when the book crosses it, it fills at its limit price (maker)
//     for the quantity of the levels that cross it. A level's quantity can be taken once per
//     book update. Nothing fills inside Submit: an order waits for the next market event,
//     as it would wait for the network.
//   - Venue order IDs are "paper-" and the client order ID; trade IDs add the order's fill
//     number, so both are the same run after run and after a restart.
//   - A market order that has not filled within MarketTimeout of event time expires.
//
// Fill quantities are rounded down to the scale of the order's quantity, so an order never
// fills more than it asked for; a fill that rounds to zero is skipped.
//
// An order fills against the market data of its own venue and symbol: an order for the
// paper exchange names the venue it simulates (the venue of its market data, e.g.
// "binance"), not "paper".
type Paper struct {
	opts      PaperOptions
	buy, sell decimal.Decimal // factors that move a reference price against a market order
	report    Report
	markets   map[paperKey]*paperMarket
}

var _ Venue = (*Paper)(nil)

// paperKey names the market of an order or an event.
type paperKey struct{ venue, symbol string }

// paperMarket is what the paper exchange knows of one venue and symbol.
type paperMarket struct {
	last   int64           // the latest event time seen
	events int64           // market events seen
	traded int64           // trades and candles seen with volume to fill against
	book   *orderbook.Book // nil until a snapshot, depth update or ticker arrives
	orders []*paperResting // resting orders, by time priority then client order ID
	// The book's liquidity not taken yet since the book's version seen (the snapshots plus
	// the updates it applied; a synced book's version is at least 1), best first.
	bids, asks []streams.Level
	seen       uint64
}

// paperResting is an order waiting on the paper exchange.
type paperResting struct {
	order *Order // the paper exchange's own copy, folded from the events it reported
	since int64  // event time it started waiting; 0 until an event of its market is seen
	// traded is paperMarket.traded when it started waiting: equal at its expiry, no volume
	// came to fill it.
	traded int64
	rank   int64 // market time it was accepted at: its time priority
	// notBefore is the market time of its newest event: market data older than that (a
	// replay read again after a restart) never fills it.
	notBefore int64
	// The market event (paperMarket.events) it arrives with: a limit order takes the book's
	// liquidity there, and rests after it. 0 for an order already resting (adopted).
	arrives int64
}

// NewPaper returns a paper exchange that reports order events to report.
func NewPaper(opts PaperOptions, report Report) *Paper {
	opts = opts.withDefaults()
	bps, _ := opts.SlippageBps.Quo(decimal.MustNew(10_000, 0))
	one := decimal.MustNew(1, 0)
	buy, _ := one.Add(bps)
	sell, _ := one.Sub(bps)
	if report == nil {
		report = func(*streams.OrderEvent) {}
	}
	return &Paper{opts: opts, buy: buy, sell: sell, report: report, markets: map[paperKey]*paperMarket{}}
}

// Name returns "paper".
func (p *Paper) Name() string { return PaperName }

// Close does nothing: the paper exchange holds no connections.
func (p *Paper) Close() error { return nil }

// Submit accepts an order (or rejects a malformed one, returning nil) at the latest event
// time of its market, or at the order's own newest event time if that is later (an order
// decided on a candle's close is submitted after the market's last event). Nothing fills inside Submit: the order waits for the next market
// event of its market. The order given is not modified. Submitting an order that is
// already open on the paper exchange changes nothing.
func (p *Paper) Submit(_ context.Context, o *Order) error {
	if o.Status.Terminal() {
		return fmt.Errorf("%w: paper: order %s is %s and cannot be submitted", ErrVenue, o.ClientOrderID, o.Status)
	}
	m := p.market(paperKey{o.Venue, o.Symbol})
	if paperIndex(m.orders, o.ClientOrderID) >= 0 {
		return nil // already open here: it was accepted once
	}
	c := o.Clone()
	if reason := paperCheck(c); reason != "" {
		ev := c.Event(streams.OrderRejected, max(m.last, c.Updated))
		ev.Reason = reason
		p.emit(c, ev)
		return nil
	}
	c.VenueOrderID = paperOrderID(c)
	if !p.emit(c, c.Event(streams.OrderAccepted, max(m.last, c.Updated))) {
		return nil
	}
	p.rest(m, c)
	return nil
}

// paperCheck returns why an order cannot be accepted, or "" if it can.
func paperCheck(o *Order) string {
	switch {
	case !o.Qty.IsPos():
		return fmt.Sprintf("quantity %s must be positive", o.Qty)
	case o.Type == streams.Limit && !o.Price.IsPos():
		return "a limit order needs a positive price"
	}
	if err := o.Event(streams.OrderAccepted, 0).Check(); err != nil {
		return err.Error()
	}
	return ""
}

// Cancel cancels an open order at the latest event time of its market. An order that is not
// open on the paper exchange (unknown, filled, canceled or expired) is an error wrapping
// ErrVenue, and nothing is reported.
func (p *Paper) Cancel(_ context.Context, o *Order) error {
	if m, ok := p.markets[paperKey{o.Venue, o.Symbol}]; ok {
		if i := paperIndex(m.orders, o.ClientOrderID); i >= 0 {
			r := m.orders[i]
			ev := r.order.Event(streams.OrderCanceled, m.last)
			ev.Reason = "canceled by request"
			p.emit(r.order, ev)
			p.sweep(m)
			return nil
		}
	}
	return fmt.Errorf("%w: paper: order %s (%s %s) is not open on the paper exchange: unknown, or already filled, canceled or expired",
		ErrVenue, o.ClientOrderID, o.Venue, o.Symbol)
}

// Reconcile rebuilds the paper exchange's resting orders after a restart from the orders
// the log says are open: every order submitted, accepted or partially filled rests again for
// its remaining quantity (intents never reached a venue and are ignored). An order still
// submitted is reported accepted, with Source "reconcile". The paper exchange holds no
// balances of its own: the map is nil.
func (p *Paper) Reconcile(_ context.Context, open []*Order) (map[string]decimal.Decimal, error) {
	for _, o := range open {
		switch o.Status {
		case StatusSubmitted, StatusAccepted, StatusPartiallyFilled:
		default:
			continue
		}
		m := p.market(paperKey{o.Venue, o.Symbol})
		if paperIndex(m.orders, o.ClientOrderID) >= 0 {
			continue
		}
		c := o.Clone()
		if c.Status == StatusSubmitted {
			if c.VenueOrderID == "" {
				c.VenueOrderID = paperOrderID(c)
			}
			ev := c.Event(streams.OrderAccepted, max(m.last, c.Updated))
			ev.Source = "reconcile"
			if !p.emit(c, ev) {
				continue
			}
		}
		// It rested before the restart: it does not arrive again, market data up to its
		// newest event (seen before the restart, perhaps read again now) does not fill it,
		// and its timeout counts from there.
		r := p.rest(m, c)
		r.arrives = 0
		r.notBefore = max(r.notBefore, c.Updated+1)
		r.since = r.notBefore
	}
	return nil, nil
}

// paperIndex returns the index of the resting order with a client order ID, or -1.
func paperIndex(orders []*paperResting, id string) int {
	for i, r := range orders {
		if r.order.ClientOrderID == id {
			return i
		}
	}
	return -1
}

// Open returns copies of the orders resting on the paper exchange, by time priority (the
// market time they were accepted at) then client order ID.
func (p *Paper) Open() []*Order {
	var rs []*paperResting
	for _, m := range p.markets {
		rs = append(rs, m.orders...)
	}
	sort.Slice(rs, func(i, j int) bool { return paperBefore(rs[i], rs[j]) })
	out := make([]*Order, len(rs))
	for i, r := range rs {
		out[i] = r.order.Clone()
	}
	return out
}

// Market shows the paper exchange one market event: trades and closed candles fill resting
// orders, snapshots, depth updates and tickers update the book orders fill against. Other
// events, and malformed ones, change nothing but the event time of their market.
func (p *Paper) Market(ev streams.Event) {
	switch e := ev.(type) {
	case *streams.Trade:
		if e != nil {
			p.onTrade(e)
		}
	case *streams.Kline:
		if e != nil {
			p.onKline(e)
		}
	case *streams.Snapshot:
		if e != nil {
			p.onBook(paperKey{e.Venue, e.Symbol}, e.Time, e)
		}
	case *streams.Depth:
		if e != nil {
			p.onBook(paperKey{e.Venue, e.Symbol}, e.Time, e)
		}
	case *streams.Ticker:
		if e != nil {
			p.onBook(paperKey{e.Venue, e.Symbol}, e.Time, e)
		}
	}
}

// onTrade fills the market's orders against one trade.
func (p *Paper) onTrade(t *streams.Trade) {
	m := p.advance(paperKey{t.Venue, t.Symbol}, t.Time)
	if t.Price.IsPos() && t.Qty.IsPos() {
		m.traded++
		p.fillAgainst(m, t.Time, t.Qty, t.Price, t.Price, t.Price)
	}
	p.sweep(m)
}

// onKline fills the market's orders against one closed candle: market orders at its open,
// limit orders when its low (buy) or high (sell) reaches them.
func (p *Paper) onKline(k *streams.Kline) {
	t := k.EventTime()
	m := p.advance(paperKey{k.Venue, k.Symbol}, t)
	if k.Open.IsPos() && k.Low.IsPos() && k.High.IsPos() && k.Volume.IsPos() {
		m.traded++
		p.fillAgainst(m, t, k.Volume, k.Open, k.Low, k.High)
	}
	p.sweep(m)
}

// fillAgainst fills the market's orders, by priority, against traded volume: a
// market order at ref moved by the slippage, a limit buy at its price when low reaches it,
// a limit sell when high does. Together they take at most Participation × volume.
func (p *Paper) fillAgainst(m *paperMarket, t int64, volume, ref, low, high decimal.Decimal) {
	capacity, err := p.opts.Participation.Mul(volume)
	if err != nil {
		return
	}
	for _, r := range m.orders {
		if !capacity.IsPos() {
			return
		}
		o := r.order
		if !o.Open() {
			continue
		}
		var price decimal.Decimal
		maker := o.Type == streams.Limit
		switch {
		case !maker:
			if price, err = p.slip(ref, o.Side); err != nil {
				continue
			}
		case o.Side == streams.Buy && low.Cmp(o.Price) <= 0, o.Side == streams.Sell && high.Cmp(o.Price) >= 0:
			price = o.Price
		default:
			continue
		}
		qty := capacity.Min(o.Remaining()).Trunc(paperStep(o))
		if !qty.IsPos() {
			continue
		}
		if p.fill(r, qty, price, maker, t) {
			capacity, _ = capacity.Sub(qty)
		}
	}
}

// slip moves a reference price against a market order by SlippageBps.
func (p *Paper) slip(ref decimal.Decimal, side streams.Side) (decimal.Decimal, error) {
	f := p.buy
	if side == streams.Sell {
		f = p.sell
	}
	price, err := ref.Mul(f)
	if err != nil {
		return decimal.Decimal{}, err
	}
	if !price.IsPos() {
		return decimal.Decimal{}, fmt.Errorf("slippage of %s bps leaves no price", p.opts.SlippageBps)
	}
	return price.Trim(ref.Scale()), nil
}

// onBook applies a snapshot, depth update or ticker to the market's book and lets its
// orders fill against the book: a market order, and a limit order arriving with this event,
// as a taker; a resting limit order the book crosses as a maker.
func (p *Paper) onBook(k paperKey, t int64, ev streams.Event) {
	m := p.advance(k, t)
	if m.book == nil {
		m.book = orderbook.New(k.venue, k.symbol, orderbook.Options{})
	}
	_ = m.book.Apply(ev) // a bad or out-of-sequence event leaves the book unsynced or as it was
	for _, r := range m.orders {
		if r.order.Open() {
			p.take(m, r, r.order.Type == streams.Limit && r.arrives != m.events)
		}
	}
	p.sweep(m)
}

// take fills an order against the liquidity left in the market's book, best level first. A
// taker fills at each level's price; a maker (a resting limit order the book crossed) fills
// at its limit price. A limit order takes only the levels at or better than its price. It
// does nothing unless the book is synced.
func (p *Paper) take(m *paperMarket, r *paperResting, maker bool) {
	o := r.order
	if o.Type == streams.Limit && !m.reaches(o) {
		return // the common case of a resting order: no need to look at the whole book
	}
	levels := m.liquidity(o.Side)
	left := o.Remaining()
	var total decimal.Decimal
	for i := range levels {
		l := &levels[i]
		if !left.IsPos() {
			break
		}
		if o.Type == streams.Limit && (o.Side == streams.Buy && l.Price.Cmp(o.Price) > 0 || o.Side == streams.Sell && l.Price.Cmp(o.Price) < 0) {
			break // worse than the limit, and so are the levels after it
		}
		qty := l.Qty.Min(left).Trunc(paperStep(o))
		if !qty.IsPos() {
			continue
		}
		if !maker && !p.fill(r, qty, l.Price, false, m.last) {
			return
		}
		l.Qty, _ = l.Qty.Sub(qty)
		left, _ = left.Sub(qty)
		total, _ = total.Add(qty)
	}
	if maker && total.IsPos() {
		p.fill(r, total, o.Price, true, m.last)
	}
}

// reaches reports whether the best price of the synced book's other side reaches a limit
// order's price.
func (m *paperMarket) reaches(o *Order) bool {
	if m.book == nil {
		return false
	}
	bid, ask, ok := m.book.Best() // without allocating, when both sides have a level
	if !ok {
		bids, asks := m.book.Depth(1)
		if len(bids) == 1 {
			bid = bids[0]
		}
		if len(asks) == 1 {
			ask = asks[0]
		}
	}
	if o.Side == streams.Buy {
		return ask.Price.IsPos() && ask.Price.Cmp(o.Price) <= 0
	}
	return bid.Price.IsPos() && bid.Price.Cmp(o.Price) >= 0
}

// liquidity returns the levels of the book a side's order takes from (asks for a buy, bids
// for a sell), best first, with what earlier orders took since the last book update taken
// away. It is empty unless the book is synced.
func (m *paperMarket) liquidity(side streams.Side) []streams.Level {
	if m.book == nil || !m.book.Synced() {
		return nil
	}
	st := m.book.Stats()
	if version := st.Snapshots + st.Updates; version != m.seen {
		nb, na := m.book.Levels()
		m.bids, m.asks = m.book.Depth(max(nb, na))
		m.seen = version
	}
	if side == streams.Buy {
		return m.asks
	}
	return m.bids
}

// fill reports a fill of a resting order and applies it to the paper exchange's copy. It
// returns false if the fill could not be computed or applied (an overflow).
func (p *Paper) fill(r *paperResting, qty, price decimal.Decimal, maker bool, t int64) bool {
	if t < r.notBefore {
		return false // market data from before the order existed
	}
	o := r.order
	rate := p.opts.TakerFee
	if maker {
		rate = p.opts.MakerFee
	}
	fee, err := qty.Mul(price)
	if err == nil {
		fee, err = fee.Mul(rate)
	}
	cum, err2 := o.Filled.Add(qty)
	if err != nil || err2 != nil {
		return false
	}
	ev := o.Event(streams.OrderFill, t)
	ev.TradeID = o.VenueOrderID + "-" + strconv.Itoa(o.Fills+1) // the order's n-th fill, also after a restart
	ev.FillQty, ev.FillPrice, ev.Fee, ev.Maker, ev.CumQty = qty, price, fee.Round(MoneyScale).Trim(0), maker, cum
	return p.emit(o, ev)
}

// emit applies an event to the paper exchange's copy of its order and reports it. An event
// the order does not accept (which would be a bug here) is not reported.
func (p *Paper) emit(o *Order, ev *streams.OrderEvent) bool {
	if _, err := o.Apply(ev); err != nil {
		return false
	}
	p.report(ev)
	return true
}

// market returns the state of a market, creating it.
func (p *Paper) market(k paperKey) *paperMarket {
	m := p.markets[k]
	if m == nil {
		m = &paperMarket{}
		p.markets[k] = m
	}
	return m
}

// advance moves a market's event time to t (never back), starts the timeout clock of the
// orders that waited for a first event and expires the market orders that waited too long.
func (p *Paper) advance(k paperKey, t int64) *paperMarket {
	m := p.market(k)
	m.last = max(m.last, t)
	m.events++
	for _, r := range m.orders {
		o := r.order
		if r.since == 0 {
			r.since, r.traded = m.last, m.traded
		}
		if o.Type != streams.Market || !o.Open() || m.last-r.since <= p.opts.MarketTimeout {
			continue
		}
		ev := o.Event(streams.OrderExpired, m.last)
		ev.Reason = fmt.Sprintf("market order not filled within %d ms of market time: %s of %s left", p.opts.MarketTimeout, o.Remaining(), o.Qty)
		if m.traded == r.traded && (m.book == nil || !m.book.Synced()) {
			ev.Reason += "; the market data held no traded volume meanwhile (klines without volume, such as mark-price or index klines, cannot fill an order)"
		}
		p.emit(o, ev)
	}
	return m
}

// rest adds an accepted order to its market's resting orders. Orders accepted at the same
// market time are served in the order of their client order IDs, not of their arrival: two
// agents deciding on the same candle get the same fills whichever reached the venue first.
func (p *Paper) rest(m *paperMarket, o *Order) *paperResting {
	r := &paperResting{order: o, since: m.last, traded: m.traded, rank: m.last, notBefore: max(m.last, o.Updated), arrives: m.events + 1}
	i := sort.Search(len(m.orders), func(i int) bool { return paperBefore(r, m.orders[i]) })
	m.orders = slices.Insert(m.orders, i, r)
	return r
}

// paperBefore is the priority of resting orders: earlier accepted first, then by client
// order ID.
func paperBefore(a, b *paperResting) bool {
	if a.rank != b.rank {
		return a.rank < b.rank
	}
	return a.order.ClientOrderID < b.order.ClientOrderID
}

// paperOrderID is the paper exchange's ID of an order, derived from its client order ID.
func paperOrderID(o *Order) string {
	return PaperName + "-" + strings.TrimPrefix(o.ClientOrderID, "syn-")
}

// sweep removes the orders that are no longer open from a market.
func (p *Paper) sweep(m *paperMarket) {
	open := m.orders[:0]
	for _, r := range m.orders {
		if r.order.Open() {
			open = append(open, r)
		}
	}
	clear(m.orders[len(open):])
	m.orders = open
}

// paperStep is the number of decimals an order's fills are rounded down to: those of its
// quantity, or of what remains of it when an earlier fill (before a restart, say) was finer.
func paperStep(o *Order) int {
	return max(o.Qty.Scale(), o.Remaining().Scale())
}
