package postgres

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/synapse-trading/synapse/migrations"
	"github.com/synapse-trading/synapse/streams"
)

// baseURL is the test database: SYNAPSE_TEST_DATABASE_URL, or the local Postgres.
func baseURL() string {
	if u := os.Getenv("SYNAPSE_TEST_DATABASE_URL"); u != "" {
		return u
	}
	return "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"
}

// freshSchema creates a schema of its own for the test (dropped at cleanup) and returns the
// URL that uses it. Without a reachable Postgres the test is skipped, or fails under CI=true.
func freshSchema(t *testing.T) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, baseURL())
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("Postgres unreachable at %s under CI: %v", baseURL(), err)
		}
		t.Skipf("Postgres unreachable at %s (set SYNAPSE_TEST_DATABASE_URL): %v", baseURL(), err)
	}
	defer conn.Close(ctx)
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	schema := "synapse_test_" + hex.EncodeToString(b)
	if _, err := conn.Exec(ctx, "create schema "+schema); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, baseURL())
		if err != nil {
			t.Errorf("dropping schema %s: %v", schema, err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, "drop schema "+schema+" cascade"); err != nil {
			t.Errorf("dropping schema %s: %v", schema, err)
		}
	})
	return withParam(baseURL(), "search_path", schema)
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

func withParam(rawURL, key, value string) string {
	u, err := url.Parse(rawURL)
	if err != nil || u.Scheme == "" {
		return strings.TrimSpace(rawURL) + " " + key + "=" + value // key=value form
	}
	q := u.Query()
	q.Set(key, value)
	u.RawQuery = q.Encode()
	return u.String()
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
