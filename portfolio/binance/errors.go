package binance

import "errors"

// Every error Submit, Cancel and Reconcile return also wraps portfolio.ErrVenue; these say
// more precisely what went wrong. None of them carries the API key or the secret.
var (
	// ErrOptions means the Options given to New are unusable; the message names the field.
	ErrOptions = errors.New("binance venue options")
	// ErrKeys means the API key or secret is missing, or Binance refused them (an unknown
	// key, a secret that does not sign for it): set SYNAPSE_BINANCE_API_KEY and
	// SYNAPSE_BINANCE_API_SECRET (KeysFromEnv reads them); the message names the fix.
	ErrKeys = errors.New("binance api keys")
	// ErrBudget means the request was not sent because this minute's request-weight
	// budget (Options.WeightPerMinute) is spent; the message says when it frees up.
	ErrBudget = errors.New("binance request-weight budget spent")
	// ErrRateLimited means Binance answered HTTP 429 and the venue is backing off until
	// the Retry-After time the message gives; requests meanwhile are not sent.
	ErrRateLimited = errors.New("binance rate limit (HTTP 429)")
	// ErrBanned means Binance banned this IP (HTTP 418): nothing is sent until the ban
	// ends, at the time the message gives. Lower the request rate before it ends.
	ErrBanned = errors.New("binance ip ban (HTTP 418)")
	// ErrClosed means the venue was closed; create a new one with New.
	ErrClosed = errors.New("binance venue closed")
)
