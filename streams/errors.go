package streams

import "errors"

var (
	// ErrBadEvent means a message on the log could not be decoded into a known event: the
	// payload is malformed, the kind is unknown or the schema version is newer than this build.
	ErrBadEvent = errors.New("bad event")
	// ErrListen means the TCP listener for bots could not be opened, usually because the
	// port is taken; pick another with --nats-listen.
	ErrListen = errors.New("nats listener")
	// ErrCredentials means the bot listener was asked for but its credentials are missing.
	ErrCredentials = errors.New("nats credentials")
	// ErrConnect means the log could not be reached (embedded server failed to start, or the
	// external --nats-url did not answer).
	ErrConnect = errors.New("nats connect")
	// ErrLocked means another synapse process holds the data directory's JetStream store.
	ErrLocked = errors.New("data dir locked")
	// ErrUnreadable means a stream delivered fewer messages than it holds (more sequences were
	// passed over than it has deleted): its store is damaged.
	ErrUnreadable = errors.New("messages of the log could not be read")
)
