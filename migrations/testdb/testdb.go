// Package testdb gives a test a schema of its own in the test Postgres: the database of
// $SYNAPSE_TEST_DATABASE_URL, else postgres://postgres@127.0.0.1:5432/test. Without a
// reachable Postgres the test is skipped, and fails when CI=true.
package testdb

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/synapse-trading/synapse/migrations"
)

// URL is the test database's URL.
func URL() string {
	if u := os.Getenv("SYNAPSE_TEST_DATABASE_URL"); u != "" {
		return u
	}
	return "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"
}

// Connect connects to the test database, closed at the test's end.
func Connect(t testing.TB) *pgx.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, URL())
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("Postgres unreachable at %s under CI: %v", URL(), err)
		}
		t.Skipf("Postgres unreachable at %s (set SYNAPSE_TEST_DATABASE_URL): %v", URL(), err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

// Schema creates a schema for the test, dropped (with what is in it) at its end, and returns
// its name and the URL that uses it (search_path).
func Schema(t testing.TB) (schema, databaseURL string) {
	t.Helper()
	conn := Connect(t)
	schema = Name("synapse_test_")
	if _, err := conn.Exec(context.Background(), "create schema "+schema); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, URL())
		if err != nil {
			t.Errorf("dropping schema %s: %v", schema, err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, "drop schema "+schema+" cascade"); err != nil {
			t.Errorf("dropping schema %s: %v", schema, err)
		}
	})
	return schema, migrations.WithParam(URL(), "search_path", schema)
}

// Name is prefix and 12 random hex digits: a name no other test uses.
func Name(prefix string) string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return prefix + hex.EncodeToString(b)
}
