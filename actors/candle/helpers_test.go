package candle

import (
	"bufio"
	"compress/gzip"
	"encoding/csv"
	"encoding/json"
	"io"
	"math/big"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/govalues/decimal"

	"github.com/synapse-trading/synapse/streams"
)

// recordings is the repo's folder of real Binance data.
const recordings = "../../streams/recordings"

// openGz opens a gzipped recording.
func openGz(t testing.TB, name string) io.Reader {
	t.Helper()
	f, err := os.Open(filepath.Join(recordings, name))
	if err != nil {
		t.Fatalf("open recording: %v", err)
	}
	t.Cleanup(func() { f.Close() })
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return zr
}

// readKlines reads a Binance Vision 1m kline CSV (with or without a header row).
func readKlines(t testing.TB, name, venue, symbol string) []streams.Kline {
	t.Helper()
	r := csv.NewReader(openGz(t, name))
	rows, err := r.ReadAll()
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	var out []streams.Kline
	for i, row := range rows {
		if i == 0 && row[0] == "open_time" {
			continue
		}
		if len(row) < 11 {
			t.Fatalf("%s line %d: %d fields, want 12", name, i+1, len(row))
		}
		num := func(j int) int64 {
			n, err := strconv.ParseInt(row[j], 10, 64)
			if err != nil {
				t.Fatalf("%s line %d field %d: %v", name, i+1, j+1, err)
			}
			return n
		}
		dec := func(j int) decimal.Decimal {
			d, err := decimal.Parse(row[j])
			if err != nil {
				t.Fatalf("%s line %d field %d: %v", name, i+1, j+1, err)
			}
			return d
		}
		out = append(out, streams.Kline{
			Venue: venue, Symbol: symbol, Interval: "1m",
			OpenTime: num(0), Open: dec(1), High: dec(2), Low: dec(3), Close: dec(4),
			Volume: dec(5), CloseTime: num(6), QuoteVolume: dec(7), Trades: num(8),
			TakerBuyVolume: dec(9), TakerBuyQuoteVolume: dec(10),
		})
	}
	return out
}

// readTrades decodes the @trade frames of a raw websocket capture
// ("<receive ns> {"stream":...,"data":{...}}" per line), at most limit of them (0: all).
func readTrades(t testing.TB, name, venue string, limit int) []streams.Trade {
	t.Helper()
	var out []streams.Trade
	sc := bufio.NewScanner(openGz(t, name))
	sc.Buffer(make([]byte, 0, 1<<20), 8<<20)
	for line := 1; sc.Scan() && (limit == 0 || len(out) < limit); line++ {
		_, frame, ok := strings.Cut(sc.Text(), " ")
		if !ok || !strings.Contains(frame, `@trade"`) {
			continue
		}
		var env struct {
			Stream string `json:"stream"`
			Data   struct {
				Symbol string          `json:"s"`
				ID     int64           `json:"t"`
				Price  decimal.Decimal `json:"p"`
				Qty    decimal.Decimal `json:"q"`
				Time   int64           `json:"T"`
				Maker  bool            `json:"m"`
			} `json:"data"`
		}
		if err := json.Unmarshal([]byte(frame), &env); err != nil {
			t.Fatalf("%s line %d: %v", name, line, err)
		}
		d := env.Data
		out = append(out, streams.Trade{Venue: venue, Symbol: d.Symbol, TradeID: d.ID,
			Price: d.Price, Qty: d.Qty, BuyerMaker: d.Maker, Time: d.Time})
	}
	if err := sc.Err(); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return out
}

// rat converts a decimal to an exact big.Rat through its string form, so the reference
// computations in the tests do not use the decimal library's arithmetic.
func rat(t testing.TB, d decimal.Decimal) *big.Rat {
	t.Helper()
	r, ok := new(big.Rat).SetString(d.String())
	if !ok {
		t.Fatalf("cannot read %q as a number", d.String())
	}
	return r
}

// refCandle is a candle computed the obvious way with big.Rat.
type refCandle struct {
	openTime                 int64
	open, high, low, close   *big.Rat
	vol, quote, tbVol, tbQuo *big.Rat
	trades                   int64
	minutes                  int
}

// diff reports the first field of got that differs from the reference, or "".
func (ref *refCandle) diff(t testing.TB, got streams.Kline) string {
	t.Helper()
	fields := []struct {
		name string
		want *big.Rat
		got  decimal.Decimal
	}{
		{"open", ref.open, got.Open}, {"high", ref.high, got.High}, {"low", ref.low, got.Low},
		{"close", ref.close, got.Close}, {"volume", ref.vol, got.Volume},
		{"quote volume", ref.quote, got.QuoteVolume}, {"taker buy volume", ref.tbVol, got.TakerBuyVolume},
		{"taker buy quote volume", ref.tbQuo, got.TakerBuyQuoteVolume},
	}
	for _, f := range fields {
		if rat(t, f.got).Cmp(f.want) != 0 {
			return f.name + ": got " + f.got.String() + ", want " + f.want.FloatString(20)
		}
	}
	if got.Trades != ref.trades {
		return "trades: got " + strconv.FormatInt(got.Trades, 10) + ", want " + strconv.FormatInt(ref.trades, 10)
	}
	if got.OpenTime != ref.openTime {
		return "open time: got " + strconv.FormatInt(got.OpenTime, 10) + ", want " + strconv.FormatInt(ref.openTime, 10)
	}
	return ""
}
