package web

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/coder/websocket"
)

// Role is what a token may do. Each role may do everything the weaker ones may.
type Role string

const (
	// RoleViewer reads: queries, the websocket, metrics.
	RoleViewer Role = "viewer"
	// RoleTrader also sends commands (halt an agent, the kill switch, ...).
	RoleTrader Role = "trader"
	// RoleAdmin also manages tokens and deploys models.
	RoleAdmin Role = "admin"
)

// rank orders the roles; 0 is not a role.
func (r Role) rank() int {
	switch r {
	case RoleViewer:
		return 1
	case RoleTrader:
		return 2
	case RoleAdmin:
		return 3
	}
	return 0
}

// Allows reports whether a token of role r may do what needs role need.
func (r Role) Allows(need Role) bool { return r.rank() > 0 && r.rank() >= need.rank() }

// ParseRole checks that s is a role.
func ParseRole(s string) (Role, error) {
	r := Role(s)
	if r.rank() == 0 {
		return "", fmt.Errorf("%w %q: want viewer, trader or admin", ErrBadRole, s)
	}
	return r, nil
}

// Identity is who made a request: a token's name and role.
type Identity struct {
	Name string `json:"name"`
	Role Role   `json:"role"`
	nats bool   // a NATS user (a bot's command request), not an API token
}

// credential names what the identity comes from, for error messages.
func (id Identity) credential() string {
	if id.nats {
		return "NATS user"
	}
	return "token"
}

// TokenInfo describes a stored token (never the token itself).
type TokenInfo struct {
	Name    string    `json:"name"`
	Role    Role      `json:"role"`
	Created time.Time `json:"created"`
}

// storedToken is one entry of the token file.
type storedToken struct {
	TokenInfo
	SHA256 string `json:"sha256"` // hex SHA-256 of the token
}

type tokenFile struct {
	Tokens []storedToken `json:"tokens"`
}

// AdminTokenName is the name of the admin token EnsureAdmin creates.
const AdminTokenName = "admin"

// TokenStore holds API tokens in a JSON file (mode 0600). Only SHA-256 hashes of the
// tokens are stored: a token is shown once, when it is created.
type TokenStore struct {
	path   string
	mu     sync.RWMutex
	byName map[string]storedToken
	byHash map[string]string // hash → name
}

var tokenNameRE = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)

// validTokenName says whether a new token may be called name: "." and ".." could not be
// revoked by their path (DELETE /api/v1/tokens/..).
func validTokenName(name string) bool {
	return tokenNameRE.MatchString(name) && name != "." && name != ".."
}

// OpenTokens reads the token file at path; a missing file is an empty store (the file is
// written on the first change).
func OpenTokens(path string) (*TokenStore, error) {
	s := &TokenStore{path: path, byName: map[string]storedToken{}, byHash: map[string]string{}}
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return s, nil
	}
	if err != nil {
		return nil, fmt.Errorf("%w %s: %v", ErrTokenFile, path, err)
	}
	tokens, err := parseTokenFile(data)
	if err != nil {
		return nil, fmt.Errorf("%w %s:%v (fix or delete the file: a new admin token is made at the next start)", ErrTokenFile, path, err)
	}
	for _, t := range tokens {
		s.byName[t.Name] = t
		s.byHash[t.SHA256] = t.Name
	}
	if fi, err := os.Stat(path); err == nil && fi.Mode().Perm()&0o077 != 0 {
		if err := os.Chmod(path, 0o600); err != nil {
			return nil, fmt.Errorf("%w %s: others may read it and chmod 0600 failed: %v", ErrTokenFile, path, err)
		}
	}
	return s, nil
}

// parseTokenFile decodes and checks a token file; an error starts with the line number.
func parseTokenFile(data []byte) ([]storedToken, error) {
	var f tokenFile
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		var off int64
		var se *json.SyntaxError
		var te *json.UnmarshalTypeError
		switch {
		case errors.As(err, &se):
			off = se.Offset
		case errors.As(err, &te):
			off = te.Offset
		default:
			off = dec.InputOffset()
		}
		return nil, fmt.Errorf("%d: %v", lineAt(data, off), err)
	}
	names := map[string]bool{}
	for i, t := range f.Tokens {
		if !tokenNameRE.MatchString(t.Name) {
			return nil, fmt.Errorf("token %d: %w %q", i+1, ErrTokenName, t.Name)
		}
		if names[t.Name] {
			return nil, fmt.Errorf("token %d: %w: %q twice", i+1, ErrTokenExists, t.Name)
		}
		names[t.Name] = true
		if t.Role.rank() == 0 {
			return nil, fmt.Errorf("token %q: %w %q", t.Name, ErrBadRole, t.Role)
		}
		if b, err := hex.DecodeString(t.SHA256); err != nil || len(b) != sha256.Size {
			return nil, fmt.Errorf("token %q: sha256 is not 64 hex digits", t.Name)
		}
	}
	return f.Tokens, nil
}

func lineAt(data []byte, off int64) int {
	if off > int64(len(data)) {
		off = int64(len(data))
	}
	if off < 0 {
		off = 0
	}
	return 1 + bytes.Count(data[:off], []byte{'\n'})
}

// hashToken is the hex SHA-256 of a token, as stored.
func hashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// newToken returns a fresh random token: "syn_" and 43 base64url characters (256 bits).
func newToken() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (it panics if the OS has no randomness)
	return "syn_" + base64.RawURLEncoding.EncodeToString(b)
}

// EnsureAdmin creates a token named "admin" with the admin role when the store holds no
// admin token, saves the file, and returns the token (created = true): show it to the user
// once, it cannot be recovered. When an admin token exists it returns "", false: a restart
// with the same file makes no new token.
func (s *TokenStore) EnsureAdmin() (token string, created bool, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, t := range s.byName {
		if t.Role == RoleAdmin {
			return "", false, nil
		}
	}
	name := AdminTokenName
	for i := 2; ; i++ { // "admin" may have been kept with a weaker role
		if _, taken := s.byName[name]; !taken {
			break
		}
		name = fmt.Sprintf("%s-%d", AdminTokenName, i)
	}
	token, err = s.createLocked(name, RoleAdmin)
	if err != nil {
		return "", false, err
	}
	return token, true, nil
}

// Create makes a new token and saves the file; the token is returned once.
func (s *TokenStore) Create(name string, role Role) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.createLocked(name, role)
}

func (s *TokenStore) createLocked(name string, role Role) (string, error) {
	if !validTokenName(name) {
		return "", fmt.Errorf("%w %q: use 1-64 letters, digits, '.', '_' or '-' (not . or ..)", ErrTokenName, name)
	}
	if role.rank() == 0 {
		return "", fmt.Errorf("%w %q: want viewer, trader or admin", ErrBadRole, role)
	}
	if _, taken := s.byName[name]; taken {
		return "", fmt.Errorf("%w: %q (revoke it first or choose another name)", ErrTokenExists, name)
	}
	token := newToken()
	t := storedToken{TokenInfo: TokenInfo{Name: name, Role: role, Created: time.Now().UTC().Truncate(time.Second)}, SHA256: hashToken(token)}
	s.byName[name] = t
	s.byHash[t.SHA256] = name
	if err := s.saveLocked(); err != nil {
		delete(s.byName, name)
		delete(s.byHash, t.SHA256)
		return "", err
	}
	return token, nil
}

// Revoke deletes the token called name and saves the file.
func (s *TokenStore) Revoke(name string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.byName[name]
	if !ok {
		return fmt.Errorf("%w: %q", ErrNoSuchToken, name)
	}
	if t.Role == RoleAdmin {
		admins := 0
		for _, o := range s.byName {
			if o.Role == RoleAdmin {
				admins++
			}
		}
		if admins == 1 {
			return fmt.Errorf("%w: %q is the only admin token: create another admin token first (POST /api/v1/tokens)", ErrLastAdmin, name)
		}
	}
	delete(s.byName, name)
	delete(s.byHash, t.SHA256)
	if err := s.saveLocked(); err != nil {
		s.byName[name] = t
		s.byHash[t.SHA256] = name
		return err
	}
	return nil
}

// Lookup returns the identity of a token, or false when it is not a stored token.
func (s *TokenStore) Lookup(token string) (Identity, bool) {
	if token == "" {
		return Identity{}, false
	}
	h := hashToken(token)
	s.mu.RLock()
	defer s.mu.RUnlock()
	name, ok := s.byHash[h]
	if !ok {
		return Identity{}, false
	}
	return Identity{Name: name, Role: s.byName[name].Role}, true
}

// List returns the stored tokens sorted by name.
func (s *TokenStore) List() []TokenInfo {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]TokenInfo, 0, len(s.byName))
	for _, t := range s.byName {
		out = append(out, t.TokenInfo)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// saveLocked writes the file atomically (a temporary file renamed over it), mode 0600.
func (s *TokenStore) saveLocked() error {
	f := tokenFile{Tokens: make([]storedToken, 0, len(s.byName))}
	for _, t := range s.byName {
		f.Tokens = append(f.Tokens, t)
	}
	sort.Slice(f.Tokens, func(i, j int) bool { return f.Tokens[i].Name < f.Tokens[j].Name })
	data, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		return fmt.Errorf("%w %s: %v", ErrTokenFile, s.path, err)
	}
	dir := filepath.Dir(s.path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("%w %s: %v", ErrTokenFile, s.path, err)
	}
	tmp, err := os.CreateTemp(dir, ".tokens-*.json")
	if err != nil {
		return fmt.Errorf("%w %s: %v", ErrTokenFile, s.path, err)
	}
	defer os.Remove(tmp.Name()) // no-op after the rename
	err = tmp.Chmod(0o600)
	if err == nil {
		_, err = tmp.Write(append(data, '\n'))
	}
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), s.path)
	}
	if err != nil {
		return fmt.Errorf("%w %s: %v", ErrTokenFile, s.path, err)
	}
	return nil
}

// CookieName is the cookie holding the token in a browser.
const CookieName = "synapse_token"

type identityKey struct{}

// IdentityOf returns who made the request (set by the gateway's authentication).
func IdentityOf(r *http.Request) (Identity, bool) {
	id, ok := r.Context().Value(identityKey{}).(Identity)
	return id, ok
}

// openIdentity is everyone's identity when the gateway runs with Open (no authentication).
var openIdentity = Identity{Name: "local", Role: RoleAdmin}

// authenticate finds the request's identity: the Authorization: Bearer header, else the
// cookie, else (for a websocket upgrade, which browsers cannot give headers) ?token=.
// byCookie tells whether the cookie was the credential.
func (g *Gateway) authenticate(r *http.Request) (id Identity, byCookie bool, err *apiError) {
	if g.opts.Open {
		return openIdentity, false, nil
	}
	if g.opts.Tokens == nil {
		return Identity{}, false, &apiError{http.StatusUnauthorized, "this server has no token store: start it with authentication configured, or with --no-auth for a local demo", ""}
	}
	var token string
	if h := r.Header.Get("Authorization"); h != "" {
		scheme, t, ok := strings.Cut(h, " ")
		if !ok || !strings.EqualFold(scheme, "Bearer") {
			return Identity{}, false, &apiError{http.StatusUnauthorized, "the Authorization header must be \"Bearer <token>\"", ""}
		}
		token = strings.TrimSpace(t)
	} else if c, cerr := r.Cookie(CookieName); cerr == nil && c.Value != "" {
		token, byCookie = c.Value, true
	} else if isWebsocket(r) {
		token = r.URL.Query().Get("token")
	}
	if token == "" {
		return Identity{}, false, &apiError{http.StatusUnauthorized, "no API token: send \"Authorization: Bearer <token>\" (or open the URL with ?token= that synapse printed at start)", ""}
	}
	id, ok := g.opts.Tokens.Lookup(token)
	if !ok {
		return Identity{}, false, &apiError{http.StatusUnauthorized, "unknown or revoked API token", ""}
	}
	return id, byCookie, nil
}

func isUpgrade(r *http.Request) bool {
	return strings.EqualFold(r.Header.Get("Upgrade"), "websocket")
}

// isWebsocket reports a websocket handshake on /ws, the one request that may carry its
// token in the URL (a browser cannot give it a header): anywhere else a token in a URL
// would end up in logs and histories.
func isWebsocket(r *http.Request) bool {
	return r.Method == http.MethodGet && r.URL.Path == "/ws" && isUpgrade(r)
}

// requireRole wraps h so that only identities with at least role need reach it: 401 without
// a valid token, 403 with a too-weak role. A request authenticated by the browser cookie
// that changes something must come from the page's own origin.
func (g *Gateway) requireRole(need Role, h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id, byCookie, aerr := g.authenticate(r)
		if aerr != nil {
			w.Header().Set("WWW-Authenticate", `Bearer realm="synapse"`)
			writeError(w, aerr)
			return
		}
		if !id.Role.Allows(need) {
			writeError(w, &apiError{http.StatusForbidden, fmt.Sprintf("token %q has role %s; this needs %s", id.Name, id.Role, need), ""})
			return
		}
		if byCookie && r.Method != http.MethodGet && r.Method != http.MethodHead && !sameOrigin(r) {
			writeError(w, &apiError{http.StatusForbidden, "cross-origin request with the browser cookie refused: send the token in the Authorization header", ""})
			return
		}
		h(w, r.WithContext(context.WithValue(r.Context(), identityKey{}, id)))
	}
}

// sameOrigin reports whether the request's Origin header, if any, is the server's host.
func sameOrigin(r *http.Request) bool {
	o := r.Header.Get("Origin")
	if o == "" {
		return true
	}
	u, err := url.Parse(o)
	return err == nil && strings.EqualFold(u.Host, r.Host)
}

// tokenLogin turns ?token= on a page request into an HttpOnly SameSite=Strict cookie and
// redirects to the same URL without the token, so that it leaves the address bar and the
// history. A bad token is 401. Other requests pass through.
func (g *Gateway) tokenLogin(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		if g.opts.Open || !q.Has("token") || isUpgrade(r) || (r.Method != http.MethodGet && r.Method != http.MethodHead) {
			next.ServeHTTP(w, r)
			return
		}
		token := q.Get("token")
		if g.opts.Tokens == nil {
			writeError(w, &apiError{http.StatusUnauthorized, "this server has no token store", "token"})
			return
		}
		if _, ok := g.opts.Tokens.Lookup(token); !ok {
			writeError(w, &apiError{http.StatusUnauthorized, "unknown or revoked API token", "token"})
			return
		}
		http.SetCookie(w, &http.Cookie{
			Name: CookieName, Value: token, Path: "/",
			HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: r.TLS != nil,
		})
		q.Del("token")
		// Back to the same page without the token, on this server: a path that begins with
		// "//" or "/\\" would be read by the browser as another host's address.
		path := r.URL.EscapedPath()
		if !strings.HasPrefix(path, "/") || strings.HasPrefix(path, "//") || strings.HasPrefix(path, "/\\") {
			path = "/"
		}
		if rq := q.Encode(); rq != "" {
			path += "?" + rq
		}
		http.Redirect(w, r, path, http.StatusSeeOther)
	})
}

// createTokenArgs is the body of POST /api/v1/tokens.
type createTokenArgs struct {
	Name string `json:"name"`
	Role string `json:"role"`
}

func (a *createTokenArgs) Validate() error {
	if !validTokenName(a.Name) {
		return &FieldError{Field: "name", Msg: "must be 1-64 letters, digits, '.', '_' or '-' (not . or ..)"}
	}
	if Role(a.Role).rank() == 0 {
		return &FieldError{Field: "role", Msg: "must be viewer, trader or admin"}
	}
	return nil
}

// serveCreateToken answers POST /api/v1/tokens {"name","role"} with 201 {"name","role","token"}.
func (g *Gateway) serveCreateToken(w http.ResponseWriter, r *http.Request) {
	if g.opts.Tokens == nil {
		writeError(w, &apiError{http.StatusNotFound, "this server has no token store (it runs without authentication)", ""})
		return
	}
	body, aerr := readBody(w, r)
	if aerr == nil {
		aerr = jsonContentType(r)
	}
	if aerr != nil {
		writeError(w, aerr)
		return
	}
	var a createTokenArgs
	if err := decodeStrict(body, &a); err != nil {
		writeError(w, badRequest(err))
		return
	}
	if err := a.Validate(); err != nil {
		writeError(w, badRequest(err))
		return
	}
	token, err := g.opts.Tokens.Create(a.Name, Role(a.Role))
	switch {
	case errors.Is(err, ErrTokenExists):
		writeError(w, &apiError{http.StatusConflict, err.Error(), "name"})
		return
	case err != nil:
		writeError(w, &apiError{http.StatusInternalServerError, err.Error(), ""})
		return
	}
	id, _ := IdentityOf(r)
	g.opts.Logger.Info("api token created", "name", a.Name, "role", a.Role, "by", id.Name)
	writeJSON(w, http.StatusCreated, map[string]string{"name": a.Name, "role": a.Role, "token": token})
}

// serveRevokeToken answers DELETE /api/v1/tokens/{name}.
func (g *Gateway) serveRevokeToken(w http.ResponseWriter, r *http.Request) {
	if g.opts.Tokens == nil {
		writeError(w, &apiError{http.StatusNotFound, "this server has no token store (it runs without authentication)", ""})
		return
	}
	name := r.PathValue("name")
	err := g.opts.Tokens.Revoke(name)
	switch {
	case errors.Is(err, ErrNoSuchToken):
		writeError(w, &apiError{http.StatusNotFound, err.Error(), "name"})
		return
	case errors.Is(err, ErrLastAdmin):
		writeError(w, &apiError{http.StatusConflict, err.Error(), "name"})
		return
	case err != nil:
		writeError(w, &apiError{http.StatusInternalServerError, err.Error(), ""})
		return
	}
	// Its websocket streams end too: it authenticated them at their handshake.
	ended := g.endClients(func(c *wsClient) bool { return c.token == name }, websocket.StatusPolicyViolation, "the API token was revoked")
	id, _ := IdentityOf(r)
	g.opts.Logger.Info("api token revoked", "name", name, "by", id.Name, "websockets_closed", ended)
	writeJSON(w, http.StatusOK, map[string]any{"revoked": name, "websockets_closed": ended})
}

// serveListTokens answers GET /api/v1/tokens with the names, roles and creation times.
func (g *Gateway) serveListTokens(w http.ResponseWriter, _ *http.Request) {
	if g.opts.Tokens == nil {
		writeJSON(w, http.StatusOK, []TokenInfo{})
		return
	}
	writeJSON(w, http.StatusOK, g.opts.Tokens.List())
}
