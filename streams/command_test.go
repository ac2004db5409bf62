package streams

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/govalues/decimal"
)

// Commands published straight on NATS, as a bot may: one with an ID sent before is not
// applied again (live as on a restart), one on another command's subject is refused, and
// one without a time takes the time the log stored it.
func TestConsumeCommandsAppliesEachIDOnce(t *testing.T) {
	l := openTestLog(t, Options{})
	ctx := context.Background()
	for _, m := range [][2]string{
		{"cmd.agents.halt", `{"name":"agents.halt","id":"dup-A","args":{"agent":"ORION"},"time":5}`},
		{"cmd.agents.resume", `{"name":"agents.resume","id":"dup-B","args":{"agent":"ORION"}}`},
		{"cmd.agents.halt", `{"name":"agents.halt","id":"dup-A","args":{"agent":"ORION"},"time":9}`},
		{"cmd.agents.halt", `{"name":"agents.resume","id":"other","args":{"agent":"ORION"},"time":9}`},
	} {
		if _, err := l.JS.Publish(ctx, m[0], []byte(m[1])); err != nil {
			t.Fatal(err)
		}
	}
	var mu sync.Mutex
	var applied []SequencedCommand
	var refused []error
	cctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		_ = ConsumeCommands(cctx, l.JS, func(c SequencedCommand) error {
			mu.Lock()
			defer mu.Unlock()
			applied = append(applied, c)
			return nil
		}, func(_ SequencedCommand, err error) {
			mu.Lock()
			defer mu.Unlock()
			refused = append(refused, err)
		})
	}()
	deadline := time.Now().Add(10 * time.Second)
	for {
		mu.Lock()
		n := len(applied) + len(refused)
		mu.Unlock()
		if n == 4 || time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(applied) != 2 || applied[0].CommandID != "dup-A" || applied[0].Time != 5 || applied[1].CommandID != "dup-B" {
		t.Fatalf("applied %+v, want dup-A then dup-B", applied)
	}
	if now := time.Now().UnixMilli(); applied[1].Time < now-60_000 || applied[1].Time > now {
		t.Fatalf("a command without a time got %d, want the log's time (about %d)", applied[1].Time, now)
	}
	if len(refused) != 2 || !errors.Is(refused[0], ErrDuplicateCommand) || !errors.Is(refused[1], ErrBadEvent) {
		t.Fatalf("refused %v, want the resent dup-A and the command on another's subject", refused)
	}
}

func TestParseDecimalRefusesWhatItWouldRound(t *testing.T) {
	for s, want := range map[string]string{"0.05": "0.05", "1e-3": "0.001", "0.10000000000000000000000000": "0.1", "-12.5": "-12.5",
		"1234567890.123456789": "1234567890.123456789"} {
		d, err := ParseDecimal(s)
		if err != nil || d.Cmp(decimal.MustParse(want)) != 0 {
			t.Errorf("%s: %s, %v; want %s", s, d, err, want)
		}
	}
	for _, s := range []string{"0.000000000000000000000000000000000000001", "0.1111111111111111111111", "1234567890.1234567891", "", "1/3", "0x10", "NaN", "lots"} {
		if d, err := ParseDecimal(s); err == nil {
			t.Errorf("%q parsed as %s", s, d)
		}
	}
}
