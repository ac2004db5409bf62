package portfolio

import "errors"

var (
	// ErrTransition means an order event does not follow from the order's state (a fill of
	// a canceled order, an event of another order, ...). The order is left as it was.
	ErrTransition = errors.New("order transition")
	// ErrLedger means a fill could not be booked (wrong side, overflow); the account is left
	// as it was.
	ErrLedger = errors.New("ledger")
	// ErrVenue means a venue could not be reached or refused a request; the message says why.
	ErrVenue = errors.New("venue")
)
