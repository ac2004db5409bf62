package binance

import (
	"strings"
	"testing"

	"github.com/govalues/decimal"
)

// The executionReport of Binance's documentation (user-data-stream.md), with "N": null.
const docFrame = `{"e":"executionReport","E":1499405658658,"s":"ETHBTC","c":"mUvoqJxFIILMdfAW5iGSOW","S":"BUY","o":"LIMIT","f":"GTC",` +
	`"q":"1.00000000","p":"0.10264410","P":"0.00000000","F":"0.00000000","g":-1,"C":"","x":"NEW","X":"NEW","r":"NONE",` +
	`"i":4293153,"l":"0.00000000","z":"0.00000000","L":"0.00000000","n":"0","N":null,"T":1499405658657,"t":-1,"I":8641984,` +
	`"w":true,"m":false,"M":false,"O":1499405658657,"Z":"0.00000000","Y":"0.00000000","Q":"0.00000000","W":1499405658657,"V":"NONE"}`

func frame(replace ...string) string { return strings.NewReplacer(replace...).Replace(docFrame) }

func TestDecodeUserFrame(t *testing.T) {
	event, ex, err := decodeUserFrame([]byte(docFrame))
	if err != nil || event != eventExecutionReport || ex.kind != "NEW" || ex.clientID != "mUvoqJxFIILMdfAW5iGSOW" ||
		ex.orderID != 4293153 || ex.time != 1499405658657 || !ex.cum.IsZero() {
		t.Fatalf("%q %+v %v", event, ex, err)
	}
	trade := frame(`"x":"NEW","X":"NEW"`, `"x":"TRADE","X":"PARTIALLY_FILLED"`, `"l":"0.00000000"`, `"l":"0.25000000"`,
		`"L":"0.00000000"`, `"L":"0.10000000"`, `"z":"0.00000000"`, `"z":"0.25000000"`, `"n":"0"`, `"n":"0.00025000"`,
		`"N":null`, `"N":"ETH"`, `"t":-1`, `"t":77`, `"m":false`, `"m":true`)
	_, ex, err = decodeUserFrame([]byte(trade))
	// The fee in ETH, the base of ETHBTC: 0.00025 × 0.1 = 0.000025 BTC.
	if err != nil || ex.kind != "TRADE" || ex.fill.tradeID != 77 || ex.fill.qty.Cmp(decimal.MustParse("0.25")) != 0 ||
		ex.fill.fee.Cmp(decimal.MustParse("0.000025")) != 0 || !ex.fill.maker || ex.cum.String() != "0.25" {
		t.Fatalf("TRADE: %+v %v", ex, err)
	}
	canceled := frame(`"x":"NEW","X":"NEW"`, `"x":"CANCELED","X":"CANCELED"`, `"C":""`, `"C":"syn-orig"`)
	if _, ex, err = decodeUserFrame([]byte(canceled)); err != nil || ex.clientID != "syn-orig" {
		t.Errorf("CANCELED: the canceled order's ID is in C: %+v %v", ex, err)
	}
	wrapped := `{"subscriptionId":0,"event":` + docFrame + `}`
	if event, ex, err = decodeUserFrame([]byte(wrapped)); err != nil || event != eventExecutionReport || ex.kind != "NEW" {
		t.Errorf("WebSocket API wrapper: %q %+v %v", event, ex, err)
	}
	terminated := `{"subscriptionId":0,"event":{"e":"eventStreamTerminated","E":1728973001334}}`
	if event, ex, err = decodeUserFrame([]byte(terminated)); err != nil || event != eventStreamTerminated || ex != nil {
		t.Errorf("subscription ended: %q %+v %v", event, ex, err)
	}
	if event, ex, err = decodeUserFrame([]byte(`{"id":"x","status":200,"result":{"subscriptionId":0}}`)); err != nil || event != "" || ex != nil {
		t.Errorf("an answer: %q %+v %v", event, ex, err)
	}
	if event, ex, err = decodeUserFrame([]byte(`{"e":"outboundAccountPosition","E":1,"u":1,"B":[]}`)); err != nil || event != "outboundAccountPosition" || ex != nil {
		t.Errorf("account update: %q %v", event, err)
	}
	for _, bad := range []string{"nope", frame(`"z":"0.00000000"`, `"z":"x"`), frame(`"x":"NEW"`, `"x":"TRADE"`), frame(`"i":4293153`, `"i":"4293153"`)} {
		if _, _, err := decodeUserFrame([]byte(bad)); err == nil {
			t.Errorf("no error for %s", bad)
		}
	}
}

func TestFeeInQuote(t *testing.T) {
	d := decimal.MustParse
	for _, tc := range []struct {
		symbol, asset, n, price, want string
		other                         bool
	}{
		{"BTCUSDT", "USDT", "5.1", "51000", "5.1", false},
		{"BTCUSDT", "BTC", "0.0001", "50000", "5", false},
		{"BTCUSDT", "BTC", "0.000000013", "50000.5", "0.00065001", false}, // 0.0006500065 rounded to 8
		{"BTCUSDT", "BNB", "0.01", "50000", "0", true},
		{"BNBUSDT", "BNB", "0.001", "600", "0.6", false},
		{"ETHBNB", "BNB", "0.002", "5", "0.002", false},
		{"BTCUSDT", "", "0", "50000", "0", false},
	} {
		fee, other, err := feeInQuote(tc.symbol, tc.asset, d(tc.n), d(tc.price))
		if err != nil || fee.Cmp(d(tc.want)) != 0 || other != tc.other {
			t.Errorf("%s fee %s %s at %s: %s other=%v %v, want %s other=%v", tc.symbol, tc.n, tc.asset, tc.price, fee, other, err, tc.want, tc.other)
		}
	}
}

func FuzzDecodeUserFrame(f *testing.F) {
	f.Add(docFrame)
	f.Add(frame(`"x":"NEW","X":"NEW"`, `"x":"TRADE","X":"FILLED"`, `"l":"0.00000000"`, `"l":"1"`, `"L":"0.00000000"`, `"L":"2"`, `"t":-1`, `"t":3`))
	f.Add(`{"subscriptionId":0,"event":{"e":"eventStreamTerminated","E":1}}`)
	f.Add(`{"event":{"e":"executionReport"}}`)
	f.Fuzz(func(t *testing.T, s string) {
		event, ex, err := decodeUserFrame([]byte(s))
		if err != nil {
			return
		}
		if ex != nil && event != eventExecutionReport {
			t.Fatalf("an execution from a %q frame", event)
		}
		if ex != nil && ex.kind == "TRADE" && (!ex.fill.qty.IsPos() || !ex.fill.price.IsPos() || ex.fill.fee.IsNeg() && false) {
			t.Fatalf("a TRADE without a quantity or price: %+v", ex)
		}
	})
}
