package replay

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/govalues/decimal"
	"github.com/synapse-trading/synapse/streams"
)

func dec(s string) decimal.Decimal { return decimal.MustParse(s) }

// splitLine splits a real capture line for the tests.
func splitLine(t testing.TB, line string) (int64, []byte) {
	t.Helper()
	recvNs, frame, err := splitCaptureLine([]byte(line))
	if err != nil {
		t.Fatal(err)
	}
	return recvNs, frame
}

func TestDecodeFrameSpot(t *testing.T) {
	trade := `1723161254087896568 {"stream":"btcusdt@trade","data":{"e":"trade","E":1723161255343,"s":"BTCUSDT","t":3735683259,"p":"61837.63000000","q":"0.02000000","T":1723161255342,"m":true,"M":true}}`
	ticker := `1723161254087891268 {"stream":"btcusdt@bookTicker","data":{"u":50093239212,"s":"BTCUSDT","b":"61837.63000000","B":"3.78826000","a":"61837.64000000","A":"1.54698000"}}`
	depth := `1723161254036059768 {"stream":"btcusdt@depth@100ms","data":{"e":"depthUpdate","E":1723161255308,"s":"BTCUSDT","U":50093239203,"u":50093239207,"b":[["55653.87000000","0.00000000"]],"a":[["61838.04000000","0.32332000"],["61844.30000000","0.40163000"]]}}`
	tests := []struct {
		name string
		line string
		want streams.Event
	}{
		{"trade", trade, &streams.Trade{Venue: VenueSpot, Symbol: "BTCUSDT", TradeID: 3735683259,
			Price: dec("61837.63000000"), Qty: dec("0.02000000"), BuyerMaker: true, Time: 1723161255342}},
		{"bookTicker", ticker, &streams.Ticker{Venue: VenueSpot, Symbol: "BTCUSDT", UpdateID: 50093239212,
			Time:     1723161254087, // the receive time: spot bookTicker has no event time
			BidPrice: dec("61837.63000000"), BidQty: dec("3.78826000"), AskPrice: dec("61837.64000000"), AskQty: dec("1.54698000")}},
		{"depth", depth, &streams.Depth{Venue: VenueSpot, Symbol: "BTCUSDT", FirstID: 50093239203, FinalID: 50093239207,
			Time: 1723161255308, Bids: []streams.Level{{Price: dec("55653.87000000"), Qty: dec("0.00000000")}},
			Asks: []streams.Level{{Price: dec("61838.04000000"), Qty: dec("0.32332000")}, {Price: dec("61844.30000000"), Qty: dec("0.40163000")}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			recvNs, frame := splitLine(t, tt.line)
			got, err := DecodeFrame("", recvNs, frame)
			if err != nil {
				t.Fatal(err)
			}
			if !eventsEqual(got, tt.want) {
				t.Errorf("got  %+v\nwant %+v", got, tt.want)
			}
			if v := FrameVenue(frame); v != VenueSpot {
				t.Errorf("FrameVenue = %q, want %q", v, VenueSpot)
			}
		})
	}
}

func TestDecodeFrameFutures(t *testing.T) {
	trade := `1723161255088176367 {"stream":"btcusdt@trade","data":{"e":"trade","E":1723161256322,"T":1723161256322,"s":"BTCUSDT","t":5266583935,"p":"61800.30","q":"0.006","X":"MARKET","m":false}}`
	ticker := `1723161255088169167 {"stream":"btcusdt@bookTicker","data":{"e":"bookTicker","u":5123107839020,"s":"BTCUSDT","b":"61800.20","B":"2.507","a":"61800.30","A":"2.510","T":1723161256313,"E":1723161256314}}`
	depth := `1723161255088309867 {"stream":"btcusdt@depth@0ms","data":{"e":"depthUpdate","E":1723161256352,"T":1723161256352,"s":"BTCUSDT","U":5123107837801,"u":5123107842679,"pu":5123107837557,"b":[["1000.00","606.675"]],"a":[]}}`
	tests := []struct {
		name string
		line string
		want streams.Event
	}{
		{"trade", trade, &streams.Trade{Venue: VenueFutures, Symbol: "BTCUSDT", TradeID: 5266583935,
			Price: dec("61800.30"), Qty: dec("0.006"), BuyerMaker: false, Time: 1723161256322}},
		{"bookTicker", ticker, &streams.Ticker{Venue: VenueFutures, Symbol: "BTCUSDT", UpdateID: 5123107839020,
			Time: 1723161256314, BidPrice: dec("61800.20"), BidQty: dec("2.507"), AskPrice: dec("61800.30"), AskQty: dec("2.510")}},
		{"depth", depth, &streams.Depth{Venue: VenueFutures, Symbol: "BTCUSDT", FirstID: 5123107837801, FinalID: 5123107842679,
			PrevFinalID: 5123107837557, Time: 1723161256352,
			Bids: []streams.Level{{Price: dec("1000.00"), Qty: dec("606.675")}}, Asks: []streams.Level{}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			recvNs, frame := splitLine(t, tt.line)
			got, err := DecodeFrame("", recvNs, frame)
			if err != nil {
				t.Fatal(err)
			}
			if !eventsEqual(got, tt.want) {
				t.Errorf("got  %+v\nwant %+v", got, tt.want)
			}
			if v := FrameVenue(frame); v != VenueFutures {
				t.Errorf("FrameVenue = %q, want %q", v, VenueFutures)
			}
		})
	}
}

func TestDecodeFrameAggTrade(t *testing.T) {
	spot := []byte(`{"stream":"ethusdt@aggTrade","data":{"e":"aggTrade","E":1723161255343,"s":"ETHUSDT","a":987654,"p":"2600.10","q":"1.5","f":100,"l":105,"T":1723161255342,"m":false,"M":true}}`)
	futures := []byte(`{"e":"aggTrade","E":1723161255343,"s":"ETHUSDT","a":987654,"p":"2600.10","q":"1.5","f":100,"l":105,"T":1723161255342,"m":true}`)
	for _, tt := range []struct {
		frame []byte
		venue string
		maker bool
	}{{spot, VenueSpot, false}, {futures, VenueFutures, true}} {
		ev, err := DecodeFrame("", 1723161254000000000, tt.frame)
		if err != nil {
			t.Fatal(err)
		}
		want := &streams.Trade{Venue: tt.venue, Symbol: "ETHUSDT", TradeID: 987654, Price: dec("2600.10"),
			Qty: dec("1.5"), BuyerMaker: tt.maker, Time: 1723161255342, Aggregate: true}
		if !eventsEqual(ev, want) {
			t.Errorf("got %+v, want %+v", ev, want)
		}
	}
}

// A bare payload (a raw /ws stream, no envelope) decodes like the enveloped one.
func TestDecodeFrameBarePayload(t *testing.T) {
	line := lineWith(t, spotCapture08, `@trade"`)
	recvNs, frame := splitLine(t, line)
	enveloped, err := DecodeFrame("", recvNs, frame)
	if err != nil {
		t.Fatal(err)
	}
	payload := frame[strings.Index(string(frame), `"data":`)+len(`"data":`) : len(frame)-1]
	bare, err := DecodeFrame("", recvNs, payload)
	if err != nil {
		t.Fatal(err)
	}
	if !eventsEqual(enveloped, bare) {
		t.Errorf("bare %+v != enveloped %+v", bare, enveloped)
	}
}

func TestDecodeSnapshot(t *testing.T) {
	line := recordingLines(t, spotCapture08, 8)[7]
	recvNs, frame := splitLine(t, line)

	if _, err := DecodeFrame("", recvNs, frame); !errors.Is(err, ErrNoSymbol) {
		t.Fatalf("DecodeFrame on a bare snapshot: err = %v, want ErrNoSymbol", err)
	}
	if _, err := DecodeSnapshot("", "", recvNs, frame); !errors.Is(err, ErrNoSymbol) {
		t.Fatalf("DecodeSnapshot with no symbol: err = %v, want ErrNoSymbol", err)
	}
	s, err := DecodeSnapshot("", "BTCUSDT", recvNs, frame)
	if err != nil {
		t.Fatal(err)
	}
	if s.Venue != VenueSpot || s.Symbol != "BTCUSDT" || s.LastUpdateID != 50093239218 || s.Time != recvNs/1e6 {
		t.Errorf("snapshot header = %s %s %d %d", s.Venue, s.Symbol, s.LastUpdateID, s.Time)
	}
	if len(s.Bids) != 1000 || len(s.Asks) != 1000 {
		t.Errorf("levels = %d bids, %d asks; want 1000 each", len(s.Bids), len(s.Asks))
	}
	if want := (streams.Level{Price: dec("61837.63000000"), Qty: dec("3.78826000")}); s.Bids[0] != want {
		t.Errorf("best bid = %+v, want %+v", s.Bids[0], want)
	}

	// A futures snapshot carries E and T: its venue shows.
	fline := lineWith(t, futuresCapture, `{"lastUpdateId"`)
	recvNs, frame = splitLine(t, fline)
	fs, err := DecodeSnapshot("", "BTCUSDT", recvNs, frame)
	if err != nil {
		t.Fatal(err)
	}
	if fs.Venue != VenueFutures || fs.LastUpdateID != 5123107852948 {
		t.Errorf("futures snapshot = %s %d", fs.Venue, fs.LastUpdateID)
	}

	// A trade is not a snapshot.
	recvNs, frame = splitLine(t, lineWith(t, spotCapture08, `@trade"`))
	if _, err := DecodeSnapshot("", "BTCUSDT", recvNs, frame); !errors.Is(err, ErrBadFrame) {
		t.Errorf("DecodeSnapshot on a trade: err = %v, want ErrBadFrame", err)
	}
}

// A partial-depth stream (@depth20) is a snapshot whose symbol is in the stream name.
func TestDecodeFramePartialDepth(t *testing.T) {
	frame := []byte(`{"stream":"ethusdt@depth5@100ms","data":{"lastUpdateId":160,"bids":[["0.0024","10"]],"asks":[["0.0026","100"]]}}`)
	ev, err := DecodeFrame(VenueSpot, 1_700_000_000_000_000_000, frame)
	if err != nil {
		t.Fatal(err)
	}
	s, ok := ev.(*streams.Snapshot)
	if !ok || s.Symbol != "ETHUSDT" || s.LastUpdateID != 160 || len(s.Bids) != 1 || s.Time != 1_700_000_000_000 {
		t.Errorf("got %+v", ev)
	}
	// The stream's name wins over the symbol a reader would give a bare snapshot (its file's).
	if ev, err := decodeFrame(VenueSpot, "BTCUSDT", 1, frame); err != nil || ev.(*streams.Snapshot).Symbol != "ETHUSDT" {
		t.Errorf("with BTCUSDT for bare snapshots: %+v, %v", ev, err)
	}
}

func TestDecodeFrameErrors(t *testing.T) {
	tests := []struct {
		name  string
		frame string
		want  string // in the message
	}{
		{"empty", ``, "not an object"},
		{"not JSON", `hello`, "not an object"},
		{"truncated", `{"stream":"btcusdt@trade","data":{"e":"trade","E":1`, "not closed"},
		{"trailing garbage", `{"e":"trade"} x`, "unexpected data"},
		{"envelope without data", `{"stream":"btcusdt@trade"}`, `"data"`},
		{"unrecognised", `{"x":1}`, "not a trade"},
		{"missing price", `{"e":"trade","E":1,"s":"BTCUSDT","t":1,"q":"1","T":1,"m":true}`, `"p" is missing`},
		{"bad price", `{"e":"trade","E":1,"s":"BTCUSDT","t":1,"p":"abc","q":"1","T":1,"m":true}`, `"p"`},
		{"zero price", `{"e":"trade","E":1,"s":"BTCUSDT","t":1,"p":"0","q":"1","T":1,"m":true}`, "must be positive"},
		{"negative qty", `{"e":"trade","E":1,"s":"BTCUSDT","t":1,"p":"1","q":"-1","T":1,"m":true}`, "must be positive"},
		{"bad bool", `{"e":"trade","E":1,"s":"BTCUSDT","t":1,"p":"1","q":"1","T":1,"m":"yes"}`, "not a boolean"},
		{"empty symbol", `{"e":"trade","E":1,"s":"","t":1,"p":"1","q":"1","T":1,"m":true}`, `"s"`},
		{"id overflow", `{"e":"trade","E":1,"s":"X","t":99999999999999999999,"p":"1","q":"1","T":1,"m":true}`, `"t"`},
		// encoding/json would fill "t" from "T" (it matches keys case-insensitively); this must not.
		{"case trap", `{"e":"trade","E":1,"s":"BTCUSDT","p":"1","q":"1","T":1,"m":true}`, `"t" is missing`},
		{"depth level not a pair", `{"e":"depthUpdate","E":1,"s":"BTCUSDT","U":1,"u":2,"b":[["1"]],"a":[]}`, "want [price, qty]"},
		{"depth ids reversed", `{"e":"depthUpdate","E":1,"s":"BTCUSDT","U":3,"u":2,"b":[],"a":[]}`, "is after"},
		{"depth negative qty", `{"e":"depthUpdate","E":1,"s":"BTCUSDT","U":1,"u":2,"b":[["1","-2"]],"a":[]}`, "negative"},
		{"ticker bad qty", `{"u":1,"s":"BTCUSDT","b":"1","B":"x","a":"2","A":"1"}`, `"B"`},
		{"snapshot bids not an array", `{"lastUpdateId":1,"bids":{},"asks":[]}`, "not an array"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := decodeFrame("", "BTCUSDT", 1, []byte(tt.frame))
			if !errors.Is(err, ErrBadFrame) {
				t.Fatalf("err = %v, want ErrBadFrame", err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %q, want it to mention %q", err, tt.want)
			}
		})
	}
}

// Frames of streams a replay does not read, and replies to subscription requests, are told
// apart from malformed ones: they wrap ErrOtherStream, not ErrBadFrame.
func TestDecodeFrameOtherStreams(t *testing.T) {
	for _, frame := range []string{
		`{"stream":"btcusdt@markPrice@1s","data":{"e":"markPriceUpdate","E":1,"s":"BTCUSDT","p":"61650.1"}}`,
		`{"stream":"btcusdt@forceOrder","data":{"e":"forceOrder","E":1,"o":{"s":"BTCUSDT"}}}`,
		`{"e":"24hrTicker","E":1,"s":"BTCUSDT","c":"61650"}`,
		`{"e":"outboundAccountPosition"}`,
		`{"result":null,"id":1}`,
		`{"error":{"code":2,"msg":"Invalid request"},"id":2}`,
	} {
		_, err := decodeFrame("", "BTCUSDT", 1, []byte(frame))
		if !errors.Is(err, ErrOtherStream) || errors.Is(err, ErrBadFrame) {
			t.Errorf("%s: err = %v, want ErrOtherStream", frame, err)
		}
	}
	// an id alone is not a reply; a bad payload in a stream it reads stays malformed
	for _, frame := range []string{`{"id":1}`, `{"stream":"btcusdt@trade","data":{"e":"trade","p":"x"}}`} {
		if _, err := decodeFrame("", "BTCUSDT", 1, []byte(frame)); !errors.Is(err, ErrBadFrame) {
			t.Errorf("%s: err = %v, want ErrBadFrame", frame, err)
		}
	}
}

func TestSplitCaptureLine(t *testing.T) {
	for _, bad := range []string{"", "no-space", "12x {}", "-5 {}", "0 {}", " {}"} {
		if _, _, err := splitCaptureLine([]byte(bad)); !errors.Is(err, ErrBadFrame) {
			t.Errorf("splitCaptureLine(%q): err = %v, want ErrBadFrame", bad, err)
		}
	}
}

// Every real frame decodes to exactly what an encoding/json reference decoder produces.
func TestDecodeFrameMatchesEncodingJSON(t *testing.T) {
	t.Parallel()
	for _, file := range []struct {
		name, venue string
		lines       int
	}{{spotCapture08, VenueSpot, 8000}, {spotCapture09, VenueSpot, 4000}, {futuresCapture, VenueFutures, 8000}} {
		for i, line := range recordingLines(t, file.name, file.lines) {
			recvNs, frame := splitLine(t, line)
			got, err := decodeFrame(file.venue, "BTCUSDT", recvNs, frame)
			if err != nil {
				t.Fatalf("%s:%d: %v", file.name, i+1, err)
			}
			want, err := refDecode(file.venue, "BTCUSDT", recvNs, frame)
			if err != nil {
				t.Fatalf("%s:%d: reference: %v", file.name, i+1, err)
			}
			if !eventsEqual(got, want) {
				t.Fatalf("%s:%d:\ngot  %+v\nwant %+v", file.name, i+1, got, want)
			}
		}
	}
}

// eventsEqual compares events field by field; decimals compare by value and scale.
func eventsEqual(a, b streams.Event) bool {
	norm := func(ev streams.Event) streams.Event {
		// Treat nil and empty level slices alike.
		if d, ok := ev.(*streams.Depth); ok {
			c := *d
			if len(c.Bids) == 0 {
				c.Bids = nil
			}
			if len(c.Asks) == 0 {
				c.Asks = nil
			}
			return &c
		}
		return ev
	}
	return reflect.DeepEqual(norm(a), norm(b))
}

// FuzzDecodeFrame: no input panics, and whatever decodes is a well-formed event.
func FuzzDecodeFrame(f *testing.F) {
	for _, name := range []string{spotCapture08, futuresCapture} {
		for _, line := range recordingLines(f, name, 60) {
			if len(line) < 4096 { // keep the corpus small: skip the 60 KB snapshot
				_, frame, _ := splitCaptureLine([]byte(line))
				f.Add(frame)
			}
		}
	}
	f.Add([]byte(`{"lastUpdateId":1,"bids":[["1","2"]],"asks":[]}`))
	f.Add([]byte(`{"stream":"ethusdt@aggTrade","data":{"e":"aggTrade","E":1,"s":"ETHUSDT","a":9,"p":"2","q":"1","T":1,"m":true}}`))
	f.Add([]byte(`{"s":"\u0042TC","e":"trade"}`))
	f.Add([]byte(`{"stream":"ethusdt@kline_1m","data":{"e":"kline","E":1,"s":"ETHUSDT","k":{"t":60000,"T":119999,"s":"ETHUSDT","i":"1m",` +
		`"o":"2","c":"2.5","h":"3","l":"1","v":"10","n":4,"x":true,"q":"20","V":"5","Q":"10"}}}`))
	f.Fuzz(func(t *testing.T, frame []byte) {
		ev, err := decodeFrame("", "SYM", 1_700_000_000_000_000_000, frame)
		if err != nil {
			if !errors.Is(err, ErrBadFrame) && !errors.Is(err, ErrNoSymbol) && !errors.Is(err, ErrNotMarketTrade) && !errors.Is(err, ErrOpenKline) && !errors.Is(err, ErrOtherStream) {
				t.Fatalf("error %v wraps no sentinel", err)
			}
			return
		}
		venue, symbol := ev.Key()
		if venue == "" || symbol == "" || ev.ID() == "" || ev.Subject() == "" {
			t.Fatalf("incomplete event %+v", ev)
		}
		switch e := ev.(type) {
		case *streams.Trade:
			if !e.Price.IsPos() || !e.Qty.IsPos() || e.Time <= 0 {
				t.Fatalf("bad trade %+v", e)
			}
		case *streams.Depth:
			if e.FirstID > e.FinalID || e.Time <= 0 {
				t.Fatalf("bad depth %+v", e)
			}
			checkLevels(t, e.Bids, e.Asks)
		case *streams.Snapshot:
			checkLevels(t, e.Bids, e.Asks)
		case *streams.Ticker:
			if e.BidPrice.IsNeg() || e.AskPrice.IsNeg() || e.BidQty.IsNeg() || e.AskQty.IsNeg() {
				t.Fatalf("bad ticker %+v", e)
			}
		case *streams.Kline:
			if validateKline(e) != nil || e.OpenTime <= 0 || e.CloseTime < e.OpenTime || e.Interval == "" {
				t.Fatalf("bad kline %+v", e)
			}
		default:
			t.Fatalf("unexpected event type %T", ev)
		}
	})
}

func checkLevels(t *testing.T, sides ...[]streams.Level) {
	t.Helper()
	for _, side := range sides {
		for _, l := range side {
			if !l.Price.IsPos() || l.Qty.IsNeg() {
				t.Fatalf("bad level %+v", l)
			}
		}
	}
}

// Futures trades that are not order-book trades (insurance fund, ADL) are skipped and
// counted, not malformed: Binance's klines leave them out too.
func TestNonMarketFuturesTradesAreSkipped(t *testing.T) {
	market := `{"stream":"btcusdt@trade","data":{"e":"trade","E":1723161256322,"T":1723161256322,"s":"BTCUSDT","t":5266583935,"p":"61800.30","q":"0.006","X":"MARKET","m":false}}`
	insurance := strings.Replace(strings.Replace(market, `"MARKET"`, `"INSURANCE_FUND"`, 1), "5266583935", "5266583936", 1)
	next := strings.Replace(market, "5266583935", "5266583937", 1)
	if _, err := DecodeFrame("", 1, []byte(insurance)); !errors.Is(err, ErrNotMarketTrade) {
		t.Fatalf("err = %v, want ErrNotMarketTrade", err)
	}
	capture := "1723161255088176367 " + market + "\n1723161255088176368 " + insurance + "\n1723161255088176369 " + next + "\n"
	r, err := NewReader(strings.NewReader(capture), "BTCUSDT-futures.txt", ReaderOptions{})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for {
		if _, err := r.Next(); err != nil {
			break
		}
		n++
	}
	if st := r.Stats(); n != 2 || st.NonMarket != 1 || st.Malformed != 0 {
		t.Fatalf("%d records, stats %+v", n, st)
	}
}

func TestFrameWithASymbolThatCannotNameASubject(t *testing.T) {
	frame := `{"stream":"btcusdt@trade","data":{"e":"trade","E":1723161255343,"s":"BTC.>","t":3735683259,"p":"61837.63","q":"0.02","T":1723161255342,"m":true,"M":true}}`
	if _, err := DecodeFrame("", 1, []byte(frame)); !errors.Is(err, ErrBadFrame) {
		t.Fatalf("err = %v, want ErrBadFrame", err)
	}
}

// A USDⓈ-M partial-depth frame (@depth20@100ms) looks like a diff but holds the book's top
// levels: it is read as a snapshot as of its final update ID, so a book builds from it.
func TestFuturesPartialDepthIsASnapshot(t *testing.T) {
	frame := `{"stream":"btcusdt@depth20@100ms","data":{"e":"depthUpdate","E":1723075200123,"T":1723075200120,"s":"BTCUSDT","U":100,"u":120,"pu":99,` +
		`"b":[["61000.10","1.5"],["61000.00","2"]],"a":[["61000.20","0.5"]]}}`
	ev, err := DecodeFrame("", 1723075200125000000, []byte(frame))
	if err != nil {
		t.Fatal(err)
	}
	s, ok := ev.(*streams.Snapshot)
	if !ok {
		t.Fatalf("%T, want a snapshot", ev)
	}
	if s.Venue != VenueFutures || s.Symbol != "BTCUSDT" || s.LastUpdateID != 120 || s.Time != 1723075200123 ||
		len(s.Bids) != 2 || len(s.Asks) != 1 || s.Bids[0].Price.String() != "61000.10" {
		t.Fatalf("snapshot %+v", s)
	}
	// The diff stream of the same symbol stays a diff.
	diff := strings.Replace(frame, "@depth20@100ms", "@depth@100ms", 1)
	if ev, err := DecodeFrame("", 1723075200125000000, []byte(diff)); err != nil || ev.Kind() != streams.KindDepth {
		t.Fatalf("diff frame: %v %v", ev, err)
	}
}
