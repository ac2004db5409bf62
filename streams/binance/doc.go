// Package binance is Synapse's live Binance market-data feed. It subscribes to one combined
// websocket stream carrying, for every configured symbol, closed klines, trades (or
// aggregate trades), diff depth at 100 ms and the best bid/ask (bookTicker), and turns each
// frame into a streams.Event (Kline, Trade, Depth, Snapshot, Ticker) for a callback.
// Prices and quantities are parsed exactly with decimal.Parse.
//
// Venues: "binance" (spot, the default) and "binance-um" (USDⓈ-M futures). The two speak
// the same stream layouts; on futures depth continuity uses "pu" and bookTicker carries an
// event time.
//
// What the feed guarantees:
//
//   - Order: every event is delivered from one goroutine, in the order the exchange sent it,
//     so events of a symbol arrive in order (backfilled klines and snapshots included).
//   - Klines: only closed klines ("x": true) become events. A closed kline that opens more
//     than one interval after the previous one (for instance after a reconnect) first
//     triggers a REST backfill (GET klines with startTime/endTime) of the missing ones,
//     which are delivered in order before it. A kline already delivered is not delivered
//     again, so a consumer sees each interval once.
//   - Trades: a jump in trade ID is counted as a gap (Stats.TradeGaps) and logged; missing
//     trades are not backfilled in this version.
//   - Depth: before the first diff of a symbol, and whenever U/u continuity breaks (spot:
//     U = previous u + 1; futures: pu = previous u), the feed fetches a REST snapshot and
//     delivers it as a Snapshot event ahead of the diff. An order book resets itself on a
//     Snapshot, then applies the diffs whose FinalID is above Snapshot.LastUpdateID.
//   - Reconnects: the connection is re-opened after any error with exponential backoff and
//     jitter (Options.MinBackoff to MaxBackoff, reset once a connection stayed up for
//     ResetBackoffAfter), and after ReadTimeout with no message at all. Each reconnect is
//     logged; Stats counts reconnects, messages, decode errors, gaps and backfills.
//   - Malformed frames are counted (Stats.DecodeErrors) and logged with their stream name;
//     they never stop the feed.
//
// Why the websocket side does not go through go-binance: github.com/adshao/go-binance/v2
// (v2.8.7) is used for REST (klines backfill, depth snapshots; the base URL is a per-client
// field) and its exported event structs are the wire types decoded in convert.go. Its
// websocket helpers (WsCombined*Serve) are not used because, reading their source: the base
// URLs are package-level variables (one URL per process); the combined depth handler makes
// unchecked type assertions, so one malformed depth frame panics in go-binance's goroutine
// and kills the process; with WebsocketKeepalive (the default) every connection leaves a
// goroutine behind for up to WebsocketTimeout (10 min) after it closes; and each stream
// kind needs its own connection, so events of a symbol would not be in one order. The feed
// therefore reads the combined stream itself with github.com/coder/websocket, which also
// lets the websocket URL be an option per feed, without touching any global.
package binance
