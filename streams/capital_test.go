package streams

import (
	"errors"
	"testing"

	"github.com/govalues/decimal"
)

// A capital move goes on pf.<agent>.capital (stream PF) as capital/v1 with its deterministic
// ID, and comes back from the log as it went.
func TestCapitalMoveEncodesAndDecodes(t *testing.T) {
	m := &CapitalMove{Agent: "ATLAS", Amount: decimal.MustParse("-300.50"), Type: MoveDistribution, HighWater: decimal.MustParse("10200"),
		Cause: "portfolio.distribute.7", CommandSeq: 9, Equity: decimal.MustParse("10200.00"), AfterFills: 4, Time: 1723161600000}
	msg, err := Encode(m)
	if err != nil {
		t.Fatal(err)
	}
	if msg.Subject != "pf.atlas.capital" || msg.Header.Get("Nats-Msg-Id") != "atlas.capital.portfolio.distribute.7" ||
		msg.Header.Get(HeaderSchema) != "capital/v1" || StreamFor(msg.Subject) != StreamPortfolio {
		t.Errorf("encoded as %s %v", msg.Subject, msg.Header)
	}
	want := `{"agent":"ATLAS","amount":"-300.50","type":"distribution","high_water":"10200","cause":"portfolio.distribute.7","command_seq":9,` +
		`"equity":"10200.00","after_fills":4,"time":1723161600000}`
	if string(msg.Data) != want {
		t.Errorf("payload %s\n want %s", msg.Data, want)
	}
	for _, header := range []map[string][]string{msg.Header, nil} { // a bot's message has no schema header
		ev, err := Decode(msg.Subject, header, msg.Data)
		if err != nil {
			t.Fatal(err)
		}
		back, ok := ev.(*CapitalMove)
		if !ok || back.ID() != m.ID() || back.Amount.String() != "-300.50" || back.Equity.String() != "10200.00" || back.AfterFills != 4 || back.Check() != nil {
			t.Errorf("decoded %#v", ev)
		}
	}
}

func TestCapitalMoveCheck(t *testing.T) {
	good := CapitalMove{Agent: "ORION", Amount: decimal.MustParse("12.5"), Type: MoveRebalance, Cause: "portfolio.rebalance.1"}
	if err := good.Check(); err != nil {
		t.Fatal(err)
	}
	for name, mutate := range map[string]func(*CapitalMove){
		"no agent":     func(m *CapitalMove) { m.Agent = "" },
		"dotted agent": func(m *CapitalMove) { m.Agent = "a.b" },
		"no cause":     func(m *CapitalMove) { m.Cause = "" },
		"bad type":     func(m *CapitalMove) { m.Type = "gift" },
		"zero amount":  func(m *CapitalMove) { m.Amount = decimal.Zero },
		"fills < 0":    func(m *CapitalMove) { m.AfterFills = -1 },
	} {
		m := good
		mutate(&m)
		if err := m.Check(); !errors.Is(err, ErrBadEvent) {
			t.Errorf("%s: %v, want ErrBadEvent", name, err)
		}
	}
}
