package binance

import "errors"

var (
	// ErrOptions means the Options given to New are unusable; the error says which field is
	// wrong and what it accepts.
	ErrOptions = errors.New("binance feed options")
	// ErrMalformedFrame means a websocket message could not be decoded into an event: it is
	// not JSON, lacks its stream or data, names an unknown stream, or has a field of the
	// wrong type or value. The feed counts and logs it and carries on.
	ErrMalformedFrame = errors.New("malformed binance frame")
	// ErrMalformedREST means a REST answer (klines or depth) had a field that does not parse.
	ErrMalformedREST = errors.New("malformed binance rest answer")
	// ErrREST means a REST call (klines backfill or depth snapshot) failed after its
	// retries; check the network and Options.RESTURL.
	ErrREST = errors.New("binance rest call")
	// ErrConnection means the websocket connection failed or was lost; the feed reconnects
	// by itself, so this only shows in logs.
	ErrConnection = errors.New("binance websocket connection")
	// ErrRunning means Run was called on a feed that is already running or was stopped;
	// create a new Feed instead.
	ErrRunning = errors.New("binance feed already running or stopped")
)
