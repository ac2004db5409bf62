package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/synapse-trading/synapse/web"
)

// http_origins in the config lets the pages of those origins open the websocket, and no
// other foreign origin.
func TestConfiguredOriginsOpenTheWebsocket(t *testing.T) {
	path := filepath.Join(t.TempDir(), "synapse.yaml")
	if err := os.WriteFile(path, []byte("http_origins: [dash.example.com, \"*.trading.example\"]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := loadConfig(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := checkOrigins("http_origins", cfg.HTTPOrigins); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(web.New(web.NewHub(), web.Options{Open: true, OriginPatterns: cfg.HTTPOrigins}).Handler())
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for origin, want := range map[string]int{
		"https://dash.example.com":    http.StatusSwitchingProtocols,
		"https://ui.trading.example":  http.StatusSwitchingProtocols,
		srv.URL:                       http.StatusSwitchingProtocols,
		"https://evil.example":        http.StatusForbidden,
		"https://dash.example.com.ru": http.StatusForbidden,
	} {
		c, resp, _ := websocket.Dial(ctx, "ws"+strings.TrimPrefix(srv.URL, "http")+"/ws",
			&websocket.DialOptions{HTTPHeader: http.Header{"Origin": {origin}}})
		if c != nil {
			c.CloseNow()
		}
		if resp == nil || resp.StatusCode != want {
			t.Errorf("origin %s: %v, want %d", origin, resp, want)
		}
	}
}

func TestBadOriginPatternsAreRefusedAtStart(t *testing.T) {
	for _, p := range []string{"https://dash.example.com", "dash.example.com/ui", "[a-"} {
		err := checkOrigins("http_origins", []string{p})
		if err == nil || !strings.Contains(err.Error(), "http_origins") {
			t.Errorf("%q: %v, want an error naming http_origins", p, err)
		}
	}
}
