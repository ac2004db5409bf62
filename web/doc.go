// Package web is Synapse's gateway: the HTTP server that serves the UI, the JSON query API
// and a websocket that streams the engine's state to browsers. Actors push state into a Hub,
// which keeps only the latest value per key, so a slow browser never slows an actor.
package web
