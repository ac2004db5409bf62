package candle

import (
	"errors"
	"math/big"
	"math/rand/v2"
	"testing"

	"github.com/govalues/decimal"

	"github.com/synapse-trading/synapse/streams"
)

// refRollUp groups 1m candles by period the straightforward way, with big.Rat.
func refRollUp(t testing.TB, klines []streams.Kline, period int64) []*refCandle {
	t.Helper()
	var out []*refCandle
	for _, k := range klines {
		start := k.OpenTime - k.OpenTime%period
		if len(out) == 0 || out[len(out)-1].openTime != start {
			out = append(out, &refCandle{openTime: start, open: rat(t, k.Open), high: rat(t, k.High), low: rat(t, k.Low),
				vol: new(big.Rat), quote: new(big.Rat), tbVol: new(big.Rat), tbQuo: new(big.Rat)})
		}
		c := out[len(out)-1]
		if h := rat(t, k.High); h.Cmp(c.high) > 0 {
			c.high = h
		}
		if l := rat(t, k.Low); l.Cmp(c.low) < 0 {
			c.low = l
		}
		c.close = rat(t, k.Close)
		c.vol.Add(c.vol, rat(t, k.Volume))
		c.quote.Add(c.quote, rat(t, k.QuoteVolume))
		c.tbVol.Add(c.tbVol, rat(t, k.TakerBuyVolume))
		c.tbQuo.Add(c.tbQuo, rat(t, k.TakerBuyQuoteVolume))
		c.trades += k.Trades
		c.minutes++
	}
	return out
}

// rollAll feeds klines to a RollUp, flushes it at the end, and returns the candles of
// each interval.
func rollAll(t testing.TB, klines []streams.Kline, intervals ...string) map[string][]Candle {
	t.Helper()
	u, err := NewRollUp(klines[0].Venue, klines[0].Symbol, intervals...)
	if err != nil {
		t.Fatal(err)
	}
	var out []Candle
	for i := range klines {
		if out, err = u.Add(out, &klines[i]); err != nil {
			t.Fatalf("1m at %d: %v", klines[i].OpenTime, err)
		}
	}
	out = u.Flush(out, klines[len(klines)-1].CloseTime+1<<40)
	byInterval := map[string][]Candle{}
	for _, c := range out {
		byInterval[c.Kline.Interval] = append(byInterval[c.Kline.Interval], c)
	}
	return byInterval
}

// checkAgainstRef compares rolled candles with the reference computation.
func checkAgainstRef(t *testing.T, klines []streams.Kline, got map[string][]Candle, intervals ...string) {
	t.Helper()
	for _, iv := range intervals {
		period, _ := IntervalMs(iv)
		want := refRollUp(t, klines, period)
		if len(got[iv]) != len(want) {
			t.Fatalf("%s: %d candles, want %d", iv, len(got[iv]), len(want))
		}
		for i, ref := range want {
			c := got[iv][i]
			if d := ref.diff(t, c.Kline); d != "" {
				t.Fatalf("%s candle %d (open %d): %s", iv, i, ref.openTime, d)
			}
			if c.Minutes != ref.minutes || c.Complete() != (int64(ref.minutes)*MinuteMs == period) {
				t.Fatalf("%s candle at %d: %d minutes, complete %v; want %d minutes", iv, ref.openTime, c.Minutes, c.Complete(), ref.minutes)
			}
			k := c.Kline
			if k.Interval != iv || k.OpenTime%period != 0 || k.CloseTime != k.OpenTime+period-1 {
				t.Fatalf("%s candle: interval %q open %d close %d", iv, k.Interval, k.OpenTime, k.CloseTime)
			}
		}
	}
}

var realDays = []struct{ file, venue, symbol string }{
	{"BTCUSDT-1m-2022-09-05.csv.gz", "binance-um", "BTCUSDT"},
	{"BTCUSDT-1m-2022-09-06.csv.gz", "binance-um", "BTCUSDT"},
	{"ETHUSDT-1m-2022-08-14.csv.gz", "binance", "ETHUSDT"},
	{"ETHUSDT-1m-2022-08-15.csv.gz", "binance", "ETHUSDT"},
}

func TestRollUpRealDays(t *testing.T) {
	for _, day := range realDays {
		t.Run(day.file, func(t *testing.T) {
			klines := readKlines(t, day.file, day.venue, day.symbol)
			if len(klines) != 1440 {
				t.Fatalf("%d rows, want 1440", len(klines))
			}
			got := rollAll(t, klines, "5m", "15m", "1h")
			if len(got["5m"]) != 288 || len(got["15m"]) != 96 || len(got["1h"]) != 24 {
				t.Fatalf("got %d/%d/%d candles, want 288/96/24", len(got["5m"]), len(got["15m"]), len(got["1h"]))
			}
			for iv, cs := range got {
				for _, c := range cs {
					if !c.Complete() {
						t.Fatalf("%s candle at %d is partial on a day without gaps", iv, c.Kline.OpenTime)
					}
				}
			}
			checkAgainstRef(t, klines, got, "5m", "15m", "1h")
		})
	}
}

func TestRollUpRealMonth(t *testing.T) {
	if testing.Short() {
		t.Skip("month of data")
	}
	klines := readKlines(t, "AVAXUSDT-1m-2026-02.csv.gz", "binance-um", "AVAXUSDT")
	got := rollAll(t, klines, "1d")
	checkAgainstRef(t, klines, got, "1d")
	if len(got["1d"]) != 28 {
		t.Fatalf("%d daily candles, want 28", len(got["1d"]))
	}
}

// Gaps: minutes removed at random (and whole periods removed) give partial candles that
// still match the reference computed on the remaining minutes, and counters that say so.
func TestRollUpWithGaps(t *testing.T) {
	all := readKlines(t, realDays[0].file, realDays[0].venue, realDays[0].symbol)
	rng := rand.New(rand.NewPCG(1, 2))
	var klines []streams.Kline
	for _, k := range all {
		inHole := k.OpenTime%(24*3600_000) >= 3*3600_000 && k.OpenTime%(24*3600_000) < 4*3600_000 // 03:00-04:00 missing
		if rng.IntN(10) != 0 && !inHole {
			klines = append(klines, k)
		}
	}
	got := rollAll(t, klines, "5m", "15m", "1h")
	checkAgainstRef(t, klines, got, "5m", "15m", "1h")
	if len(got["1h"]) != 23 {
		t.Fatalf("%d 1h candles, want 23 (the 03:00 hour has no minutes)", len(got["1h"]))
	}

	r, _ := NewRoller("binance-um", "BTCUSDT", "5m")
	var out []Candle
	for i := range klines {
		out, _ = r.Add(out, &klines[i])
	}
	out = r.Flush(out, 1<<62)
	partial := 0
	for _, c := range out {
		if !c.Complete() {
			partial++
		}
	}
	st := r.Stats()
	if partial == 0 || st.Partial != uint64(partial) || st.Emitted != uint64(len(out)) || st.Updates != uint64(len(klines)) {
		t.Fatalf("stats %+v, %d partial of %d emitted", st, partial, len(out))
	}
}

// A period is emitted as soon as its last minute arrives, and a gap emits the partial one.
func TestRollerEmitsOnLastMinuteAndOnGap(t *testing.T) {
	klines := readKlines(t, realDays[2].file, realDays[2].venue, realDays[2].symbol)[:12]
	r, _ := NewRoller("binance", "ETHUSDT", "5m")
	var out []Candle
	for i := 0; i < 5; i++ {
		var err error
		if out, err = r.Add(out[:0], &klines[i]); err != nil {
			t.Fatal(err)
		}
		if (i < 4 && len(out) != 0) || (i == 4 && len(out) != 1) {
			t.Fatalf("after minute %d: %d candles", i, len(out))
		}
	}
	if !out[0].Complete() || out[0].Kline.OpenTime != klines[0].OpenTime || out[0].Kline.CloseTime != klines[4].CloseTime {
		t.Fatalf("first 5m: %+v", out[0])
	}
	// Minutes 5 and 6, then minute 11 (a later period): the 00:05 candle is emitted partial.
	out, _ = r.Add(out[:0], &klines[5])
	out, _ = r.Add(out, &klines[6])
	out, _ = r.Add(out, &klines[11])
	if len(out) != 1 || out[0].Minutes != 2 || out[0].Complete() || out[0].Kline.OpenTime != klines[5].OpenTime ||
		!out[0].Kline.Close.Equal(klines[6].Close) {
		t.Fatalf("gap: %+v", out)
	}
	// Flush before the period ends emits nothing; after it ends it emits the partial 00:10.
	if out = r.Flush(out[:0], klines[11].CloseTime); len(out) != 0 {
		t.Fatalf("early flush emitted %+v", out)
	}
	if out = r.Flush(out[:0], klines[11].OpenTime+4*MinuteMs); len(out) != 1 || out[0].Minutes != 1 {
		t.Fatalf("flush: %+v", out)
	}
}

// A 1m stream that begins inside a period (a capture started at 00:03) does not emit that
// period: its minutes say nothing of the period's open, high or low. The next is emitted
// whole; a later gap still emits its partial candle.
func TestRollerSkipsTheLeadingPeriod(t *testing.T) {
	klines := readKlines(t, realDays[2].file, realDays[2].venue, realDays[2].symbol)[:20]
	r, _ := NewRoller("binance", "ETHUSDT", "5m")
	var out []Candle
	for i := 3; i < 10; i++ {
		var err error
		if out, err = r.Add(out, &klines[i]); err != nil {
			t.Fatal(err)
		}
	}
	if len(out) != 1 || !out[0].Complete() || out[0].Kline.OpenTime != klines[5].OpenTime || r.Stats().Leading != 1 {
		t.Fatalf("from minute 3 to 9: %+v, stats %+v: want only the 00:05 candle, whole", out, r.Stats())
	}
	out, _ = r.Add(out[:0], &klines[10])
	out, _ = r.Add(out, &klines[16]) // a gap: 00:10 emitted with one minute
	if len(out) != 1 || out[0].Minutes != 1 || out[0].Kline.OpenTime != klines[10].OpenTime {
		t.Fatalf("after a gap: %+v", out)
	}
}

// Rejected 1m candles (duplicate, out of order, malformed, too big to add exactly) never
// change the state: interleaving them with a real day gives exactly the clean result.
func TestRollUpRejectsWithoutCorruption(t *testing.T) {
	klines := readKlines(t, realDays[0].file, realDays[0].venue, realDays[0].symbol)
	clean := rollAll(t, klines, "5m", "15m", "1h")

	u, _ := NewRollUp("binance-um", "BTCUSDT", "5m", "15m", "1h")
	var out []Candle
	for i := range klines {
		var err error
		if out, err = u.Add(out, &klines[i]); err != nil {
			t.Fatal(err)
		}
		if _, err := u.Add(nil, &klines[i]); !errors.Is(err, ErrDuplicate) {
			t.Fatalf("duplicate of %d: %v", i, err)
		}
		if i > 0 {
			if _, err := u.Add(nil, &klines[i-1]); !errors.Is(err, ErrOutOfOrder) {
				t.Fatalf("older than %d: %v", i, err)
			}
		}
		if i+1 < len(klines) && klines[i+1].OpenTime%(5*MinuteMs) != 0 {
			// Not the first minute of any period, so every roller must add it, and the
			// exact sum does not fit in 19 digits.
			huge := klines[i+1]
			huge.Volume = decimal.MustParse("9999999999999999999")
			if _, err := u.Add(nil, &huge); !errors.Is(err, ErrInexact) {
				t.Fatalf("huge volume after %d: %v", i, err)
			}
			bad := klines[i+1]
			bad.Low, _ = bad.High.Add(decimal.One)
			if _, err := u.Add(nil, &bad); !errors.Is(err, ErrBadKline) {
				t.Fatalf("low above high after %d: %v", i, err)
			}
		}
	}
	out = u.Flush(out, 1<<62)
	got := map[string][]Candle{}
	for _, c := range out {
		got[c.Kline.Interval] = append(got[c.Kline.Interval], c)
	}
	for iv := range clean {
		if len(got[iv]) != len(clean[iv]) {
			t.Fatalf("%s: %d candles, want %d", iv, len(got[iv]), len(clean[iv]))
		}
		for i := range clean[iv] {
			if got[iv][i] != clean[iv][i] {
				t.Fatalf("%s candle %d: %+v, want %+v", iv, i, got[iv][i], clean[iv][i])
			}
		}
	}
	st := u.Rollers()[0].Stats()
	if st.Duplicates != 1440 || st.OutOfOrder != 1439 || st.Updates != 1440 || st.Rejected == 0 {
		t.Fatalf("5m stats %+v", st)
	}
}

func TestRollerRejectsBadInput(t *testing.T) {
	good := readKlines(t, realDays[2].file, realDays[2].venue, realDays[2].symbol)[0]
	cases := map[string]func(k *streams.Kline){
		"5m interval":     func(k *streams.Kline) { k.Interval = "5m" },
		"open off minute": func(k *streams.Kline) { k.OpenTime++; k.CloseTime++ },
		"close time":      func(k *streams.Kline) { k.CloseTime++ },
		"zero low":        func(k *streams.Kline) { k.Low = decimal.Zero },
		"high below open": func(k *streams.Kline) { k.High = k.Low },
		"negative volume": func(k *streams.Kline) { k.Volume = k.Volume.Neg() },
		"negative trades": func(k *streams.Kline) { k.Trades = -1 },
	}
	for name, mutate := range cases {
		r, _ := NewRoller("binance", "ETHUSDT", "5m")
		k := good
		mutate(&k)
		if _, err := r.Add(nil, &k); !errors.Is(err, ErrBadKline) {
			t.Errorf("%s: %v", name, err)
		}
		if r.Stats().Rejected != 1 || r.Stats().Updates != 0 {
			t.Errorf("%s: stats %+v", name, r.Stats())
		}
	}
	r, _ := NewRoller("binance", "ETHUSDT", "5m")
	if _, err := r.Add(nil, nil); !errors.Is(err, ErrBadKline) {
		t.Errorf("nil: %v", err)
	}
	other := good
	other.Symbol = "BTCUSDT"
	if _, err := r.Add(nil, &other); !errors.Is(err, ErrWrongSymbol) {
		t.Errorf("other symbol: %v", err)
	}
	if _, err := NewRoller("binance", "ETHUSDT", "1w"); !errors.Is(err, ErrBadInterval) {
		t.Errorf("1w: %v", err)
	}
	if _, err := NewRollUp("binance", "ETHUSDT", "5m", "7m"); !errors.Is(err, ErrBadInterval) {
		t.Errorf("7m: %v", err)
	}
	// A 1m of a period already emitted by Flush is late.
	if _, err := r.Add(nil, &good); err != nil {
		t.Fatal(err)
	}
	r.Flush(nil, good.OpenTime+5*MinuteMs)
	next := good
	next.OpenTime += MinuteMs
	next.CloseTime += MinuteMs
	if _, err := r.Add(nil, &next); !errors.Is(err, ErrOutOfOrder) {
		t.Errorf("after flush: %v", err)
	}
}

// benchKlines returns a real day of 1m candles and a function that gives the i-th 1m of an
// endless stream made by repeating the day with shifted times.
func benchKlines(b *testing.B) func(i int, k *streams.Kline) {
	day := readKlines(b, realDays[0].file, realDays[0].venue, realDays[0].symbol)
	base := day[0].OpenTime
	return func(i int, k *streams.Kline) {
		*k = day[i%len(day)]
		k.OpenTime = base + int64(i)*MinuteMs
		k.CloseTime = k.OpenTime + MinuteMs - 1
	}
}

// BenchmarkRollUp measures one 1m update of a RollUp to 5m, 15m and 1h.
func BenchmarkRollUp(b *testing.B) {
	next := benchKlines(b)
	u, _ := NewRollUp("binance-um", "BTCUSDT", "5m", "15m", "1h")
	out := make([]Candle, 0, 8)
	var k streams.Kline
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		next(i, &k)
		var err error
		if out, err = u.Add(out[:0], &k); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRoller5m measures one 1m update of a single 5m Roller.
func BenchmarkRoller5m(b *testing.B) {
	next := benchKlines(b)
	r, _ := NewRoller("binance-um", "BTCUSDT", "5m")
	out := make([]Candle, 0, 8)
	var k streams.Kline
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		next(i, &k)
		var err error
		if out, err = r.Add(out[:0], &k); err != nil {
			b.Fatal(err)
		}
	}
}

// pepeKlines returns n 1m candles shaped like Binance spot's for PEPEUSDT: prices around
// 1e-5 with 8 decimals and volumes around 2.4e10 written with 8 decimals, whose sums over
// 15m or 1h exceed 19 digits at that scale.
func pepeKlines(n int) []streams.Kline {
	rng := rand.New(rand.NewPCG(5, 6))
	open := int64(1_700_000_000_000 - 1_700_000_000_000%(60*MinuteMs))
	price := int64(1234) // in units of 1e-8
	out := make([]streams.Kline, n)
	for i := range out {
		o := price
		price = max(price+int64(rng.IntN(21))-10, 1000)
		c := price
		h, l := max(o, c)+int64(rng.IntN(4)), min(o, c)-int64(rng.IntN(4))
		vol := decimal.MustNew((int64(rng.IntN(30_000_000_000))+10_000_000_000)*100_000_000, 8)
		taker := decimal.MustNew(int64(vol.Coef()/2/100_000_000*100_000_000), 8)
		closeP := decimal.MustNew(c, 8)
		quote, _ := vol.Mul(closeP)
		takerQuote, _ := taker.Mul(closeP)
		t := open + int64(i)*MinuteMs
		out[i] = streams.Kline{Venue: "binance", Symbol: "PEPEUSDT", Interval: "1m", OpenTime: t, CloseTime: t + MinuteMs - 1,
			Open: decimal.MustNew(o, 8), High: decimal.MustNew(h, 8), Low: decimal.MustNew(l, 8), Close: closeP,
			Volume: vol, QuoteVolume: quote.Round(8).Pad(8), TakerBuyVolume: taker, TakerBuyQuoteVolume: takerQuote.Round(8).Pad(8),
			Trades: int64(100 + rng.IntN(900))}
	}
	return out
}

// Two hours of PEPE-shaped 1m candles roll up exactly, although a 15m or 1h volume has 20
// digits at the 1m candles' scale of 8.
func TestRollUpPepeVolumes(t *testing.T) {
	klines := pepeKlines(120)
	if klines[0].Volume.Scale() != 8 || klines[0].QuoteVolume.Scale() != 8 {
		t.Fatalf("volume %v: want 8 decimals", klines[0].Volume)
	}
	got := rollAll(t, klines, "5m", "15m", "1h")
	if len(got["5m"]) != 24 || len(got["15m"]) != 8 || len(got["1h"]) != 2 {
		t.Fatalf("got %d/%d/%d candles, want 24/8/2", len(got["5m"]), len(got["15m"]), len(got["1h"]))
	}
	checkAgainstRef(t, klines, got, "5m", "15m", "1h")
}
