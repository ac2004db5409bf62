package streams

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// The bot credentials' user names when the configuration gives none.
const (
	DefaultReader = "reader"
	DefaultTrader = "trader"
)

// Credential is a user name and password for the bot listener. Credentials come from the
// config file or the environment (SYNAPSE_NATS_READER_PASSWORD, SYNAPSE_NATS_TRADER_PASSWORD),
// never from code.
type Credential struct {
	User     string `yaml:"user" json:"user"`
	Password string `yaml:"password" json:"-"`
}

// Options configure the log. The zero value runs an embedded server with JetStream files
// under ./data, reachable only in-process.
type Options struct {
	// DataDir holds the JetStream file store of the embedded server. Default "./data".
	DataDir string
	// Listen opens a TCP listener for bots on this address (e.g. "127.0.0.1:4223");
	// empty means in-process only. It requires Reader and Trader credentials.
	Listen string
	// URL connects to an existing NATS server or cluster instead of embedding one.
	URL string
	// Attach, with URL, uses the streams as the server has them, without creating or
	// updating them: a reader (synapse tail) with a bot credential may not.
	Attach bool
	// Reader may subscribe to market data, features and signals. Trader may also publish
	// commands and order requests.
	Reader, Trader Credential
	// MaxPending bounds the asynchronous publishes awaiting the server's ack; a feed that
	// outruns the store blocks here. Default 8192.
	MaxPending int
	// Logger receives the log's own messages. Default slog.Default().
	Logger *slog.Logger
}

// Log is Synapse's event log: a JetStream connection (to the embedded server by default)
// with every stream of the Catalog created.
type Log struct {
	Conn *nats.Conn
	JS   jetstream.JetStream

	opts    Options
	server  *server.Server // nil with an external URL
	connect func(name string) (*nats.Conn, error)
	records *nats.Conn // Recorder's, opened on first use
	queries *nats.Conn // Queries', opened on first use
	lock    *os.File   // held on DataDir while the embedded server runs
	logger  *slog.Logger

	published  atomic.Int64
	duplicates atomic.Int64
	failed     atomic.Int64

	mu      sync.Mutex
	lastErr error // first publish failure since the last Flush
}

// Open starts the embedded server (or connects to opts.URL), connects in-process and
// creates or updates every stream of the Catalog.
func Open(ctx context.Context, opts Options) (*Log, error) {
	if opts.DataDir == "" {
		opts.DataDir = "./data"
	}
	if opts.MaxPending <= 0 {
		opts.MaxPending = 8192
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	l := &Log{opts: opts, logger: opts.Logger}
	var err error
	if opts.URL != "" {
		copts := []nats.Option{nats.MaxReconnects(-1)}
		if u, err := url.Parse(opts.URL); err == nil && u.User != nil && u.User.Username() != "" {
			copts = append(copts, nats.CustomInboxPrefix(InboxPrefix(u.User.Username())))
		}
		l.connect = func(name string) (*nats.Conn, error) {
			return nats.Connect(opts.URL, append(copts, nats.Name(name))...)
		}
		l.Conn, err = l.connect("synapse")
		if err != nil {
			hint := "is the server running? drop --nats-url to use the embedded one"
			if errors.Is(err, nats.ErrAuthorization) {
				hint = "check the user and password in --nats-url: an engine's --nats-listen takes its reader and trader credentials"
			}
			return nil, fmt.Errorf("%w: %s: %v (%s)", ErrConnect, Redacted(opts.URL), err, hint)
		}
	} else if err := l.startEmbedded(); err != nil {
		return nil, err
	}
	l.JS, err = jetstream.New(l.Conn,
		jetstream.WithPublishAsyncMaxPending(opts.MaxPending),
		jetstream.WithPublishAsyncAckHandler(func(_ jetstream.JetStream, _ *nats.Msg, ack *jetstream.PubAck) {
			if ack.Duplicate {
				l.duplicates.Add(1)
			}
		}),
		jetstream.WithPublishAsyncErrHandler(func(_ jetstream.JetStream, msg *nats.Msg, err error) {
			l.failed.Add(1)
			l.mu.Lock()
			if l.lastErr == nil {
				l.lastErr = fmt.Errorf("%s: %w", msg.Subject, err)
			}
			l.mu.Unlock()
			l.logger.Error("publish failed", "subject", msg.Subject, "err", err)
		}),
	)
	if err != nil {
		l.Close()
		return nil, fmt.Errorf("%w: jetstream: %v", ErrConnect, err)
	}
	if opts.Attach && opts.URL != "" {
		return l, nil
	}
	for _, s := range Catalog() {
		if _, err := l.JS.CreateOrUpdateStream(ctx, s.config()); err != nil {
			l.Close()
			return nil, fmt.Errorf("%w: creating stream %s: %w", ErrConnect, s.Name, explainAPI(err, "create streams"))
		}
	}
	return l, nil
}

// HoldsLog reports false when dataDir certainly holds no embedded server's store (no
// jetstream/ folder): a command that only reads the log can refuse a mistyped path instead
// of opening it, which makes an empty store there. Other errors are left to Open to report.
func HoldsLog(dataDir string) bool {
	_, err := os.Stat(filepath.Join(dataDir, "jetstream"))
	return !errors.Is(err, fs.ErrNotExist)
}

func (l *Log) startEmbedded() error {
	if err := os.MkdirAll(l.opts.DataDir, 0o755); err != nil {
		return fmt.Errorf("%w: data dir: %v (choose a --data-dir this user may create and write)", ErrConnect, err)
	}
	lock, err := lockDir(l.opts.DataDir)
	if err != nil {
		return err
	}
	l.lock = lock
	o := &server.Options{
		ServerName: "synapse",
		JetStream:  true,
		StoreDir:   l.opts.DataDir,
		NoSigs:     true,
		MaxPayload: 8 << 20,
	}
	engine := Credential{User: "synapse-engine", Password: randomSecret()}
	if l.opts.Listen == "" {
		o.DontListen = true
	} else {
		host, port, err := splitListen(l.opts.Listen)
		if err != nil {
			return err
		}
		if l.opts.Reader.Password == "" || l.opts.Trader.Password == "" {
			return fmt.Errorf("%w: --nats-listen needs bot credentials: set SYNAPSE_NATS_READER_PASSWORD and SYNAPSE_NATS_TRADER_PASSWORD (or nats.reader/nats.trader in the config file)", ErrCredentials)
		}
		// Probe the port first: nats-server reports a taken port only in its log.
		probe, err := net.Listen("tcp", net.JoinHostPort(host, strconv.Itoa(port)))
		if err != nil {
			return fmt.Errorf("%w: %s: %v (choose a free port with --nats-listen HOST:PORT)", ErrListen, l.opts.Listen, err)
		}
		probe.Close()
		o.Host, o.Port = host, port
		o.Users = users(engine, l.opts.Reader, l.opts.Trader)
	}
	ns, err := server.NewServer(o)
	if err != nil {
		return fmt.Errorf("%w: embedded server: %v", ErrConnect, err)
	}
	// The server's warnings and errors (a damaged store, a directory it cannot write) go to
	// the engine's log; its notices do not.
	sl := &serverLog{logger: l.logger}
	ns.SetLoggerV2(sl, false, false, false)
	go ns.Start()
	for deadline := time.Now().Add(30 * time.Second); !ns.ReadyForConnections(100 * time.Millisecond); {
		if last := sl.fatalError(); last != "" { // it will not start
			ns.Shutdown()
			return fmt.Errorf("%w: embedded server in %s: %s (check that the user may write there, or choose another --data-dir)", ErrConnect, l.opts.DataDir, last)
		}
		if time.Now().After(deadline) {
			ns.Shutdown()
			return fmt.Errorf("%w: embedded server in %s not ready after 30s (is another synapse using this --data-dir?)", ErrConnect, l.opts.DataDir)
		}
	}
	l.server = ns
	l.connect = func(name string) (*nats.Conn, error) {
		copts := []nats.Option{nats.InProcessServer(ns), nats.Name(name)}
		if o.Users != nil {
			copts = append(copts, nats.UserInfo(engine.User, engine.Password))
		}
		return nats.Connect("", copts...)
	}
	l.Conn, err = l.connect("synapse-engine")
	if err != nil {
		ns.Shutdown()
		return fmt.Errorf("%w: in-process connection: %v", ErrConnect, err)
	}
	return nil
}

// serverLog passes the embedded NATS server's warnings and errors to the engine's logger
// and keeps its fatal error, which says why a server that does not start did not.
type serverLog struct {
	logger *slog.Logger
	mu     sync.Mutex
	fatal  string
}

func (s *serverLog) Noticef(string, ...any) {}
func (s *serverLog) Debugf(string, ...any)  {}
func (s *serverLog) Tracef(string, ...any)  {}

func (s *serverLog) Warnf(format string, v ...any) {
	msg := fmt.Sprintf(format, v...)
	if strings.HasPrefix(msg, "Plaintext passwords detected") {
		return // the bot credentials are random per start, or the operator's own
	}
	s.logger.Warn("nats-server: " + msg)
}

func (s *serverLog) Errorf(format string, v ...any) {
	s.logger.Error("nats-server: " + fmt.Sprintf(format, v...))
}

func (s *serverLog) Fatalf(format string, v ...any) {
	msg := fmt.Sprintf(format, v...)
	s.mu.Lock()
	s.fatal = msg
	s.mu.Unlock()
	s.logger.Error("nats-server: " + msg)
}

func (s *serverLog) fatalError() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.fatal
}

func splitListen(addr string) (string, int, error) {
	host, p, err := net.SplitHostPort(addr)
	if err != nil {
		// A bare port.
		host, p = "127.0.0.1", addr
	}
	if host == "" {
		host = "0.0.0.0"
	}
	port, err := strconv.Atoi(p)
	if err != nil || port < 0 || port > 65535 {
		return "", 0, fmt.Errorf("%w: %q is not HOST:PORT or PORT", ErrListen, addr)
	}
	return host, port, nil
}

// users grants the engine everything, the reader market data, features and signals (their
// streams read through JetStream too), and the trader what the reader has plus the orders
// and portfolio streams, the desk's commands and order requests, and command requests. The
// models.* commands are the admin's (the HTTP API asks for an admin token): the trader may
// not publish them (a request for one is refused by the engine, with the reason).
func users(engine, reader, trader Credential) []*server.User {
	api := []string{"$JS.API.INFO", "$JS.API.STREAM.NAMES", "$JS.API.STREAM.LIST", "$JS.ACK.>", "$JS.FC.>"}
	readAPI := append(slices.Clone(api), streamReadAPI(StreamMarketData, StreamFeatures, StreamSignals)...)
	traderAPI := append(append(slices.Clone(readAPI), streamReadAPI(StreamOrders, StreamPortfolio)...), "cmd.>", "req.orders.>", "req.commands.>")
	readSubs := []string{"md.>", "feat.>", "corr.>", "sig.>"}
	readerUser, traderUser := cmp.Or(reader.User, DefaultReader), cmp.Or(trader.User, DefaultTrader)
	return []*server.User{
		{Username: engine.User, Password: engine.Password},
		{Username: readerUser, Password: reader.Password, Permissions: &server.Permissions{
			Publish:   &server.SubjectPermission{Allow: readAPI},
			Subscribe: &server.SubjectPermission{Allow: append(slices.Clone(readSubs), InboxPrefix(readerUser)+".>")},
		}},
		{Username: traderUser, Password: trader.Password, Permissions: &server.Permissions{
			Publish:   &server.SubjectPermission{Allow: traderAPI, Deny: []string{"cmd.models.>"}},
			Subscribe: &server.SubjectPermission{Allow: append(slices.Clone(readSubs), "ord.>", "pf.>", InboxPrefix(traderUser)+".>")},
		}},
	}
}

// Redacted is a NATS URL without its password, for messages.
func Redacted(natsURL string) string {
	u, err := url.Parse(natsURL)
	if err != nil || u.User == nil {
		return natsURL
	}
	return u.Redacted()
}

// explainAPI adds to a JetStream API call that got no answer in time the likely reason: a
// permission the user lacks makes the server drop the request, which looks like a timeout.
// what is what the call needed, e.g. "read stream ORD".
func explainAPI(err error, what string) error {
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, nats.ErrTimeout) || errors.Is(err, nats.ErrNoResponders) {
		return fmt.Errorf("%w (no answer from JetStream: is it enabled there, and may this user %s? an engine's reader credential reads MD, FEAT and SIG, its trader ORD and PF too, and neither creates streams)", err, what)
	}
	return err
}

// InboxPrefix is the inbox prefix a bot credential's user must connect with (nats.go:
// nats.CustomInboxPrefix; the nats CLI: --inbox-prefix): each user may subscribe to its own
// inboxes only, so that no bot sees another's replies and JetStream deliveries.
func InboxPrefix(user string) string { return "_INBOX_" + user }

// streamReadAPI is the JetStream API a reader of the streams needs: their info, a message by
// sequence, and consumers of its own.
func streamReadAPI(streams ...string) []string {
	var out []string
	for _, s := range streams {
		out = append(out,
			"$JS.API.STREAM.INFO."+s,
			"$JS.API.STREAM.MSG.GET."+s,
			"$JS.API.CONSUMER.CREATE."+s, "$JS.API.CONSUMER.CREATE."+s+".>",
			"$JS.API.CONSUMER.INFO."+s+".>",
			"$JS.API.CONSUMER.DELETE."+s+".>",
			"$JS.API.CONSUMER.MSG.NEXT."+s+".>",
		)
	}
	return out
}

func randomSecret() string {
	b := make([]byte, 24)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// ClientURL is the address bots connect to, or "" when the log is in-process only.
func (l *Log) ClientURL() string {
	if l.opts.URL != "" {
		return l.opts.URL
	}
	if l.server == nil || l.opts.Listen == "" {
		return ""
	}
	return l.server.ClientURL()
}

// Publish puts an event on the log asynchronously, deduplicated by its ID. When
// MaxPending publishes await their acks it blocks (the log's backpressure on a feed) until
// there is room or ctx ends. Call Flush to wait for the acks.
func (l *Log) Publish(ctx context.Context, ev Event) error {
	msg, err := Encode(ev)
	if err != nil {
		return err
	}
	return l.PublishMsg(ctx, msg)
}

// PublishMsg publishes an encoded message like Publish does.
func (l *Log) PublishMsg(ctx context.Context, msg *nats.Msg) error {
	for {
		_, err := l.JS.PublishMsgAsync(msg)
		if err == nil {
			l.published.Add(1)
			return nil
		}
		if !errors.Is(err, jetstream.ErrTooManyStalledMsgs) {
			return fmt.Errorf("publishing %s: %w", msg.Subject, err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		default:
		}
	}
}

// Flush waits until every asynchronous publish has been acknowledged, then reports the
// first failure since the previous Flush, if any.
func (l *Log) Flush(ctx context.Context) error {
	select {
	case <-l.JS.PublishAsyncComplete():
	case <-ctx.Done():
		return ctx.Err()
	}
	l.mu.Lock()
	err := l.lastErr
	l.lastErr = nil
	l.mu.Unlock()
	if err != nil {
		return fmt.Errorf("publishing to the log: %w", err)
	}
	return nil
}

// PublishStats counts publishes since Open.
type PublishStats struct {
	Published  int64 `json:"published"`
	Duplicates int64 `json:"duplicates"` // acknowledged as already on the log
	Failed     int64 `json:"failed"`
}

// Stats reports publish counters.
func (l *Log) Stats() PublishStats {
	return PublishStats{Published: l.published.Load(), Duplicates: l.duplicates.Load(), Failed: l.failed.Load()}
}

// Recorder returns JetStream on a connection of its own, for synchronous records whose ack is
// awaited (the desk's order events): on the shared connection their acks queue behind those
// of the feed's asynchronous publishes. It is opened on first use and closed with the log.
func (l *Log) Recorder() (jetstream.JetStream, error) {
	return l.own(&l.records, "records")
}

// Queries returns JetStream on a connection of its own, for the reads a query answers from
// (the datasets query's stream and subject lookups, the candles query's signals): on the shared connection each answer
// queues behind the feed's publishes and the graph's deliveries, seconds under a flood. It
// is opened on first use and closed with the log.
func (l *Log) Queries() (jetstream.JetStream, error) {
	return l.own(&l.queries, "queries")
}

// own returns JetStream on the connection *nc, opened on first use, named for what it does.
func (l *Log) own(nc **nats.Conn, what string) (jetstream.JetStream, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if *nc == nil {
		c, err := l.connect("synapse-" + what)
		if err != nil {
			return nil, fmt.Errorf("%w: a connection for %s: %v", ErrConnect, what, err)
		}
		*nc = c
	}
	return jetstream.New(*nc)
}

// Close drains the connection and shuts the embedded server down.
func (l *Log) Close() {
	l.mu.Lock()
	for _, nc := range []*nats.Conn{l.records, l.queries} {
		if nc != nil {
			_ = nc.Drain()
			nc.Close()
		}
	}
	l.mu.Unlock()
	if l.Conn != nil {
		_ = l.Conn.Drain()
		l.Conn.Close()
	}
	if l.server != nil {
		l.server.Shutdown()
		l.server.WaitForShutdown()
	}
	if l.lock != nil {
		_ = l.lock.Close() // releases the flock
	}
}

// lockDir takes an exclusive lock on dir, so that two embedded servers never share one
// JetStream store (which would corrupt it).
func lockDir(dir string) (*os.File, error) {
	path := filepath.Join(dir, "synapse.lock")
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("%w: %v (choose a --data-dir this user may write)", ErrConnect, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		return nil, fmt.Errorf("%w: %s is in use by a running synapse; connect to it with --nats-url (start it with --nats-listen), or use another --data-dir", ErrLocked, dir)
	}
	return f, nil
}

// LastSeq returns the last sequence of a stream of the log (0 while it is empty).
func (l *Log) LastSeq(ctx context.Context, stream string) (uint64, error) {
	return LastSeq(ctx, l.JS, stream)
}

// LastSeq returns the last sequence of a stream (0 while it is empty).
func LastSeq(ctx context.Context, js jetstream.JetStream, stream string) (uint64, error) {
	s, err := js.Stream(ctx, stream)
	if err != nil {
		return 0, fmt.Errorf("stream %s: %w", stream, err)
	}
	info, err := s.Info(ctx)
	if err != nil {
		return 0, fmt.Errorf("stream %s: %w", stream, err)
	}
	return info.State.LastSeq, nil
}
