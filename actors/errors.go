package actors

import (
	"errors"

	"github.com/synapse-trading/synapse/actors/candle"
)

var (
	// ErrUnknownEvent means an actor received an event it does not handle.
	ErrUnknownEvent = errors.New("unknown event")
	// ErrOutOfOrder means an event is older than the state it would change; it was skipped.
	ErrOutOfOrder = errors.New("out of order")
	// ErrDuplicate means an event was already applied; it was skipped.
	ErrDuplicate = errors.New("duplicate")
	// ErrPoisonEvent means applying an event panicked; the event was skipped.
	ErrPoisonEvent = errors.New("poison event")
)

func isOutOfOrder(err error) bool {
	return errors.Is(err, ErrOutOfOrder) || errors.Is(err, candle.ErrOutOfOrder)
}

func isDuplicate(err error) bool {
	return errors.Is(err, ErrDuplicate) || errors.Is(err, candle.ErrDuplicate)
}
