package synthetic

import (
	"container/heap"
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"time"

	"github.com/govalues/decimal"
	"github.com/synapse-trading/synapse/streams"
)

// Options configure a Generator. Start from DefaultOptions and change what you need.
type Options struct {
	// Seed fixes the random sequence: the same Options give the same events.
	Seed uint64
	// Symbols are the symbols generated; SymbolNames makes N of them.
	Symbols []string
	// Venue is the venue of every event. The default, "synthetic", keeps generated data
	// apart from real venues on the log.
	Venue string
	// Start is the simulated time at which the first candle opens; it is truncated to
	// the minute.
	Start time.Time
	// TradesPerMinute is the mean number of trades per symbol per simulated minute.
	TradesPerMinute float64
	// Volatility and Drift are the annualised sigma and mu of the geometric Brownian motion.
	Volatility, Drift float64
	// StartPrice is every symbol's first price.
	StartPrice decimal.Decimal
	// TickSize and LotSize are the price and quantity steps; prices and quantities are
	// whole multiples of them.
	TickSize, LotSize decimal.Decimal
	// MeanLots is the mean trade size in lots (trade sizes are 1 + exponential).
	MeanLots float64
	// EventsPerSecond paces Run in wall-clock time; 0 runs unpaced.
	EventsPerSecond float64
	// Clock and Sleep stand in for time.Now and a timer in tests of Run's pacing; nil uses
	// the real ones.
	Clock func() time.Time
	Sleep func(ctx context.Context, d time.Duration) error
}

// DefaultOptions returns three symbols around 100 with 60 trades a minute each and 80%
// annual volatility, unpaced, from 2024-01-01 00:00 UTC, seed 1.
func DefaultOptions() Options {
	return Options{
		Seed:            1,
		Symbols:         []string{"BTCUSDT", "ETHUSDT", "SOLUSDT"},
		Venue:           "synthetic",
		Start:           time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC),
		TradesPerMinute: 60,
		Volatility:      0.8,
		Drift:           0,
		StartPrice:      decimal.MustNew(100_00, 2),
		TickSize:        decimal.MustNew(1, 2), // 0.01
		LotSize:         decimal.MustNew(1, 3), // 0.001
		MeanLots:        100,
		EventsPerSecond: 0,
	}
}

// SymbolNames returns n distinct symbol names, SYN0001USDT, SYN0002USDT, ...
func SymbolNames(n int) []string {
	names := make([]string, n)
	for i := range names {
		names[i] = fmt.Sprintf("SYN%04dUSDT", i+1)
	}
	return names
}

// Interval is the interval of the generated klines.
const Interval = "1m"

const (
	minuteMs     = int64(60_000)
	msPerYear    = 365.25 * 24 * 3600 * 1000
	maxDecimalUp = 1e15 // prices above this would leave too few digits for volumes
)

// Generator produces the events. It is not safe for concurrent use.
type Generator struct {
	opts    Options
	rng     *rand.Rand
	symbols symbolQueue // a min-heap on each symbol's next event time
	tick    float64     // TickSize as a float, for rounding the walk
}

// symbolState is one symbol's walk and its open candle.
type symbolState struct {
	index       int // position in Options.Symbols: breaks ties between symbols
	name        string
	price       float64 // the unrounded walk
	priceTime   int64   // ms of the last step of the walk
	nextTradeAt float64 // ms of the next trade
	nextTradeID int64
	last        decimal.Decimal // last traded (rounded) price
	candle      streams.Kline   // the open candle; Trades == 0 means no trade yet
}

// New checks opts and returns a Generator.
func New(opts Options) (*Generator, error) {
	if err := opts.check(); err != nil {
		return nil, err
	}
	tick, _ := opts.TickSize.Float64()
	start := opts.Start.Truncate(time.Minute).UnixMilli()
	g := &Generator{
		opts: opts,
		rng:  rand.New(rand.NewPCG(opts.Seed, opts.Seed^0x9e3779b97f4a7c15)),
		tick: tick,
	}
	startPrice, _ := opts.StartPrice.Float64()
	for i, name := range opts.Symbols {
		s := &symbolState{index: i, name: name, price: startPrice, priceTime: start, nextTradeID: 1, last: opts.StartPrice}
		s.nextTradeAt = float64(start) + g.interarrival()
		s.openCandle(opts.Venue, start)
		g.symbols = append(g.symbols, s)
	}
	heap.Init(&g.symbols)
	return g, nil
}

func (o Options) check() error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s (start from DefaultOptions())", ErrBadOptions, fmt.Sprintf(format, args...))
	}
	finite := func(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }
	switch {
	case len(o.Symbols) == 0:
		return bad("no symbols")
	case o.Venue == "":
		return bad("Venue is empty")
	case !finite(o.TradesPerMinute) || o.TradesPerMinute <= 0:
		return bad("TradesPerMinute %v must be positive", o.TradesPerMinute)
	case !finite(o.Volatility) || o.Volatility < 0 || o.Volatility > 10:
		return bad("Volatility %v must be in [0, 10]", o.Volatility)
	case !finite(o.Drift) || math.Abs(o.Drift) > 10:
		return bad("Drift %v must be in [-10, 10]", o.Drift)
	case !o.StartPrice.IsPos():
		return bad("StartPrice %s must be positive", o.StartPrice)
	case !o.TickSize.IsPos():
		return bad("TickSize %s must be positive", o.TickSize)
	case !o.LotSize.IsPos():
		return bad("LotSize %s must be positive", o.LotSize)
	case o.StartPrice.Cmp(o.TickSize) < 0:
		return bad("StartPrice %s is below TickSize %s", o.StartPrice, o.TickSize)
	case !finite(o.MeanLots) || o.MeanLots < 0 || o.MeanLots > 1e9:
		return bad("MeanLots %v must be in [0, 1e9]", o.MeanLots)
	case !finite(o.EventsPerSecond) || o.EventsPerSecond < 0:
		return bad("EventsPerSecond %v must be 0 (unpaced) or positive", o.EventsPerSecond)
	}
	if f, _ := o.StartPrice.Float64(); f > maxDecimalUp/1e6 {
		return bad("StartPrice %s is too large", o.StartPrice)
	}
	seen := make(map[string]bool, len(o.Symbols))
	for _, s := range o.Symbols {
		if s == "" || seen[s] {
			return bad("symbol %q is empty or repeated", s)
		}
		seen[s] = true
	}
	return nil
}

// interarrival draws the simulated time to the next trade of a symbol, in ms.
func (g *Generator) interarrival() float64 {
	return g.rng.ExpFloat64() * float64(minuteMs) / g.opts.TradesPerMinute
}

// Next returns the next event in event-time order: a *streams.Trade, or a
// *streams.Kline when a symbol's minute ends. The error wraps ErrOverflow if the walk
// leaves the range of decimals.
func (g *Generator) Next() (streams.Event, error) {
	// The symbol whose next event (its next trade, or its candle's close) comes first is
	// at the top of the heap; after its event, its place is fixed.
	next := g.symbols[0]
	var ev streams.Event
	if _, closes := next.nextEvent(); closes {
		ev = next.closeCandle(g.opts.Venue)
	} else {
		t, err := g.trade(next)
		if err != nil {
			return nil, err
		}
		ev = t
	}
	heap.Fix(&g.symbols, 0)
	return ev, nil
}

// nextEvent tells the time of the symbol's next event and whether it is the close of its
// candle (the next trade falls after the candle's close time) rather than a trade.
func (s *symbolState) nextEvent() (at int64, closes bool) {
	tradeAt := int64(s.nextTradeAt)
	if tradeAt > s.candle.CloseTime {
		return s.candle.CloseTime, true
	}
	return tradeAt, false
}

// trade steps the symbol's walk to its next trade time and returns the trade.
func (g *Generator) trade(s *symbolState) (*streams.Trade, error) {
	at := int64(s.nextTradeAt)
	s.nextTradeAt += g.interarrival()

	// One step of geometric Brownian motion over dt years.
	dt := float64(at-s.priceTime) / msPerYear
	sigma, mu := g.opts.Volatility, g.opts.Drift
	s.price *= math.Exp((mu-sigma*sigma/2)*dt + sigma*math.Sqrt(dt)*g.rng.NormFloat64())
	s.priceTime = at
	if !(s.price < maxDecimalUp) {
		return nil, fmt.Errorf("%w: %s price %g", ErrOverflow, s.name, s.price)
	}

	// Round to the tick (at least one tick) and size in whole lots (at least one lot).
	ticks := max(int64(math.Round(s.price/g.tick)), 1)
	price, err := g.opts.TickSize.Mul(decimal.MustNew(ticks, 0))
	if err != nil {
		return nil, fmt.Errorf("%w: %s price: %v", ErrOverflow, s.name, err)
	}
	lots := 1 + int64(g.rng.ExpFloat64()*g.opts.MeanLots)
	qty, err := g.opts.LotSize.Mul(decimal.MustNew(lots, 0))
	if err != nil {
		return nil, fmt.Errorf("%w: %s quantity: %v", ErrOverflow, s.name, err)
	}

	// The aggressor follows the move: an uptick is a buy, a downtick a sell.
	var buyerMaker bool
	switch price.Cmp(s.last) {
	case 1:
		buyerMaker = false
	case -1:
		buyerMaker = true
	default:
		buyerMaker = g.rng.IntN(2) == 0
	}
	t := &streams.Trade{
		Venue:      g.opts.Venue,
		Symbol:     s.name,
		TradeID:    s.nextTradeID,
		Price:      price,
		Qty:        qty,
		BuyerMaker: buyerMaker,
		Time:       at,
	}
	s.nextTradeID++
	s.last = price
	if err := addTrade(&s.candle, t); err != nil {
		return nil, err
	}
	return t, nil
}

// openCandle starts the candle that opens at openTime.
func (s *symbolState) openCandle(venue string, openTime int64) {
	zero := decimal.Decimal{}
	s.candle = streams.Kline{
		Venue: venue, Symbol: s.name, Interval: Interval,
		OpenTime: openTime, CloseTime: openTime + minuteMs - 1,
		Open: s.last, High: s.last, Low: s.last, Close: s.last,
		Volume: zero, QuoteVolume: zero, TakerBuyVolume: zero, TakerBuyQuoteVolume: zero,
	}
}

// closeCandle returns the finished candle and opens the next one.
func (s *symbolState) closeCandle(venue string) *streams.Kline {
	k := s.candle
	s.openCandle(venue, k.CloseTime+1)
	return &k
}

// symbolQueue is a min-heap of symbols on (next event time, index).
type symbolQueue []*symbolState

func (q symbolQueue) Len() int { return len(q) }
func (q symbolQueue) Less(i, j int) bool {
	a, _ := q[i].nextEvent()
	b, _ := q[j].nextEvent()
	if a != b {
		return a < b
	}
	return q[i].index < q[j].index
}
func (q symbolQueue) Swap(i, j int) { q[i], q[j] = q[j], q[i] }
func (q *symbolQueue) Push(x any)   { *q = append(*q, x.(*symbolState)) }
func (q *symbolQueue) Pop() any {
	old := *q
	last := old[len(old)-1]
	*q = old[:len(old)-1]
	return last
}

// addTrade folds a trade into the open candle k.
func addTrade(k *streams.Kline, t *streams.Trade) error {
	if k.Trades == 0 {
		k.Open, k.High, k.Low = t.Price, t.Price, t.Price
	}
	k.High = k.High.Max(t.Price)
	k.Low = k.Low.Min(t.Price)
	k.Close = t.Price
	k.Trades++
	quote, err := t.Price.Mul(t.Qty)
	if err == nil {
		k.Volume, err = k.Volume.Add(t.Qty)
	}
	if err == nil {
		k.QuoteVolume, err = k.QuoteVolume.Add(quote)
	}
	if err == nil && !t.BuyerMaker {
		k.TakerBuyVolume, err = k.TakerBuyVolume.Add(t.Qty)
		if err == nil {
			k.TakerBuyQuoteVolume, err = k.TakerBuyQuoteVolume.Add(quote)
		}
	}
	if err != nil {
		return fmt.Errorf("%w: %s volume: %v", ErrOverflow, k.Symbol, err)
	}
	return nil
}
