package streams

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/govalues/decimal"
	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

func openTestLog(t *testing.T, opts Options) *Log {
	t.Helper()
	if opts.DataDir == "" {
		opts.DataDir = t.TempDir()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	l, err := Open(ctx, opts)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(l.Close)
	return l
}

func testKline(openTime int64) *Kline {
	return &Kline{
		Venue: "binance", Symbol: "BTCUSDT", Interval: "1m", OpenTime: openTime, CloseTime: openTime + 59_999,
		Open: decimal.MustParse("61837.63"), High: decimal.MustParse("61900.00"), Low: decimal.MustParse("61800.01"),
		Close: decimal.MustParse("61850.10"), Volume: decimal.MustParse("12.5"), QuoteVolume: decimal.MustParse("773126.25"),
		Trades: 42, TakerBuyVolume: decimal.MustParse("6.25"), TakerBuyQuoteVolume: decimal.MustParse("386563.125"),
	}
}

func TestPublishDeduplicatesByEventID(t *testing.T) {
	l := openTestLog(t, Options{})
	ctx := context.Background()
	for i := 0; i < 3; i++ { // a feed that restarts and sends the same klines again
		publishKlines(t, l, 1723161240000, 1723161300000)
	}
	s, err := l.JS.Stream(ctx, StreamMarketData)
	if err != nil {
		t.Fatal(err)
	}
	info, err := s.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.State.Msgs != 2 {
		t.Fatalf("stream holds %d messages, want 2 (deduplicated)", info.State.Msgs)
	}
	if st := l.Stats(); st.Duplicates != 4 || st.Published != 6 {
		t.Fatalf("stats = %+v, want 6 published, 4 duplicates", st)
	}
}

func TestTailPrintsEventsAsJSONLines(t *testing.T) {
	l := openTestLog(t, Options{})
	ctx := context.Background()
	for i := int64(0); i < 5; i++ {
		if err := l.Publish(ctx, testKline(1723161240000+i*60_000)); err != nil {
			t.Fatal(err)
		}
	}
	tr := &Trade{Venue: "binance", Symbol: "ETHUSDT", TradeID: 7, Price: decimal.MustParse("2600.5"), Qty: decimal.MustParse("0.1"), Time: 1723161240001}
	if err := l.Publish(ctx, tr); err != nil {
		t.Fatal(err)
	}
	if err := l.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	for subject, says := range map[string]string{"md..>": "empty token", "md.>.kline": "last token", "md.bin*": "whole token", "md.a b": "space"} {
		if _, err := Tail(ctx, l.JS, subject, TailOptions{}, io.Discard); err == nil || !strings.Contains(err.Error(), says) {
			t.Errorf("tail %q: %v, want it to say %q", subject, err, says)
		}
	}
	var out bytes.Buffer
	n, err := Tail(ctx, l.JS, "md.binance.btcusdt.>", TailOptions{FromSeq: 2}, &out)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if n != 4 || len(lines) != 4 {
		t.Fatalf("tail printed %d lines (%d), want 4 (seq 2..5):\n%s", n, len(lines), out.String())
	}
	var first TailLine
	if err := json.Unmarshal([]byte(lines[0]), &first); err != nil {
		t.Fatal(err)
	}
	if first.Seq != 2 || first.Subject != "md.binance.btcusdt.kline.1m" || first.Schema != "kline/v1" {
		t.Fatalf("first line = %+v", first)
	}
	var k Kline
	if err := json.Unmarshal(first.Data, &k); err != nil || k.OpenTime != 1723161300000 || k.Close.String() != "61850.10" {
		t.Fatalf("payload = %+v, %v", k, err)
	}
	// A filter that matches nothing ends at once rather than waiting.
	out.Reset()
	if n, err := Tail(ctx, l.JS, "md.binance.solusdt.>", TailOptions{}, &out); err != nil || n != 0 {
		t.Fatalf("tail of nothing = %d, %v", n, err)
	}
	if _, err := Tail(ctx, l.JS, "nope.>", TailOptions{}, &out); err == nil {
		t.Fatal("tail of an unknown subject should fail")
	}
}

func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

func TestBotListenerEnforcesCredentials(t *testing.T) {
	reader := Credential{User: "reader", Password: "r-" + randomSecret()}
	trader := Credential{User: "trader", Password: "t-" + randomSecret()}
	l := openTestLog(t, Options{Listen: freePort(t), Reader: reader, Trader: trader})
	url := l.ClientURL()
	if url == "" {
		t.Fatal("no client URL with a listener")
	}
	if _, err := nats.Connect(url); err == nil {
		t.Fatal("connecting without credentials should fail")
	}
	rc, err := nats.Connect(url, nats.UserInfo(reader.User, reader.Password))
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	errs := make(chan error, 4)
	rc.SetErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) { errs <- err })

	// The reader sees market data as the engine publishes it.
	sub, err := rc.SubscribeSync("md.>")
	if err != nil {
		t.Fatal(err)
	}
	if err := rc.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := l.Publish(context.Background(), testKline(1723161240000)); err != nil {
		t.Fatal(err)
	}
	if _, err := sub.NextMsg(5 * time.Second); err != nil {
		t.Fatalf("reader did not receive market data: %v", err)
	}
	// refused waits for the server's refusal of what was just asked.
	refused := func(what string) {
		t.Helper()
		select {
		case err := <-errs:
			if !errors.Is(err, nats.ErrPermissionViolation) && !strings.Contains(strings.ToLower(err.Error()), "permissions violation") {
				t.Fatalf("%s: unexpected error: %v", what, err)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("%s was not refused", what)
		}
	}
	// The reader may not publish commands.
	if err := rc.Publish("cmd.agents.halt", []byte(`{}`)); err != nil {
		t.Fatal(err)
	}
	refused("the reader publishing a command")
	// Nor read other clients' inboxes (JetStream deliveries of ORD to the trader, order
	// replies): only its own, under InboxPrefix.
	if _, err := rc.SubscribeSync("_INBOX.>"); err != nil {
		t.Fatal(err)
	}
	refused("the reader subscribing to every inbox")
	// The trader may.
	tc, err := nats.Connect(url, nats.UserInfo(trader.User, trader.Password), nats.CustomInboxPrefix(InboxPrefix(trader.User)))
	if err != nil {
		t.Fatal(err)
	}
	defer tc.Close()
	tc.SetErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) { errs <- err })
	if err := tc.Publish("cmd.agents.halt", []byte(`{}`)); err != nil {
		t.Fatal(err)
	}
	if err := tc.Flush(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-errs:
		t.Fatalf("trader publishing a command was refused: %v", err)
	case <-time.After(300 * time.Millisecond):
	}
	// ... but not the admin's models.* commands.
	if err := tc.Publish("cmd.models.deploy", []byte(`{}`)); err != nil {
		t.Fatal(err)
	}
	refused("the trader publishing models.deploy")
	// synapse tail with the reader's credential attaches to the streams as they are: it may
	// not create or update them.
	withReader := strings.Replace(url, "nats://", "nats://"+reader.User+":"+reader.Password+"@", 1)
	rl, err := Open(context.Background(), Options{URL: withReader, Attach: true})
	if err != nil {
		t.Fatalf("attaching with the reader's credential: %v", err)
	}
	var out strings.Builder
	if n, err := Tail(context.Background(), rl.JS, "md.>", TailOptions{Limit: 1}, &out); err != nil || n != 1 {
		t.Errorf("tail md.> as the reader: %d events, %v", n, err)
	}
	// ... but not ORD: the error says why the server did not answer.
	tctx, tcancel := context.WithTimeout(context.Background(), 2*time.Second)
	if _, err := Tail(tctx, rl.JS, "ord.>", TailOptions{Limit: 1}, &out); err == nil || !strings.Contains(err.Error(), "may this user read stream ORD") {
		t.Errorf("tail ord.> as the reader: %v", err)
	}
	tcancel()
	rl.Close()
	// A wrong password is named as such, and not printed.
	wrong := strings.Replace(url, "nats://", "nats://"+reader.User+":not-"+reader.Password+"@", 1)
	if _, err := Open(context.Background(), Options{URL: wrong, Attach: true}); err == nil || !strings.Contains(err.Error(), "check the user and password") ||
		strings.Contains(err.Error(), reader.Password) {
		t.Errorf("a wrong password: %v", err)
	}
	// The trader reads the orders and portfolio streams through JetStream, from the start.
	tjs, err := jetstream.New(tc)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{StreamOrders, StreamPortfolio} {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		cons, err := tjs.OrderedConsumer(ctx, s, jetstream.OrderedConsumerConfig{})
		if err == nil {
			_, err = cons.Info(ctx)
		}
		cancel()
		if err != nil {
			t.Errorf("trader reading %s through JetStream: %v", s, err)
		}
	}
}

func TestListenErrors(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	creds := Credential{User: "u", Password: "p"}
	_, err = Open(context.Background(), Options{DataDir: t.TempDir(), Listen: ln.Addr().String(), Reader: creds, Trader: creds})
	if !errors.Is(err, ErrListen) {
		t.Fatalf("taken port: err = %v, want ErrListen", err)
	}
	_, err = Open(context.Background(), Options{DataDir: t.TempDir(), Listen: freePort(t)})
	if !errors.Is(err, ErrCredentials) {
		t.Fatalf("no credentials: err = %v, want ErrCredentials", err)
	}
}

func TestDataDirIsLocked(t *testing.T) {
	dir := t.TempDir()
	openTestLog(t, Options{DataDir: dir})
	_, err := Open(context.Background(), Options{DataDir: dir})
	if !errors.Is(err, ErrLocked) {
		t.Fatalf("second Open on the same data dir: err = %v, want ErrLocked", err)
	}
}

func TestLogSurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	l, err := Open(ctx, Options{DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Publish(ctx, testKline(1723161240000)); err != nil {
		t.Fatal(err)
	}
	if err := l.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	l.Close()
	l2 := openTestLog(t, Options{DataDir: dir})
	var out bytes.Buffer
	if n, err := Tail(ctx, l2.JS, "md.>", TailOptions{}, &out); err != nil || n != 1 {
		t.Fatalf("after restart tail = %d, %v", n, err)
	}
}

// With URL the log uses an existing server (here a separate JetStream server on a random
// port, never the system one on 4222) and creates its streams there.
func TestExternalServerByURL(t *testing.T) {
	ns, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: -1, JetStream: true, StoreDir: t.TempDir(), NoLog: true, NoSigs: true})
	if err != nil {
		t.Fatal(err)
	}
	go ns.Start()
	if !ns.ReadyForConnections(10 * time.Second) {
		t.Fatal("server not ready")
	}
	defer ns.Shutdown()
	l := openTestLog(t, Options{URL: ns.ClientURL()})
	if l.ClientURL() != ns.ClientURL() {
		t.Fatalf("client URL %q", l.ClientURL())
	}
	ctx := context.Background()
	if err := l.Publish(ctx, testKline(1723161240000)); err != nil {
		t.Fatal(err)
	}
	if err := l.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if n, err := Tail(ctx, l.JS, "md.>", TailOptions{}, &out); err != nil || n != 1 {
		t.Fatalf("tail = %d, %v", n, err)
	}
	if _, err := Open(ctx, Options{URL: "nats://127.0.0.1:1"}); !errors.Is(err, ErrConnect) {
		t.Fatalf("unreachable URL: %v", err)
	}
}

// Recorder's and Queries' JetStream are each on a connection of its own (the desk's acked
// records and the datasets query's reads do not wait behind the feed), reach the same
// streams, and close with the log.
func TestRecorderAndQueriesHaveTheirOwnConnections(t *testing.T) {
	l, err := Open(context.Background(), Options{DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	rec, err := l.Recorder()
	if err != nil {
		t.Fatal(err)
	}
	queries, err := l.Queries()
	if err != nil {
		t.Fatal(err)
	}
	if rec.Conn() == l.Conn || queries.Conn() == l.Conn || queries.Conn() == rec.Conn() {
		t.Fatal("the recorder or the queries share a connection")
	}
	again, err := l.Recorder()
	if err != nil || again.Conn() != rec.Conn() {
		t.Fatalf("a second Recorder opened another connection (%v)", err)
	}
	if again, err := l.Queries(); err != nil || again.Conn() != queries.Conn() {
		t.Fatalf("a second Queries opened another connection (%v)", err)
	}
	msg, err := Encode(testKline(1723161240000))
	if err != nil {
		t.Fatal(err)
	}
	ack, err := rec.PublishMsg(context.Background(), msg)
	if err != nil || ack.Stream != StreamMarketData {
		t.Fatalf("publish through the recorder: %+v, %v", ack, err)
	}
	for name, js := range map[string]jetstream.JetStream{"the log's own": l.JS, "the queries'": queries} {
		if last, err := LastSeq(context.Background(), js, StreamMarketData); err != nil || last != ack.Sequence {
			t.Fatalf("%s connection sees seq %d (%v), the recorder wrote %d", name, last, err, ack.Sequence)
		}
	}
	l.Close()
	if !rec.Conn().IsClosed() || !queries.Conn().IsClosed() {
		t.Fatal("the recorder's or the queries' connection outlived the log")
	}
}

// A store the embedded server cannot use is an error at once, with the server's reason, not
// a wait of 30 seconds and a guess.
func TestUnusableStoreIsAClearError(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "jetstream"), []byte("not a directory"), 0o644); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, err := Open(context.Background(), Options{DataDir: dir, Logger: slog.New(slog.DiscardHandler)})
	if err == nil || !strings.Contains(err.Error(), "JetStream") || !strings.Contains(err.Error(), "--data-dir") {
		t.Fatalf("a store that is a file: %v", err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("the error took %s", d)
	}
}
