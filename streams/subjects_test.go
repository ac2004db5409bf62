package streams

import (
	"encoding/json"
	"os"
	"regexp"
	"strings"
	"testing"
)

var exampleBlock = regexp.MustCompile("(?s)```json subject=(\\S+)\\n(.*?)```")

// TestSubjectsDocExamplesDecode decodes every example in SUBJECTS.md with the real codec, checks
// it lands on the subject documented for it, and that it survives an encode/decode round trip.
func TestSubjectsDocExamplesDecode(t *testing.T) {
	doc, err := os.ReadFile("SUBJECTS.md")
	if err != nil {
		t.Fatal(err)
	}
	blocks := exampleBlock.FindAllStringSubmatch(string(doc), -1)
	kinds := map[Kind]bool{}
	for _, b := range blocks {
		subject, payload := b[1], strings.TrimSpace(b[2])
		ev, err := Decode(subject, nil, []byte(payload))
		if err != nil {
			t.Errorf("%s: %v", subject, err)
			continue
		}
		kinds[ev.Kind()] = true
		if ev.Subject() != subject {
			t.Errorf("example for %s decodes to an event on %s", subject, ev.Subject())
		}
		// Unknown fields would silently vanish: compare the key sets.
		var want, got map[string]any
		_ = json.Unmarshal([]byte(payload), &want)
		msg, err := Encode(ev)
		if err != nil {
			t.Fatal(err)
		}
		_ = json.Unmarshal(msg.Data, &got)
		for k := range want {
			if _, ok := got[k]; !ok {
				t.Errorf("%s: documented field %q is not in the schema", subject, k)
			}
		}
		back, err := Decode(msg.Subject, msg.Header, msg.Data)
		if err != nil || back.ID() != ev.ID() {
			t.Errorf("%s: round trip: %v (id %s vs %s)", subject, err, back.ID(), ev.ID())
		}
	}
	for k := range schemas { // every kind the codec knows
		if !kinds[k] {
			t.Errorf("SUBJECTS.md has no example of %s", k)
		}
	}
}

func TestDecodeRejectsBadInput(t *testing.T) {
	h := map[string][]string{HeaderSchema: {"kline/v9"}}
	for name, c := range map[string]struct {
		subject string
		header  map[string][]string
		data    string
	}{
		"newer schema": {"md.binance.btcusdt.kline.1m", h, `{}`},
		"garbage":      {"md.binance.btcusdt.trade", nil, `{"price":`},
		"bad decimal":  {"md.binance.btcusdt.trade", nil, `{"price":"12x"}`},
		"unknown kind": {"md.binance.btcusdt.funding", nil, `{}`},
		"unknown subj": {"foo", nil, `{}`},
		"bad header":   {"md.binance.btcusdt.trade", map[string][]string{HeaderSchema: {"trade"}}, `{}`},
	} {
		if _, err := Decode(c.subject, c.header, []byte(c.data)); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func FuzzDecode(f *testing.F) {
	doc, _ := os.ReadFile("SUBJECTS.md")
	for _, b := range exampleBlock.FindAllStringSubmatch(string(doc), -1) {
		f.Add(b[1], []byte(b[2]))
	}
	f.Fuzz(func(t *testing.T, subject string, data []byte) {
		ev, err := Decode(subject, nil, data)
		if err == nil && ev == nil {
			t.Fatal("nil event without error")
		}
	})
}

// A trade and an aggregate trade with the same number are two events: JetStream's
// deduplication, keyed by ID, must not drop the second.
func TestTradeAndAggregateTradeIDsDiffer(t *testing.T) {
	tr := &Trade{Venue: "binance", Symbol: "BTCUSDT", TradeID: 42}
	agg := *tr
	agg.Aggregate = true
	if tr.ID() == agg.ID() {
		t.Fatalf("both %s", tr.ID())
	}
}
