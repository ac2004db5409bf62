// Package portfolio holds what an order is and what it does to money: the order lifecycle
// (Order), the ledger of an agent's cash, positions and PnL in exact decimals (Account), the
// Venue interface that the paper exchange and the Binance adapter implement, the paper
// exchange itself, the read model of the query side (ReadModel, kept in memory by Memory; in
// Postgres by package portfolio/postgres), and the portfolio's analytics: allocation across
// agents by risk profile, drift and rebalancing, profit sweeps, and Monte Carlo projections
// of equity. It has no actors: actors/ drives these from the log.
package portfolio
