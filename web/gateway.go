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
	"strings"
	"time"

	"github.com/coder/websocket"
)

//go:embed ui
var ui embed.FS

// Options configure the gateway.
type Options struct {
	// Addr is the listen address. Default 127.0.0.1:8080.
	Addr string
	// OriginPatterns are the extra origins allowed to open the websocket (the page's own
	// host always is).
	OriginPatterns []string
	// MinInterval is the shortest time between two websocket frames to one client: updates
	// in between are coalesced. Default 100ms.
	MinInterval time.Duration
	Logger      *slog.Logger
}

// Gateway serves the UI, the query API and the websocket.
type Gateway struct {
	opts    Options
	hub     *Hub
	queries map[string]Query
	srv     *http.Server
	ln      net.Listener
}

// Query answers GET /api/v1/queries/{name}.
type Query func(r *http.Request) (any, error)

// New builds a gateway on hub.
func New(hub *Hub, opts Options) *Gateway {
	if opts.Addr == "" {
		opts.Addr = "127.0.0.1:8080"
	}
	if opts.MinInterval <= 0 {
		opts.MinInterval = 100 * time.Millisecond
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	return &Gateway{opts: opts, hub: hub, queries: map[string]Query{}}
}

// HandleQuery registers a named query.
func (g *Gateway) HandleQuery(name string, q Query) { g.queries[name] = q }

// Handler returns the gateway's routes.
func (g *Gateway) Handler() http.Handler {
	mux := http.NewServeMux()
	static, _ := fs.Sub(ui, "ui")
	mux.Handle("GET /", http.FileServerFS(static))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	mux.HandleFunc("GET /api/v1/queries/{name}", g.serveQuery)
	mux.HandleFunc("GET /ws", g.serveWS)
	return mux
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
	g.srv = &http.Server{Handler: g.Handler(), ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
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
		writeJSON(w, http.StatusNotFound, map[string]string{"error": fmt.Sprintf("no query %q", name)})
		return
	}
	v, err := q(r)
	if err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
		return
	}
	writeJSON(w, http.StatusOK, v)
}

// serveWS streams hub updates: first the current value of every topic (or of those whose
// name starts with one of the ?topics= prefixes), then each change, coalesced to at most one
// frame per MinInterval.
func (g *Gateway) serveWS(w http.ResponseWriter, r *http.Request) {
	c, err := websocket.Accept(w, r, &websocket.AcceptOptions{OriginPatterns: g.opts.OriginPatterns})
	if err != nil {
		return
	}
	defer c.CloseNow()
	ctx := c.CloseRead(r.Context())
	var prefixes []string
	if t := r.URL.Query().Get("topics"); t != "" {
		prefixes = strings.Split(t, ",")
	}
	changed, stop := g.hub.Watch()
	defer stop()
	var version uint64
	tick := time.NewTicker(g.opts.MinInterval)
	defer tick.Stop()
	for {
		updates, v := g.hub.Since(version)
		version = v
		updates = filter(updates, prefixes)
		if len(updates) > 0 {
			frame, _ := json.Marshal(updates)
			wctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			err := c.Write(wctx, websocket.MessageText, frame)
			cancel()
			if err != nil {
				if ctx.Err() == nil {
					c.Close(websocket.StatusPolicyViolation, "client too slow: no frame accepted in 5s")
				}
				return
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-changed:
		}
		select { // coalesce
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

func filter(updates []Update, prefixes []string) []Update {
	if len(prefixes) == 0 {
		return updates
	}
	out := updates[:0]
	for _, u := range updates {
		for _, p := range prefixes {
			if strings.HasPrefix(u.Topic, p) {
				out = append(out, u)
				break
			}
		}
	}
	return out
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
