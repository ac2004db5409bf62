package web

import (
	"strconv"
	"testing"
	"time"
)

func TestCommandsOverTheRateLimitGet429(t *testing.T) {
	e := newEnv(t, Options{CommandRate: 0.5, CommandBurst: 3})
	for i := range 3 {
		if a := e.call(t, "POST", "/api/v1/commands/killswitch.off", e.trader, `{}`); a.status != 202 {
			t.Fatalf("command %d within the burst: %d %s", i+1, a.status, a.raw)
		}
	}
	a := e.call(t, "POST", "/api/v1/commands/killswitch.off", e.trader, `{}`)
	secs, err := strconv.Atoi(a.header.Get("Retry-After"))
	if a.status != 429 || err != nil || secs < 1 || secs > 2 || a.body["error"] == "" {
		t.Fatalf("over the limit: %d Retry-After %q %s", a.status, a.header.Get("Retry-After"), a.raw)
	}
	// Invalid commands count too, and are not submitted.
	if a := e.call(t, "POST", "/api/v1/commands/agents.halt", e.trader, `{}`); a.status != 429 {
		t.Errorf("invalid command over the limit: %d", a.status)
	}
	if n := len(e.sub.all()); n != 3 {
		t.Errorf("%d commands submitted, want 3", n)
	}
	// The limit is per token: the admin still may.
	if a := e.call(t, "POST", "/api/v1/commands/killswitch.off", e.admin, `{}`); a.status != 202 {
		t.Errorf("another token: %d", a.status)
	}
}

func TestLimiterRetryAfterRoundsUp(t *testing.T) {
	l := newLimiter(100, 1)
	if _, ok := l.allow("a"); !ok {
		t.Fatal("first event refused")
	}
	wait, ok := l.allow("a")
	if ok || wait <= 0 || wait > 10*time.Millisecond {
		t.Fatalf("second event: %v %v", wait, ok)
	}
	// A refused request takes nothing: after the wait one is allowed again.
	checkFor(t, time.Second, "the bucket refills", func() bool { _, ok := l.allow("a"); return ok })
}

func BenchmarkLimiterAllow(b *testing.B) {
	l := newLimiter(1e9, 1<<30)
	for b.Loop() {
		l.allow("bot-1")
	}
}
