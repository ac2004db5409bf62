package web

import "net/http"

// serveHealthz answers /healthz: 200 while the process serves HTTP.
func (g *Gateway) serveHealthz(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

// serveReadyz answers /readyz: 200 when Options.Ready returns nil (no Ready: always), else
// 503 with the reason; 503 "shutting down" once the gateway is stopping.
func (g *Gateway) serveReadyz(w http.ResponseWriter, _ *http.Request) {
	if g.stopping.Load() {
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "not ready", "error": "shutting down"})
		return
	}
	if g.opts.Ready != nil {
		if err := g.opts.Ready(); err != nil {
			writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "not ready", "error": err.Error()})
			return
		}
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
}
