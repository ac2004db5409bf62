// Package binance is Synapse's Binance spot order adapter: a portfolio.Venue that places
// and cancels the engine's orders at Binance and reports their lifecycle (accepted, fill,
// canceled, rejected, expired) to the engine as streams.OrderEvent values.
//
// It uses github.com/adshao/go-binance/v2 for REST (HMAC-SHA256 signing, the order,
// cancel, query, trades and account services) and github.com/coder/websocket for the
// user-data stream, whose executionReport events bring fills as they happen (see
// streams/binance for why go-binance's websocket helpers are not used). Every conversion
// from go-binance's types is in convert.go; none leaves the package. Amounts are exact
// decimals (github.com/govalues/decimal) both ways.
//
// The user-data stream is a connection to Binance's WebSocket API (Options.StreamURL, by
// default wss://ws-api.binance.com:443/ws-api/v3) subscribed with
// userDataStream.subscribe.signature, signed with the same HMAC secret as REST
// (HMAC-SHA256 of "apiKey=<key>&timestamp=<ms>", in hex). Binance removed the listenKey
// flow (/api/v3/userDataStream now answers 410 Gone) on 2026-02-20. The subscription is
// made again, with a fresh timestamp, on every reconnect, and needs no keepalive.
//
// What the adapter guarantees:
//
//   - Every transition of an order is reported once, from whichever path brings it first:
//     Submit's answer (newOrderRespType FULL carries a market order's fills), the user-data
//     stream, a catch-up query, Reconcile. Fills are told apart by Binance's trade ID.
//   - No fill is lost to a dropped stream: after each reconnect (and subscription) the
//     venue reads every order it tracks that is not done (GET /api/v3/order, and GET
//     /api/v3/myTrades when Binance filled more than was reported) and reports what it
//     missed.
//   - The same order is not placed twice: its client order ID is Binance's
//     newClientOrderId; a repeated Submit does nothing, and Binance's duplicate refusal
//     (an open order with that ID, after a restart) reports the existing order instead.
//   - Fees are in the quote asset: a commission in the quote asset as is, one in the base
//     asset times the fill price rounded to portfolio.MoneyScale, one in a third asset
//     (BNB) as 0, counted in Stats.OtherAssetFees.
//   - Orders the engine did not place (client IDs without the "syn-" prefix) are ignored,
//     except that Reconcile logs the open "syn-" orders the engine did not list.
//   - Request weight (REST and WebSocket API together: opening the connection and
//     subscribing count 2 each) stays within Options.WeightPerMinute (default 1200 of
//     Binance's 6000): a request that would pass it is not sent and fails with ErrBudget, saying
//     when the minute frees up. HTTP 429 backs the venue off until Retry-After (short
//     waits are waited out and retried); HTTP 418 (IP banned) stops every request until
//     Retry-After and is logged at error level. No call blocks for long.
//   - The API key and secret come from the environment (KeysFromEnv) and are never logged
//     or put in an error; go-binance's debug logging is off. The key must be an HMAC key.
//     A subscription Binance refuses for the keys (-1022 bad signature, -2014/-2015 bad
//     key) fails New with an error wrapping ErrKeys that says what to fix.
//
// The reports are made while the venue holds its lock, so that an order's reports are in
// order; the Report function must not block for long nor call back into the venue.
//
// The fake in streams/binance/binancetest speaks enough of Binance's trading API (with
// signatures, partial fills, outside cancels, rate-limit faults, and a WebSocket API
// user-data subscription that can be dropped, paused or terminated) for this package's
// tests and the engine's to run against it on loopback.
package binance
