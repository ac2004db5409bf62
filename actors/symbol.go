package actors

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync/atomic"
	"time"

	"github.com/anthdm/hollywood/actor"
	"github.com/govalues/decimal"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/synapse-trading/synapse/actors/candle"
	"github.com/synapse-trading/synapse/actors/indicator"
	"github.com/synapse-trading/synapse/actors/orderbook"
	"github.com/synapse-trading/synapse/streams"
)

// Sequenced is an event with its sequence on the MD stream (0 when it does not come from
// the log, as in a benchmark).
type Sequenced struct {
	Seq   uint64
	Event streams.Event
	// Stored is when the log stored the event (zero when it did not come from the log):
	// where the tick_to_feature stage starts.
	Stored time.Time
}

// MarketData carries a batch of one symbol's events, in log order, to its symbol actor.
type MarketData struct {
	Events []Sequenced
}

// Intervals are the candle intervals a symbol actor builds; 1m is the base.
var Intervals = []string{"1m", "5m", "15m", "1h"}

// SymbolOptions configure symbol actors.
type SymbolOptions struct {
	// Publish puts a derived event (a feature) on the log; nil publishes nothing.
	Publish func(streams.Event)
	// Observe receives the symbol's state for the UI at most every ObserveEvery; nil: never.
	Observe      func(topic string, state any)
	ObserveEvery time.Duration
	// Log lets a restarted actor rebuild its state from the MD stream; nil: no rebuild.
	Log jetstream.JetStream
	// MaxInFlight bounds the MarketData batches waiting in one symbol's mailbox. Default 64.
	MaxInFlight int
	// Pairs are the symbol pairs whose rolling correlation of 1m closes pair actors compute
	// over CorrelationPeriod candles (default 20, TA-Lib's CORREL).
	Pairs             []Pair
	CorrelationPeriod int
	Logger            *slog.Logger
	// InFlight, when set (a backtest), counts the features sent to subscribers that they
	// have not handled yet, so the backtest's clock can wait for the graph to settle.
	InFlight *atomic.Int64
	// Stages, when set, times each 1m feature from the log's storing of the event that
	// closed its candle (tick_to_feature).
	Stages *Stages
	// Activity, when set, counts the pair actors' messages and busy time (the graph view's
	// rate and load).
	Activity *Activity
}

// SymbolState is what a symbol actor shows of itself (the UI's "symbol/<venue>/<symbol>" topic).
type SymbolState struct {
	Venue      string           `json:"venue"`
	Symbol     string           `json:"symbol"`
	LastPrice  string           `json:"last_price,omitempty"`
	Bid        string           `json:"bid,omitempty"` // the synced book's best, else the newest bookTicker's
	Ask        string           `json:"ask,omitempty"`
	BookLevels int              `json:"book_levels"`
	BookSynced bool             `json:"book_synced"`
	Candle     *streams.Kline   `json:"candle,omitempty"`   // last closed 1m candle
	Features   *streams.Feature `json:"features,omitempty"` // of the last closed 1m candle
	Closes     []string         `json:"closes"`             // last closes of 1m candles, oldest first
	Events     int64            `json:"events"`
	LastSeq    uint64           `json:"last_seq"`
	EventTime  int64            `json:"event_time"`
	Malformed  int64            `json:"malformed"`    // events that could not be applied
	OutOfOrder int64            `json:"out_of_order"` // events older than the symbol's state
	Duplicates int64            `json:"duplicates"`
	// OtherTrades counts the trades of a second trade stream of this symbol (@aggTrade
	// beside @trade, or the reverse), left out: both views of the same volume would count
	// it twice. The stream seen first builds the candles.
	OtherTrades int64  `json:"other_trades,omitempty"`
	Rebuilt     int64  `json:"rebuilt"`  // events re-applied from the log after a restart
	Restarts    int    `json:"restarts"` // times this actor was restarted after a panic
	LastProblem string `json:"last_problem,omitempty"`
	// The 1m candles taken (from the venue's klines or built from trades): how many, the open
	// times of the first and last (epoch ms; 0: none yet), and the holes between them.
	Candles     int64 `json:"candles"`
	FirstCandle int64 `json:"first_candle"`
	LastCandle  int64 `json:"last_candle"`
	Gaps        int64 `json:"gaps"`            // holes: a candle more than a minute after the one before
	Missing     int64 `json:"missing_minutes"` // the minutes the holes lack
	LargestGap  int64 `json:"largest_gap"`     // minutes missing in the largest hole (0: no hole)
	// LargestGapStart is the open time of the first minute missing in the largest hole.
	LargestGapStart int64 `json:"largest_gap_start"`
}

// Refused counts the events the symbol could not apply.
func (s SymbolState) Refused() int64 { return s.Malformed + s.OutOfOrder + s.Duplicates }

// Symbol is the state of one symbol, free of any actor machinery, so that a command
// (synapse features) and the actor share exactly the same logic.
type Symbol struct {
	venue, symbol string
	trades        *candle.Builder
	rollup        *candle.RollUp
	sets          map[string]*indicator.Set
	book          *orderbook.Book
	klineSource   bool // 1m klines arrive from the venue: trades do not build candles
	tradeSource   tradeSource
	firstSeen     int64 // the event time of the symbol's first event (0: none yet)
	tradeMinutes  bool  // a trade-built minute was closed (the first is judged by firstSeen)
	last1m        int64
	lastPrice     decimal.Decimal
	lastCandle    streams.Kline         // the last closed 1m candle (OpenTime 0: none yet)
	lastValues    streams.FeatureValues // its indicator values
	closes        [closesKept]decimal.Decimal
	nCloses       int           // closes written, the newest at (nCloses-1) % closesKept
	history       candleHistory // the newest closed 1m candles with their indicators
	rolled        []candle.Candle
	state         SymbolState
	// OnCandle, when set, is told of every closed 1m candle (for the pair actors).
	OnCandle func(k *streams.Kline, close float64)
}

// closesKept is how many 1m closes a symbol keeps for the UI's sparkline.
const closesKept = 120

// NewSymbol returns the empty state of venue/symbol.
func NewSymbol(venue, symbol string) (*Symbol, error) {
	rollup, err := candle.NewRollUp(venue, symbol, Intervals[1:]...)
	if err != nil {
		return nil, err
	}
	s := &Symbol{
		venue: venue, symbol: symbol,
		trades: candle.NewBuilder(venue, symbol),
		rollup: rollup,
		sets:   map[string]*indicator.Set{},
		book:   orderbook.New(venue, symbol, orderbook.Options{}),
		state:  SymbolState{Venue: venue, Symbol: symbol},
	}
	for _, iv := range Intervals {
		s.sets[iv] = indicator.NewSet()
	}
	return s, nil
}

// Apply folds one event into the state and calls emit for each feature it produces. An
// event that cannot be applied is counted and reported; the state is left as it was.
func (s *Symbol) Apply(ev streams.Event, emit func(*streams.Feature)) error {
	s.state.Events++
	if s.firstSeen == 0 {
		s.firstSeen = ev.EventTime()
	}
	if t := ev.EventTime(); t > s.state.EventTime {
		s.state.EventTime = t
	}
	var err error
	switch e := ev.(type) {
	case *streams.Kline:
		err = s.applyKline(e, emit)
	case *streams.Trade:
		if !s.tradeSource.takes(e) {
			s.state.OtherTrades++
			return nil
		}
		s.lastPrice = e.Price
		if !s.klineSource {
			var k streams.Kline
			var closed bool
			if k, closed, err = s.trades.Add(e); err == nil && closed {
				err = s.closeTradeMinute(&k, emit)
			}
		}
	case *streams.Depth:
		err = s.book.Apply(ev)
		if cerr := s.closeQuietMinute(e.Time, emit); cerr != nil {
			if err != nil {
				s.count(err)
			}
			err = cerr
		}
	case *streams.Snapshot, *streams.Ticker:
		err = s.book.Apply(ev)
	default:
		err = fmt.Errorf("%w: %T", ErrUnknownEvent, ev)
	}
	if err != nil {
		s.count(err)
	}
	return err
}

// quietGrace is how long past a minute's end the venue's clock must be, by a depth update's
// event time, before a trade-built minute is closed without a trade of the next minute: a
// trade more than a second behind the book is not expected (Binance's own kline stream
// closes a candle within about a second too).
const quietGrace int64 = 1_000

// closeQuietMinute closes the trade-built minute once the venue's time (a depth update's
// event time, never a local receive time) is quietGrace past its end, so that the last
// minute before a quiet spell, or a capture's last, is not held back until the next trade.
func (s *Symbol) closeQuietMinute(venueTime int64, emit func(*streams.Feature)) error {
	if s.klineSource {
		return nil
	}
	k, ok := s.trades.Flush(venueTime - quietGrace)
	if !ok {
		return nil
	}
	return s.closeTradeMinute(&k, emit)
}

// closeTradeMinute takes a minute built from trades, except the first when the symbol's data
// began inside it (a capture started at 05:54:13 holds the minute's trades from :13 on
// only): its open, high, low and volume would not be the minute's.
func (s *Symbol) closeTradeMinute(k *streams.Kline, emit func(*streams.Feature)) error {
	first := !s.tradeMinutes
	s.tradeMinutes = true
	if first && s.firstSeen > k.OpenTime {
		return nil
	}
	return s.close1m(k, emit)
}

// tradeSource is the trade stream a symbol builds its candles from: its trades (@trade) or
// its aggregate trades (@aggTrade), whichever comes first. Their IDs are different series,
// so the candle builder cannot tell the same volume seen twice.
type tradeSource uint8

const (
	noTrades tradeSource = iota
	rawTrades
	aggTrades
)

// takes reports whether t is from the source, choosing it on the first trade.
func (src *tradeSource) takes(t *streams.Trade) bool {
	got := rawTrades
	if t.Aggregate {
		got = aggTrades
	}
	if *src == noTrades {
		*src = got
	}
	return *src == got
}

// CheckKline says, naming the fix, why a symbol actor would refuse ev when it is a kline of
// another interval than 1m; nil for anything else. Commands that feed whole files (backtest,
// train) check each kline with it and stop, where the live engine counts and goes on.
func CheckKline(ev streams.Event) error {
	if k, ok := ev.(*streams.Kline); ok && k.Interval != "1m" {
		return fmt.Errorf("%w: %s klines: the symbol actors take 1m candles and build the longer intervals from them, and the models trade on 1m features; give 1m klines (Binance Vision's SYMBOL-1m-... files) or a websocket capture", ErrUnknownEvent, k.Interval)
	}
	return nil
}

func (s *Symbol) applyKline(k *streams.Kline, emit func(*streams.Feature)) error {
	if err := CheckKline(k); err != nil {
		return err
	}
	if !s.klineSource {
		s.klineSource = true
		s.trades = candle.NewBuilder(s.venue, s.symbol) // drop any trade-built minute
	}
	s.lastPrice = k.Close
	return s.close1m(k, emit)
}

// close1m takes a closed 1m candle through the roll-ups and every interval's indicators.
// A candle the roll-up rejects as a duplicate, out of order or malformed is not taken (the
// roll-up rejects those before any Roller changes). A longer interval whose sum cannot be
// exact (ErrInexact) leaves the minute out of its own candle only: the 1m candle is still
// taken, with its indicators and the rolled candles it completed, and the error is returned
// after, so that it is counted and shown.
func (s *Symbol) close1m(k *streams.Kline, emit func(*streams.Feature)) error {
	if k.OpenTime <= s.last1m {
		if k.OpenTime == s.last1m {
			return fmt.Errorf("%w: 1m candle %d", ErrDuplicate, k.OpenTime)
		}
		return fmt.Errorf("%w: 1m candle %d after %d", ErrOutOfOrder, k.OpenTime, s.last1m)
	}
	c, err := indicator.CandleFromKline(*k)
	if err != nil {
		return err
	}
	rolled, rollErr := s.rollup.Add(s.rolled[:0], k)
	s.rolled = rolled
	if rollErr != nil && !inexactOnly(rollErr) {
		return rollErr
	}
	s.countCandle(k.OpenTime)
	s.last1m = k.OpenTime
	s.lastCandle = *k
	s.closes[s.nCloses%closesKept] = k.Close
	s.nCloses++
	if err := s.features(k, c, &s.lastValues, emit); err != nil {
		return err
	}
	s.history.add(k, s.lastValues)
	if s.OnCandle != nil {
		s.OnCandle(k, c.Close)
	}
	var values streams.FeatureValues
	for i := range rolled {
		r := &rolled[i].Kline
		rc, err := indicator.CandleFromKline(*r)
		if err != nil {
			return err
		}
		if err := s.features(r, rc, &values, emit); err != nil {
			return err
		}
	}
	return rollErr
}

// minuteMs is a 1m candle's span in epoch milliseconds.
const minuteMs int64 = 60_000

// countCandle counts a 1m candle taken, and the minutes missing since the one before.
func (s *Symbol) countCandle(openTime int64) {
	st := &s.state
	if st.Candles == 0 {
		st.FirstCandle = openTime
	} else if missing := (openTime-s.last1m)/minuteMs - 1; missing > 0 {
		st.Gaps++
		st.Missing += missing
		if missing > st.LargestGap {
			st.LargestGap = missing
			st.LargestGapStart = s.last1m + minuteMs
		}
	}
	st.Candles++
	st.LastCandle = openTime
}

// inexactOnly reports whether err, the errors of a RollUp's Rollers joined, holds only
// ErrInexact: some Rollers could not add the 1m candle exactly, and none rejected it
// for another reason.
func inexactOnly(err error) bool {
	if joined, ok := err.(interface{ Unwrap() []error }); ok {
		for _, e := range joined.Unwrap() {
			if !inexactOnly(e) {
				return false
			}
		}
		return true
	}
	return errors.Is(err, candle.ErrInexact)
}

// features updates the indicators of k's interval with c, writes their values to dst and,
// when emit is set, emits them as a Feature (built only then: it is the one allocation of a
// candle's path).
func (s *Symbol) features(k *streams.Kline, c indicator.Candle, dst *streams.FeatureValues, emit func(*streams.Feature)) error {
	set := s.sets[k.Interval]
	if err := set.Update(c); err != nil {
		return err
	}
	set.Values(dst[:0])
	if emit != nil {
		emit(&streams.Feature{Venue: s.venue, Symbol: s.symbol, Interval: k.Interval, OpenTime: k.OpenTime,
			Close: k.Close, Volume: k.Volume, Values: *dst, Emitted: time.Now()})
	}
	return nil
}

func (s *Symbol) count(err error) {
	switch {
	case isOutOfOrder(err):
		s.state.OutOfOrder++
	case isDuplicate(err):
		s.state.Duplicates++
	default:
		s.state.Malformed++
	}
	s.state.LastProblem = err.Error()
}

// State returns the symbol's state as the UI shows it.
func (s *Symbol) State() SymbolState {
	st := s.state
	if !s.lastPrice.IsZero() {
		st.LastPrice = s.lastPrice.String()
	}
	if bid, ask, ok := s.book.Best(); ok {
		st.Bid, st.Ask = bid.Price.String(), ask.Price.String()
	} else if t, ok := s.book.Ticker(); ok { // a capture without a depth snapshot: the venue's own top of book
		st.Bid, st.Ask = t.BidPrice.String(), t.AskPrice.String()
	}
	bids, asks := s.book.Levels()
	st.BookLevels = bids + asks
	st.BookSynced = s.book.Synced()
	if s.lastCandle.OpenTime != 0 {
		k := s.lastCandle
		st.Candle = &k
		st.Features = &streams.Feature{Venue: s.venue, Symbol: s.symbol, Interval: "1m", OpenTime: k.OpenTime,
			Close: k.Close, Volume: k.Volume, Values: s.lastValues}
	}
	n := min(s.nCloses, closesKept)
	st.Closes = make([]string, 0, n)
	for i := s.nCloses - n; i < s.nCloses; i++ {
		st.Closes = append(st.Closes, s.closes[i%closesKept].String())
	}
	return st
}

// symbolActor is the Hollywood actor around a Symbol.
type symbolActor struct {
	venue, symbol string
	opts          SymbolOptions
	credits       chan struct{} // one token per MarketData batch in the mailbox (see Graph.Dispatch)
	pairs         []*actor.PID  // pair actors to tell of each closed 1m candle
	featSubs      []*actor.PID  // actors to send each closed 1m feature to (model actors)
	restarts      int
	sym           *Symbol
	lastSeq       uint64
	applying      time.Time // when the log stored the event being applied (tick_to_feature)
	lastObserved  time.Time
	dirty         bool // state changed since it was last observed
	ticker        actor.SendRepeater
	ticking       bool
	publishFeat   func(*streams.Feature)
}

// observeTick makes an actor show a state that changed since its last observation, so the
// UI never keeps a stale state after a burst ends.
type observeTick struct{}

type panicNow struct{} // test hook: makes the actor panic, to exercise supervision

// newSymbolActor returns the producer of a symbol actor. Hollywood calls it again after a
// panic; the new instance then rebuilds its state from the log.
func newSymbolActor(venue, symbol string, opts SymbolOptions, credits chan struct{}, pairs, featSubs []*actor.PID) actor.Producer {
	starts := 0
	return func() actor.Receiver {
		starts++
		return &symbolActor{venue: venue, symbol: symbol, opts: opts, credits: credits, pairs: pairs, featSubs: featSubs, restarts: starts - 1}
	}
}

func (a *symbolActor) Receive(c *actor.Context) {
	switch msg := c.Message().(type) {
	case actor.Started:
		a.start(c.Engine())
		if a.opts.Observe != nil {
			a.ticker = c.SendRepeat(c.PID(), observeTick{}, a.opts.ObserveEvery)
			a.ticking = true
		}
	case observeTick:
		if a.dirty {
			a.observe(true)
		}
	case MarketData:
		a.apply(msg.Events)
		select {
		case <-a.credits:
		default:
		}
	case candlesRequest:
		c.Respond(a.sym.Candles(msg.limit))
	case panicNow:
		panic("symbol actor " + a.symbol + ": panic requested")
	case actor.Stopped:
		if a.ticking {
			a.ticker.Stop()
			a.ticking = false
		}
		a.observe(true)
	}
}

func (a *symbolActor) start(e *actor.Engine) {
	sym, err := NewSymbol(a.venue, a.symbol)
	if err != nil {
		panic(err) // only an invalid interval list, a programming error
	}
	a.sym = sym
	if len(a.pairs) > 0 {
		ref := SymbolRef{Venue: a.venue, Symbol: a.symbol}
		sym.OnCandle = func(k *streams.Kline, close float64) {
			for _, pid := range a.pairs {
				e.Send(pid, ClosedCandle{Ref: ref, OpenTime: k.OpenTime, Close: close})
			}
		}
	}
	a.sym.state.Restarts = a.restarts
	a.publishFeat = nil
	if a.restarts > 0 && a.opts.Log != nil {
		a.rebuild()
	}
	if a.opts.Publish != nil || len(a.featSubs) > 0 {
		a.publishFeat = func(f *streams.Feature) {
			if a.opts.Publish != nil {
				a.opts.Publish(f)
			}
			if f.Interval == "1m" {
				if st := a.opts.Stages; st != nil && a.applying.After(st.Since) {
					st.Observe(StageTickToFeature, f.Emitted.Sub(a.applying))
				}
				if a.opts.InFlight != nil {
					a.opts.InFlight.Add(int64(len(a.featSubs)))
				}
				for _, pid := range a.featSubs {
					e.Send(pid, f)
				}
			}
		}
	}
	a.observe(true)
}

// rebuild re-applies this symbol's events from the MD stream, up to its end when the rebuild
// starts; later events come through the mailbox and are skipped if already applied. An
// event whose application panics (the likely cause of the restart) is counted and skipped.
func (a *symbolActor) rebuild() {
	logger := a.logger()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	filter := "md." + strings.ToLower(a.venue) + "." + strings.ToLower(a.symbol) + ".>"
	cons, err := a.opts.Log.OrderedConsumer(ctx, streams.StreamMarketData, jetstream.OrderedConsumerConfig{FilterSubjects: []string{filter}})
	if err != nil {
		logger.Error("rebuild: cannot read the log; continuing from an empty state", "symbol", a.symbol, "err", err)
		return
	}
	for {
		batch, err := cons.Fetch(512, jetstream.FetchMaxWait(time.Second))
		if err != nil {
			logger.Error("rebuild: reading the log", "symbol", a.symbol, "err", err)
			return
		}
		n, pending := 0, uint64(0)
		for msg := range batch.Messages() {
			n++
			meta, err := msg.Metadata()
			if err != nil {
				continue
			}
			pending = meta.NumPending
			ev, err := streams.Decode(msg.Subject(), msg.Headers(), msg.Data())
			if err != nil {
				a.sym.count(err)
				continue
			}
			a.safeApply(Sequenced{Seq: meta.Sequence.Stream, Event: ev})
			a.sym.state.Rebuilt++
		}
		if n == 0 || pending == 0 {
			break
		}
	}
	a.sym.state.LastSeq = a.lastSeq
	logger.Info("symbol actor rebuilt from the log", "symbol", a.symbol, "events", a.sym.state.Rebuilt, "last_seq", a.lastSeq)
}

func (a *symbolActor) safeApply(ev Sequenced) {
	defer func() {
		if r := recover(); r != nil {
			a.sym.count(fmt.Errorf("%w: applying %s: %v", ErrPoisonEvent, ev.Event.ID(), r))
		}
	}()
	a.lastSeq = ev.Seq
	a.applying = ev.Stored
	_ = a.sym.Apply(ev.Event, a.publishFeat)
}

func (a *symbolActor) apply(events []Sequenced) {
	for _, ev := range events {
		if ev.Seq != 0 && ev.Seq <= a.lastSeq {
			continue // already applied (rebuild after a restart)
		}
		if ev.Seq != 0 {
			a.lastSeq = ev.Seq
		}
		a.applying = ev.Stored
		if err := a.sym.Apply(ev.Event, a.publishFeat); err != nil {
			a.warn(err)
		}
	}
	a.sym.state.LastSeq = a.lastSeq
	a.dirty = true
	a.observe(false)
}

func (a *symbolActor) observe(force bool) {
	if a.opts.Observe == nil || a.sym == nil {
		return
	}
	now := time.Now()
	if !force && now.Sub(a.lastObserved) < a.opts.ObserveEvery {
		return
	}
	a.lastObserved = now
	a.dirty = false
	a.opts.Observe(SymbolTopic(a.venue, a.symbol), a.sym.State())
}

// warn logs the symbol's 1st, 10th, 100th, … problem with the event it refused: an operator
// replaying a file whose candles are all refused learns it at once, from the log and not
// only from the symbol's state, and a flood of bad events does not flood the log.
func (a *symbolActor) warn(err error) {
	st := &a.sym.state
	n := st.Refused()
	if !isPowerOf10(n) {
		return
	}
	a.logger().Warn("symbol actor refused an event", "venue", a.venue, "symbol", a.symbol,
		"refused", n, "malformed", st.Malformed, "out_of_order", st.OutOfOrder, "duplicates", st.Duplicates, "err", err)
}

func isPowerOf10(n int64) bool {
	for n >= 10 && n%10 == 0 {
		n /= 10
	}
	return n == 1
}

func (a *symbolActor) logger() *slog.Logger {
	if a.opts.Logger != nil {
		return a.opts.Logger
	}
	return slog.Default()
}

// SymbolTopic is the UI topic of a symbol's state.
func SymbolTopic(venue, symbol string) string { return "symbol/" + venue + "/" + symbol }
