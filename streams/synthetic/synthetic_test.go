package synthetic

import (
	"context"
	"errors"
	"fmt"
	"math"
	"reflect"
	"testing"
	"time"

	"github.com/govalues/decimal"
	"github.com/synapse-trading/synapse/streams"
)

func newGenerator(t testing.TB, opts Options) *Generator {
	t.Helper()
	g, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	return g
}

func generate(t testing.TB, g *Generator, n int) []streams.Event {
	t.Helper()
	out := make([]streams.Event, 0, n)
	for range n {
		ev, err := g.Next()
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, ev)
	}
	return out
}

func TestSameSeedSameSequence(t *testing.T) {
	a := generate(t, newGenerator(t, DefaultOptions()), 20_000)
	b := generate(t, newGenerator(t, DefaultOptions()), 20_000)
	if !reflect.DeepEqual(a, b) {
		t.Fatal("two generators with the same options differ")
	}
	opts := DefaultOptions()
	opts.Seed = 2
	c := generate(t, newGenerator(t, opts), 20_000)
	if reflect.DeepEqual(a, c) {
		t.Fatal("seeds 1 and 2 give the same sequence")
	}
}

// The candles agree exactly with the trades they close over, prices sit on the tick and
// quantities on the lot, IDs are consecutive, and events come in event-time order.
func TestKlinesAgreeWithTrades(t *testing.T) {
	opts := DefaultOptions()
	opts.Symbols = SymbolNames(4)
	opts.TickSize = decimal.MustParse("0.05")
	opts.LotSize = decimal.MustParse("0.01")
	events := generate(t, newGenerator(t, opts), 50_000)

	type minute struct {
		trades []*streams.Trade
	}
	open := map[string]*minute{}
	nextTradeID := map[string]int64{}
	nextOpen := map[string]int64{}
	klines, lastTime := 0, int64(0)
	start := opts.Start.UnixMilli()
	for i, ev := range events {
		if ev.EventTime() < lastTime {
			t.Fatalf("event %d goes back in time", i)
		}
		lastTime = ev.EventTime()
		venue, symbol := ev.Key()
		if venue != "synthetic" {
			t.Fatalf("venue %q", venue)
		}
		if open[symbol] == nil {
			open[symbol] = &minute{}
			nextTradeID[symbol] = 1
			nextOpen[symbol] = start
		}
		switch e := ev.(type) {
		case *streams.Trade:
			if e.TradeID != nextTradeID[symbol] {
				t.Fatalf("%s trade %d, want %d", symbol, e.TradeID, nextTradeID[symbol])
			}
			nextTradeID[symbol]++
			if _, r, _ := e.Price.QuoRem(opts.TickSize); !r.IsZero() || !e.Price.IsPos() {
				t.Fatalf("price %s is not a positive multiple of the tick", e.Price)
			}
			if _, r, _ := e.Qty.QuoRem(opts.LotSize); !r.IsZero() || !e.Qty.IsPos() {
				t.Fatalf("qty %s is not a positive multiple of the lot", e.Qty)
			}
			open[symbol].trades = append(open[symbol].trades, e)
		case *streams.Kline:
			klines++
			if e.OpenTime != nextOpen[symbol] || e.CloseTime != e.OpenTime+59_999 || e.Interval != "1m" {
				t.Fatalf("%s kline %d..%d, want open %d", symbol, e.OpenTime, e.CloseTime, nextOpen[symbol])
			}
			nextOpen[symbol] += 60_000
			checkCandle(t, e, open[symbol].trades)
			open[symbol].trades = nil
		default:
			t.Fatalf("unexpected %T", ev)
		}
	}
	if klines < 50_000/70 { // about one kline per 61 events of a symbol
		t.Errorf("only %d klines in 50000 events", klines)
	}
}

func checkCandle(t *testing.T, k *streams.Kline, trades []*streams.Trade) {
	t.Helper()
	if int64(len(trades)) != k.Trades {
		t.Fatalf("kline %d counts %d trades, saw %d", k.OpenTime, k.Trades, len(trades))
	}
	if len(trades) == 0 {
		if !k.Volume.IsZero() || k.Open != k.Close || k.High != k.Low || k.Open != k.High {
			t.Fatalf("empty candle %+v", k)
		}
		return
	}
	var vol, quote, takerVol, takerQuote decimal.Decimal
	high, low := trades[0].Price, trades[0].Price
	for _, tr := range trades {
		if tr.Time < k.OpenTime || tr.Time > k.CloseTime {
			t.Fatalf("trade at %d outside candle %d..%d", tr.Time, k.OpenTime, k.CloseTime)
		}
		high, low = high.Max(tr.Price), low.Min(tr.Price)
		q, _ := tr.Price.Mul(tr.Qty)
		vol, _ = vol.Add(tr.Qty)
		quote, _ = quote.Add(q)
		if !tr.BuyerMaker {
			takerVol, _ = takerVol.Add(tr.Qty)
			takerQuote, _ = takerQuote.Add(q)
		}
	}
	if k.Open != trades[0].Price || k.Close != trades[len(trades)-1].Price || k.High != high || k.Low != low ||
		k.Volume.Cmp(vol) != 0 || k.QuoteVolume.Cmp(quote) != 0 || k.TakerBuyVolume.Cmp(takerVol) != 0 || k.TakerBuyQuoteVolume.Cmp(takerQuote) != 0 {
		t.Fatalf("candle %+v disagrees with its %d trades", k, len(trades))
	}
}

// The walk's realised volatility matches the configured one (per-minute closes).
func TestVolatility(t *testing.T) {
	opts := DefaultOptions()
	opts.Symbols = []string{"BTCUSDT"}
	opts.StartPrice = decimal.MustParse("60000")
	opts.Volatility = 0.8
	g := newGenerator(t, opts)
	var closes []float64
	for len(closes) < 3000 {
		ev, err := g.Next()
		if err != nil {
			t.Fatal(err)
		}
		if k, ok := ev.(*streams.Kline); ok {
			c, _ := k.Close.Float64()
			closes = append(closes, c)
		}
	}
	var sum, sumSq float64
	for i := 1; i < len(closes); i++ {
		r := math.Log(closes[i] / closes[i-1])
		sum += r
		sumSq += r * r
	}
	n := float64(len(closes) - 1)
	perMinute := math.Sqrt(sumSq/n - (sum/n)*(sum/n))
	annual := perMinute * math.Sqrt(365.25*24*60)
	if annual < 0.72 || annual > 0.88 {
		t.Errorf("realised volatility %.3f, want 0.8 ± 10%%", annual)
	}
}

func TestOptionsErrors(t *testing.T) {
	for name, change := range map[string]func(*Options){
		"no symbols":        func(o *Options) { o.Symbols = nil },
		"repeated symbol":   func(o *Options) { o.Symbols = []string{"A", "A"} },
		"no venue":          func(o *Options) { o.Venue = "" },
		"zero rate":         func(o *Options) { o.TradesPerMinute = 0 },
		"NaN volatility":    func(o *Options) { o.Volatility = math.NaN() },
		"negative vol":      func(o *Options) { o.Volatility = -1 },
		"zero tick":         func(o *Options) { o.TickSize = decimal.Decimal{} },
		"zero lot":          func(o *Options) { o.LotSize = decimal.Decimal{} },
		"zero price":        func(o *Options) { o.StartPrice = decimal.Decimal{} },
		"price below tick":  func(o *Options) { o.StartPrice = decimal.MustParse("0.001") },
		"negative pace":     func(o *Options) { o.EventsPerSecond = -1 },
		"infinite mean lot": func(o *Options) { o.MeanLots = math.Inf(1) },
	} {
		opts := DefaultOptions()
		change(&opts)
		if _, err := New(opts); !errors.Is(err, ErrBadOptions) {
			t.Errorf("%s: err = %v, want ErrBadOptions", name, err)
		}
	}
	if _, err := New(Options{}); !errors.Is(err, ErrBadOptions) {
		t.Errorf("zero Options: err = %v", err)
	}
}

// fakeTime is a clock that moves only when Run sleeps.
type fakeTime struct {
	now    time.Time
	slept  time.Duration
	sleeps int
}

func (f *fakeTime) Clock() time.Time { return f.now }
func (f *fakeTime) Sleep(_ context.Context, d time.Duration) error {
	f.now = f.now.Add(d)
	f.slept += d
	f.sleeps++
	return nil
}

// Run at 1000 events/s spends 1 s of (fake) time per 1000 events, sleeping in steps of at
// least a millisecond; unpaced, it never sleeps.
func TestRunPacing(t *testing.T) {
	ft := &fakeTime{now: time.Unix(1_700_000_000, 0)}
	opts := DefaultOptions()
	opts.EventsPerSecond = 1000
	opts.Clock, opts.Sleep = ft.Clock, ft.Sleep
	g := newGenerator(t, opts)
	n := 0
	if err := g.Run(context.Background(), 2001, func(streams.Event) error { n++; return nil }); err != nil {
		t.Fatal(err)
	}
	if n != 2001 || ft.slept != 2*time.Second || ft.sleeps != 2000 {
		t.Errorf("%d events, slept %v in %d sleeps; want 2001, 2s, 2000", n, ft.slept, ft.sleeps)
	}

	// At 1e6 events/s a millisecond holds 1000 events: they go out in bursts.
	ft2 := &fakeTime{now: time.Unix(1_700_000_000, 0)}
	opts.EventsPerSecond = 1e6
	opts.Clock, opts.Sleep = ft2.Clock, ft2.Sleep
	g = newGenerator(t, opts)
	if err := g.Run(context.Background(), 10_000, func(streams.Event) error { return nil }); err != nil {
		t.Fatal(err)
	}
	if ft2.sleeps != 9 || ft2.slept != 9*time.Millisecond {
		t.Errorf("slept %v in %d sleeps; want 9ms in 9", ft2.slept, ft2.sleeps)
	}

	// Unpaced: the same events as Next, no sleeping.
	opts = DefaultOptions()
	opts.Sleep = func(context.Context, time.Duration) error { t.Fatal("slept while unpaced"); return nil }
	var got []streams.Event
	if err := newGenerator(t, opts).Run(context.Background(), 500, func(ev streams.Event) error { got = append(got, ev); return nil }); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, generate(t, newGenerator(t, DefaultOptions()), 500)) {
		t.Error("Run and Next give different events")
	}
}

func TestRunStops(t *testing.T) {
	stop := errors.New("stop")
	n := 0
	err := newGenerator(t, DefaultOptions()).Run(context.Background(), 0, func(streams.Event) error {
		n++
		if n == 100 {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) || n != 100 {
		t.Errorf("err %v after %d events", err, n)
	}

	ctx, cancel := context.WithCancel(context.Background())
	err = newGenerator(t, DefaultOptions()).Run(ctx, 0, func(streams.Event) error {
		cancel()
		return nil
	})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("err %v, want context.Canceled", err)
	}

	// The real timer: 50 events at 1000/s take about 50 ms, and cancelling ends the wait.
	opts := DefaultOptions()
	opts.EventsPerSecond = 1000
	begin := time.Now()
	if err := newGenerator(t, opts).Run(context.Background(), 51, func(streams.Event) error { return nil }); err != nil {
		t.Fatal(err)
	}
	if took := time.Since(begin); took < 45*time.Millisecond || took > 5*time.Second {
		t.Errorf("51 events at 1000/s took %v", took)
	}
	opts.EventsPerSecond = 0.001 // one event every 1000 s
	ctx, cancel = context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if err := newGenerator(t, opts).Run(ctx, 0, func(streams.Event) error { return nil }); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("err %v, want DeadlineExceeded", err)
	}
}

func BenchmarkNext(b *testing.B) {
	for _, symbols := range []int{1, 100, 10_000} {
		b.Run(fmt.Sprintf("%d-symbols", symbols), func(b *testing.B) {
			opts := DefaultOptions()
			opts.Symbols = SymbolNames(symbols)
			g := newGenerator(b, opts)
			b.ReportAllocs()
			for b.Loop() {
				if _, err := g.Next(); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
		})
	}
}
