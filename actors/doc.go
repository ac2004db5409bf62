// Package actors is Synapse's actor graph on Hollywood: one actor per symbol (candles, order
// book, streaming indicators, features), pair actors (rolling correlations), and the trading
// desk: one actor per agent, the risk gate, and one actor per venue (the paper exchange or
// Binance), plus the backtest's simulated clock. Sub-packages hold the domain logic the
// actors own: candle (1m candles and roll-ups), orderbook (L2 books from snapshots and
// diffs) and indicator (streaming technical indicators).
//
// Bounds. Hollywood mailboxes are unbounded, so every edge a producer can outrun has an
// explicit bound, documented where the edge is made:
//   - log → symbol actor (Graph.Dispatch): at most SymbolOptions.MaxInFlight batches per symbol
//     are in a mailbox; the router blocks (and with it the log consumer, and with that the
//     feed's publishes) until the actor catches up. Market data is never dropped: a dropped
//     kline would corrupt every candle and indicator after it.
//   - log → risk gate and venues (Graph.SubscribeMarket): the same bound per subscriber.
//   - symbol actor → agents (1m features) and model actors → agents (signals): at most one
//     message per symbol and candle; the models' own bounds (drop-stale) hold them.
//   - agent → risk gate → venue: at most one open order per agent and symbol, and every step
//     is a synchronous write to the log, which paces it.
//   - symbol actor → browsers: state goes through web.Hub, latest value wins.
//   - symbol actor → log (features): Log.Publish blocks when its pending acks are full.
package actors
