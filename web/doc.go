// Package web is Synapse's gateway: the HTTP server that serves the UI, the JSON query and
// command API and a websocket that streams the engine's state to browsers.
//
// Actors push state into a Hub, which keeps only the latest value per topic, so a slow
// browser never slows an actor; a client that accepts no frame within WriteTimeout is
// disconnected with a reason. Requests carry API tokens with roles (viewer, trader, admin,
// auth.go); commands are validated (commands.go), rate limited per token (ratelimit.go)
// and put on the log before they act. /healthz, /readyz and Prometheus /metrics are in
// health.go and metrics.go.
package web
