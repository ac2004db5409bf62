package replay

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/govalues/decimal"
	"github.com/synapse-trading/synapse/streams"
)

func TestDecodeKlineRowLayouts(t *testing.T) {
	ethFirst := streams.Kline{OpenTime: 1660435200000, CloseTime: 1660435259999,
		Open: dec("1983.55000000"), High: dec("1983.90000000"), Low: dec("1982.14000000"), Close: dec("1982.29000000"),
		Volume: dec("205.13100000"), QuoteVolume: dec("406814.92308000"), Trades: 288,
		TakerBuyVolume: dec("105.29930000"), TakerBuyQuoteVolume: dec("208854.93067400")}
	tests := []struct {
		name    string
		row     string
		wantISO bool
		want    streams.Kline
	}{
		{"spot vision, epoch ms",
			"1660435200000,1983.55000000,1983.90000000,1982.14000000,1982.29000000,205.13100000,1660435259999,406814.92308000,288,105.29930000,208854.93067400,0",
			false, ethFirst},
		{"spot vision 2025+, epoch µs",
			"1660435200000000,1983.55000000,1983.90000000,1982.14000000,1982.29000000,205.13100000,1660435259999999,406814.92308000,288,105.29930000,208854.93067400,0",
			false, ethFirst},
		{"futures vision, CRLF",
			"1662336000000,19992.70,20000.00,19988.10,19996.80,482.638,1662336059999,9650791.43440,4263,302.950,6057727.57980,0\r\n",
			false, streams.Kline{OpenTime: 1662336000000, CloseTime: 1662336059999,
				Open: dec("19992.70"), High: dec("20000.00"), Low: dec("19988.10"), Close: dec("19996.80"),
				Volume: dec("482.638"), QuoteVolume: dec("9650791.43440"), Trades: 4263,
				TakerBuyVolume: dec("302.950"), TakerBuyQuoteVolume: dec("6057727.57980")}},
		{"pandas, ISO times",
			"2025-08-01 00:00:00+00:00,115764.07,115764.08,115704.78,115729.0,11.87539,2025-08-01 00:00:59.999000+00:00,1374354.6403012,1421,3.66465,424075.0494376,0",
			true, streams.Kline{OpenTime: 1754006400000, CloseTime: 1754006459999,
				Open: dec("115764.07"), High: dec("115764.08"), Low: dec("115704.78"), Close: dec("115729.0"),
				Volume: dec("11.87539"), QuoteVolume: dec("1374354.6403012"), Trades: 1421,
				TakerBuyVolume: dec("3.66465"), TakerBuyQuoteVolume: dec("424075.0494376")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var k streams.Kline
			iso, err := DecodeKlineRow(tt.row, &k)
			if err != nil {
				t.Fatal(err)
			}
			if iso != tt.wantISO {
				t.Errorf("iso = %v, want %v", iso, tt.wantISO)
			}
			if k != tt.want {
				t.Errorf("got  %+v\nwant %+v", k, tt.want)
			}
		})
	}
}

func TestDecodeKlineRowErrors(t *testing.T) {
	const good = "1660435200000,1983.55,1983.90,1982.14,1982.29,205.131,1660435259999,406814.92308,288,105.2993,208854.930674,0"
	cols := strings.Split(good, ",")
	with := func(i int, v string) string {
		c := append([]string(nil), cols...)
		c[i] = v
		return strings.Join(c, ",")
	}
	tests := []struct {
		name, row, want string
	}{
		{"empty", "", "1 columns, want 12"},
		{"11 columns", strings.Join(cols[:11], ","), "11 columns, want 12"},
		{"13 columns", good + ",0", "13 columns, want 12"},
		{"bad open", with(1, "1983.5x"), "column 2 (open)"},
		{"bad volume", with(5, ""), "column 6 (volume)"},
		{"bad count", with(8, "2.5"), "column 9 (count)"},
		{"bad open time", with(0, "yesterday"), "column 1 (open_time)"},
		{"bad ISO time", with(0, "2025-13-01 00:00:00+00:00"), "column 1 (open_time)"},
		{"mixed time formats", with(0, "2022-08-14 00:00:00+00:00"), "different formats"},
		{"close before open", with(6, "1660435100000"), "not after open_time"},
		{"zero price", with(3, "0"), "low price 0 is not positive"},
		{"negative price", with(1, "-1983.55"), "open price -1983.55 is not positive"},
		{"low above open", with(3, "1983.60"), "low 1983.60 is above open"},
		{"high below close", with(2, "1982.20"), "high 1982.20 is below"},
		{"negative volume", with(5, "-1"), "volume -1 is negative"},
		{"negative count", with(8, "-1"), "count -1 is negative"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var k streams.Kline
			_, err := DecodeKlineRow(tt.row, &k)
			if !errors.Is(err, ErrBadRow) {
				t.Fatalf("err = %v, want ErrBadRow", err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %q, want it to mention %q", err, tt.want)
			}
		})
	}
}

func TestIsKlineHeader(t *testing.T) {
	for line, want := range map[string]bool{
		"open_time,open,high,low,close,volume,close_time,quote_volume,count,taker_buy_volume,taker_buy_quote_volume,ignore": true,
		"open_time,open,high,low,close,volume,close_time,quote_volume,trade_count,taker_buy_base,taker_buy_quote,ignore":    true,
		"1660435200000,1983.55,...":      false,
		"2025-08-01 00:00:00+00:00,1,..": false,
		"":                               false,
	} {
		if got := IsKlineHeader(line); got != want {
			t.Errorf("IsKlineHeader(%.30q) = %v, want %v", line, got, want)
		}
	}
}

// The bundled kline files: row counts, venue, symbol, interval and exact first and last rows.
func TestKlineRecordings(t *testing.T) {
	t.Parallel()
	tests := []struct {
		file, venue, symbol string
		rows                int
		first, last         string // open time and close of the first and last rows
	}{
		{spotKlines14, VenueSpot, "ETHUSDT", 1440, "1660435200000 1982.29000000", "1660521540000 1935.31000000"},
		{spotKlines15, VenueSpot, "ETHUSDT", 1440, "1660521600000 1934.26000000", "1660607940000 1899.06000000"},
		{futuresKlines05, VenueFutures, "BTCUSDT", 1440, "1662336000000 19996.80", "1662422340000 19784.90"},
		{futuresKlines06, VenueFutures, "BTCUSDT", 1440, "1662422400000 19794.90", "1662508740000 18781.50"},
		{futuresKlineAVAX, VenueFutures, "AVAXUSDT", 40320, "1769904000000 10.1280", "1772323140000 9.1620"},
		{futuresKlineLINK, VenueFutures, "LINKUSDT", 40320, "1769904000000 9.987", "1772323140000 8.840"},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			r := openRecording(t, tt.file, ReaderOptions{})
			recs := readAll(t, r)
			st := r.Stats()
			if len(recs) != tt.rows || st.Records != int64(tt.rows) || st.Malformed != 0 || st.Duplicates != 0 || st.OutOfOrder != 0 {
				t.Fatalf("%d records, stats %+v; want %d clean rows", len(recs), st, tt.rows)
			}
			if st.Format != FormatKlines || st.Venue != tt.venue {
				t.Errorf("format %s venue %s, want klines %s", st.Format, st.Venue, tt.venue)
			}
			brief := func(rec Record) string {
				k := rec.Event.(*streams.Kline)
				return fmt.Sprintf("%d %s", k.OpenTime, k.Close)
			}
			if got := brief(recs[0]); got != tt.first {
				t.Errorf("first = %s, want %s", got, tt.first)
			}
			if got := brief(recs[len(recs)-1]); got != tt.last {
				t.Errorf("last = %s, want %s", got, tt.last)
			}
			for i, rec := range recs {
				k := rec.Event.(*streams.Kline)
				if k.Venue != tt.venue || k.Symbol != tt.symbol || k.Interval != "1m" || rec.At != k.CloseTime*1e6 ||
					k.CloseTime != k.OpenTime+59_999 || rec.Source != tt.file {
					t.Fatalf("record %d: %+v at %d from %s", i, k, rec.At, rec.Source)
				}
				if i > 0 && k.OpenTime != recs[i-1].Event.(*streams.Kline).OpenTime+60_000 {
					t.Fatalf("record %d: open time %d does not follow the previous by 1m", i, k.OpenTime)
				}
			}
			// Line numbers count the header.
			wantLine := 1
			if tt.venue == VenueFutures {
				wantLine = 2
			}
			if recs[0].Line != wantLine {
				t.Errorf("first record on line %d, want %d", recs[0].Line, wantLine)
			}
		})
	}
}

// The pandas/REST layout (ISO times, header) reads as spot.
func TestKlinePandasLayout(t *testing.T) {
	r, err := OpenFile(pandasKlines, ReaderOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	recs := readAll(t, r)
	if len(recs) != 300 || r.Stats().Malformed != 0 {
		t.Fatalf("%d records, stats %+v; want 300 clean", len(recs), r.Stats())
	}
	first := recs[0].Event.(*streams.Kline)
	last := recs[299].Event.(*streams.Kline)
	if first.Venue != VenueSpot || first.Symbol != "BTCUSDT" || first.Interval != "1m" {
		t.Errorf("first = %+v", first)
	}
	if first.OpenTime != 1754006400000 || first.CloseTime != 1754006459999 || first.Close != dec("115729.0") {
		t.Errorf("first = %+v", first)
	}
	if last.OpenTime != 1754006400000+299*60_000 || last.Close != dec("115695.52") {
		t.Errorf("last = %+v", last)
	}
}

// Epoch-µs files (Binance Vision spot from 2025) read the same as epoch-ms ones.
func TestKlineMicroseconds(t *testing.T) {
	lines := recordingLines(t, spotKlines14, 50)
	var micros strings.Builder
	for _, l := range lines {
		c := strings.Split(l, ",")
		for _, i := range []int{0, 6} {
			ms, _ := strconv.ParseInt(c[i], 10, 64)
			c[i] = strconv.FormatInt(ms*1000+999*int64(i/6), 10)
		}
		micros.WriteString(strings.Join(c, ",") + "\n")
	}
	ms := readAll(t, openRecording(t, spotKlines14, ReaderOptions{}))[:50]
	r, err := NewReader(strings.NewReader(micros.String()), "ETHUSDT-1m-2025-01-01.csv", ReaderOptions{})
	if err != nil {
		t.Fatal(err)
	}
	us := readAll(t, r)
	if len(us) != 50 {
		t.Fatalf("%d records, want 50 (stats %+v)", len(us), r.Stats())
	}
	for i := range us {
		if *us[i].Event.(*streams.Kline) != *ms[i].Event.(*streams.Kline) {
			t.Fatalf("row %d: µs %+v != ms %+v", i, us[i].Event, ms[i].Event)
		}
	}
}

// Options override the symbol, interval and venue; without them a name with no interval
// gets one from the candle span.
func TestKlineOverrides(t *testing.T) {
	rows := strings.Join(recordingLines(t, futuresKlines05, 3), "\n")
	r, err := NewReader(strings.NewReader(rows), "BTCUSDT.csv", ReaderOptions{})
	if err != nil {
		t.Fatal(err)
	}
	k := readAll(t, r)[0].Event.(*streams.Kline)
	if k.Symbol != "BTCUSDT" || k.Interval != "1m" || k.Venue != VenueFutures {
		t.Errorf("detected %s %s %s", k.Venue, k.Symbol, k.Interval)
	}
	r, err = NewReader(strings.NewReader(rows), "data.csv", ReaderOptions{Venue: "binance-test", Symbol: "XBTUSD", Interval: "1min"})
	if err != nil {
		t.Fatal(err)
	}
	k = readAll(t, r)[0].Event.(*streams.Kline)
	if k.Symbol != "XBTUSD" || k.Interval != "1min" || k.Venue != "binance-test" {
		t.Errorf("overridden %s %s %s", k.Venue, k.Symbol, k.Interval)
	}
	if _, err := NewReader(strings.NewReader(rows), "data.csv", ReaderOptions{}); !errors.Is(err, ErrNoSymbol) {
		t.Errorf("a name with no symbol: err = %v, want ErrNoSymbol", err)
	}
}

func TestIntervalFromSpan(t *testing.T) {
	for span, want := range map[int64]string{1000: "1s", 60_000: "1m", 900_000: "15m", 3_600_000: "1h",
		14_400_000: "4h", 86_400_000: "1d", 604_800_000: "1w", 1234: ""} {
		if got := intervalFromSpan(0, span-1); got != want {
			t.Errorf("span %d: %q, want %q", span, got, want)
		}
	}
}

// FuzzDecodeKlineRow: no row panics, and whatever decodes is a consistent candle that
// decodes again to itself when written back.
func FuzzDecodeKlineRow(f *testing.F) {
	for _, name := range []string{spotKlines14, futuresKlines05, futuresKlineAVAX} {
		for _, l := range recordingLines(f, name, 3) {
			f.Add(l)
		}
	}
	f.Add("2025-08-01 00:00:00+00:00,115764.07,115764.08,115704.78,115729.0,11.87539,2025-08-01 00:00:59.999000+00:00,1374354.6403012,1421,3.66465,424075.0494376,0")
	f.Add("1660435200000000,1,2,0.5,1.5,0,1660435259999999,0,0,0,0,0")
	f.Add(",,,,,,,,,,,")
	f.Fuzz(func(t *testing.T, row string) {
		var k streams.Kline
		_, err := DecodeKlineRow(row, &k)
		if err != nil {
			if !errors.Is(err, ErrBadRow) {
				t.Fatalf("error %v does not wrap ErrBadRow", err)
			}
			return
		}
		positive := func(d decimal.Decimal) bool { return d.IsPos() }
		if !positive(k.Open) || !positive(k.High) || !positive(k.Low) || !positive(k.Close) ||
			k.Low.Cmp(k.Open) > 0 || k.Low.Cmp(k.Close) > 0 || k.High.Cmp(k.Open) < 0 || k.High.Cmp(k.Close) < 0 ||
			k.CloseTime <= k.OpenTime || k.Volume.IsNeg() || k.Trades < 0 {
			t.Fatalf("inconsistent candle %+v from %q", k, row)
		}
		again := fmt.Sprintf("%d,%s,%s,%s,%s,%s,%d,%s,%d,%s,%s,0", k.OpenTime, k.Open, k.High, k.Low, k.Close,
			k.Volume, k.CloseTime, k.QuoteVolume, k.Trades, k.TakerBuyVolume, k.TakerBuyQuoteVolume)
		var k2 streams.Kline
		if _, err := DecodeKlineRow(again, &k2); err != nil || k2 != k {
			t.Fatalf("round trip of %q: %+v, %v; want %+v", again, k2, err, k)
		}
	})
}

// Files shaped by other tools read as the Binance Vision file they came from: a UTF-8
// byte-order mark, epoch seconds, close times to the whole second or at the next open,
// and, for a headered file, epoch µs (spot's from 2025) rather than futures.
func TestKlineOtherToolsForms(t *testing.T) {
	want := readAll(t, openRecording(t, spotKlines14, ReaderOptions{}))[:30]
	lines := recordingLines(t, spotKlines14, 30)
	rewrite := func(f func(c []string, ms [2]int64)) string {
		var b strings.Builder
		for _, l := range lines {
			c := strings.Split(l, ",")
			var ms [2]int64
			ms[0], _ = strconv.ParseInt(c[0], 10, 64)
			ms[1], _ = strconv.ParseInt(c[6], 10, 64)
			f(c, ms)
			b.WriteString(strings.Join(c, ",") + "\r\n")
		}
		return b.String()
	}
	forms := map[string]string{
		"bom": "\xef\xbb\xbf" + rewrite(func([]string, [2]int64) {}),
		"seconds": rewrite(func(c []string, ms [2]int64) {
			c[0], c[6] = strconv.FormatInt(ms[0]/1000, 10), strconv.FormatInt(ms[1]/1000, 10)
		}),
		"close at next open": rewrite(func(c []string, ms [2]int64) { c[6] = strconv.FormatInt(ms[1]+1, 10) }),
		"iso close to the second": rewrite(func(c []string, ms [2]int64) {
			c[0] = time.UnixMilli(ms[0]).UTC().Format("2006-01-02 15:04:05+00:00")
			c[6] = time.UnixMilli(ms[1]).UTC().Format("2006-01-02 15:04:05+00:00") // 00:00:59
		}),
	}
	for name, data := range forms {
		t.Run(name, func(t *testing.T) {
			r, err := NewReader(strings.NewReader(data), "ETHUSDT-1m-2022-08-14.csv", ReaderOptions{})
			if err != nil {
				t.Fatal(err)
			}
			got := readAll(t, r)
			if len(got) != len(want) || r.Stats().Malformed != 0 || r.Stats().Venue != VenueSpot {
				t.Fatalf("%d records, want %d; stats %+v", len(got), len(want), r.Stats())
			}
			for i := range got {
				if *got[i].Event.(*streams.Kline) != *want[i].Event.(*streams.Kline) {
					t.Fatalf("row %d: %+v, want %+v", i, got[i].Event, want[i].Event)
				}
			}
		})
	}
	micros := "open_time,open,high,low,close,volume,close_time,quote_volume,count,taker_buy_volume,taker_buy_quote_volume,ignore\n" +
		rewrite(func(c []string, ms [2]int64) {
			c[0], c[6] = strconv.FormatInt(ms[0]*1000, 10), strconv.FormatInt(ms[1]*1000+999, 10)
		})
	r, err := NewReader(strings.NewReader(micros), "ETHUSDT-1m-2025-01-01.csv", ReaderOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got := readAll(t, r); len(got) != len(want) || r.Stats().Venue != VenueSpot {
		t.Fatalf("µs with a header: %d records, venue %q, want spot", len(got), r.Stats().Venue)
	}
}

// The candles' span tells the interval before the file name does, and the symbol option
// only names files whose names do not.
func TestKlineSpanAndSymbolOption(t *testing.T) {
	var fiveMin strings.Builder
	for _, l := range recordingLines(t, spotKlines14, 10) {
		c := strings.Split(l, ",")
		open, _ := strconv.ParseInt(c[0], 10, 64)
		open *= 5
		c[0], c[6] = strconv.FormatInt(open, 10), strconv.FormatInt(open+299_999, 10)
		fiveMin.WriteString(strings.Join(c, ",") + "\n")
	}
	r, err := NewReader(strings.NewReader(fiveMin.String()), "ETHUSDT-1m-2022-08-14.csv", ReaderOptions{Symbol: "BTCUSDT"})
	if err != nil {
		t.Fatal(err)
	}
	rec := readAll(t, r)[0]
	if rec.Format != FormatKlines {
		t.Errorf("record format %q", rec.Format)
	}
	k := rec.Event.(*streams.Kline)
	if k.Interval != "5m" || k.Symbol != "ETHUSDT" {
		t.Errorf("5m candles in a -1m- file named ETHUSDT, --symbol BTCUSDT: read as %s %s", k.Symbol, k.Interval)
	}
}

// A number too long for a decimal is named as such, not as text.
func TestKlineTooManyDigits(t *testing.T) {
	row := "1660435200000,1958.07,1961.41,1957.84,1960.1,1125.6146,1660435259999,12345678901234567890.5,1234,500.1,979895.57,0"
	var k streams.Kline
	if _, err := DecodeKlineRow(row, &k); err == nil || !strings.Contains(err.Error(), "more digits than a decimal holds") {
		t.Errorf("err = %v", err)
	}
}

// A file name names a symbol when it is written as Binance Vision writes them or ends
// with a quote asset; any other upper-case word is not guessed to be one.
func TestNameHints(t *testing.T) {
	for name, want := range map[string]nameHints{
		"BTCUSDT-1m-2022-09-05.csv.gz":        {Symbol: "BTCUSDT", Interval: "1m"},
		"1000PEPEUSDT.csv":                    {Symbol: "1000PEPEUSDT"},
		"ETHBTC-wsfeed-2024-08-08.txt.gz":     {Symbol: "ETHBTC"},
		"BTCUSDT-futures-wsfeed-2024.txt":     {Symbol: "BTCUSDT", Venue: VenueFutures},
		"XBTUSD-1h-2024-01.csv":               {Symbol: "XBTUSD", Interval: "1h"},
		"PRICES.csv":                          {},
		"EXPORT-2024-01.csv":                  {},
		"/data/spot/SOLUSDT-5m-2024-01.zip":   {Symbol: "SOLUSDT", Interval: "5m"}, // the folder is not the name
		"BTCUSDT-1m-2022-09-05-renamed1m.csv": {Symbol: "BTCUSDT", Interval: "1m"},
	} {
		if got := hintsFromName(name); got != want {
			t.Errorf("%s: %+v, want %+v", name, got, want)
		}
	}
}
