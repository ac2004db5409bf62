package replay

import (
	"bytes"
	"errors"
	"fmt"
	"strings"

	"github.com/govalues/decimal"
	"github.com/synapse-trading/synapse/streams"
)

// DecodeFrame decodes one Binance websocket frame received at recvNs (epoch ns) into a
// market-data event: *streams.Trade (@trade, and @aggTrade with the aggregate ID as
// TradeID), *streams.Depth (@depth, @depth@100ms, @depth@0ms), *streams.Ticker
// (@bookTicker), *streams.Snapshot (a partial-depth stream such as @depth20, spot's or
// USDⓈ-M's) or
// *streams.Kline (@kline_1m and the other intervals, once the candle is closed: an update of
// a candle still open returns an error wrapping ErrOpenKline). The frame may be a
// combined-stream envelope {"stream":...,"data":{...}} or the bare payload.
//
// venue is VenueSpot or VenueFutures; "" detects it from the frame (see FrameVenue) and
// falls back to VenueSpot. A bare REST depth snapshot carries no symbol: decode it with
// DecodeSnapshot; DecodeFrame returns an error wrapping ErrNoSymbol for it.
//
// Errors wrap ErrBadFrame (or ErrNoSymbol) and say which field is wrong.
func DecodeFrame(venue string, recvNs int64, data []byte) (streams.Event, error) {
	return decodeFrame(venue, "", recvNs, data)
}

// DecodeSnapshot decodes a bare REST depth snapshot {"lastUpdateId":..,"bids":..,"asks":..}
// for symbol, received at recvNs (epoch ns). Its Time is the receive time in ms. venue ""
// detects the venue as DecodeFrame does (a futures snapshot carries "E" and "T").
func DecodeSnapshot(venue, symbol string, recvNs int64, data []byte) (*streams.Snapshot, error) {
	if symbol == "" {
		return nil, fmt.Errorf("%w: give the symbol the snapshot was requested for", ErrNoSymbol)
	}
	ev, err := decodeFrame(venue, symbol, recvNs, data)
	if err != nil {
		return nil, err
	}
	s, ok := ev.(*streams.Snapshot)
	if !ok {
		return nil, fmt.Errorf("%w: expected a depth snapshot, got a %s frame", ErrBadFrame, ev.Kind())
	}
	return s, nil
}

// FrameVenue reports the venue a frame reveals, or "" when it does not tell: futures depth
// updates carry "pu", futures bookTickers carry "e" and "E", futures trades carry "X",
// futures snapshots carry "E"; the spot forms lack them (spot trades carry "M").
func FrameVenue(data []byte) string {
	var f frameFields
	if err := f.parse(data); err != nil {
		return ""
	}
	kind, err := f.kind()
	if err != nil {
		return ""
	}
	return f.venue(kind)
}

// frameKind is the kind of payload a frame holds.
type frameKind int

const (
	frameTrade frameKind = iota + 1
	frameAggTrade
	frameDepth
	frameTicker
	frameSnapshot
	framePartialDepth // USDⓈ-M @depth5/@depth10/@depth20: a depthUpdate holding the top levels
	frameKline
)

func (k frameKind) String() string {
	switch k {
	case frameTrade:
		return "trade"
	case frameAggTrade:
		return "aggTrade"
	case frameDepth:
		return "depth"
	case frameTicker:
		return "bookTicker"
	case frameSnapshot:
		return "snapshot"
	case framePartialDepth:
		return "partial depth"
	case frameKline:
		return "kline"
	}
	return "unknown"
}

// frameFields holds the raw JSON values of the payload fields this package reads, named
// after Binance's keys. A nil slice means the key was absent.
type frameFields struct {
	stream []byte // the envelope's stream name, without quotes; nil for a bare payload

	e, E, T, s    []byte // event type, event time, transaction/trade time, symbol
	t, p, q, m, M []byte // trade ID, price, quantity, buyer is maker, ignore (spot only)
	X             []byte // futures trade: order type
	a             []byte // aggTrade: aggregate ID; depth: asks; bookTicker: best ask price
	U, u, pu      []byte // depth: first, final and previous final update IDs; ticker: u
	b, B, A       []byte // depth: bids; bookTicker: best bid, bid qty, ask qty
	lastUpdateID  []byte // snapshot
	bids, asks    []byte // snapshot
	k             []byte // kline: the candle object
	id            []byte // a reply to a request: its id ...
	reply         []byte // ... and its "result" or "error"
}

// set records one payload member.
func (f *frameFields) set(key, value []byte) error {
	switch string(key) {
	case "e":
		f.e = value
	case "E":
		f.E = value
	case "T":
		f.T = value
	case "s":
		f.s = value
	case "t":
		f.t = value
	case "p":
		f.p = value
	case "q":
		f.q = value
	case "m":
		f.m = value
	case "M":
		f.M = value
	case "X":
		f.X = value
	case "a":
		f.a = value
	case "U":
		f.U = value
	case "u":
		f.u = value
	case "pu":
		f.pu = value
	case "b":
		f.b = value
	case "B":
		f.B = value
	case "A":
		f.A = value
	case "lastUpdateId":
		f.lastUpdateID = value
	case "bids":
		f.bids = value
	case "asks":
		f.asks = value
	case "k":
		f.k = value
	case "id":
		f.id = value
	case "result", "error":
		f.reply = value
	}
	return nil
}

// parse reads a frame: an envelope {"stream":..,"data":{..}} or a bare payload.
func (f *frameFields) parse(data []byte) error {
	var stream, payload []byte
	err := walkObject(data, func(key, value []byte) error {
		switch string(key) {
		case "stream":
			stream = value
		case "data":
			payload = value
		default:
			return f.set(key, value)
		}
		return nil
	})
	if err != nil {
		return err
	}
	if stream == nil && payload == nil {
		return nil // a bare payload, already read
	}
	if stream == nil || payload == nil {
		return fmt.Errorf("an envelope needs both \"stream\" and \"data\"")
	}
	name, err := unquote(stream)
	if err != nil {
		return fmt.Errorf("\"stream\": %v", err)
	}
	*f = frameFields{stream: name}
	return walkObject(payload, f.set)
}

// kind tells what the payload is: from the envelope's stream name when there is one, else
// from the event type "e", else from the keys present.
func (f *frameFields) kind() (frameKind, error) {
	if f.lastUpdateID != nil {
		return frameSnapshot, nil // a REST snapshot or a partial-depth stream (@depth20)
	}
	if f.stream != nil {
		_, name, _ := bytes.Cut(f.stream, []byte("@"))
		switch {
		case string(name) == "trade":
			return frameTrade, nil
		case string(name) == "aggTrade":
			return frameAggTrade, nil
		case bytes.HasPrefix(name, []byte("depth")):
			if len(name) > len("depth") && name[len("depth")] >= '0' && name[len("depth")] <= '9' {
				return framePartialDepth, nil // futures @depth20: the top levels, not a diff
			}
			return frameDepth, nil
		case string(name) == "bookTicker":
			return frameTicker, nil
		case bytes.HasPrefix(name, []byte("kline_")):
			return frameKline, nil
		}
		return 0, fmt.Errorf("%w: stream %q", ErrOtherStream, f.stream)
	}
	if f.e != nil {
		e, _ := unquote(f.e)
		switch string(e) {
		case "trade":
			return frameTrade, nil
		case "aggTrade":
			return frameAggTrade, nil
		case "depthUpdate":
			return frameDepth, nil
		case "bookTicker":
			return frameTicker, nil
		case "kline":
			return frameKline, nil
		}
		return 0, fmt.Errorf("%w: event type %s", ErrOtherStream, f.e)
	}
	if f.id != nil && f.reply != nil {
		return 0, fmt.Errorf("%w: a reply to request %s", ErrOtherStream, f.id)
	}
	if f.u != nil && f.b != nil && f.B != nil && f.a != nil && f.A != nil {
		return frameTicker, nil // a spot bookTicker payload has no "e"
	}
	return 0, fmt.Errorf("not a trade, aggTrade, depth, bookTicker, kline or depth snapshot frame")
}

// venue tells the venue from the payload's form, or "" when the form does not tell.
func (f *frameFields) venue(kind frameKind) string {
	futures := false
	switch kind {
	case frameDepth:
		futures = f.pu != nil
	case framePartialDepth:
		futures = true // spot's partial depth carries lastUpdateId: a frameSnapshot
	case frameTicker:
		futures = f.e != nil || f.E != nil
	case frameTrade:
		if f.X == nil && f.M == nil {
			return ""
		}
		futures = f.X != nil
	case frameAggTrade:
		futures = f.M == nil
	case frameSnapshot:
		if f.E == nil && f.T == nil {
			return ""
		}
		futures = true
	}
	if futures {
		return VenueFutures
	}
	return VenueSpot
}

// decodeFrame decodes a frame; symbol names the symbol of a bare snapshot ("" if unknown).
func decodeFrame(venue, symbol string, recvNs int64, data []byte) (streams.Event, error) {
	var bare func(int64) string
	if symbol != "" {
		bare = func(int64) string { return symbol }
	}
	return decodeFrameAs(venue, bare, recvNs, data)
}

// decodeFrameAs decodes a frame; bare names the symbol of a bare snapshot from its
// lastUpdateId ("" if unknown; nil: never known). bare is called once every field is read,
// so it may read on from the same input (the Reader does) and reuse data's memory.
func decodeFrameAs(venue string, bare func(lastUpdateID int64) string, recvNs int64, data []byte) (streams.Event, error) {
	var f frameFields
	if err := f.parse(data); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadFrame, err)
	}
	kind, err := f.kind()
	if errors.Is(err, ErrOtherStream) {
		return nil, err
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadFrame, err)
	}
	if venue == "" {
		venue = f.venue(kind)
		if venue == "" {
			venue = VenueSpot
		}
	}
	d := fieldDecoder{kind: kind}
	var ev streams.Event
	switch kind {
	case frameTrade, frameAggTrade:
		if f.X != nil && string(f.X) != `"MARKET"` {
			return nil, fmt.Errorf("%w: trade with X=%s", ErrNotMarketTrade, f.X)
		}
		ev = d.trade(&f, venue)
	case frameDepth:
		ev = d.depth(&f, venue)
	case frameTicker:
		ev = d.ticker(&f, venue, recvNs)
	case frameKline:
		k, closed := d.kline(&f, venue)
		if d.err == nil && !closed {
			return nil, fmt.Errorf("%w: %s %s candle of %d", ErrOpenKline, k.Symbol, k.Interval, k.OpenTime)
		}
		ev = k
	case frameSnapshot:
		var symbol string
		if f.stream != nil { // spot's @depth20: the stream names the symbol
			name, _, _ := bytes.Cut(f.stream, []byte("@"))
			symbol = strings.ToUpper(string(name))
		}
		s := d.snapshot(&f, venue, symbol, recvNs)
		if symbol == "" && bare != nil && d.err == nil {
			s.Symbol = bare(s.LastUpdateID)
		}
		if d.err == nil && s.Symbol == "" {
			return nil, fmt.Errorf("%w: a bare depth snapshot names no symbol; decode it with DecodeSnapshot", ErrNoSymbol)
		}
		ev = s
	case framePartialDepth:
		ev = d.partialDepth(&f, venue)
	}
	if d.err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrBadFrame, kind, d.err)
	}
	if _, sym := ev.Key(); streams.CheckSymbol(sym) != nil {
		return nil, fmt.Errorf("%w: %s: symbol %q cannot name a subject", ErrBadFrame, kind, sym)
	}
	return ev, nil
}

// fieldDecoder converts raw fields and remembers the first error, so that the event
// builders below read as a list of fields. (It holds no pointer to the frameFields, which
// then stay on the stack.)
type fieldDecoder struct {
	kind frameKind
	err  error
}

func (d *fieldDecoder) fail(key string, raw []byte, problem string) {
	if d.err != nil {
		return
	}
	if raw == nil {
		d.err = fmt.Errorf("field %q is missing", key)
		return
	}
	const maxShown = 40
	shown := string(raw)
	if len(shown) > maxShown {
		shown = shown[:maxShown] + "..."
	}
	d.err = fmt.Errorf("field %q = %s: %s", key, shown, problem)
}

func (d *fieldDecoder) str(key string, raw []byte) string {
	s, err := jsonString(raw)
	if err != nil || s == "" {
		d.fail(key, raw, "want a non-empty string")
	}
	return s
}

func (d *fieldDecoder) int(key string, raw []byte) int64 {
	v, err := jsonInt(raw)
	if err != nil {
		d.fail(key, raw, err.Error())
	}
	return v
}

func (d *fieldDecoder) bool(key string, raw []byte) bool {
	v, err := jsonBool(raw)
	if err != nil {
		d.fail(key, raw, err.Error())
	}
	return v
}

// dec parses a decimal; positive demands > 0, otherwise >= 0 is demanded.
func (d *fieldDecoder) dec(key string, raw []byte, positive bool) decimal.Decimal {
	v, err := jsonDecimal(raw)
	switch {
	case err != nil:
		d.fail(key, raw, err.Error())
	case positive && !v.IsPos():
		d.fail(key, raw, "must be positive")
	case v.IsNeg():
		d.fail(key, raw, "must not be negative")
	}
	return v
}

func (d *fieldDecoder) levels(key string, raw []byte) []streams.Level {
	if raw == nil {
		d.fail(key, raw, "")
		return nil
	}
	lv, err := jsonLevels(raw)
	if err != nil {
		d.fail(key, []byte("[...]"), err.Error())
	}
	return lv
}

// time reads an epoch-ms time and demands it be positive.
func (d *fieldDecoder) time(key string, raw []byte) int64 {
	v := d.int(key, raw)
	if v <= 0 && d.err == nil {
		d.fail(key, raw, "must be a positive epoch time in ms")
	}
	return v
}

func (d *fieldDecoder) trade(f *frameFields, venue string) *streams.Trade {
	t := &streams.Trade{Venue: venue, Symbol: d.str("s", f.s)}
	if d.kind == frameAggTrade {
		t.TradeID = d.int("a", f.a)
		t.Aggregate = true
	} else {
		t.TradeID = d.int("t", f.t)
	}
	t.Price = d.dec("p", f.p, true)
	t.Qty = d.dec("q", f.q, true)
	t.BuyerMaker = d.bool("m", f.m)
	if f.T != nil {
		t.Time = d.time("T", f.T)
	} else {
		t.Time = d.time("E", f.E)
	}
	return t
}

// kline reads a kline frame's candle ("k") and whether it is closed ("x"). The kline frame
// does not tell spot from futures: venue decides.
func (d *fieldDecoder) kline(f *frameFields, venue string) (*streams.Kline, bool) {
	k := &streams.Kline{Venue: venue}
	if f.k == nil {
		d.fail("k", nil, "")
		return k, false
	}
	var c struct{ t, T, s, i, o, h, l, cl, v, n, x, q, V, Q []byte }
	err := walkObject(f.k, func(key, value []byte) error {
		switch string(key) {
		case "t":
			c.t = value
		case "T":
			c.T = value
		case "s":
			c.s = value
		case "i":
			c.i = value
		case "o":
			c.o = value
		case "h":
			c.h = value
		case "l":
			c.l = value
		case "c":
			c.cl = value
		case "v":
			c.v = value
		case "n":
			c.n = value
		case "x":
			c.x = value
		case "q":
			c.q = value
		case "V":
			c.V = value
		case "Q":
			c.Q = value
		}
		return nil
	})
	if err != nil {
		d.fail("k", f.k, err.Error())
		return k, false
	}
	k.Symbol = d.str("k.s", c.s)
	if k.Symbol == "" && f.s != nil {
		k.Symbol = d.str("s", f.s)
	}
	k.Interval = d.str("k.i", c.i)
	k.OpenTime = d.time("k.t", c.t)
	k.CloseTime = d.time("k.T", c.T)
	k.Open, k.High = d.dec("k.o", c.o, true), d.dec("k.h", c.h, true)
	k.Low, k.Close = d.dec("k.l", c.l, true), d.dec("k.c", c.cl, true)
	k.Volume, k.QuoteVolume = d.dec("k.v", c.v, false), d.dec("k.q", c.q, false)
	k.TakerBuyVolume, k.TakerBuyQuoteVolume = d.dec("k.V", c.V, false), d.dec("k.Q", c.Q, false)
	k.Trades = d.int("k.n", c.n)
	closed := d.bool("k.x", c.x)
	if d.err == nil && k.CloseTime < k.OpenTime {
		d.err = fmt.Errorf("close time k.T=%d is before open time k.t=%d", k.CloseTime, k.OpenTime)
	}
	if d.err == nil {
		if err := validateKline(k); err != nil {
			d.err = err
		}
	}
	return k, closed
}

func (d *fieldDecoder) depth(f *frameFields, venue string) *streams.Depth {
	u := &streams.Depth{
		Venue:   venue,
		Symbol:  d.str("s", f.s),
		FirstID: d.int("U", f.U),
		FinalID: d.int("u", f.u),
		Time:    d.time("E", f.E),
	}
	if f.pu != nil {
		u.PrevFinalID = d.int("pu", f.pu)
	}
	u.Bids = d.levels("b", f.b)
	u.Asks = d.levels("a", f.a)
	if d.err == nil && u.FirstID > u.FinalID {
		d.err = fmt.Errorf("first update ID U=%d is after final update ID u=%d", u.FirstID, u.FinalID)
	}
	return u
}

func (d *fieldDecoder) ticker(f *frameFields, venue string, recvNs int64) *streams.Ticker {
	t := &streams.Ticker{
		Venue:    venue,
		Symbol:   d.str("s", f.s),
		UpdateID: d.int("u", f.u),
		BidPrice: d.dec("b", f.b, false),
		BidQty:   d.dec("B", f.B, false),
		AskPrice: d.dec("a", f.a, false),
		AskQty:   d.dec("A", f.A, false),
	}
	if f.E != nil {
		t.Time = d.time("E", f.E)
	} else {
		t.Time = recvNs / 1_000_000 // spot bookTicker carries no time: use the receive time
	}
	return t
}

func (d *fieldDecoder) snapshot(f *frameFields, venue, symbol string, recvNs int64) *streams.Snapshot {
	s := &streams.Snapshot{
		Venue:        venue,
		Symbol:       symbol,
		LastUpdateID: d.int("lastUpdateId", f.lastUpdateID),
		Time:         recvNs / 1_000_000,
		Bids:         d.levels("bids", f.bids),
		Asks:         d.levels("asks", f.asks),
	}
	return s
}

// partialDepth reads a USDⓈ-M partial-depth frame (@depth5, @depth10, @depth20): the
// payload looks like a diff (depthUpdate with U, u, pu) but holds the book's top levels, so
// it is a snapshot as of its final update ID u, as spot's @depth20 is as of lastUpdateId.
func (d *fieldDecoder) partialDepth(f *frameFields, venue string) *streams.Snapshot {
	return &streams.Snapshot{
		Venue:        venue,
		Symbol:       d.str("s", f.s),
		LastUpdateID: d.int("u", f.u),
		Time:         d.time("E", f.E),
		Bids:         d.levels("b", f.b),
		Asks:         d.levels("a", f.a),
	}
}

// splitCaptureLine splits a capture line "<recv_ns> <json>" into its parts.
func splitCaptureLine(line []byte) (recvNs int64, frame []byte, err error) {
	head, frame, ok := bytes.Cut(line, []byte(" "))
	if !ok {
		return 0, nil, fmt.Errorf("%w: want \"<receive time ns> <json>\"", ErrBadFrame)
	}
	recvNs, err = jsonInt(head)
	if err != nil || recvNs <= 0 {
		return 0, nil, fmt.Errorf("%w: receive time %q is not a positive epoch time in ns", ErrBadFrame, truncate(head, 30))
	}
	return recvNs, frame, nil
}

func truncate(b []byte, n int) string {
	if len(b) > n {
		return string(b[:n]) + "..."
	}
	return string(b)
}
