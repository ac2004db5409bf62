package portfolio

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"slices"
	"sort"
	"strconv"
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

// paperOrder makes a submitted order of ATLAS on binance BTCUSDT, the way the engine does.
func paperOrder(t *testing.T, key string, side streams.Side, typ streams.OrderType, qty, price string) *Order {
	t.Helper()
	return paperAgentOrder(t, "ATLAS", key, side, typ, qty, price)
}

// paperAgentOrder makes a submitted order of an agent on binance BTCUSDT.
func paperAgentOrder(t *testing.T, agent, key string, side streams.Side, typ streams.OrderType, qty, price string) *Order {
	t.Helper()
	intent := &streams.OrderEvent{Type: streams.OrderIntent, ClientOrderID: streams.ClientOrderID(agent, "binance", "BTCUSDT", key),
		Agent: agent, Venue: "binance", Symbol: "BTCUSDT", Side: side, OrderType: typ, Qty: decimal.MustParse(qty), Time: 1}
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

// paperVenueID is the venue order ID the paper exchange gives an order: "paper-" and its
// client order ID without "syn-".
func paperVenueID(o *Order) string {
	id, ok := strings.CutPrefix(o.ClientOrderID, "syn-")
	if !ok {
		panic("client order ID without syn-: " + o.ClientOrderID)
	}
	return "paper-" + id
}

// wantTradeID checks the trade ID of a fill: the venue order ID and the order's fill number.
func wantTradeID(t *testing.T, ev *streams.OrderEvent, o *Order, n string) {
	t.Helper()
	if want := paperVenueID(o) + "-" + n; ev.TradeID != want || ev.VenueOrderID != paperVenueID(o) {
		t.Fatalf("fill of %s: trade ID %s, venue order ID %s; want %s, %s", o.ClientOrderID, ev.TradeID, ev.VenueOrderID, want, paperVenueID(o))
	}
}

// wantBefore checks that client order IDs sort in this order: what a test's priorities
// rest on.
func wantBefore(t *testing.T, orders ...*Order) {
	t.Helper()
	for i := 1; i < len(orders); i++ {
		if orders[i-1].ClientOrderID >= orders[i].ClientOrderID {
			t.Fatalf("the test needs %s before %s", orders[i-1].ClientOrderID, orders[i].ClientOrderID)
		}
	}
}

// paperCanonical returns the reports as JSON lines, each run of acks and rejections (which
// Submit reports at once, in the arrival order of the orders, a race between agents) sorted
// by client order ID. Two runs that differ only in the arrival of orders submitted in the
// same market step must give the same bytes.
func paperCanonical(t *testing.T, reports []*streams.OrderEvent) []byte {
	t.Helper()
	evs := append([]*streams.OrderEvent(nil), reports...)
	ack := func(ev *streams.OrderEvent) bool {
		return ev.Type == streams.OrderAccepted || ev.Type == streams.OrderRejected
	}
	for i := 0; i < len(evs); {
		j := i
		for j < len(evs) && ack(evs[j]) {
			j++
		}
		run := evs[i:j]
		sort.Slice(run, func(a, b int) bool { return run[a].ClientOrderID < run[b].ClientOrderID })
		i = max(j, i+1)
	}
	var buf bytes.Buffer
	for _, ev := range evs {
		b, err := json.Marshal(ev)
		if err != nil {
			t.Fatal(err)
		}
		buf.Write(append(b, '\n'))
	}
	return buf.Bytes()
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
	wantBefore(t, sell, buy) // so that the buy is first by time only
	r.submit(buy)
	// A trade too small for the buy (10% of 0.001 rounds to 0.00) moves the market's time on:
	// the sell, accepted later, comes after the buy although its client order ID sorts first.
	r.p.Market(paperTrade(2, "60000", "0.001", 1_500))
	r.submit(sell)
	acc := r.wantReports(0, "accepted,accepted") // nothing fills inside Submit
	if acc[0].VenueOrderID != "paper-jfidcsj7vcolybbnttpwaqoarm" || acc[0].VenueOrderID != paperVenueID(buy) || acc[0].Time != 1_000 ||
		acc[1].VenueOrderID != paperVenueID(sell) || acc[1].Time != 1_500 {
		t.Fatalf("accepted %+v\n%+v", acc[0], acc[1])
	}
	if open := r.p.Open(); len(open) != 2 || open[0].ClientOrderID != buy.ClientOrderID || open[1].ClientOrderID != sell.ClientOrderID {
		t.Fatalf("open %+v: want the buy first, by time", open)
	}

	// 10% of 1 BTC: the buy, accepted first, takes all of it at 60000 × 1.0002 = 60012.
	// Fee: 0.1 × 60012 × 0.001 = 6.0012.
	r.p.Market(paperTrade(3, "60000", "1", 2_000))
	got := r.wantReports(2, "fill")
	wantFill(t, got[0], buy, "0.1", "60012", "6.0012", "0.1", false, 2_000)
	wantTradeID(t, got[0], buy, "1")

	// 10% of 0.567 is 0.0567: the buy takes 0.05 (its quantity has 2 decimals) at
	// 60100.50 × 1.0002 = 60112.5201; fee 0.05 × 60112.5201 × 0.001 = 3.005626005, rounded
	// half to even to 3.00562600. The 0.0067 left rounds to 0.0 for the sell: no fill.
	r.p.Market(paperTrade(4, "60100.50", "0.567", 3_000))
	got = r.wantReports(3, "fill")
	wantFill(t, got[0], buy, "0.05", "60112.5201", "3.005626", "0.15", false, 3_000)
	wantTradeID(t, got[0], buy, "2")

	// 10% of 3 is 0.3: the buy takes its last 0.1 at 59990 × 1.0002 = 60001.998 (fee
	// 6.0001998), the sell 0.1 at 59990 × 0.9998 = 59978.002 (fee 5.9978002).
	r.p.Market(paperTrade(5, "59990", "3", 4_000))
	got = r.wantReports(4, "fill,fill")
	wantFill(t, got[0], buy, "0.1", "60001.998", "6.0001998", "0.25", false, 4_000)
	wantFill(t, got[1], sell, "0.1", "59978.002", "5.9978002", "0.1", false, 4_000)
	wantTradeID(t, got[0], buy, "3")
	wantTradeID(t, got[1], sell, "1")

	b := r.orders[buy.ClientOrderID]
	if b.Status != StatusFilled || !eqPaper(b.Fees, "15.0070258") || !eqPaper(b.Notional, "15007.025805") {
		t.Fatalf("engine's buy %+v", b)
	}
	if open := r.p.Open(); len(open) != 0 {
		t.Fatalf("still open: %d", len(open))
	}
	r.p.Market(paperTrade(6, "59990", "3", 5_000))
	r.wantReports(6, "")
}

func TestPaperServesOrdersAcceptedTogetherByClientOrderID(t *testing.T) {
	// Two agents decide on the same market step and each submits a market buy of 0.3; which
	// reaches the paper exchange first is a race. The one with the smaller client order ID
	// (lo) is served first when the volume is short, whichever arrived first.
	type fill struct {
		hi                   bool // a fill of hi, not lo
		qty, price, fee, cum string
		time                 int64
	}
	for _, c := range []struct {
		name   string
		before streams.Event   // sets the market's time (1000) and book
		after  []streams.Event // the market events after the orders
		fills  []fill
	}{{
		// 10% of 4 is 0.4: lo takes 0.3 at 60000 × 1.0002 = 60012 (fee 0.3 × 60012 × 0.001),
		// hi the 0.1 left (fee 6.0012), and its other 0.2 on the next trade (fee 12.0024).
		name:   "trades",
		before: paperTrade(1, "60000", "0.001", 1_000),
		after:  []streams.Event{paperTrade(2, "60000", "4", 2_000), paperTrade(3, "60000", "4", 3_000)},
		fills: []fill{
			{false, "0.3", "60012", "18.0036", "0.3", 2_000},
			{true, "0.1", "60012", "6.0012", "0.1", 2_000},
			{true, "0.2", "60012", "12.0024", "0.3", 3_000},
		},
	}, {
		// The next book update: lo takes 0.3 of the 0.4 at 100 (fee 0.03), hi the 0.1 left
		// there (fee 0.01) and 0.2 at 101 (fee 0.2 × 101 × 0.001).
		name: "book",
		before: &streams.Snapshot{Venue: "binance", Symbol: "BTCUSDT", LastUpdateID: 1, Time: 1_000,
			Asks: paperLevels("100", "0.4", "101", "1"), Bids: paperLevels("99", "1")},
		after: []streams.Event{&streams.Depth{Venue: "binance", Symbol: "BTCUSDT", FirstID: 2, FinalID: 2, Time: 2_000,
			Bids: paperLevels("98", "1")}},
		fills: []fill{
			{false, "0.3", "100", "0.03", "0.3", 2_000},
			{true, "0.1", "100", "0.01", "0.1", 2_000},
			{true, "0.2", "101", "0.0202", "0.3", 2_000},
		},
	}} {
		t.Run(c.name, func(t *testing.T) {
			var reports, orders [2][]byte
			for perm := range 2 {
				r := newPaperRig(t, PaperOptions{})
				lo := paperAgentOrder(t, "ATLAS", "same", streams.Buy, streams.Market, "0.3", "")
				hi := paperAgentOrder(t, "NOVA", "same", streams.Buy, streams.Market, "0.3", "")
				if hi.ClientOrderID < lo.ClientOrderID {
					lo, hi = hi, lo
				}
				first, second := lo, hi
				if perm == 1 {
					first, second = hi, lo
				}
				r.p.Market(c.before)
				r.submit(first)
				r.submit(second)
				acc := r.wantReports(0, "accepted,accepted")
				if acc[0].ClientOrderID != first.ClientOrderID || acc[0].Time != 1_000 || acc[1].Time != 1_000 {
					t.Fatalf("accepted %+v\n%+v", acc[0], acc[1])
				}
				for _, ev := range c.after {
					r.p.Market(ev)
				}
				got := r.wantReports(2, "fill,fill,fill")
				n := map[*Order]int{}
				for i, f := range c.fills {
					o := lo
					if f.hi {
						o = hi
					}
					wantFill(t, got[i], o, f.qty, f.price, f.fee, f.cum, false, f.time)
					n[o]++
					wantTradeID(t, got[i], o, strconv.Itoa(n[o]))
				}
				if len(r.p.Open()) != 0 {
					t.Fatal("an order still rests")
				}
				reports[perm] = paperCanonical(t, r.reports)
				orders[perm], _ = json.Marshal(r.orders)
			}
			if !bytes.Equal(reports[0], reports[1]) {
				t.Fatalf("the arrival order changes the reports:\n%s\n---\n%s", reports[0], reports[1])
			}
			if !bytes.Equal(orders[0], orders[1]) {
				t.Fatalf("the arrival order changes the orders:\n%s\n---\n%s", orders[0], orders[1])
			}
		})
	}
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
	wantBefore(t, sell, buy) // so that the buy is first by time only
	r.submit(buy)            // accepted at 0

	r.p.Market(paperKline("105", "109", "101", "104", "10", 0)) // low above the buy
	r.wantReports(1, "")
	r.submit(sell) // accepted at the candle's close time, after the buy
	if acc := r.wantReports(1, "accepted"); acc[0].Time != 59_999 {
		t.Fatalf("sell accepted at %d", acc[0].Time)
	}

	// Low 99.5 reaches the buy, high 111 the sell; 10% of 5 = 0.5 is shared by time
	// priority: 0.3 for the buy (accepted at 0), 0.2 for the sell (accepted at 59999). Both at
	// their limits, maker, at the close time.
	r.p.Market(paperKline("104", "111", "99.5", "108", "5", 60_000))
	got := r.wantReports(2, "fill,fill")
	wantFill(t, got[0], buy, "0.3", "100", "0.03", "0.3", true, 119_999)
	wantFill(t, got[1], sell, "0.2", "110", "0.022", "0.2", true, 119_999)

	// A candle without volume fills nothing.
	r.p.Market(paperKline("107", "120", "90", "108", "0", 120_000))
	r.wantReports(4, "")

	// A market buy decided now fills at the next candle's open plus 2 bps, after the sell
	// (accepted earlier) took its 0.1: 107 × 1.0002 = 107.0214, fee 0.2 × 107.0214 × 0.001.
	// Its client order ID sorts before the sell's: time comes first.
	mkt := paperOrder(t, "km2", streams.Buy, streams.Market, "0.2", "")
	wantBefore(t, mkt, sell)
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

	// A market buy, a marketable limit buy and a marketable limit sell, accepted in the same
	// market step: nothing fills inside Submit, although the book is synced.
	mb := paperOrder(t, "mb", streams.Buy, streams.Market, "1.2", "")
	lb := paperOrder(t, "lb", streams.Buy, streams.Limit, "1.0", "101")
	ls := paperOrder(t, "ls", streams.Sell, streams.Limit, "2", "98.5")
	wantBefore(t, ls, mb, lb) // their priority at the same time
	r.submit(lb)              // arrival order does not matter
	r.submit(mb)
	r.submit(ls)
	r.wantReports(0, "accepted,accepted,accepted")

	// They arrive with the next book update (a bid at 97 that none of them wants), by
	// priority, each as a taker at the levels' prices: the limit sell at 98.5 takes the bid at
	// 99, not the one at 98; the market buy walks the asks (0.5 at 100, 0.7 at 101); the limit
	// buy at 101 takes what is left at or below its price (0.3 at 101; each level once per
	// book update) and rests for the rest.
	r.p.Market(&streams.Depth{Venue: "binance", Symbol: "BTCUSDT", FirstID: 101, FinalID: 101, Time: 10_500, Bids: paperLevels("97", "3")})
	got := r.wantReports(3, "fill,fill,fill,fill")
	wantFill(t, got[0], ls, "1", "99", "0.099", "1", false, 10_500)
	wantFill(t, got[1], mb, "0.5", "100", "0.05", "0.5", false, 10_500)
	wantFill(t, got[2], mb, "0.7", "101", "0.0707", "1.2", false, 10_500)
	wantFill(t, got[3], lb, "0.3", "101", "0.0303", "0.3", false, 10_500)
	wantTradeID(t, got[0], ls, "1")
	wantTradeID(t, got[1], mb, "1")
	wantTradeID(t, got[2], mb, "2")
	wantTradeID(t, got[3], lb, "1")
	if open := r.p.Open(); len(open) != 2 || open[0].ClientOrderID != ls.ClientOrderID || !eqPaper(open[0].Remaining(), "1") ||
		open[1].ClientOrderID != lb.ClientOrderID || !eqPaper(open[1].Remaining(), "0.7") {
		t.Fatalf("open %+v", open)
	}

	// An update brings an ask at 100.5 and removes the bid at 99. The book (its liquidity back
	// in full after an update) now crosses the resting buy at 101 with 0.5 at 100, 0.4 at
	// 100.5 and 1 at 101: it fills its 0.7 at its limit, as a maker (fee 0.7 × 101 × 0.0002).
	// The best bid, 98, does not reach the resting sell at 98.5.
	r.p.Market(&streams.Depth{Venue: "binance", Symbol: "BTCUSDT", FirstID: 102, FinalID: 102, Time: 11_000,
		Asks: paperLevels("100.5", "0.4"), Bids: paperLevels("99", "0")})
	got = r.wantReports(7, "fill")
	wantFill(t, got[0], lb, "0.7", "101", "0.01414", "1", true, 11_000)
	wantTradeID(t, got[0], lb, "2")

	// A gap unsyncs the book: a market order waiting for it does not fill against stale
	// levels, nor on a ticker, and fills after a new snapshot.
	gap := paperOrder(t, "gap", streams.Buy, streams.Market, "0.1", "")
	r.submit(gap)
	r.wantReports(8, "accepted")
	r.p.Market(&streams.Depth{Venue: "binance", Symbol: "BTCUSDT", FirstID: 200, FinalID: 200, Time: 12_000, Asks: paperLevels("90", "9")})
	r.wantReports(9, "")
	r.p.Market(&streams.Ticker{Venue: "binance", Symbol: "BTCUSDT", UpdateID: 1, Time: 12_500,
		BidPrice: decimal.MustParse("95"), BidQty: decimal.MustParse("1"), AskPrice: decimal.MustParse("96"), AskQty: decimal.MustParse("1")})
	r.wantReports(9, "")
	r.p.Market(&streams.Snapshot{Venue: "binance", Symbol: "BTCUSDT", LastUpdateID: 300, Time: 13_000,
		Asks: paperLevels("97", "1"), Bids: paperLevels("96", "1")})
	got = r.wantReports(9, "fill")
	wantFill(t, got[0], gap, "0.1", "97", "0.0097", "0.1", false, 13_000)

	// A market order also fills on a trade when a book is known, as without one: at the
	// trade's price plus 2 bps, 98 × 1.0002 = 98.0196, fee 0.1 × 98.0196 × 0.001. The
	// resting sell at 98.5 is not reached by a trade at 98.
	late := paperOrder(t, "late", streams.Buy, streams.Market, "0.1", "")
	r.submit(late)
	r.p.Market(paperTrade(1, "98", "5", 13_500))
	got = r.wantReports(10, "accepted,fill")
	wantFill(t, got[1], late, "0.1", "98.0196", "0.00980196", "0.1", false, 13_500)
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
	// With no market data the venue's clock is the order's own: accepted at its submission.
	if acc := r.wantReports(0, "accepted,accepted"); acc[0].Time != mkt.Updated {
		t.Fatalf("accepted at %d with no market data, want %d", acc[0].Time, mkt.Updated)
	}
	r.p.Market(paperTrade(1, "100", "1", t0))
	r.p.Market(paperTrade(2, "100", "1", t0+60_000)) // exactly the timeout: still fills
	r.wantReports(2, "fill,fill")

	r.p.Market(&streams.Trade{Venue: "binance", Symbol: "ETHUSDT", TradeID: 1, Price: decimal.MustParse("3"), Qty: decimal.MustParse("1"), Time: t0 + 90_000})
	r.wantReports(4, "") // another symbol's time does not age it

	r.p.Market(paperTrade(3, "100", "1", t0+60_001))
	ev := r.wantReports(4, "expired")[0]
	if ev.ClientOrderID != mkt.ClientOrderID || ev.Time != t0+60_001 || !strings.Contains(ev.Reason, "60000 ms") || !strings.Contains(ev.Reason, "0.8 of 1") ||
		strings.Contains(ev.Reason, "no traded volume") {
		t.Fatalf("expired %+v", ev)
	}
	if e := r.orders[mkt.ClientOrderID]; e.Status != StatusExpired || !eqPaper(e.Filled, "0.2") {
		t.Fatalf("engine's order %+v", e)
	}
	if open := r.p.Open(); len(open) != 1 || open[0].ClientOrderID != lim.ClientOrderID {
		t.Fatalf("open %+v: the limit order never expires", open)
	}
}

// Candles without volume (mark-price or index klines) cannot fill an order, and the expiry
// says so.
func TestPaperExpiryNamesMarketDataWithoutVolume(t *testing.T) {
	r := newPaperRig(t, PaperOptions{MarketTimeout: 60_000})
	const t0 = 1_700_000_000_000
	mkt := paperOrder(t, "mark", streams.Buy, streams.Market, "1", "")
	r.submit(mkt)
	r.wantReports(0, "accepted")
	for i := int64(0); i < 3; i++ {
		open := t0 + i*60_000
		r.p.Market(&streams.Kline{Venue: "binance", Symbol: "BTCUSDT", Interval: "1m", OpenTime: open, CloseTime: open + 59_999,
			Open: decimal.MustParse("100"), High: decimal.MustParse("101"), Low: decimal.MustParse("99"), Close: decimal.MustParse("100")})
	}
	ev := r.wantReports(1, "expired")[0]
	if !strings.Contains(ev.Reason, "no traded volume") || !strings.Contains(ev.Reason, "mark-price") {
		t.Fatalf("expired: %q, want it to name the missing volume", ev.Reason)
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
	if ev := r.wantReports(3, "accepted")[0]; ev.VenueOrderID != paperVenueID(good) {
		t.Fatalf("accepted order is %s, want %s", ev.VenueOrderID, paperVenueID(good))
	}
	r.submit(good) // submitted again while open: nothing happens
	r.wantReports(4, "")

	done := *r.orders[zero.ClientOrderID]
	if err := r.p.Submit(context.Background(), &done); !errors.Is(err, ErrVenue) {
		t.Fatalf("submit of a rejected order: %v", err)
	}
}

// paperScript is a session on two symbols that reports every kind of order event. With
// reverse, the orders decided in the same market step reach the paper exchange in the
// opposite order.
func paperScript(t *testing.T, reverse bool) *paperRig {
	r := newPaperRig(t, PaperOptions{MarketTimeout: 120_000})
	ctx := context.Background()
	eth := func(o *Order) *Order { // the same order on ETHUSDT
		o.Symbol = "ETHUSDT"
		return o
	}
	r.p.Market(&streams.Snapshot{Venue: "binance", Symbol: "ETHUSDT", LastUpdateID: 1, Time: 500,
		Asks: paperLevels("3000.5", "2", "3001", "4"), Bids: paperLevels("3000", "3", "2999.25", "1")})
	r.p.Market(paperTrade(1, "60000", "0.5", 1_000))
	step := []*Order{
		paperOrder(t, "s1", streams.Buy, streams.Market, "0.123", ""),
		paperOrder(t, "s2", streams.Sell, streams.Limit, "0.20", "60050"),
		paperOrder(t, "s3", streams.Buy, streams.Limit, "0.400", "59900"),
		eth(paperOrder(t, "e1", streams.Buy, streams.Market, "2.5", "")),
		eth(paperOrder(t, "e2", streams.Sell, streams.Limit, "1.75", "2999.5")),
		eth(paperOrder(t, "e3", streams.Buy, streams.Limit, "1.00", "2999.5")),
		{ClientOrderID: "syn-bad", Agent: "ATLAS", Venue: "binance", Symbol: "BTCUSDT", Side: streams.Buy,
			Type: streams.Limit, Qty: decimal.MustParse("1"), Status: StatusSubmitted},
	}
	if reverse {
		slices.Reverse(step)
	}
	for _, o := range step {
		r.submit(o)
	}
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
	a, b := paperScript(t, false), paperScript(t, false)
	ja, jb := encode(a), encode(b)
	if !bytes.Equal(ja, jb) {
		t.Fatalf("two runs differ:\n%s\n---\n%s", ja, jb)
	}
	// The orders of one step arriving the other way round change nothing but the order of
	// their acks: every fill, cancel and expiry, and every order's end, is the same.
	c := paperScript(t, true)
	if ja, jc := paperCanonical(t, a.reports), paperCanonical(t, c.reports); !bytes.Equal(ja, jc) {
		t.Fatalf("the arrival order changes the reports:\n%s\n---\n%s", ja, jc)
	}
	if bytes.Equal(ja, encode(c)) {
		t.Fatal("the reversed script reports its acks in the same order: it tests nothing")
	}
	oa, _ := json.Marshal(a.orders)
	oc, _ := json.Marshal(c.orders)
	if !bytes.Equal(oa, oc) {
		t.Fatalf("the arrival order changes the orders:\n%s\n---\n%s", oa, oc)
	}
	for _, kind := range []streams.OrderEventType{streams.OrderAccepted, streams.OrderFill, streams.OrderCanceled, streams.OrderRejected, streams.OrderExpired} {
		if !strings.Contains(paperTypes(a.reports), string(kind)) {
			t.Fatalf("the script reports no %s: %s", kind, paperTypes(a.reports))
		}
	}
}

func TestPaperFillsKeepTheLedgerExact(t *testing.T) {
	r := paperScript(t, false)
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
	wantBefore(t, partial, submitted)
	// The partial one was accepted and filled once before the restart, by a paper exchange
	// that still counted its IDs: its venue order ID stays, its next trade ID is its own.
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
	if ev.ClientOrderID != submitted.ClientOrderID || ev.Source != "reconcile" || ev.VenueOrderID != paperVenueID(submitted) {
		t.Fatalf("accepted %+v", ev)
	}
	// Both adopted at the same market time: by client order ID.
	got := r.p.Open()
	if len(got) != 2 || got[0].ClientOrderID != partial.ClientOrderID || got[1].ClientOrderID != submitted.ClientOrderID ||
		!eqPaper(got[0].Remaining(), "0.6") || got[0].VenueOrderID != "paper-4" {
		t.Fatalf("open %+v", got)
	}
	got[0].Filled = decimal.Decimal{} // a copy: the paper exchange does not see this
	if !eqPaper(r.p.Open()[0].Remaining(), "0.6") {
		t.Fatal("Open returned the paper exchange's own order")
	}

	// They fill afterwards, the partial one only for what is left, with trade IDs that do
	// not repeat the ones before the restart.
	r.p.Market(paperTrade(1, "100", "20", 10_000))
	r.p.Market(paperTrade(2, "106", "20", 11_000))
	got2 := r.wantReports(1, "fill,fill")
	wantFill(t, got2[0], submitted, "0.5", "100", "0.05", "0.5", true, 10_000)
	wantFill(t, got2[1], partial, "0.6", "105", "0.063", "1", true, 11_000)
	wantTradeID(t, got2[0], submitted, "1")
	if got2[1].TradeID != "paper-4-2" || got2[1].VenueOrderID != "paper-4" {
		t.Fatalf("trade ID %s of %s after paper-BTCUSDT-7, want paper-4-2", got2[1].TradeID, got2[1].VenueOrderID)
	}
	if e := r.orders[partial.ClientOrderID]; e.Status != StatusFilled || !eqPaper(e.Fees, "0.105") {
		t.Fatalf("engine's order %+v", e)
	}
}

// After a restart the market data may be read again from before the open orders existed
// (a replay started over), up to the time of their newest event: it neither fills them nor
// runs their timeout.
func TestPaperIgnoresMarketDataOlderThanAnOrder(t *testing.T) {
	r := newPaperRig(t, PaperOptions{MarketTimeout: 60_000})
	mkt := paperOrder(t, "m", streams.Buy, streams.Market, "1", "")
	lim := paperOrder(t, "l", streams.Buy, streams.Limit, "1", "100")
	for _, o := range []*Order{mkt, lim} {
		ev := o.Event(streams.OrderAccepted, 1_000_000)
		ev.VenueOrderID = paperVenueID(o)
		if _, err := o.Apply(ev); err != nil {
			t.Fatal(err)
		}
		r.orders[o.ClientOrderID] = o.Clone()
	}
	if _, err := r.p.Reconcile(context.Background(), []*Order{mkt, lim}); err != nil {
		t.Fatal(err)
	}
	for i := int64(0); i < 10; i++ { // ten minutes of older trades, at prices that would fill both
		r.p.Market(paperTrade(i+1, "99", "100", 400_000+i*60_000))
	}
	r.p.Market(paperTrade(10, "99", "100", 1_000_000)) // at the time of its newest event: seen before the restart
	r.wantReports(0, "")
	r.p.Market(paperTrade(11, "99", "100", 1_000_001))
	got := r.wantReports(0, "fill,fill")
	for _, f := range got {
		if f.Time != 1_000_001 {
			t.Fatalf("fill at %d, before the trade that made it", f.Time)
		}
	}
}

func TestPaperTradeIDsContinueAfterReconcile(t *testing.T) {
	before := newPaperRig(t, PaperOptions{})
	o := paperOrder(t, "restart", streams.Buy, streams.Limit, "1.0", "100")
	before.p.Market(paperTrade(1, "100.5", "1", 1_000))
	before.submit(o)
	before.p.Market(paperTrade(2, "100", "2", 2_000)) // 10% of 2, at its limit, maker
	got := before.wantReports(0, "accepted,fill")
	wantFill(t, got[1], o, "0.2", "100", "0.02", "0.2", true, 2_000)
	wantTradeID(t, got[1], o, "1")
	logged := before.orders[o.ClientOrderID] // what the log folded before the restart
	if logged.Status != StatusPartiallyFilled || logged.Fills != 1 || logged.VenueOrderID != paperVenueID(o) {
		t.Fatalf("logged %+v", logged)
	}
	// A fill that reused the trade ID of the one before the restart would be dropped as a repeat.
	repeat := logged.Clone()
	dup := logged.Event(streams.OrderFill, 3_000)
	dup.TradeID, dup.FillQty, dup.FillPrice, dup.Fee = got[1].TradeID, decimal.MustParse("0.3"), decimal.MustParse("100"), decimal.MustParse("0.03")
	if applied, err := repeat.Apply(dup); applied || err != nil {
		t.Fatalf("a repeated trade ID applied: %v %v", applied, err)
	}

	// The restart: a new paper exchange adopts the open order from the log. It was accepted
	// already: nothing is reported.
	after := newPaperRig(t, PaperOptions{})
	after.orders[o.ClientOrderID] = logged.Clone()
	if _, err := after.p.Reconcile(context.Background(), []*Order{logged.Clone()}); err != nil {
		t.Fatal(err)
	}
	after.wantReports(0, "")
	if open := after.p.Open(); len(open) != 1 || open[0].VenueOrderID != paperVenueID(o) || open[0].Fills != 1 {
		t.Fatalf("open %+v", open)
	}

	// Its next fill is its second: "-2". It rested before the restart, so the first book
	// after it, which crosses it (0.2 at 99), fills it at its limit as a maker, not as an
	// order arriving (a taker at 99).
	after.p.Market(&streams.Snapshot{Venue: "binance", Symbol: "BTCUSDT", LastUpdateID: 1, Time: 3_000,
		Asks: paperLevels("99", "0.2", "101", "5"), Bids: paperLevels("98", "1")})
	got = after.wantReports(0, "fill")
	wantFill(t, got[0], o, "0.2", "100", "0.02", "0.4", true, 3_000)
	wantTradeID(t, got[0], o, "2")

	// Its third on a trade: 10% of 3 at its limit.
	after.p.Market(paperTrade(3, "99.5", "3", 4_000))
	got = after.wantReports(1, "fill")
	wantFill(t, got[0], o, "0.3", "100", "0.03", "0.7", true, 4_000)
	wantTradeID(t, got[0], o, "3")

	// An order submitted after the restart counts its own fills from 1. A trade at 98
	// (capacity 1) serves the adopted order first (accepted earlier): its last 0.3 as "-4";
	// then the new market sell, 0.5 at 98 × 0.9998 = 97.9804 (fee 0.5 × 97.9804 × 0.001).
	sell := paperOrder(t, "after", streams.Sell, streams.Market, "0.5", "")
	after.submit(sell)
	after.p.Market(paperTrade(4, "98", "10", 5_000))
	got = after.wantReports(2, "accepted,fill,fill")
	wantFill(t, got[1], o, "0.3", "100", "0.03", "1", true, 5_000)
	wantTradeID(t, got[1], o, "4")
	wantFill(t, got[2], sell, "0.5", "97.9804", "0.0489902", "0.5", false, 5_000)
	wantTradeID(t, got[2], sell, "1")
	if e := after.orders[o.ClientOrderID]; e.Status != StatusFilled || e.Fills != 4 || !eqPaper(e.Filled, "1") || !eqPaper(e.Fees, "0.1") {
		t.Fatalf("engine's order %+v: every fill should have applied", e)
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

// An order decided on a candle's close reaches the venue after the market's last event: the
// venue accepts (or rejects) it at its submission time, never before it.
func TestPaperAcceptsNoEarlierThanTheSubmission(t *testing.T) {
	r := newPaperRig(t, PaperOptions{})
	const t0 = 1_700_000_000_000
	r.p.Market(paperTrade(1, "100", "1", t0-1)) // the last trade of the candle closing at t0
	o, err := NewOrder(&streams.OrderEvent{Type: streams.OrderIntent, ClientOrderID: streams.ClientOrderID("ATLAS", "binance", "BTCUSDT", "after-close"),
		Agent: "ATLAS", Venue: "binance", Symbol: "BTCUSDT", Side: streams.Buy, OrderType: streams.Limit, Qty: decimal.MustParse("1"),
		Price: decimal.MustParse("99"), Time: t0})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := o.Apply(o.Event(streams.OrderSubmitted, t0)); err != nil {
		t.Fatal(err)
	}
	r.submit(o)
	if acc := r.wantReports(0, "accepted"); acc[0].Time != t0 {
		t.Fatalf("accepted at %d, submitted at %d", acc[0].Time, t0)
	}
}
