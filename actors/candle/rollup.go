package candle

import (
	"errors"
	"fmt"
	"strconv"

	"github.com/synapse-trading/synapse/streams"
)

// Intervals lists the intervals a Roller supports. Each is a whole number of minutes and
// its periods are aligned to the Unix epoch, which makes them aligned to UTC boundaries.
// (Weeks are not supported: Binance aligns them to Mondays, and the epoch is a Thursday.)
var intervals = map[string]int64{
	"3m": 3 * MinuteMs, "5m": 5 * MinuteMs, "15m": 15 * MinuteMs, "30m": 30 * MinuteMs,
	"1h": 60 * MinuteMs, "2h": 120 * MinuteMs, "4h": 240 * MinuteMs, "6h": 360 * MinuteMs,
	"8h": 480 * MinuteMs, "12h": 720 * MinuteMs, "1d": 1440 * MinuteMs,
}

// IntervalMs returns the length of a supported interval in milliseconds.
func IntervalMs(interval string) (int64, error) {
	ms, ok := intervals[interval]
	if !ok {
		return 0, fmt.Errorf("candle: %w: %q (use 3m, 5m, 15m, 30m, 1h, 2h, 4h, 6h, 8h, 12h or 1d)", ErrBadInterval, interval)
	}
	return ms, nil
}

// Candle is a rolled-up candle with the number of 1m candles it was made from.
type Candle struct {
	Kline   streams.Kline
	Minutes int // number of 1m candles in it
}

// Complete reports whether every minute of the period was present. A candle emitted
// because of a gap in the 1m stream (or by Flush before its last minute came) is partial.
func (c Candle) Complete() bool {
	return int64(c.Minutes)*MinuteMs == c.Kline.CloseTime-c.Kline.OpenTime+1
}

// RollerStats counts what a Roller did.
type RollerStats struct {
	Updates    uint64 // 1m candles consumed
	Emitted    uint64 // rolled candles emitted
	Partial    uint64 // of those, how many were partial (missing minutes)
	Leading    uint64 // periods not emitted: the first, joined after it began
	OutOfOrder uint64 // 1m candles rejected with ErrOutOfOrder
	Duplicates uint64 // 1m candles rejected with ErrDuplicate
	Rejected   uint64 // 1m candles rejected for any other reason
}

// Roller rolls the closed 1m candles of one venue and symbol up into one longer interval.
// See the package documentation for when a candle is emitted.
type Roller struct {
	venue, symbol, interval string
	period                  int64 // in ms

	cur     streams.Kline // the period being built, valid when open is true
	minutes int           // 1m candles in cur
	open    bool
	leading bool // cur is the first period, joined after it began: it is never emitted

	last1m    int64 // open time of the last consumed 1m candle, valid when hasLast is true
	hasLast   bool
	emittedTo int64 // open time of the last emitted period, or -1 when none

	stats RollerStats
}

// NewRoller returns a Roller that rolls the 1m candles of venue and symbol up into interval
// (see IntervalMs for the supported ones).
func NewRoller(venue, symbol, interval string) (*Roller, error) {
	period, err := IntervalMs(interval)
	if err != nil {
		return nil, err
	}
	return &Roller{venue: venue, symbol: symbol, interval: interval, period: period, emittedTo: -1}, nil
}

// Interval returns the interval the Roller builds.
func (r *Roller) Interval() string { return r.interval }

// Stats returns the counters.
func (r *Roller) Stats() RollerStats { return r.stats }

// Add consumes one closed 1m candle and appends to dst the rolled candles it completes:
// none, one, or two (a partial one closed by a gap, then the new period's one if k is also
// its last minute). A rejected candle (see errors.go) changes nothing. Add does not allocate
// when dst has room.
func (r *Roller) Add(dst []Candle, k *streams.Kline) ([]Candle, error) {
	if err := checkKline(k, r.venue, r.symbol); err != nil {
		r.stats.Rejected++
		return dst, err
	}
	return r.add(dst, k)
}

// add is Add for a 1m candle that passed checkKline.
func (r *Roller) add(dst []Candle, k *streams.Kline) ([]Candle, error) {
	if err := r.checkOrder(k); err != nil {
		return dst, err
	}
	start := k.OpenTime - k.OpenTime%r.period
	if r.open && start == r.cur.OpenTime {
		if err := merge(&r.cur, k); err != nil {
			r.stats.Rejected++
			return dst, fmt.Errorf("candle: %s %s 1m at %d into %s: %w", r.venue, r.symbol, k.OpenTime, r.interval, err)
		}
		r.minutes++
	} else {
		if r.open { // a 1m of a later period: the current one has a gap at its end
			dst = r.emit(dst)
		}
		r.leading = !r.hasLast && k.OpenTime != start
		r.cur = *k
		r.cur.Interval = r.interval
		r.cur.OpenTime = start
		r.cur.CloseTime = start + r.period - 1
		r.minutes = 1
		r.open = true
	}
	r.last1m, r.hasLast = k.OpenTime, true
	r.stats.Updates++
	if k.CloseTime == r.cur.CloseTime { // the period's last minute
		dst = r.emit(dst)
	}
	return dst, nil
}

// Flush appends the period being built to dst if nowMs is past its end (nowMs > its close
// time), partial or not. 1m candles of a flushed period that arrive later are rejected with
// ErrOutOfOrder.
func (r *Roller) Flush(dst []Candle, nowMs int64) []Candle {
	if r.open && nowMs > r.cur.CloseTime {
		dst = r.emit(dst)
	}
	return dst
}

// emit appends the current period to dst and closes it; the leading period (the data began
// inside it: a capture started at 23:54 holds 6 minutes of the 23:00 hour) is closed
// without being appended, as what it would say of its period is not known.
func (r *Roller) emit(dst []Candle) []Candle {
	c := Candle{Kline: r.cur, Minutes: r.minutes}
	r.emittedTo = r.cur.OpenTime
	r.open = false
	if r.leading {
		r.leading = false
		r.stats.Leading++
		return dst
	}
	r.stats.Emitted++
	if !c.Complete() {
		r.stats.Partial++
	}
	return append(dst, c)
}

// checkOrder checks that a 1m candle comes after the ones consumed, and counts a rejection.
func (r *Roller) checkOrder(k *streams.Kline) error {
	if r.hasLast && k.OpenTime == r.last1m {
		r.stats.Duplicates++
		return fmt.Errorf("candle: %w: %s %s 1m at %d was already consumed", ErrDuplicate, r.venue, r.symbol, k.OpenTime)
	}
	if r.hasLast && k.OpenTime < r.last1m {
		r.stats.OutOfOrder++
		return fmt.Errorf("candle: %w: %s %s 1m at %d comes after 1m at %d", ErrOutOfOrder, r.venue, r.symbol, k.OpenTime, r.last1m)
	}
	if start := k.OpenTime - k.OpenTime%r.period; start <= r.emittedTo {
		r.stats.OutOfOrder++
		return fmt.Errorf("candle: %w: %s %s 1m at %d belongs to the %s period at %d, which was already emitted",
			ErrOutOfOrder, r.venue, r.symbol, k.OpenTime, r.interval, start)
	}
	return nil
}

// checkKline validates a closed 1m candle on its own.
func checkKline(k *streams.Kline, venue, symbol string) error {
	if k == nil {
		return fmt.Errorf("candle: %w: nil kline", ErrBadKline)
	}
	if k.Venue != venue || k.Symbol != symbol {
		return fmt.Errorf("candle: %w: kline is for %s %s, this roller is for %s %s", ErrWrongSymbol, k.Venue, k.Symbol, venue, symbol)
	}
	bad := func(what string) error {
		return fmt.Errorf("candle: %w: %s %s %s kline at %d: %s", ErrBadKline, venue, symbol, k.Interval, k.OpenTime, what)
	}
	switch {
	case k.Interval != "1m":
		return bad("interval is not 1m")
	case k.OpenTime < 0 || k.OpenTime%MinuteMs != 0:
		return bad("open time is not on a whole minute")
	case k.CloseTime != k.OpenTime+MinuteMs-1:
		return bad("close time " + strconv.FormatInt(k.CloseTime, 10) + " is not open time + 59999")
	case !k.Low.IsPos():
		return bad("low is not positive")
	case cmp(k.Low, k.Open) > 0 || cmp(k.Low, k.Close) > 0 || cmp(k.High, k.Open) < 0 || cmp(k.High, k.Close) < 0:
		return bad("open or close is outside [low, high]")
	case k.Volume.IsNeg() || k.QuoteVolume.IsNeg() || k.TakerBuyVolume.IsNeg() || k.TakerBuyQuoteVolume.IsNeg() || k.Trades < 0:
		return bad("a volume or the trade count is negative")
	}
	return nil
}

// merge adds the next 1m candle k to the period p. If an exact sum does not fit, it returns
// an error and leaves p as it was.
func merge(p *streams.Kline, k *streams.Kline) error {
	vol, err := addExact(p.Volume, k.Volume)
	if err != nil {
		return err
	}
	quote, err := addExact(p.QuoteVolume, k.QuoteVolume)
	if err != nil {
		return err
	}
	takerVol, err := addExact(p.TakerBuyVolume, k.TakerBuyVolume)
	if err != nil {
		return err
	}
	takerQuote, err := addExact(p.TakerBuyQuoteVolume, k.TakerBuyQuoteVolume)
	if err != nil {
		return err
	}
	p.Volume, p.QuoteVolume, p.TakerBuyVolume, p.TakerBuyQuoteVolume = vol, quote, takerVol, takerQuote
	if cmp(k.High, p.High) > 0 {
		p.High = k.High
	}
	if cmp(k.Low, p.Low) < 0 {
		p.Low = k.Low
	}
	p.Close = k.Close
	p.Trades += k.Trades
	return nil
}

// RollUp drives several Rollers (for example 5m, 15m and 1h) from one 1m stream.
type RollUp struct {
	rollers []*Roller
}

// NewRollUp returns a RollUp for venue and symbol with one Roller per interval.
func NewRollUp(venue, symbol string, intervals ...string) (*RollUp, error) {
	u := &RollUp{}
	for _, iv := range intervals {
		r, err := NewRoller(venue, symbol, iv)
		if err != nil {
			return nil, err
		}
		u.rollers = append(u.rollers, r)
	}
	return u, nil
}

// Rollers returns the Rollers, in the order of the intervals given to NewRollUp.
func (u *RollUp) Rollers() []*Roller { return u.rollers }

// Add gives k to every Roller and appends the candles they emit to dst, in the order of
// the intervals given to NewRollUp. The Rollers see the same stream, so they accept or
// reject k alike, before any of them changes; the one exception is ErrInexact, which a
// longer interval's larger sums can hit alone: that Roller leaves k out of its period
// (emitted as partial), the others take it. The errors of all Rollers are joined.
func (u *RollUp) Add(dst []Candle, k *streams.Kline) ([]Candle, error) {
	if len(u.rollers) == 0 {
		return dst, nil
	}
	// The candle is checked once for all rollers: they share venue and symbol.
	if err := checkKline(k, u.rollers[0].venue, u.rollers[0].symbol); err != nil {
		for _, r := range u.rollers {
			r.stats.Rejected++
		}
		return dst, err
	}
	var errs []error
	for _, r := range u.rollers {
		var err error
		if dst, err = r.add(dst, k); err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) == 1 {
		return dst, errs[0]
	}
	return dst, errors.Join(errs...)
}

// Flush calls Flush on every Roller.
func (u *RollUp) Flush(dst []Candle, nowMs int64) []Candle {
	for _, r := range u.rollers {
		dst = r.Flush(dst, nowMs)
	}
	return dst
}
