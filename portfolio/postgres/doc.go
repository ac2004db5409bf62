// Package postgres is the Postgres read model: a Projector that folds the log's ORD, PF, CMD
// and SIG streams into the tables of migrations/ (orders, fills, positions, equity
// snapshots, capital moves, agent states, model deployments, signal summaries), and a
// ReadModel that answers portfolio.ReadModel's queries from them, the same way the in-memory
// model does (both pass portfolio/readmodeltest).
//
// The log stays the truth. The projector folds with the engine's own code (Order.Apply,
// Account.Fill), writes each batch of events in one transaction with the stream's offset in
// projector_offsets, and acknowledges the batch only after it committed: after a crash, an
// outage or a restart it resumes from the offset and every event is folded in exactly once.
//
//	db, err := postgres.Open(ctx, databaseURL, postgres.DBOptions{})  // after migrations.Apply
//	p := postgres.NewProjector(db, log.JS, postgres.ProjectorOptions{})
//	go p.Run(ctx)
//	rm := postgres.NewReadModel(db) // a portfolio.ReadModel
package postgres
