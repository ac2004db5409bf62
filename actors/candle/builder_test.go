package candle

import (
	"errors"
	"math/big"
	"testing"

	"github.com/govalues/decimal"

	"github.com/synapse-trading/synapse/streams"
)

// The spot capture pair is one continuous run of about 11 minutes of BTCUSDT trades.
var tradeFiles = []string{"BTCUSDT-wsfeed-2024-08-08.txt.gz", "BTCUSDT-wsfeed-2024-08-09.txt.gz"}

func realTrades(t testing.TB) []streams.Trade {
	var trades []streams.Trade
	for _, f := range tradeFiles {
		trades = append(trades, readTrades(t, f, "binance", 0)...)
	}
	if len(trades) < 10000 {
		t.Fatalf("only %d trades in %v", len(trades), tradeFiles)
	}
	return trades
}

// refMinutes computes 1m candles from trades the straightforward way, with big.Rat.
func refMinutes(t testing.TB, trades []streams.Trade) []*refCandle {
	var out []*refCandle
	for _, tr := range trades {
		minute := tr.Time - tr.Time%60_000
		p, q := rat(t, tr.Price), rat(t, tr.Qty)
		if len(out) == 0 || out[len(out)-1].openTime != minute {
			out = append(out, &refCandle{openTime: minute, open: p, high: p, low: p,
				vol: new(big.Rat), quote: new(big.Rat), tbVol: new(big.Rat), tbQuo: new(big.Rat)})
		}
		c := out[len(out)-1]
		if p.Cmp(c.high) > 0 {
			c.high = p
		}
		if p.Cmp(c.low) < 0 {
			c.low = p
		}
		c.close = p
		pq := new(big.Rat).Mul(p, q)
		c.vol.Add(c.vol, q)
		c.quote.Add(c.quote, pq)
		if !tr.BuyerMaker {
			c.tbVol.Add(c.tbVol, q)
			c.tbQuo.Add(c.tbQuo, pq)
		}
		c.trades++
	}
	return out
}

func TestBuilderRealTrades(t *testing.T) {
	trades := realTrades(t)
	b := NewBuilder("binance", "BTCUSDT")
	var got []streams.Kline
	for i := range trades {
		k, ok, err := b.Add(&trades[i])
		if err != nil {
			t.Fatalf("trade %d: %v", trades[i].TradeID, err)
		}
		if ok {
			got = append(got, k)
		}
	}
	if k, ok := b.Flush(trades[len(trades)-1].Time); ok {
		t.Fatalf("flush inside the last minute closed it: %+v", k)
	}
	k, ok := b.Flush(trades[len(trades)-1].Time + 60_000)
	if !ok {
		t.Fatal("flush after the last minute closed nothing")
	}
	got = append(got, k)

	want := refMinutes(t, trades)
	if len(got) != len(want) {
		t.Fatalf("%d candles, want %d", len(got), len(want))
	}
	totalVol, totalTrades := new(big.Rat), int64(0)
	for i, ref := range want {
		k := got[i]
		if d := ref.diff(t, k); d != "" {
			t.Fatalf("minute %d (%d): %s", i, ref.openTime, d)
		}
		if k.Interval != "1m" || k.CloseTime != k.OpenTime+59_999 || k.Venue != "binance" || k.Symbol != "BTCUSDT" {
			t.Fatalf("minute %d: %+v", i, k)
		}
		// Consistency: OHLC bounds, VWAP inside [low, high], taker buy <= volume.
		if k.Low.Cmp(k.Open) > 0 || k.Low.Cmp(k.Close) > 0 || k.High.Cmp(k.Open) < 0 || k.High.Cmp(k.Close) < 0 {
			t.Fatalf("minute %d: OHLC out of bounds: %+v", i, k)
		}
		vwap := new(big.Rat).Quo(rat(t, k.QuoteVolume), rat(t, k.Volume))
		if vwap.Cmp(rat(t, k.Low)) < 0 || vwap.Cmp(rat(t, k.High)) > 0 {
			t.Fatalf("minute %d: VWAP %s outside [%v, %v]", i, vwap.FloatString(4), k.Low, k.High)
		}
		if k.TakerBuyVolume.Cmp(k.Volume) > 0 {
			t.Fatalf("minute %d: taker buy %v > volume %v", i, k.TakerBuyVolume, k.Volume)
		}
		totalVol.Add(totalVol, rat(t, k.Volume))
		totalTrades += k.Trades
	}
	allVol := new(big.Rat)
	for _, tr := range trades {
		allVol.Add(allVol, rat(t, tr.Qty))
	}
	if totalVol.Cmp(allVol) != 0 || totalTrades != int64(len(trades)) {
		t.Fatalf("candles hold %s in %d trades, the trades sum to %s in %d", totalVol.FloatString(8), totalTrades, allVol.FloatString(8), len(trades))
	}
	st := b.Stats()
	if st.Trades != uint64(len(trades)) || st.Candles != uint64(len(got)) || st.OutOfOrder+st.Duplicates+st.Rejected != 0 {
		t.Fatalf("stats %+v", st)
	}
	t.Logf("%d trades -> %d candles", len(trades), len(got))
}

func TestBuilderRejects(t *testing.T) {
	trades := readTrades(t, tradeFiles[0], "binance", 50)
	b := NewBuilder("binance", "BTCUSDT")
	for i := range trades {
		if _, _, err := b.Add(&trades[i]); err != nil {
			t.Fatal(err)
		}
	}
	before, _ := b.Current()
	last := trades[len(trades)-1]

	dup := last
	if _, _, err := b.Add(&dup); !errors.Is(err, ErrDuplicate) {
		t.Errorf("duplicate: %v", err)
	}
	older := trades[10]
	if _, _, err := b.Add(&older); !errors.Is(err, ErrOutOfOrder) {
		t.Errorf("older id: %v", err)
	}
	oldMinute := last
	oldMinute.TradeID += 100
	oldMinute.Time -= 120_000
	if _, _, err := b.Add(&oldMinute); !errors.Is(err, ErrOutOfOrder) {
		t.Errorf("older minute: %v", err)
	}
	for name, mutate := range map[string]func(*streams.Trade){
		"zero price":    func(tr *streams.Trade) { tr.Price = decimal.Zero },
		"negative qty":  func(tr *streams.Trade) { tr.Qty = tr.Qty.Neg() },
		"negative time": func(tr *streams.Trade) { tr.Time = -1 },
	} {
		bad := last
		bad.TradeID += 200
		mutate(&bad)
		if _, _, err := b.Add(&bad); !errors.Is(err, ErrBadTrade) {
			t.Errorf("%s: %v", name, err)
		}
	}
	other := last
	other.TradeID += 300
	other.Symbol = "ETHUSDT"
	if _, _, err := b.Add(&other); !errors.Is(err, ErrWrongSymbol) {
		t.Errorf("other symbol: %v", err)
	}
	if _, _, err := b.Add(nil); !errors.Is(err, ErrBadTrade) {
		t.Errorf("nil: %v", err)
	}
	huge := last
	huge.TradeID += 400
	huge.Qty = decimal.MustParse("999999999999999")
	if _, _, err := b.Add(&huge); !errors.Is(err, ErrInexact) {
		t.Errorf("huge: %v", err)
	}
	if after, _ := b.Current(); after != before {
		t.Errorf("rejected trades changed the candle:\n%+v\n%+v", before, after)
	}
	st := b.Stats()
	if st.Duplicates != 1 || st.OutOfOrder != 2 || st.Rejected != 6 || st.Trades != 50 {
		t.Errorf("stats %+v", st)
	}
	// After Flush, a late trade of the flushed minute is out of order.
	if _, ok := b.Flush(before.CloseTime + 1); !ok {
		t.Fatal("flush")
	}
	late := last
	late.TradeID += 500
	if _, _, err := b.Add(&late); !errors.Is(err, ErrOutOfOrder) {
		t.Errorf("late after flush: %v", err)
	}
}

// FuzzBuilder feeds arbitrary trade sequences: the builder never panics, and the volume
// in closed candles plus the open one always equals the volume of the accepted trades.
func FuzzBuilder(f *testing.F) {
	f.Add([]byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12})
	f.Add([]byte{0, 0, 0, 0, 255, 255, 255, 255, 3, 9, 27, 81})
	f.Add([]byte("61837.63 0.02 61837.64 1.5 buyer maker"))
	f.Fuzz(func(t *testing.T, data []byte) {
		b := NewBuilder("binance", "BTCUSDT")
		accepted, closed := decimal.Zero, decimal.Zero
		var id, now int64
		for i := 0; i+3 < len(data); i += 4 {
			id += int64(data[i]) - 8 // mostly increasing, sometimes repeated or going back
			now += (int64(data[i+1]) - 16) * 1000
			tr := streams.Trade{Venue: "binance", Symbol: "BTCUSDT", TradeID: id,
				Price: decimal.MustNew(int64(data[i+2])-1, int(data[i+3]%4)), Qty: decimal.MustNew(int64(data[i+3])-1, 3),
				BuyerMaker: data[i]&1 == 1, Time: now}
			k, ok, err := b.Add(&tr)
			if err == nil {
				accepted, _ = accepted.Add(tr.Qty)
			}
			if ok {
				closed, _ = closed.Add(k.Volume)
			}
			if data[i]%16 == 0 {
				if k, ok := b.Flush(now); ok {
					closed, _ = closed.Add(k.Volume)
				}
			}
		}
		open := decimal.Zero
		if k, ok := b.Current(); ok {
			open = k.Volume
		}
		total, _ := closed.Add(open)
		if !total.Equal(accepted) {
			t.Fatalf("candles hold %v, accepted trades %v", total, accepted)
		}
	})
}

// BenchmarkBuilderTrade measures one trade on real BTCUSDT trades.
func BenchmarkBuilderTrade(b *testing.B) {
	trades := realTrades(b)
	span := trades[len(trades)-1].Time - trades[0].Time + 60_000
	span -= span % 60_000
	idSpan := trades[len(trades)-1].TradeID - trades[0].TradeID + 1
	bl := NewBuilder("binance", "BTCUSDT")
	var tr streams.Trade
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		round := int64(i / len(trades))
		tr = trades[i%len(trades)]
		tr.Time += round * span
		tr.TradeID += round * idSpan
		if _, _, err := bl.Add(&tr); err != nil {
			b.Fatal(err)
		}
	}
}
