// Package binancetest is a fake Binance for tests: a local HTTP and websocket server on
// 127.0.0.1 that speaks enough of Binance's public market-data protocol for a real client
// (github.com/adshao/go-binance/v2, or the feed in streams/binance) to run against it.
//
// REST (spot paths /api/v3/..., USDⓈ-M futures paths /fapi/v1/...):
//
//   - GET klines: the history given to SetKlines, with Binance's startTime, endTime and
//     limit semantics (default 500, at most 1000, oldest first);
//   - GET depth: the snapshot given to SetDepth, cut to the requested limit;
//   - GET ping, time and a minimal exchangeInfo.
//
// Websocket: combined streams at /stream?streams=a/b/c (every frame wrapped as
// {"stream":...,"data":...}) and single streams at /ws/<stream> (the bare data).
//
// The test scripts what the websocket sends with the Send* methods: frames go on one
// "tape" that is played once, in order, to whichever connection is open, so a client that
// reconnects carries on where the last connection stopped, as with the real exchange where
// time moves on while the client is away. Frames queued before the client connects wait
// for it. A frame for a stream the connection did not subscribe to is passed over.
//
// Faults (SetFaults) make the server misbehave on purpose: drop each connection after N
// frames, lose K closed klines while the client is away (REST still has them, so a good
// client backfills) and slip a malformed frame in after every N good ones.
//
// The trading half (orders.go, userdata.go) adds a signed spot account: orders, cancels,
// queries, trades and balances over REST, and the user-data stream over the WebSocket API
// (/ws-api/v3, userDataStream.subscribe.signature), as Binance serves it since it removed
// the listenKey endpoints (which answer 410 Gone here too).
//
// The server is meant for one client at a time.
package binancetest
