package postgres

import (
	"context"
	"testing"

	"github.com/synapse-trading/synapse/portfolio"
	"github.com/synapse-trading/synapse/portfolio/readmodeltest"
	"github.com/synapse-trading/synapse/streams"
)

// TestConformance runs the read model conformance suite on the Postgres projection: the
// second open is a restart (a new projector on the same database resumes from its offsets).
func TestConformance(t *testing.T) {
	var databaseURL string
	var previous *running
	readmodeltest.Run(t, func(t *testing.T, log *streams.Log) (portfolio.ReadModel, func(context.Context) error) {
		if databaseURL == "" {
			databaseURL = migrated(t)
		}
		if previous != nil {
			previous.wait(t) // one projector per database and log
		}
		db := openDB(t, databaseURL)
		r := start(t, db, log, ProjectorOptions{BatchSize: 7})
		previous = r
		return NewReadModel(db), r.catchUp
	})
}
