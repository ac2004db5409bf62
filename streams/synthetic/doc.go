// Package synthetic generates endless, realistic-looking market data for load tests.
//
// A Generator walks the price of each symbol as a geometric Brownian motion (configurable
// drift and volatility), emits a *streams.Trade at Poisson-distributed times with prices
// rounded to the tick size and quantities to the lot size (exact decimals), and closes a
// 1m *streams.Kline from those trades at the end of every minute, so the candles agree
// with the trades exactly. Events of all symbols come out in event-time order. Trade IDs
// count from 1 per symbol, so events have deterministic IDs, and the same Options (same
// Seed) always give the same sequence.
//
// Time in the generated data is simulated, starting at Options.Start; Next returns events
// as fast as it can, and Run paces them at Options.EventsPerSecond of wall time.
//
//	g, err := synthetic.New(synthetic.DefaultOptions())
//	if err != nil { ... }
//	for {
//		ev, err := g.Next()
//		...
//	}
package synthetic
