// Package portfolio will hold orders, fills, positions, PnL, allocation, the paper exchange,
// the venue adapters and the projections to Postgres. It is empty until the execution tier
// lands (see the open issues).
package portfolio
