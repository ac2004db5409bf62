// Package portfolio holds what an order is and what it does to money: the order lifecycle
// (Order), the ledger of an agent's cash, positions and PnL in exact decimals (Account), the
// Venue interface that the paper exchange and the Binance adapter implement, and the paper
// exchange itself. It has no actors: actors/ drives these from the log.
package portfolio
