package web

import (
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
	"github.com/prometheus/client_golang/prometheus"
)

//go:embed ui
var ui embed.FS

// Options configure the gateway.
type Options struct {
	// Addr is the listen address. Default 127.0.0.1:8080.
	Addr string
	// OriginPatterns are the extra origins allowed to open the websocket (the page's own
	// host always is), as in websocket.AcceptOptions: host patterns matched against the
	// Origin header's host ("dash.example.com", "*.example.com", "localhost:5173"). The
	// engine sets them from the config's http_origins and the --http-origin flags.
	OriginPatterns []string
	// MinInterval is the shortest time between two websocket frames to one client: updates
	// in between are coalesced. Default 100ms.
	MinInterval time.Duration
	// WriteTimeout is how long one websocket frame may wait for a client to take it before
	// the client is disconnected as too slow (close code 1008). Default 5s.
	WriteTimeout time.Duration
	Logger       *slog.Logger

	// Open turns authentication off: every request acts as an admin named "local". For
	// tests and --no-auth local demos only; the default is authentication on.
	Open bool
	// Tokens holds the API tokens (OpenTokens). Without it, and without Open, every
	// authenticated route answers 401.
	Tokens *TokenStore
	// Submit puts accepted commands on the CMD stream. Without it commands answer 503.
	Submit SubmitFunc
	// CommandRate and CommandBurst limit the commands of each token (token bucket).
	// Defaults DefaultCommandRate per second and DefaultCommandBurst.
	CommandRate  float64
	CommandBurst int
	// Ready says whether the engine is ready to serve (/readyz): nil when ready, else why
	// not. Without it /readyz is always 200.
	Ready func() error
	// Registry is what /metrics serves; the gateway adds its own metrics to it. Default: a
	// new registry (see Gateway.Registry).
	Registry *prometheus.Registry
}

// Gateway serves the UI, the query and command APIs, the websocket, health and metrics.
type Gateway struct {
	opts     Options
	hub      *Hub
	queries  map[string]Query
	commands map[string]CommandSpec
	limiter  *limiter
	reg      *prometheus.Registry
	metrics  *gatewayMetrics
	srv      *http.Server
	ln       net.Listener

	// The websocket clients, handed their frames by one pulse goroutine, each once per
	// MinInterval at most (see pulse), in pulseSlots groups.
	clientsMu sync.Mutex
	slots     [pulseSlots]map[*wsClient]struct{}
	joined    int // clients ever joined: the next one's slot
	pulsing   sync.Once

	stopping atomic.Bool // Serve's context ended: not ready, shutting down
}

// wsClient is one websocket client as the pulse sees it: the topic prefixes it subscribed
// to (none: every topic), the next frame for its writer, the hub version its frames are up
// to, and its slot of the pulse. version is the pulse's (under clientsMu) once joined.
type wsClient struct {
	prefixes []string
	key      string      // the prefixes as one string: clients with the same key get the same frames
	frames   chan []byte // capacity 1, filled by the pulse only when empty
	version  uint64
	slot     int
	token    string     // the name of the token it authenticated with
	ended    chan wsEnd // capacity 1: why the gateway ends the stream (token revoked, shutdown)
	behind   bool       // ended for losing events (the pulse's, under clientsMu)
}

// wsEnd is the close code and reason the gateway ends a client's stream with.
type wsEnd struct {
	code   websocket.StatusCode
	reason string
}

// FramesWaiting reports the websocket clients connected and the frames waiting for their
// writers: each client's queue holds one frame at most (the pulse merges what comes while
// it waits), so waiting ≤ clients, and a client whose frame waits longer than the write
// timeout is disconnected.
func (g *Gateway) FramesWaiting() (clients, waiting int) {
	g.clientsMu.Lock()
	defer g.clientsMu.Unlock()
	for _, slot := range g.slots {
		for c := range slot {
			clients++
			waiting += len(c.frames)
		}
	}
	return clients, waiting
}

// endClients ends the streams of the clients that match with code and reason; it returns
// how many it ended.
func (g *Gateway) endClients(match func(*wsClient) bool, code websocket.StatusCode, reason string) int {
	g.clientsMu.Lock()
	defer g.clientsMu.Unlock()
	n := 0
	for _, slot := range g.slots {
		for c := range slot {
			if match(c) {
				select {
				case c.ended <- wsEnd{code, reason}:
					n++
				default: // ended already
				}
			}
		}
	}
	return n
}

// Pages are the UI's pages besides the dashboard at /: each is served the same index.html
// at /<page>/ (keep in step with PAGES in web/uisrc/src/pages.ts).
var Pages = []string{"markets", "datasets", "training", "models", "agents", "portfolio", "health"}

// Topics are the families of websocket topics the engine publishes (README.md, The
// websocket, lists what each carries). A ?topics= prefix must be the start of one of them,
// whether or not it has a value yet (or of a topic the hub holds now): any other is refused
// with 1008 and a reason naming them (topicWords).
var Topics = []string{"engine", "graph", "health", "symbol/", "pair/", "model/", "batcher", "signals",
	"agent/", "agent_events", "orders", "risk", "venue/", "portfolio", "training/"}

// topicWords are the words the topic families start with (symbol for symbol/, agent for
// agent/ and agent_events), each a prefix a client may subscribe to: the close reason of an
// unknown topic names them, as every family with its "/" does not fit the 123 bytes of a
// websocket close reason.
var topicWords = func() string {
	var words []string
	for _, f := range Topics {
		w, _, _ := strings.Cut(f, "/")
		w, _, _ = strings.Cut(w, "_")
		if !slices.Contains(words, w) {
			words = append(words, w)
		}
	}
	return strings.Join(words, " ")
}()

// unknownTopic returns the first of prefixes that starts no topic family and no topic of
// the hub, and whether there is one.
func (g *Gateway) unknownTopic(prefixes []string) (string, bool) {
	for _, p := range prefixes {
		known := g.hub.Known(p) || slices.ContainsFunc(Topics, func(f string) bool {
			return strings.HasPrefix(f, p) || strings.HasPrefix(p, f)
		})
		if !known {
			return p, true
		}
	}
	return "", false
}

// Query answers GET /api/v1/queries/{name}.
type Query func(r *http.Request) (any, error)

// whoami answers the whoami query: the name and role of the request's token ("local",
// admin, when the gateway runs open), so that the UI can disable what the role may not do.
func whoami(r *http.Request) (any, error) {
	id, _ := IdentityOf(r)
	return id, nil
}

// New builds a gateway on hub.
func New(hub *Hub, opts Options) *Gateway {
	if opts.Addr == "" {
		opts.Addr = "127.0.0.1:8080"
	}
	if opts.MinInterval <= 0 {
		opts.MinInterval = 100 * time.Millisecond
	}
	if opts.WriteTimeout <= 0 {
		opts.WriteTimeout = 5 * time.Second
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.CommandRate <= 0 {
		opts.CommandRate = DefaultCommandRate
	}
	if opts.CommandBurst <= 0 {
		opts.CommandBurst = DefaultCommandBurst
	}
	reg := opts.Registry
	if reg == nil {
		reg = prometheus.NewRegistry()
	}
	g := &Gateway{
		opts: opts, hub: hub, reg: reg,
		queries:  map[string]Query{},
		commands: map[string]CommandSpec{},
		limiter:  newLimiter(opts.CommandRate, opts.CommandBurst),
	}
	m, err := newGatewayMetrics(reg)
	if err != nil {
		opts.Logger.Warn("some gateway metrics are not registered", "err", err)
	}
	g.metrics = m
	g.registerDefaultCommands()
	g.HandleQuery("whoami", whoami)
	return g
}

// HandleQuery registers a named query.
func (g *Gateway) HandleQuery(name string, q Query) { g.queries[name] = q }

// Handler returns the gateway's routes. Who may use them:
//
//	anyone   GET / (the UI's static files), /healthz, /readyz
//	viewer   GET /api/v1/queries/{name}, /ws, /metrics, /api/v1/commands
//	trader   POST /api/v1/commands/{name} (each command names its own role, at least trader)
//	admin    GET, POST /api/v1/tokens, DELETE /api/v1/tokens/{name}
//
// A token is sent as "Authorization: Bearer <token>", or by a browser as the cookie that
// opening any page with ?token=<token> sets (the page then reloads without it).
func (g *Gateway) Handler() http.Handler {
	mux := http.NewServeMux()
	static, _ := fs.Sub(ui, "ui")
	mux.Handle("GET /", http.FileServerFS(static))
	for _, page := range Pages { // one index.html; the client routes on the path
		mux.HandleFunc("GET /"+page+"/{$}", func(w http.ResponseWriter, r *http.Request) {
			http.ServeFileFS(w, r, static, "index.html")
		})
	}
	mux.HandleFunc("GET /healthz", g.serveHealthz)
	mux.HandleFunc("GET /readyz", g.serveReadyz)
	mux.Handle("GET /metrics", g.requireRole(RoleViewer, g.metricsHandler().ServeHTTP))
	mux.HandleFunc("GET /api/v1/queries/{name}", g.requireRole(RoleViewer, g.serveQuery))
	mux.HandleFunc("GET /api/v1/commands", g.requireRole(RoleViewer, g.serveListCommands))
	mux.HandleFunc("POST /api/v1/commands/{name}", g.requireRole(RoleTrader, g.serveCommand))
	mux.HandleFunc("GET /api/v1/tokens", g.requireRole(RoleAdmin, g.serveListTokens))
	mux.HandleFunc("POST /api/v1/tokens", g.requireRole(RoleAdmin, g.serveCreateToken))
	mux.HandleFunc("DELETE /api/v1/tokens/{name}", g.requireRole(RoleAdmin, g.serveRevokeToken))
	mux.HandleFunc("GET /ws", g.requireRole(RoleViewer, g.serveWS))
	for _, m := range []string{"GET", "POST", "PUT", "PATCH", "DELETE"} { // what no endpoint above takes
		mux.HandleFunc(m+" /api/", func(w http.ResponseWriter, r *http.Request) { apiNotFound(mux, w, r) })
	}
	return g.instrument(g.tokenLogin(mux))
}

// apiNotFound answers a request under /api/ that no endpoint takes, in JSON as the API's
// other errors: 405 with Allow when the path is an endpoint's with another method, else 404.
func apiNotFound(mux *http.ServeMux, w http.ResponseWriter, r *http.Request) {
	var allow []string
	for _, m := range []string{http.MethodGet, http.MethodPost, http.MethodDelete} {
		probe := r.Clone(r.Context())
		probe.Method = m
		if _, pattern := mux.Handler(probe); pattern != "" && !strings.HasSuffix(pattern, " /api/") {
			allow = append(allow, m)
		}
	}
	if len(allow) > 0 {
		w.Header().Set("Allow", strings.Join(allow, ", "))
		writeError(w, &apiError{http.StatusMethodNotAllowed, fmt.Sprintf("%s %s: this endpoint takes %s", r.Method, r.URL.Path, strings.Join(allow, " or ")), ""})
		return
	}
	writeError(w, &apiError{http.StatusNotFound, fmt.Sprintf("no endpoint %s %s (queries: GET /api/v1/queries/{name}; commands: POST /api/v1/commands/{name}; see README.md, HTTP API)", r.Method, r.URL.Path), ""})
}

// Listen opens the listen address; a taken port is an error naming the fix.
func (g *Gateway) Listen() error {
	ln, err := net.Listen("tcp", g.opts.Addr)
	if err != nil {
		return fmt.Errorf("http listener on %s: %w (choose another address with --http)", g.opts.Addr, err)
	}
	g.ln = ln
	return nil
}

// Addr is the address the gateway listens on, after Listen.
func (g *Gateway) Addr() string {
	if g.ln == nil {
		return g.opts.Addr
	}
	return g.ln.Addr().String()
}

// Serve serves until ctx ends.
func (g *Gateway) Serve(ctx context.Context) error {
	if g.ln == nil {
		if err := g.Listen(); err != nil {
			return err
		}
	}
	// A connection idle between requests is closed after IdleTimeout; a request body is read
	// within its own deadline (readBody), and a websocket, once accepted, is the stream's.
	g.srv = &http.Server{Handler: g.Handler(), ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute}
	go func() {
		<-ctx.Done()
		// /readyz answers 503 from now on, and the websocket clients are told the server goes
		// away (1001) rather than losing the connection: the UI reconnects.
		g.stopping.Store(true)
		g.endClients(func(*wsClient) bool { return true }, websocket.StatusGoingAway, "the server is shutting down; reconnect")
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = g.srv.Shutdown(sctx)
	}()
	if err := g.srv.Serve(g.ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

func (g *Gateway) serveQuery(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	q, ok := g.queries[name]
	if !ok {
		writeError(w, &apiError{http.StatusNotFound, fmt.Sprintf("no query %q", name), ""})
		return
	}
	v, err := q(r)
	if err != nil {
		status := http.StatusBadRequest
		if errors.Is(err, ErrQueryFailed) {
			status = http.StatusInternalServerError
		}
		var bad interface{ Param() string } // a bad parameter, named (portfolio.ParamError)
		field := ""
		if errors.As(err, &bad) {
			field = bad.Param()
		}
		writeError(w, &apiError{status, err.Error(), field})
		return
	}
	writeJSON(w, http.StatusOK, v)
}

// serveWS streams hub updates: first the current value of every topic (or of those whose
// name starts with one of the ?topics= prefixes), then each change, coalesced to at most one
// frame per MinInterval; on an event topic (Hub.Events) every event, in order. A client
// that leaves a frame untaken for WriteTimeout, or falls more than the hub's event backlog
// behind on an event topic, is closed with 1008 "client too slow"; one that sends anything
// is closed with 1008 "unexpected data message" (the protocol is server to client only); one
// that asks for a topic prefix no topic has is closed with 1008 "unknown topic", naming the
// words of the topic families (Topics).
func (g *Gateway) serveWS(w http.ResponseWriter, r *http.Request) {
	c, err := websocket.Accept(w, r, &websocket.AcceptOptions{OriginPatterns: g.opts.OriginPatterns})
	if err != nil {
		return // Accept answered (403 for a foreign origin, 426/400 for a bad handshake)
	}
	defer c.CloseNow()
	c.SetReadLimit(4 << 10) // clients only send control frames
	g.metrics.wsClients.Inc()
	defer g.metrics.wsClients.Dec()
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	go g.readControl(ctx, cancel, c)
	var prefixes []string
	if t := r.URL.Query().Get("topics"); t != "" {
		prefixes = strings.Split(t, ",")
	}
	if _, bad := g.unknownTopic(prefixes); bad {
		// A close reason is at most 123 bytes: the families' words fill it (the client knows
		// the prefixes it asked for).
		_ = c.Close(websocket.StatusPolicyViolation, "unknown topic; known: "+topicWords)
		return
	}
	id, _ := IdentityOf(r)
	client := &wsClient{prefixes: prefixes, key: strings.Join(prefixes, ","), frames: make(chan []byte, 1), token: id.Name, ended: make(chan wsEnd, 1)}
	first := g.join(client)
	defer g.leave(client)
	out := g.newWriter(c, r)
	defer out.watchdog.Stop()
	if len(first) > 0 {
		if err := out.send(ctx, encodeFrame(first)); err != nil {
			return
		}
	}
	for {
		select {
		case <-ctx.Done():
			return
		case end := <-client.ended:
			_ = c.Close(end.code, end.reason)
			return
		case frame := <-client.frames:
			if err := out.send(ctx, frame); err != nil {
				return
			}
		}
	}
}

// join gives c a slot of the pulse and returns every topic's latest value that c
// subscribed to; from then on the pulse hands it each change. The hub is read under
// clientsMu, so that no change can slip between that read and the pulse's next one.
func (g *Gateway) join(c *wsClient) []Update {
	// The pulse watches the hub from before the first client's first read of it: a watch
	// begun in the pulse's own goroutine could start after the changes that followed.
	g.pulsing.Do(func() {
		changed, _ := g.hub.Watch()
		go g.pulse(changed)
	})
	g.clientsMu.Lock()
	defer g.clientsMu.Unlock()
	updates, v := g.hub.Latest()
	c.version = v
	c.slot = g.joined % pulseSlots
	g.joined++
	if g.slots[c.slot] == nil {
		g.slots[c.slot] = map[*wsClient]struct{}{}
	}
	g.slots[c.slot][c] = struct{}{}
	return filter(updates, c.prefixes)
}

func (g *Gateway) leave(c *wsClient) {
	g.clientsMu.Lock()
	delete(g.slots[c.slot], c)
	g.clientsMu.Unlock()
}

// pulseSlots is how many groups the clients are served in, one group every
// MinInterval/pulseSlots: a thousand clients woken at one instant are a thousand goroutines
// the engine's own wait behind; in ten groups, the same frames come as a steadier stream.
// A hundred groups were no better for the engine's p99 here and cost 10 % more CPU a frame
// (BenchmarkFanout1000Clients), the Ps idling and waking between groups.
const pulseSlots = 10

// pulse hands the websocket clients their frames, each at most once per MinInterval: one
// watcher of the hub and one timer for the whole gateway, where a ticker and a watcher per
// client made a thousand clients cost the engine's scheduler ten thousand timer firings and
// every hub change a thousand wake-ups. After a change it goes round the slots, one every
// MinInterval/pulseSlots. A frame is read from the hub and encoded once for all the slot's
// clients that are at the same version with the same subscription (nearly always all of
// them), not once per client. A client whose writer has not taken its last frame yet is
// passed over: it gets the news, merged, at its slot's next turn. It runs from the first
// client on, for the gateway's life.
func (g *Gateway) pulse(changed <-chan struct{}) {
	again := false // a client was passed over: go round once more, change or not
	for {
		if !again {
			<-changed
		}
		again = false
		// Slot i's turn is at start + i × MinInterval/pulseSlots; a late turn does not push
		// the later ones back, so a round takes MinInterval and each client gets its rate.
		start := time.Now()
		for slot := range pulseSlots {
			time.Sleep(time.Until(start.Add(g.opts.MinInterval * time.Duration(slot) / pulseSlots)))
			if g.serveSlot(slot) {
				again = true
			}
		}
		time.Sleep(time.Until(start.Add(g.opts.MinInterval)))
	}
}

// serveSlot hands each client of slot a frame of what changed since its version, if any,
// and reports whether it passed over a client that still had its last frame to write.
func (g *Gateway) serveSlot(slot int) (passedOver bool) {
	type read struct {
		updates []Update
		to      uint64 // the hub version the updates are up to
	}
	type group struct {
		version uint64
		key     string
	}
	type news struct {
		frame []byte // nil: nothing the group subscribed to changed
		to    uint64
	}
	g.clientsMu.Lock()
	defer g.clientsMu.Unlock()
	since := map[uint64]read{} // the hub read once per version
	groups := map[group]news{} // a frame encoded once per version and subscription
	for c := range g.slots[slot] {
		if topic := g.hub.Behind(c.version, c.prefixes); topic != "" {
			g.dropBehind(c, topic)
			continue
		}
		if len(c.frames) > 0 {
			passedOver = true
			continue
		}
		k := group{c.version, c.key}
		n, ok := groups[k]
		if !ok {
			r, seen := since[c.version]
			if !seen {
				r.updates, r.to = g.hub.Since(c.version)
				since[c.version] = r
			}
			n.to = r.to
			if mine := filter(slices.Clone(r.updates), c.prefixes); len(mine) > 0 {
				n.frame = encodeFrame(mine)
			}
			groups[k] = n
		}
		if n.frame != nil {
			c.frames <- n.frame // never blocks: only the pulse fills it, and it is empty
		}
		c.version = n.to
	}
	return passedOver
}

// dropBehind ends the stream of c, which lost events of topic: more than the hub's backlog
// of them came while it had not taken its frames.
func (g *Gateway) dropBehind(c *wsClient, topic string) {
	if c.behind {
		return
	}
	c.behind = true
	select {
	case c.ended <- wsEnd{websocket.StatusPolicyViolation, fmt.Sprintf("client too slow: over %d %s events behind; reconnect", g.hub.EventBacklog(), topic)}:
		g.metrics.slowDisconnects.Inc()
		g.opts.Logger.Warn("websocket client too slow, disconnected", "token", c.token, "events_behind_on", topic, "backlog", g.hub.EventBacklog())
	default: // ended already
	}
}

// readControl reads what the client sends, which answers pings and the close handshake,
// until the connection ends, then cancels the stream. A data message breaks the protocol
// (server to client only): it is read whole (at most the read limit, else the library
// closes with 1009) and the client is closed with 1008.
func (g *Gateway) readControl(ctx context.Context, cancel context.CancelFunc, c *websocket.Conn) {
	defer cancel()
	if _, _, err := c.Read(ctx); err != nil {
		return
	}
	_ = c.Close(websocket.StatusPolicyViolation, "unexpected data message: this websocket only sends")
}

// errSlowClient ends the stream to a client that did not take a frame in WriteTimeout.
var errSlowClient = errors.New("websocket client too slow")

// writer sends frames to one client. When the client has not taken a frame after
// WriteTimeout, the client is counted, logged and closed with 1008 and a reason saying why
// (the close frame reaches it if it reads again within 5s; otherwise the connection is
// dropped). One watchdog timer per connection, reset for each frame, times the writes: a
// timer (or a goroutine) per frame costs the whole engine's scheduler dearly at a thousand
// clients and ten frames a second.
type writer struct {
	g        *Gateway
	c        *websocket.Conn
	watchdog *time.Timer
	closed   chan struct{} // closed once the watchdog has closed a slow client
}

func (g *Gateway) newWriter(c *websocket.Conn, r *http.Request) *writer {
	w := &writer{g: g, c: c, closed: make(chan struct{})}
	w.watchdog = time.AfterFunc(time.Hour, func() {
		defer close(w.closed)
		g.metrics.slowDisconnects.Inc()
		id, _ := IdentityOf(r)
		g.opts.Logger.Warn("websocket client too slow, disconnected", "remote", r.RemoteAddr, "token", id.Name, "write_timeout", g.opts.WriteTimeout)
		_ = c.Close(websocket.StatusPolicyViolation, fmt.Sprintf("client too slow: a frame waited over %s; reconnect", g.opts.WriteTimeout))
	})
	w.watchdog.Stop()
	return w
}

// send writes one frame; errSlowClient when the watchdog closed the client.
func (w *writer) send(ctx context.Context, frame []byte) error {
	w.watchdog.Reset(w.g.opts.WriteTimeout)
	err := w.c.Write(ctx, websocket.MessageText, frame)
	if !w.watchdog.Stop() {
		<-w.closed // the close frame is out (or given up on) before the connection goes
		return errSlowClient
	}
	if err == nil {
		w.g.metrics.framesSent.Inc()
	}
	return err
}

// encodeFrame writes updates as the JSON array json.Marshal would, without re-validating the
// values: each is the hub's own json.Marshal output. With a thousand clients this is the
// gateway's main cost after the socket writes.
func encodeFrame(updates []Update) []byte {
	size := 2
	for _, u := range updates {
		size += len(u.Topic) + len(u.Data) + 24
	}
	b := make([]byte, 0, size)
	b = append(b, '[')
	for i, u := range updates {
		if i > 0 {
			b = append(b, ',')
		}
		topic, _ := json.Marshal(u.Topic)
		b = append(b, `{"topic":`...)
		b = append(b, topic...)
		b = append(b, `,"data":`...)
		b = append(b, u.Data...)
		b = append(b, '}')
	}
	return append(b, ']')
}

func filter(updates []Update, prefixes []string) []Update {
	if len(prefixes) == 0 {
		return updates
	}
	out := updates[:0]
	for _, u := range updates {
		if subscribed(u.Topic, prefixes) {
			out = append(out, u)
		}
	}
	return out
}

// subscribed reports whether topic starts with one of prefixes (none: every topic does).
func subscribed(topic string, prefixes []string) bool {
	return len(prefixes) == 0 || slices.ContainsFunc(prefixes, func(p string) bool { return strings.HasPrefix(topic, p) })
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
