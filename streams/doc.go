// Package streams is Synapse's event log and its market data: the embedded (or external)
// NATS JetStream server, the definition of every stream and subject, the versioned event
// schemas and their codec, and the feeds that put market data on the log (recorded-file
// replay, live Binance, a synthetic generator).
//
// The log is the truth: every fact enters the system as an event on a stream before
// anything acts on it, and everything else can be rebuilt by replaying it.
package streams
