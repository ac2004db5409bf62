package web

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/synapse-trading/synapse/streams"
)

// checkFor polls cond until it holds or the deadline passes.
func checkFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("after %s: %s", d, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// submitted records the commands a gateway submits, as the lead's log would store them.
type submitted struct {
	mu   sync.Mutex
	cmds []*streams.Command
	err  error
}

func (s *submitted) submit(_ context.Context, cmd *streams.Command) (uint64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return 0, s.err
	}
	s.cmds = append(s.cmds, cmd)
	return uint64(len(s.cmds)), nil
}

func (s *submitted) all() []*streams.Command {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]*streams.Command(nil), s.cmds...)
}

// env is a gateway with authentication on, a real token file and one token per role.
type env struct {
	srv                   *httptest.Server
	g                     *Gateway
	hub                   *Hub
	tokens                *TokenStore
	admin, trader, viewer string
	sub                   *submitted
}

func newEnv(t *testing.T, opts Options) *env {
	t.Helper()
	tokens, err := OpenTokens(filepath.Join(t.TempDir(), "tokens.json"))
	if err != nil {
		t.Fatal(err)
	}
	e := &env{tokens: tokens, hub: NewHub(), sub: &submitted{}}
	if e.admin, _, err = tokens.EnsureAdmin(); err != nil {
		t.Fatal(err)
	}
	if e.trader, err = tokens.Create("bot-1", RoleTrader); err != nil {
		t.Fatal(err)
	}
	if e.viewer, err = tokens.Create("dash", RoleViewer); err != nil {
		t.Fatal(err)
	}
	opts.Tokens = tokens
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Submit == nil {
		opts.Submit = e.sub.submit
	}
	if opts.MinInterval == 0 {
		opts.MinInterval = 5 * time.Millisecond
	}
	e.g = New(e.hub, opts)
	e.g.HandleQuery("symbols", func(*http.Request) (any, error) { return []string{"BTCUSDT"}, nil })
	e.srv = httptest.NewServer(e.g.Handler())
	t.Cleanup(e.srv.Close)
	return e
}

// answer is a decoded response.
type answer struct {
	status int
	header http.Header
	body   map[string]any
	raw    string
}

func (e *env) call(t *testing.T, method, path, token, body string) answer {
	t.Helper()
	req, err := http.NewRequest(method, e.srv.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	a := answer{status: resp.StatusCode, header: resp.Header, raw: string(data)}
	_ = json.Unmarshal(data, &a.body)
	return a
}

func (e *env) dialWS(ctx context.Context, path, token string) (*websocket.Conn, *http.Response, error) {
	h := http.Header{}
	if token != "" {
		h.Set("Authorization", "Bearer "+token)
	}
	return websocket.Dial(ctx, "ws"+strings.TrimPrefix(e.srv.URL, "http")+path, &websocket.DialOptions{HTTPHeader: h})
}

func TestRolesOnQueriesCommandsAndWebsocket(t *testing.T) {
	e := newEnv(t, Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, tc := range []struct {
		token                  string
		query, command, tokens int
		ws                     int
	}{
		{"", 401, 401, 401, 401},
		{"syn_not-a-token", 401, 401, 401, 401},
		{e.viewer, 200, 403, 403, 101},
		{e.trader, 200, 202, 403, 101},
		{e.admin, 200, 202, 200, 101},
	} {
		name := map[string]string{"": "none", e.viewer: "viewer", e.trader: "trader", e.admin: "admin"}[tc.token]
		if name == "" {
			name = "bad token"
		}
		if a := e.call(t, "GET", "/api/v1/queries/symbols", tc.token, ""); a.status != tc.query {
			t.Errorf("%s: query %d %s, want %d", name, a.status, a.raw, tc.query)
		} else if a.status != 200 && a.body["error"] == "" {
			t.Errorf("%s: no JSON error in %s", name, a.raw)
		}
		if a := e.call(t, "POST", "/api/v1/commands/agents.halt", tc.token, `{"agent":"a1"}`); a.status != tc.command {
			t.Errorf("%s: command %d %s, want %d", name, a.status, a.raw, tc.command)
		}
		if a := e.call(t, "GET", "/api/v1/tokens", tc.token, ""); a.status != tc.tokens {
			t.Errorf("%s: token list %d %s, want %d", name, a.status, a.raw, tc.tokens)
		}
		c, resp, err := e.dialWS(ctx, "/ws", tc.token)
		got := 0
		if resp != nil {
			got = resp.StatusCode
		}
		if got != tc.ws {
			t.Errorf("%s: websocket status %d (err %v), want %d", name, got, err, tc.ws)
		}
		if c != nil {
			c.CloseNow()
		}
	}
	// The statics and health need no token.
	for _, p := range []string{"/", "/healthz", "/readyz"} {
		if a := e.call(t, "GET", p, "", ""); a.status != 200 {
			t.Errorf("%s without a token: %d", p, a.status)
		}
	}
	if a := e.call(t, "GET", "/metrics", "", ""); a.status != 401 {
		t.Errorf("/metrics without a token: %d, want 401", a.status)
	}
	// A badly formed Authorization header is a 401 that says the form.
	req, _ := http.NewRequest("GET", e.srv.URL+"/api/v1/queries/symbols", nil)
	req.Header.Set("Authorization", "Basic abc")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 401 || !strings.Contains(string(body), "Bearer") {
		t.Errorf("Basic auth: %d %s", resp.StatusCode, body)
	}
}

// The whoami query answers the token's name and role (what the UI disables the controls a
// role may not use by); the open gateway's everyone is "local", admin; no token is a 401.
func TestWhoamiIsTheTokensNameAndRole(t *testing.T) {
	e := newEnv(t, Options{})
	for _, c := range []struct{ token, name, role string }{{e.viewer, "dash", "viewer"}, {e.trader, "bot-1", "trader"}, {e.admin, "admin", "admin"}} {
		a := e.call(t, "GET", "/api/v1/queries/whoami", c.token, "")
		if a.status != 200 || a.body["name"] != c.name || a.body["role"] != c.role || len(a.body) != 2 {
			t.Errorf("whoami with the %s token: %d %s; want 200 {\"name\":%q,\"role\":%q}", c.role, a.status, a.raw, c.name, c.role)
		}
	}
	if a := e.call(t, "GET", "/api/v1/queries/whoami", "", ""); a.status != 401 {
		t.Errorf("whoami without a token: %d %s; want 401", a.status, a.raw)
	}
	open := httptest.NewServer(New(NewHub(), Options{Open: true}).Handler())
	defer open.Close()
	resp, err := http.Get(open.URL + "/api/v1/queries/whoami")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var id map[string]string
	if err := json.NewDecoder(resp.Body).Decode(&id); err != nil || id["name"] != "local" || id["role"] != "admin" {
		t.Errorf("whoami on an open gateway: %v %v; want local, admin", id, err)
	}
}

func TestNoTokenStoreMeansNoAccessUnlessOpen(t *testing.T) {
	closed := httptest.NewServer(New(NewHub(), Options{}).Handler())
	defer closed.Close()
	resp, err := http.Get(closed.URL + "/api/v1/commands")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 401 {
		t.Errorf("auth on by default without tokens: %d, want 401", resp.StatusCode)
	}
	open := httptest.NewServer(New(NewHub(), Options{Open: true}).Handler())
	defer open.Close()
	resp, err = http.Get(open.URL + "/api/v1/commands")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("Open: %d, want 200", resp.StatusCode)
	}
}

func TestTokenInURLBecomesCookie(t *testing.T) {
	e := newEnv(t, Options{})
	jar, _ := cookiejar.New(nil)
	var redirects []string
	client := &http.Client{Jar: jar, CheckRedirect: func(req *http.Request, _ []*http.Request) error {
		redirects = append(redirects, req.URL.RequestURI())
		return nil
	}}
	resp, err := client.Get(e.srv.URL + "/?token=" + e.viewer + "&x=1")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || len(redirects) != 1 || redirects[0] != "/?x=1" {
		t.Fatalf("status %d, redirects %v: want one redirect to /?x=1", resp.StatusCode, redirects)
	}
	// The first answer set the cookie; check its attributes.
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err = noFollow.Get(e.srv.URL + "/?token=" + e.viewer)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	sc := resp.Header.Get("Set-Cookie")
	if resp.StatusCode != http.StatusSeeOther || !strings.Contains(sc, "HttpOnly") || !strings.Contains(sc, "SameSite=Strict") || !strings.HasPrefix(sc, CookieName+"=") {
		t.Fatalf("status %d, Set-Cookie %q", resp.StatusCode, sc)
	}
	// The cookie now authenticates the API and the websocket.
	resp, err = client.Get(e.srv.URL + "/api/v1/queries/symbols")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("query with the cookie: %d", resp.StatusCode)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(e.srv.URL, "http")+"/ws", &websocket.DialOptions{HTTPClient: client})
	if err != nil {
		t.Fatalf("websocket with the cookie: %v", err)
	}
	c.CloseNow()
	// A cross-origin command with the cookie is refused even for a trader.
	jar2, _ := cookiejar.New(nil)
	tclient := &http.Client{Jar: jar2}
	if resp, err = tclient.Get(e.srv.URL + "/?token=" + e.trader); err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	req, _ := http.NewRequest("POST", e.srv.URL+"/api/v1/commands/killswitch.off", nil)
	req.Header.Set("Origin", "https://evil.example")
	if resp, err = tclient.Do(req); err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 403 {
		t.Errorf("cross-origin command with the cookie: %d, want 403", resp.StatusCode)
	}
	// A bad token in the URL is 401 and sets nothing.
	resp, err = noFollow.Get(e.srv.URL + "/?token=nope")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 401 || resp.Header.Get("Set-Cookie") != "" {
		t.Errorf("bad token in URL: %d, Set-Cookie %q", resp.StatusCode, resp.Header.Get("Set-Cookie"))
	}
	// A websocket client that cannot set headers may pass ?token= on /ws itself.
	c, _, err = websocket.Dial(ctx, "ws"+strings.TrimPrefix(e.srv.URL, "http")+"/ws?token="+e.viewer, nil)
	if err != nil {
		t.Fatalf("websocket with ?token=: %v", err)
	}
	c.CloseNow()
	// ... and nowhere else, even with an Upgrade header: a command in a URL is not authenticated.
	req, _ = http.NewRequest("POST", e.srv.URL+"/api/v1/commands/killswitch.off?token="+e.trader, nil)
	req.Header.Set("Upgrade", "websocket")
	if resp, err = noFollow.Do(req); err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 401 || len(e.sub.all()) != 0 {
		t.Errorf("a command with ?token= and Upgrade: websocket: %d, %d commands submitted; want 401 and none", resp.StatusCode, len(e.sub.all()))
	}
	// The login's redirect stays on this server: a path beginning with // would be another host.
	for _, path := range []string{"//evil.example/x", "/%2F/evil.example/x", "/\\evil.example/x"} {
		resp, err = noFollow.Get(e.srv.URL + path + "?token=" + e.viewer + "&x=1")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		loc := resp.Header.Get("Location")
		if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(loc, "/") || strings.HasPrefix(loc, "//") || strings.HasPrefix(loc, "/\\") {
			t.Errorf("login at %s redirects to %q", path, loc)
		}
	}
}

func TestAdminTokenCreatedOnceAndPersisted(t *testing.T) {
	path := filepath.Join(t.TempDir(), "data", "tokens.json")
	s, err := OpenTokens(path)
	if err != nil {
		t.Fatal(err)
	}
	admin, created, err := s.EnsureAdmin()
	if err != nil || !created || !strings.HasPrefix(admin, "syn_") {
		t.Fatalf("first start: %q %v %v", admin, created, err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("token file mode %v, want 0600", fi.Mode().Perm())
	}
	data, _ := os.ReadFile(path)
	if strings.Contains(string(data), admin) || !strings.Contains(string(data), hashToken(admin)) {
		t.Fatal("the file must hold the token's hash, not the token")
	}
	// Restart with the same file: no new token, the old one still works.
	s2, err := OpenTokens(path)
	if err != nil {
		t.Fatal(err)
	}
	again, created, err := s2.EnsureAdmin()
	if err != nil || created || again != "" {
		t.Fatalf("restart made a token: %q %v %v", again, created, err)
	}
	if id, ok := s2.Lookup(admin); !ok || id != (Identity{Name: "admin", Role: RoleAdmin}) {
		t.Fatalf("after restart Lookup = %+v %v", id, ok)
	}
	// Create, duplicate, revoke, bad names and roles.
	tok, err := s2.Create("ci", RoleTrader)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s2.Create("ci", RoleViewer); !errors.Is(err, ErrTokenExists) {
		t.Errorf("duplicate: %v", err)
	}
	for _, name := range []string{"bad name", ".", ".."} { // the dots could not be revoked by their path
		if _, err := s2.Create(name, RoleViewer); !errors.Is(err, ErrTokenName) {
			t.Errorf("bad name %q: %v", name, err)
		}
	}
	if _, err := s2.Create("x", Role("root")); !errors.Is(err, ErrBadRole) {
		t.Errorf("bad role: %v", err)
	}
	s3, _ := OpenTokens(path)
	if id, ok := s3.Lookup(tok); !ok || id.Role != RoleTrader {
		t.Fatalf("created token not persisted: %+v %v", id, ok)
	}
	if err := s3.Revoke("ci"); err != nil {
		t.Fatal(err)
	}
	if err := s3.Revoke("ci"); !errors.Is(err, ErrNoSuchToken) {
		t.Errorf("revoke twice: %v", err)
	}
	s4, _ := OpenTokens(path)
	if _, ok := s4.Lookup(tok); ok {
		t.Fatal("revoked token still works after restart")
	}
	// The only admin token cannot be revoked: no one could manage tokens any more.
	if err := s4.Revoke("admin"); !errors.Is(err, ErrLastAdmin) {
		t.Fatalf("revoking the only admin: %v", err)
	}
	if _, err := s4.Create("admin2", RoleAdmin); err != nil {
		t.Fatal(err)
	}
	if err := s4.Revoke("admin"); err != nil {
		t.Fatalf("revoking an admin with another left: %v", err)
	}
	if _, created, _ := s4.EnsureAdmin(); created {
		t.Fatal("EnsureAdmin made an admin while one is left")
	}
	// A token file without admin (edited by hand) makes the next start create one again.
	if err := os.WriteFile(path, []byte(`{"tokens":[]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	s5, err := OpenTokens(path)
	if err != nil {
		t.Fatal(err)
	}
	if tok, created, _ := s5.EnsureAdmin(); !created || tok == "" {
		t.Fatal("no admin left, yet EnsureAdmin made none")
	}
}

func TestBadTokenFileIsAClearError(t *testing.T) {
	dir := t.TempDir()
	for name, content := range map[string]string{
		"syntax": "{\n  \"tokens\": [\n    {\"name\": \"a\",, }\n  ]\n}",
		"role":   `{"tokens":[{"name":"a","role":"root","sha256":"` + strings.Repeat("0", 64) + `"}]}`,
		"hash":   `{"tokens":[{"name":"a","role":"admin","sha256":"xyz"}]}`,
		"field":  `{"tokens":[], "extra": 1}`,
	} {
		path := filepath.Join(dir, name+".json")
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		_, err := OpenTokens(path)
		if !errors.Is(err, ErrTokenFile) || !strings.Contains(err.Error(), path) {
			t.Errorf("%s: %v, want ErrTokenFile naming the file", name, err)
		}
		if name == "syntax" && !strings.Contains(err.Error(), path+":3:") {
			t.Errorf("syntax error without line 3: %v", err)
		}
	}
	// A file others may read is tightened to 0600.
	path := filepath.Join(dir, "loose.json")
	_ = os.WriteFile(path, []byte(`{"tokens":[]}`), 0o644)
	if _, err := OpenTokens(path); err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want 0600", fi.Mode().Perm())
	}
}

func TestTokenEndpoints(t *testing.T) {
	e := newEnv(t, Options{})
	a := e.call(t, "POST", "/api/v1/tokens", e.admin, `{"name":"grafana","role":"viewer"}`)
	if a.status != 201 {
		t.Fatalf("create: %d %s", a.status, a.raw)
	}
	tok, _ := a.body["token"].(string)
	if q := e.call(t, "GET", "/api/v1/queries/symbols", tok, ""); q.status != 200 {
		t.Fatalf("new token: %d", q.status)
	}
	for body, field := range map[string]string{
		`{"name":"grafana","role":"viewer"}`: "name", // taken: 409
		`{"name":"x y","role":"viewer"}`:     "name",
		`{"name":"x","role":"root"}`:         "role",
		`{"name":"x","role":"viewer","a":1}`: "a",
		`{"name":"x","Role":"viewer"}`:       "Role", // names match to the letter
	} {
		a := e.call(t, "POST", "/api/v1/tokens", e.admin, body)
		if a.status/100 != 4 || a.body["field"] != field {
			t.Errorf("%s: %d %s, want 4xx naming %q", body, a.status, a.raw, field)
		}
	}
	if a := e.call(t, "GET", "/api/v1/tokens", e.admin, ""); !strings.Contains(a.raw, `"grafana"`) || strings.Contains(a.raw, "sha256") {
		t.Errorf("list: %s", a.raw)
	}
	if a := e.call(t, "DELETE", "/api/v1/tokens/grafana", e.trader, ""); a.status != 403 {
		t.Errorf("trader revokes: %d", a.status)
	}
	if a := e.call(t, "DELETE", "/api/v1/tokens/grafana", e.admin, ""); a.status != 200 {
		t.Fatalf("revoke: %d %s", a.status, a.raw)
	}
	if a := e.call(t, "DELETE", "/api/v1/tokens/grafana", e.admin, ""); a.status != 404 {
		t.Errorf("revoke twice: %d", a.status)
	}
	if q := e.call(t, "GET", "/api/v1/queries/symbols", tok, ""); q.status != 401 {
		t.Fatalf("revoked token: %d, want 401", q.status)
	}
}

func FuzzTokenFile(f *testing.F) {
	f.Add([]byte(`{"tokens":[{"name":"admin","role":"admin","created":"2025-01-01T00:00:00Z","sha256":"` + strings.Repeat("ab", 32) + `"}]}`))
	f.Add([]byte(`{"tokens":[]}`))
	f.Add([]byte("{\n\"tokens\": [ {\"name\": 1} ]\n}"))
	f.Add([]byte(``))
	f.Fuzz(func(t *testing.T, data []byte) {
		tokens, err := parseTokenFile(data)
		if err != nil {
			return
		}
		for _, tok := range tokens {
			if !tokenNameRE.MatchString(tok.Name) || tok.Role.rank() == 0 || len(tok.SHA256) != 64 {
				t.Fatalf("accepted a bad token %+v", tok)
			}
		}
	})
}

func BenchmarkAuthenticatedQuery(b *testing.B) {
	tokens, _ := OpenTokens(filepath.Join(b.TempDir(), "tokens.json"))
	admin, _, _ := tokens.EnsureAdmin()
	g := New(NewHub(), Options{Tokens: tokens})
	g.HandleQuery("symbols", func(*http.Request) (any, error) { return []string{"BTCUSDT"}, nil })
	h := g.Handler()
	req := httptest.NewRequest("GET", "/api/v1/queries/symbols", nil)
	req.Header.Set("Authorization", "Bearer "+admin)
	b.ReportAllocs()
	for b.Loop() {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code != 200 {
			b.Fatal(w.Code)
		}
	}
}

// Revoking a token ends the websocket streams it opened (they authenticated at their
// handshake), with a close reason saying why; other tokens' streams go on.
func TestRevokedTokenEndsItsWebsockets(t *testing.T) {
	e := newEnv(t, Options{})
	doomed, err := e.tokens.Create("revme", RoleViewer)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	dial := func(token string) *websocket.Conn {
		t.Helper()
		c, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(e.srv.URL, "http")+"/ws",
			&websocket.DialOptions{HTTPHeader: http.Header{"Authorization": {"Bearer " + token}}})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	gone, stays := dial(doomed), dial(e.viewer)
	defer gone.CloseNow()
	defer stays.CloseNow()
	if err := e.hub.Set("engine", map[string]int{"n": 1}); err != nil {
		t.Fatal(err)
	}
	for _, c := range []*websocket.Conn{gone, stays} {
		if _, _, err := c.Read(ctx); err != nil {
			t.Fatalf("first frame: %v", err)
		}
	}
	a := e.call(t, "DELETE", "/api/v1/tokens/revme", e.admin, "")
	if a.status != 200 || a.body["websockets_closed"] != float64(1) {
		t.Fatalf("revoke: %d %s", a.status, a.raw)
	}
	_, _, err = gone.Read(ctx)
	var ce websocket.CloseError
	if !errors.As(err, &ce) || ce.Code != websocket.StatusPolicyViolation || !strings.Contains(ce.Reason, "revoked") {
		t.Fatalf("the revoked token's stream: %v, want 1008 naming the revocation", err)
	}
	if err := e.hub.Set("engine", map[string]int{"n": 2}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := stays.Read(ctx); err != nil {
		t.Fatalf("another token's stream ended with it: %v", err)
	}
	if a := e.call(t, "DELETE", "/api/v1/tokens/admin", e.admin, ""); a.status != 409 || !strings.Contains(a.raw, "only admin") {
		t.Errorf("revoking the only admin token: %d %s, want 409", a.status, a.raw)
	}
}
