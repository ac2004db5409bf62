package portfolio

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/govalues/decimal"

	"github.com/synapse-trading/synapse/streams"
)

// paperRig drives a Paper like the engine does: it folds every report into the engine's own
// copy of the order (which must accept it) and checks that every report is a valid event.
type paperRig struct {
	t       *testing.T
	p       *Paper
	reports []*streams.OrderEvent
	orders  map[string]*Order // the engine's orders, folded from the reports
}

func newPaperRig(t *testing.T, opts PaperOptions) *paperRig {
	t.Helper()
	r := &paperRig{t: t, orders: map[string]*Order{}}
	r.p = NewPaper(opts, func(ev *streams.OrderEvent) {
		if err := ev.Check(); err != nil && ev.Type != streams.OrderRejected { // a rejection may describe a bad order
			t.Errorf("report %s is not a valid event: %v", ev.ID(), err)
		}
		if o := r.orders[ev.ClientOrderID]; o == nil {
			t.Errorf("report %s of an order the engine does not know", ev.ID())
		} else if _, err := o.Apply(ev); err != nil {
			t.Errorf("report %s does not apply to the engine's order: %v", ev.ID(), err)
		}
		r.reports = append(r.reports, ev)
	})
	return r
}

// paperOrder makes a submitted order on binance BTCUSDT, the way the engine does.
func paperOrder(t *testing.T, key string, side streams.Side, typ streams.OrderType, qty, price string) *Order {
	t.Helper()
	intent := &streams.OrderEvent{Type: streams.OrderIntent, ClientOrderID: streams.ClientOrderID("ATLAS", "binance", "BTCUSDT", key),
		Agent: "ATLAS", Venue: "binance", Symbol: "BTCUSDT", Side: side, OrderType: typ, Qty: decimal.MustParse(qty), Time: 1}
	if price != "" {
		intent.Price = decimal.MustParse(price)
	}
	o, err := NewOrder(intent)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := o.Apply(o.Event(streams.OrderSubmitted, 1)); err != nil {
		t.Fatal(err)
	}
	return o
}

// submit submits o, checking that Submit succeeds and does not modify it.
func (r *paperRig) submit(o *Order) {
	r.t.Helper()
	r.orders[o.ClientOrderID] = o.Clone()
	before, _ := json.Marshal(o)
	if err := r.p.Submit(context.Background(), o); err != nil {
		r.t.Fatalf("submit %s: %v", o.ClientOrderID, err)
	}
	if after, _ := json.Marshal(o); !bytes.Equal(before, after) {
		r.t.Fatalf("Submit modified the order:\nbefore %s\nafter  %s", before, after)
	}
}

// since returns the reports made since the n-th.
func (r *paperRig) since(n int) []*streams.OrderEvent { return r.reports[n:] }

func paperTrade(id int64, price, qty string, time int64) *streams.Trade {
	return &streams.Trade{Venue: "binance", Symbol: "BTCUSDT", TradeID: id, Price: decimal.MustParse(price), Qty: decimal.MustParse(qty), Time: time}
}

func paperKline(open, high, low, closing, volume string, openTime int64) *streams.Kline {
	return &streams.Kline{Venue: "binance", Symbol: "BTCUSDT", Interval: "1m", OpenTime: openTime, CloseTime: openTime + 59_999,
		Open: decimal.MustParse(open), High: decimal.MustParse(high), Low: decimal.MustParse(low), Close: decimal.MustParse(closing),
		Volume: decimal.MustParse(volume)}
}

func paperLevels(pq ...string) []streams.Level {
	var out []streams.Level
	for i := 0; i+1 < len(pq); i += 2 {
		out = append(out, streams.Level{Price: decimal.MustParse(pq[i]), Qty: decimal.MustParse(pq[i+1])})
	}
	return out
}

// wantFill checks a report is a fill of o with exactly these amounts.
func wantFill(t *testing.T, ev *streams.OrderEvent, o *Order, qty, price, fee, cum string, maker bool, time int64) {
	t.Helper()
	if ev.Type != streams.OrderFill || ev.ClientOrderID != o.ClientOrderID {
		t.Fatalf("want a fill of %s, got %s of %s", o.ClientOrderID, ev.Type, ev.ClientOrderID)
	}
	if !eqPaper(ev.FillQty, qty) || !eqPaper(ev.FillPrice, price) || !eqPaper(ev.Fee, fee) || !eqPaper(ev.CumQty, cum) ||
		ev.Maker != maker || ev.Time != time {
		t.Fatalf("fill %s: %s @ %s fee %s cum %s maker %v time %d; want %s @ %s fee %s cum %s maker %v time %d",
			ev.TradeID, ev.FillQty, ev.FillPrice, ev.Fee, ev.CumQty, ev.Maker, ev.Time, qty, price, fee, cum, maker, time)
	}
}

// eqPaper compares decimals by value: 0.10 equals 0.1.
func eqPaper(d decimal.Decimal, want string) bool { return d.Cmp(decimal.MustParse(want)) == 0 }

// paperTypes lists the types of reports, for messages and quick checks.
func paperTypes(evs []*streams.OrderEvent) string {
	var s []string
	for _, ev := range evs {
		s = append(s, string(ev.Type))
	}
	return strings.Join(s, ",")
}

// wantReports checks the types of the reports made since the n-th and returns them.
func (r *paperRig) wantReports(n int, want string) []*streams.OrderEvent {
	r.t.Helper()
	got := r.since(n)
	if s := paperTypes(got); s != want {
		r.t.Fatalf("reports %q, want %q", s, want)
	}
	return got
}

func TestPaperMarketOrdersShareParticipationAndPaySlippage(t *testing.T) {
	r := newPaperRig(t, PaperOptions{})                // defaults: fees 0.1%, 2 bps, 10% participation
	r.p.Market(paperTrade(1, "60000", "0.001", 1_000)) // the market's time is now 1000
	buy := paperOrder(t, "buy", streams.Buy, streams.Market, "0.25", "")
	sell := paperOrder(t, "sell", streams.Sell, streams.Market, "0.1", "")
	r.submit(buy)
	r.submit(sell)
	acc := r.wantReports(0, "accepted,accepted") // without a book nothing fills inside Submit
	if acc[0].VenueOrderID != "paper-1" || acc[1].VenueOrderID != "paper-2" || acc[0].Time != 1_000 {
		t.Fatalf("accepted %+v", acc[0])
	}

	// 10% of 1 BTC: the buy, submitted first, takes all of it at 60000 × 1.0002 = 60012.
	// Fee: 0.1 × 60012 × 0.001 = 6.0012.
	r.p.Market(paperTrade(2, "60000", "1", 2_000))
	got := r.wantReports(2, "fill")
	wantFill(t, got[0], buy, "0.1", "60012", "6.0012", "0.1", false, 2_000)
	if got[0].TradeID != "paper-BTCUSDT-1" || got[0].VenueOrderID != "paper-1" {
		t.Fatalf("fill IDs %s %s", got[0].TradeID, got[0].VenueOrderID)
	}

	// 10% of 0.567 is 0.0567: the buy takes 0.05 (its quantity has 2 decimals) at
	// 60100.50 × 1.0002 = 60112.5201; fee 0.05 × 60112.5201 × 0.001 = 3.005626005, rounded
	// half to even to 3.00562600. The 0.0067 left rounds to 0.0 for the sell: no fill.
	r.p.Market(paperTrade(3, "60100.50", "0.567", 3_000))
	got = r.wantReports(3, "fill")
	wantFill(t, got[0], buy, "0.05", "60112.5201", "3.005626", "0.15", false, 3_000)

	// 10% of 3 is 0.3: the buy takes its last 0.1 at 59990 × 1.0002 = 60001.998 (fee
	// 6.0001998), the sell 0.1 at 59990 × 0.9998 = 59978.002 (fee 5.9978002).
	r.p.Market(paperTrade(4, "59990", "3", 4_000))
	got = r.wantReports(4, "fill,fill")
	wantFill(t, got[0], buy, "0.1", "60001.998", "6.0001998", "0.25", false, 4_000)
	wantFill(t, got[1], sell, "0.1", "59978.002", "5.9978002", "0.1", false, 4_000)

	b := r.orders[buy.ClientOrderID]
	if b.Status != StatusFilled || !eqPaper(b.Fees, "15.0070258") || !eqPaper(b.Notional, "15007.025805") {
		t.Fatalf("engine's buy %+v", b)
	}
	if open := r.p.Open(); len(open) != 0 {
		t.Fatalf("still open: %d", len(open))
	}
	r.p.Market(paperTrade(5, "59990", "3", 5_000))
	r.wantReports(6, "")
}

func TestPaperFeeRoundsHalfToEven(t *testing.T) {
	// 0.05 × 60112.5203 × 0.001 = 3.005626015: the 9th decimal is 5, the 8th is odd, so it
	// rounds up to 3.00562602 (a truncation would give 3.00562601).
	r := newPaperRig(t, PaperOptions{})
	o := paperOrder(t, "fee", streams.Buy, streams.Limit, "0.05", "60112.5203")
	r.submit(o)
	r.p.Market(paperTrade(1, "60000", "1", 1_000))
	got := r.wantReports(1, "fill")
	wantFill(t, got[0], o, "0.05", "60112.5203", "3.00562602", "0.05", true, 1_000)
}

func TestPaperLimitOrdersFillWhenATradeCrossesThem(t *testing.T) {
	r := newPaperRig(t, PaperOptions{MakerFee: decimal.MustParse("0.0002")})
	buy := paperOrder(t, "lb", streams.Buy, streams.Limit, "0.10", "59000")
	sell := paperOrder(t, "ls", streams.Sell, streams.Limit, "0.1", "61000")
	r.submit(buy)
	r.submit(sell)

	r.p.Market(paperTrade(1, "59500", "10", 2_000)) // between the two: nothing fills
	r.p.Market(paperTrade(2, "60999.99", "10", 2_500))
	r.wantReports(2, "")

	// At the buy's price: 10% of 0.5 = 0.05 at the limit, maker: fee 0.05 × 59000 × 0.0002.
	r.p.Market(paperTrade(3, "59000", "0.5", 3_000))
	wantFill(t, r.wantReports(2, "fill")[0], buy, "0.05", "59000", "0.59", "0.05", true, 3_000)

	// Above the sell's price: it fills at its limit, not at the trade's price.
	r.p.Market(paperTrade(4, "61000.5", "2", 4_000))
	wantFill(t, r.wantReports(3, "fill")[0], sell, "0.1", "61000", "1.22", "0.1", true, 4_000)

	// Far below the buy: it fills its remaining 0.05 at its limit.
	r.p.Market(paperTrade(5, "58000", "10", 5_000))
	wantFill(t, r.wantReports(4, "fill")[0], buy, "0.05", "59000", "0.59", "0.1", true, 5_000)
	if r.orders[buy.ClientOrderID].Status != StatusFilled || r.orders[sell.ClientOrderID].Status != StatusFilled {
		t.Fatal("both should be filled")
	}
}

func TestPaperOrdersFillOnCandles(t *testing.T) {
	r := newPaperRig(t, PaperOptions{})
	buy := paperOrder(t, "kb", streams.Buy, streams.Limit, "0.3", "100")
	sell := paperOrder(t, "ks", streams.Sell, streams.Limit, "0.3", "110")
	r.submit(buy)
	r.submit(sell)

	r.p.Market(paperKline("105", "109", "101", "104", "10", 0)) // low above the buy, high below the sell
	r.wantReports(2, "")

	// Low 99.5 reaches the buy, high 111 the sell; 10% of 5 = 0.5 is shared in submission
	// order: 0.3 for the buy, 0.2 for the sell. Both at their limits, maker, at the close time.
	r.p.Market(paperKline("104", "111", "99.5", "108", "5", 60_000))
	got := r.wantReports(2, "fill,fill")
	wantFill(t, got[0], buy, "0.3", "100", "0.03", "0.3", true, 119_999)
	wantFill(t, got[1], sell, "0.2", "110", "0.022", "0.2", true, 119_999)

	// A candle without volume fills nothing.
	r.p.Market(paperKline("107", "120", "90", "108", "0", 120_000))
	r.wantReports(4, "")

	// A market buy decided now fills at the next candle's open plus 2 bps, after the sell
	// (submitted first) took its 0.1: 107 × 1.0002 = 107.0214, fee 0.2 × 107.0214 × 0.001.
	mkt := paperOrder(t, "km", streams.Buy, streams.Market, "0.2", "")
	r.submit(mkt)
	if acc := r.wantReports(4, "accepted"); acc[0].Time != 179_999 {
		t.Fatalf("accepted at %d, want the last candle's close time", acc[0].Time)
	}
	r.p.Market(paperKline("107", "112", "106", "111", "3", 180_000))
	got = r.wantReports(5, "fill,fill")
	wantFill(t, got[0], sell, "0.1", "110", "0.011", "0.3", true, 239_999)
	wantFill(t, got[1], mkt, "0.2", "107.0214", "0.02140428", "0.2", false, 239_999)
}

func TestPaperFillsAgainstTheBook(t *testing.T) {
	r := newPaperRig(t, PaperOptions{MakerFee: decimal.MustParse("0.0002")}) // taker 0.001
	r.p.Market(&streams.Snapshot{Venue: "binance", Symbol: "BTCUSDT", LastUpdateID: 100, Time: 10_000,
		Asks: paperLevels("101", "1", "100", "0.5", "102", "5"), Bids: paperLevels("99", "1", "98", "2")})

	// A market buy walks the asks at once, at each level's price, taker.
	mb := paperOrder(t, "mb", streams.Buy, streams.Market, "1.2", "")
	r.submit(mb)
	got := r.wantReports(0, "accepted,fill,fill")
	wantFill(t, got[1], mb, "0.5", "100", "0.05", "0.5", false, 10_000)
	wantFill(t, got[2], mb, "0.7", "101", "0.0707", "1.2", false, 10_000)

	// A marketable limit buy takes what is left at or below its price (0.3 at 101; each
	// level once per book update) and rests for the rest.
	lb := paperOrder(t, "lb", streams.Buy, streams.Limit, "1.0", "101")
	r.submit(lb)
	got = r.wantReports(3, "accepted,fill")
	wantFill(t, got[1], lb, "0.3", "101", "0.0303", "0.3", false, 10_000)

	// A limit sell at 98.5 takes the bid at 99, not the one at 98.
	ls := paperOrder(t, "ls", streams.Sell, streams.Limit, "2", "98.5")
	r.submit(ls)
	got = r.wantReports(5, "accepted,fill")
	wantFill(t, got[1], ls, "1", "99", "0.099", "1", false, 10_000)
	if open := r.p.Open(); len(open) != 2 || open[0].ClientOrderID != lb.ClientOrderID || !eqPaper(open[0].Remaining(), "0.7") ||
		open[1].ClientOrderID != ls.ClientOrderID || !eqPaper(open[1].Remaining(), "1") {
		t.Fatalf("open %+v", open)
	}

	// An update brings an ask at 100.5 and removes the bid at 99. The book now crosses the
	// resting buy at 101 with 0.4 at 100.5 and 1 at 101: it fills its 0.7 at its limit, as a
	// maker (fee 0.7 × 101 × 0.0002). The best bid, 98, does not reach the resting sell at 98.5.
	r.p.Market(&streams.Depth{Venue: "binance", Symbol: "BTCUSDT", FirstID: 101, FinalID: 101, Time: 11_000,
		Asks: paperLevels("100.5", "0.4"), Bids: paperLevels("99", "0")})
	got = r.wantReports(7, "fill")
	wantFill(t, got[0], lb, "0.7", "101", "0.01414", "1", true, 11_000)

	// A gap unsyncs the book: a market order waits instead of filling against stale levels,
	// and fills after a new snapshot.
	r.p.Market(&streams.Depth{Venue: "binance", Symbol: "BTCUSDT", FirstID: 200, FinalID: 200, Time: 12_000, Asks: paperLevels("90", "9")})
	gap := paperOrder(t, "gap", streams.Buy, streams.Market, "0.1", "")
	r.submit(gap)
	r.wantReports(8, "accepted")
	r.p.Market(&streams.Ticker{Venue: "binance", Symbol: "BTCUSDT", UpdateID: 1, Time: 12_500,
		BidPrice: decimal.MustParse("95"), BidQty: decimal.MustParse("1"), AskPrice: decimal.MustParse("96"), AskQty: decimal.MustParse("1")})
	r.wantReports(9, "")
	r.p.Market(&streams.Snapshot{Venue: "binance", Symbol: "BTCUSDT", LastUpdateID: 300, Time: 13_000,
		Asks: paperLevels("97", "1"), Bids: paperLevels("96", "1")})
	got = r.wantReports(9, "fill")
	wantFill(t, got[0], gap, "0.1", "97", "0.0097", "0.1", false, 13_000)
}

func TestPaperCancelsAPartiallyFilledOrder(t *testing.T) {
	r := newPaperRig(t, PaperOptions{})
	o := paperOrder(t, "pc", streams.Buy, streams.Limit, "1.0", "100")
	r.submit(o)
	r.p.Market(paperTrade(1, "100", "2", 1_000))
	wantFill(t, r.wantReports(1, "fill")[0], o, "0.2", "100", "0.02", "0.2", true, 1_000)

	if err := r.p.Cancel(context.Background(), o); err != nil {
		t.Fatal(err)
	}
	ev := r.wantReports(2, "canceled")[0]
	if ev.Reason != "canceled by request" || ev.Time != 1_000 || !eqPaper(ev.CumQty, "0.2") {
		t.Fatalf("canceled %+v", ev)
	}
	if e := r.orders[o.ClientOrderID]; e.Status != StatusCanceled || !eqPaper(e.Filled, "0.2") {
		t.Fatalf("engine's order %+v", e)
	}
	if len(r.p.Open()) != 0 {
		t.Fatal("a canceled order still rests")
	}
	r.p.Market(paperTrade(2, "99", "100", 2_000))
	r.wantReports(3, "")

	// Canceling it again, or an order the paper exchange never saw, is an error naming it.
	unknown := paperOrder(t, "never", streams.Sell, streams.Limit, "1", "100")
	for _, c := range []*Order{o, unknown} {
		err := r.p.Cancel(context.Background(), c)
		if !errors.Is(err, ErrVenue) || !strings.Contains(err.Error(), c.ClientOrderID) {
			t.Fatalf("cancel of %s: %v", c.ClientOrderID, err)
		}
	}
	r.wantReports(3, "")
}

func TestPaperExpiresMarketOrdersThatWaitTooLong(t *testing.T) {
	r := newPaperRig(t, PaperOptions{MarketTimeout: 60_000})
	const t0 = 1_700_000_000_000
	// Submitted before any market data: its clock starts with the first event of its symbol.
	mkt := paperOrder(t, "late", streams.Buy, streams.Market, "1.0", "")
	lim := paperOrder(t, "patient", streams.Buy, streams.Limit, "1", "1")
	r.submit(mkt)
	r.submit(lim)
	if acc := r.wantReports(0, "accepted,accepted"); acc[0].Time != 0 {
		t.Fatalf("accepted at %d with no market data", acc[0].Time)
	}
	r.p.Market(paperTrade(1, "100", "1", t0))
	r.p.Market(paperTrade(2, "100", "1", t0+60_000)) // exactly the timeout: still fills
	r.wantReports(2, "fill,fill")

	r.p.Market(&streams.Trade{Venue: "binance", Symbol: "ETHUSDT", TradeID: 1, Price: decimal.MustParse("3"), Qty: decimal.MustParse("1"), Time: t0 + 90_000})
	r.wantReports(4, "") // another symbol's time does not age it

	r.p.Market(paperTrade(3, "100", "1", t0+60_001))
	ev := r.wantReports(4, "expired")[0]
	if ev.ClientOrderID != mkt.ClientOrderID || ev.Time != t0+60_001 || !strings.Contains(ev.Reason, "60000 ms") || !strings.Contains(ev.Reason, "0.8 of 1") {
		t.Fatalf("expired %+v", ev)
	}
	if e := r.orders[mkt.ClientOrderID]; e.Status != StatusExpired || !eqPaper(e.Filled, "0.2") {
		t.Fatalf("engine's order %+v", e)
	}
	if open := r.p.Open(); len(open) != 1 || open[0].ClientOrderID != lim.ClientOrderID {
		t.Fatalf("open %+v: the limit order never expires", open)
	}
}

func TestPaperRejectsBadOrders(t *testing.T) {
	r := newPaperRig(t, PaperOptions{})
	base := Order{Agent: "ATLAS", Venue: "binance", Symbol: "BTCUSDT", Side: streams.Buy, Type: streams.Market,
		Qty: decimal.MustParse("1"), Status: StatusSubmitted}
	zero, noPrice, badSide := base, base, base
	zero.ClientOrderID, zero.Qty = "syn-zero", decimal.Decimal{}
	noPrice.ClientOrderID, noPrice.Type = "syn-noprice", streams.Limit
	badSide.ClientOrderID, badSide.Side = "syn-side", "HOLD"
	for _, c := range []struct {
		o      *Order
		reason string
	}{{&zero, "quantity 0 must be positive"}, {&noPrice, "a limit order needs a positive price"}, {&badSide, `side "HOLD"`}} {
		n := len(r.reports)
		r.submit(c.o)
		ev := r.wantReports(n, "rejected")[0]
		if !strings.Contains(ev.Reason, c.reason) || ev.VenueOrderID != "" {
			t.Fatalf("rejected %+v, want reason %q", ev, c.reason)
		}
	}
	if len(r.p.Open()) != 0 {
		t.Fatal("a rejected order rests")
	}
	good := paperOrder(t, "good", streams.Buy, streams.Market, "1", "")
	r.submit(good)
	if ev := r.wantReports(3, "accepted")[0]; ev.VenueOrderID != "paper-1" {
		t.Fatalf("first accepted order is %s", ev.VenueOrderID)
	}
	r.submit(good) // submitted again while open: nothing happens
	r.wantReports(4, "")

	done := *r.orders[zero.ClientOrderID]
	if err := r.p.Submit(context.Background(), &done); !errors.Is(err, ErrVenue) {
		t.Fatalf("submit of a rejected order: %v", err)
	}
}

// paperScript is a session on two symbols that reports every kind of order event.
func paperScript(t *testing.T) *paperRig {
	r := newPaperRig(t, PaperOptions{MarketTimeout: 120_000})
	ctx := context.Background()
	eth := func(o *Order) *Order { // the same order on ETHUSDT
		o.Symbol = "ETHUSDT"
		return o
	}
	r.p.Market(&streams.Snapshot{Venue: "binance", Symbol: "ETHUSDT", LastUpdateID: 1, Time: 500,
		Asks: paperLevels("3000.5", "2", "3001", "4"), Bids: paperLevels("3000", "3", "2999.25", "1")})
	r.p.Market(paperTrade(1, "60000", "0.5", 1_000))
	r.submit(paperOrder(t, "s1", streams.Buy, streams.Market, "0.123", ""))
	r.submit(paperOrder(t, "s2", streams.Sell, streams.Limit, "0.20", "60050"))
	r.submit(paperOrder(t, "s3", streams.Buy, streams.Limit, "0.400", "59900"))
	r.submit(eth(paperOrder(t, "e1", streams.Buy, streams.Market, "2.5", "")))
	r.submit(eth(paperOrder(t, "e2", streams.Sell, streams.Limit, "1.75", "2999.5")))
	r.submit(eth(paperOrder(t, "e3", streams.Buy, streams.Limit, "1.00", "2999.5")))
	r.submit(&Order{ClientOrderID: "syn-bad", Agent: "ATLAS", Venue: "binance", Symbol: "BTCUSDT", Side: streams.Buy,
		Type: streams.Limit, Qty: decimal.MustParse("1"), Status: StatusSubmitted})
	for i, price := range []string{"60010.1", "60049.99", "60075", "59950", "59899.5", "60003.33"} {
		r.p.Market(paperTrade(int64(2+i), price, "0.7", int64(2_000+1_000*i)))
	}
	r.p.Market(&streams.Depth{Venue: "binance", Symbol: "ETHUSDT", FirstID: 2, FinalID: 2, Time: 9_000,
		Asks: paperLevels("2999", "0.3"), Bids: paperLevels("3000.1", "0.4")})
	r.p.Market(paperKline("59990", "60100", "59850", "60000", "1.3", 60_000))
	if err := r.p.Cancel(ctx, r.orders[streams.ClientOrderID("ATLAS", "binance", "BTCUSDT", "s3")]); err != nil {
		t.Fatal(err)
	}
	r.submit(paperOrder(t, "s4", streams.Sell, streams.Market, "5.00", ""))
	r.p.Market(paperKline("60000", "60100", "59900", "60000", "2", 120_000))
	r.p.Market(paperTrade(20, "60000", "1", 400_000))
	return r
}

func TestPaperIsDeterministic(t *testing.T) {
	encode := func(r *paperRig) []byte {
		var buf bytes.Buffer
		for _, ev := range r.reports {
			b, err := json.Marshal(ev)
			if err != nil {
				t.Fatal(err)
			}
			buf.Write(append(b, '\n'))
		}
		return buf.Bytes()
	}
	a, b := paperScript(t), paperScript(t)
	ja, jb := encode(a), encode(b)
	if !bytes.Equal(ja, jb) {
		t.Fatalf("two runs differ:\n%s\n---\n%s", ja, jb)
	}
	for _, kind := range []streams.OrderEventType{streams.OrderAccepted, streams.OrderFill, streams.OrderCanceled, streams.OrderRejected, streams.OrderExpired} {
		if !strings.Contains(paperTypes(a.reports), string(kind)) {
			t.Fatalf("the script reports no %s: %s", kind, paperTypes(a.reports))
		}
	}
}

func TestPaperFillsKeepTheLedgerExact(t *testing.T) {
	r := paperScript(t)
	capital := decimal.MustParse("1000000")
	a := NewAccount("ATLAS", capital)
	var spent decimal.Decimal // Σ signed notional + Σ fees
	fills := 0
	for _, ev := range r.reports {
		if ev.Type != streams.OrderFill {
			continue
		}
		if err := a.Fill(ev); err != nil {
			t.Fatal(err)
		}
		if err := a.Totals().Identity(); err != nil {
			t.Fatalf("after fill %s: %v", ev.TradeID, err)
		}
		n, _ := ev.FillQty.Mul(ev.FillPrice)
		n = n.Round(MoneyScale)
		if ev.Side == streams.Sell {
			n = n.Neg()
		}
		spent, _ = spent.Add(n)
		spent, _ = spent.Add(ev.Fee)
		fills++
	}
	if fills < 8 {
		t.Fatalf("only %d fills: the script should trade more", fills)
	}
	want, _ := capital.Sub(spent)
	if tot := a.Totals(); tot.Cash.Cmp(want) != 0 || tot.Fills != fills {
		t.Fatalf("cash %s after %d fills, want %s", tot.Cash, tot.Fills, want)
	}
	// Every order the engine folded matches the paper exchange's fills.
	for id, o := range r.orders {
		if o.Filled.Cmp(o.Qty) > 0 {
			t.Fatalf("%s overfilled: %s of %s", id, o.Filled, o.Qty)
		}
	}
}

func TestPaperReconcileAdoptsOpenOrders(t *testing.T) {
	r := newPaperRig(t, PaperOptions{})
	submitted := paperOrder(t, "r1", streams.Buy, streams.Limit, "0.5", "100")
	partial := paperOrder(t, "r2", streams.Sell, streams.Limit, "1.0", "105")
	for _, ev := range []*streams.OrderEvent{partial.Event(streams.OrderAccepted, 5)} {
		ev.VenueOrderID = "paper-4"
		if _, err := partial.Apply(ev); err != nil {
			t.Fatal(err)
		}
	}
	f := partial.Event(streams.OrderFill, 6)
	f.TradeID, f.FillQty, f.FillPrice, f.Fee = "paper-BTCUSDT-7", decimal.MustParse("0.4"), decimal.MustParse("105"), decimal.MustParse("0.042")
	if _, err := partial.Apply(f); err != nil {
		t.Fatal(err)
	}
	intent, _ := NewOrder(&streams.OrderEvent{Type: streams.OrderIntent, ClientOrderID: "syn-intent", Agent: "ATLAS", Venue: "binance",
		Symbol: "BTCUSDT", Side: streams.Buy, OrderType: streams.Market, Qty: decimal.MustParse("1")})
	filled := paperOrder(t, "r3", streams.Buy, streams.Market, "1", "")
	filled.Status = StatusFilled
	for _, o := range []*Order{submitted, partial, intent, filled} {
		r.orders[o.ClientOrderID] = o.Clone()
	}

	open := []*Order{submitted, partial, intent, filled}
	for range 2 { // twice: the second adopts nothing more
		balances, err := r.p.Reconcile(context.Background(), open)
		if err != nil || balances != nil {
			t.Fatalf("reconcile: %v %v", balances, err)
		}
	}
	ev := r.wantReports(0, "accepted")[0]
	if ev.ClientOrderID != submitted.ClientOrderID || ev.Source != "reconcile" || ev.VenueOrderID != "paper-5" {
		t.Fatalf("accepted %+v", ev)
	}
	got := r.p.Open()
	if len(got) != 2 || got[0].ClientOrderID != submitted.ClientOrderID || got[1].ClientOrderID != partial.ClientOrderID ||
		!eqPaper(got[1].Remaining(), "0.6") {
		t.Fatalf("open %+v", got)
	}
	got[1].Filled = decimal.Decimal{} // a copy: the paper exchange does not see this
	if !eqPaper(r.p.Open()[1].Remaining(), "0.6") {
		t.Fatal("Open returned the paper exchange's own order")
	}

	// They fill afterwards, the partial one only for what is left, with trade IDs that do
	// not repeat the ones before the restart.
	r.p.Market(paperTrade(1, "100", "20", 10_000))
	r.p.Market(paperTrade(2, "106", "20", 11_000))
	got2 := r.wantReports(1, "fill,fill")
	wantFill(t, got2[0], submitted, "0.5", "100", "0.05", "0.5", true, 10_000)
	wantFill(t, got2[1], partial, "0.6", "105", "0.063", "1", true, 11_000)
	if got2[0].TradeID != "paper-BTCUSDT-8" || got2[1].TradeID != "paper-BTCUSDT-9" {
		t.Fatalf("trade IDs %s %s", got2[0].TradeID, got2[1].TradeID)
	}
	if e := r.orders[partial.ClientOrderID]; e.Status != StatusFilled || !eqPaper(e.Fees, "0.105") {
		t.Fatalf("engine's order %+v", e)
	}
}

func TestPaperIgnoresBadMarketData(t *testing.T) {
	r := newPaperRig(t, PaperOptions{})
	r.submit(paperOrder(t, "m", streams.Buy, streams.Market, "1", ""))
	r.submit(paperOrder(t, "l", streams.Sell, streams.Limit, "1", "1"))
	for _, ev := range []streams.Event{
		nil,
		(*streams.Trade)(nil), (*streams.Kline)(nil), (*streams.Snapshot)(nil), (*streams.Depth)(nil), (*streams.Ticker)(nil),
		paperTrade(1, "100", "0", 1_000),
		paperTrade(2, "0", "1", 1_000),
		paperKline("100", "110", "90", "105", "0", 0),
		paperKline("0", "0", "0", "0", "10", 60_000),
		&streams.Trade{Venue: "binance", Symbol: "NOPE", Price: decimal.MustParse("100"), Qty: decimal.MustParse("5"), Time: 1},
		&streams.Snapshot{Venue: "binance", Symbol: "BTCUSDT", LastUpdateID: 1, Asks: paperLevels("-1", "1")},
		&streams.Depth{Venue: "binance", Symbol: "BTCUSDT", FirstID: 5, FinalID: 4},
		&streams.Ticker{Venue: "binance", Symbol: "BTCUSDT", UpdateID: 1},
		&streams.OrderEvent{Type: streams.OrderFill, ClientOrderID: "x"},
	} {
		r.p.Market(ev)
	}
	r.wantReports(2, "")
	if len(r.p.Open()) != 2 {
		t.Fatal("bad market data changed the resting orders")
	}
}
