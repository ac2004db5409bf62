package web

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/synapse-trading/synapse/streams"
)

// A bot's command request is checked as the HTTP API checks a trader token's command: a good
// one goes on CMD and is answered with its sequence, a bad one is answered with the error and
// the field and puts nothing on the log. Real embedded NATS, the bots' listener and its
// credentials.
func TestBotCommandRequests(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	reader := streams.Credential{User: "reader", Password: "r-secret-for-the-test"}
	trader := streams.Credential{User: "bots", Password: "t-secret-for-the-test"}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	l, err := streams.Open(ctx, streams.Options{DataDir: t.TempDir(), Listen: addr, Reader: reader, Trader: trader})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	submit := func(ctx context.Context, cmd *streams.Command) (uint64, error) {
		msg, err := streams.Encode(cmd)
		if err != nil {
			return 0, err
		}
		ack, err := l.JS.PublishMsg(ctx, msg)
		if err != nil {
			return 0, err
		}
		return ack.Sequence, nil
	}
	g := New(NewHub(), Options{Submit: submit, Logger: slog.New(slog.DiscardHandler), CommandRate: 0.001, CommandBurst: 8})
	serving := make(chan error, 1)
	serveCtx, stop := context.WithCancel(ctx)
	go func() { serving <- g.ServeCommandRequests(serveCtx, l.Conn, trader.User, RoleTrader) }()
	defer func() {
		stop()
		if err := <-serving; err != nil {
			t.Error(err)
		}
	}()

	tc, err := nats.Connect(l.ClientURL(), nats.UserInfo(trader.User, trader.Password), nats.CustomInboxPrefix(streams.InboxPrefix(trader.User)))
	if err != nil {
		t.Fatal(err)
	}
	defer tc.Close()
	ask := func(name, body string) BotCommandReply {
		t.Helper()
		var m *nats.Msg
		for range 50 { // until the engine's subscription is in place
			if m, err = tc.Request("req.commands."+name, []byte(body), 2*time.Second); !errors.Is(err, nats.ErrNoResponders) {
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		var r BotCommandReply
		if err := json.Unmarshal(m.Data, &r); err != nil {
			t.Fatalf("%s: reply %s: %v", name, m.Data, err)
		}
		return r
	}
	cmds := func() uint64 {
		t.Helper()
		seq, err := streams.LastSeq(ctx, l.JS, streams.StreamCommands)
		if err != nil {
			t.Fatal(err)
		}
		return seq
	}

	ok := ask("agents.halt", `{"agent":"ATLAS"}`)
	if ok.Status != "accepted" || ok.Seq != 1 || ok.Name != "agents.halt" || ok.ID == "" || cmds() != 1 {
		t.Fatalf("a good command: %+v, CMD ends at %d", ok, cmds())
	}
	stream, err := l.JS.Stream(ctx, streams.StreamCommands)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := stream.GetMsg(ctx, ok.Seq)
	if err != nil {
		t.Fatal(err)
	}
	ev, err := streams.Decode(raw.Subject, raw.Header, raw.Data)
	if err != nil {
		t.Fatal(err)
	}
	if c := ev.(*streams.Command); raw.Subject != "cmd.agents.halt" || c.CommandID != ok.ID || c.Issuer != trader.User {
		t.Fatalf("on the log: %s %+v", raw.Subject, c)
	}
	for _, tc := range []struct {
		name, body string
		code       int
		field      string
	}{
		{"agents.halt", `{"agent":""}`, 400, "agent"},
		{"agents.halt", `{"agent":"ATLAS","all":true}`, 400, "all"},
		{"portfolio.rebalance", `{"threshold":0.05}`, 400, "threshold"},
		{"agents.halt", `not json`, 400, ""},
		{"models.deploy", `{"model":"direction","dir":"models"}`, 403, ""}, // the admin's
		{"agents.fly", `{}`, 404, ""},
	} {
		r := ask(tc.name, tc.body)
		if r.Status != "rejected" || r.Code != tc.code || r.Field != tc.field || r.Error == "" || r.Seq != 0 {
			t.Errorf("%s %s: %+v, want %d naming %q", tc.name, tc.body, r, tc.code, tc.field)
		}
	}
	if r := ask("models.deploy", `{}`); !strings.Contains(r.Error, `NATS user "bots" has role trader`) {
		t.Errorf("a refused role does not name the user: %q", r.Error)
	}
	// The burst of 8 is spent (the good command and the 7 refused): over the rate limit.
	if r := ask("killswitch.off", `{}`); r.Code != 429 || r.RetryAfterS < 1 {
		t.Errorf("over the rate limit: %+v", r)
	}
	if n := cmds(); n != 1 {
		t.Fatalf("refused requests put %d commands on CMD", n-1)
	}

	// The reader may not ask.
	rc, err := nats.Connect(l.ClientURL(), nats.UserInfo(reader.User, reader.Password), nats.CustomInboxPrefix(streams.InboxPrefix(reader.User)),
		nats.ErrorHandler(func(*nats.Conn, *nats.Subscription, error) {})) // the refusal is expected
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	if _, err := rc.Request("req.commands.killswitch.on", []byte(`{"reason":"x"}`), time.Second); err == nil {
		t.Fatal("the reader's command request was answered")
	}
	if n := cmds(); n != 1 {
		t.Fatalf("the reader put a command on CMD")
	}
}
