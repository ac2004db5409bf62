package postgres

import (
	"context"
	"testing"

	"github.com/synapse-trading/synapse/migrations"
	"github.com/synapse-trading/synapse/migrations/testdb"
	"github.com/synapse-trading/synapse/streams"
)

// freshSchema is a schema of the test's own (testdb.Schema): its URL.
func freshSchema(t *testing.T) string {
	t.Helper()
	_, u := testdb.Schema(t)
	return u
}

// migrated is freshSchema with the read model's migrations applied.
func migrated(t *testing.T) string {
	t.Helper()
	u := freshSchema(t)
	if err := migrations.Apply(context.Background(), u); err != nil {
		t.Fatal(err)
	}
	return u
}

func openDB(t *testing.T, databaseURL string) *DB {
	t.Helper()
	db, err := Open(context.Background(), databaseURL, DBOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	return db
}

func openLog(t *testing.T) *streams.Log {
	t.Helper()
	log, err := streams.Open(context.Background(), streams.Options{DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(log.Close)
	return log
}

// running is a projector started in the background.
type running struct {
	p    *Projector
	stop context.CancelFunc
	done chan error
}

func start(t *testing.T, db *DB, log *streams.Log, opts ProjectorOptions) *running {
	t.Helper()
	p := NewProjector(db, log.JS, opts)
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{p: p, stop: cancel, done: make(chan error, 1)}
	go func() { r.done <- p.Run(ctx) }()
	t.Cleanup(func() { r.wait(t) })
	return r
}

// wait stops the projector and checks that it stopped cleanly; it may be called again.
func (r *running) wait(t *testing.T) {
	t.Helper()
	r.stop()
	if err, ok := <-r.done; ok {
		close(r.done)
		if err != nil {
			t.Errorf("projector: %v", err)
		}
	}
}

// catchUp waits until the projector has committed the log's current end of every stream.
func (r *running) catchUp(ctx context.Context) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	go func() {
		select {
		case err, ok := <-r.done:
			if ok {
				r.done <- err // keep it for wait
				if err == nil {
					err = context.Canceled
				}
				cancel(err)
			}
		case <-ctx.Done():
		}
	}()
	if err := r.p.CatchUp(ctx); err != nil {
		if c := context.Cause(ctx); c != nil && c != ctx.Err() {
			return c
		}
		return err
	}
	return nil
}
