package migrations_test

import (
	"context"
	"errors"
	"net/url"
	"os"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/tern/v2/migrate"

	"github.com/synapse-trading/synapse/migrations"
	"github.com/synapse-trading/synapse/migrations/testdb"
)

// admin connects to the test database (testdb).
func admin(t *testing.T) *pgx.Conn { return testdb.Connect(t) }

// otherDatabase is the test URL naming another database.
func otherDatabase(t *testing.T, name string) string {
	t.Helper()
	u, err := url.Parse(testdb.URL())
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/" + name
	return u.String()
}

func tables(t *testing.T, conn *pgx.Conn, schema string) []string {
	t.Helper()
	rows, err := conn.Query(context.Background(), "select tablename from pg_tables where schemaname = $1 order by tablename", schema)
	if err != nil {
		t.Fatal(err)
	}
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	return names
}

func TestApplyTwice(t *testing.T) {
	conn := admin(t)
	schema, u := testdb.Schema(t)
	ctx := context.Background()
	if v, err := migrations.Version(ctx, u); err != nil || v != 0 {
		t.Fatalf("version before: %d, %v; want 0", v, err)
	}
	for i := range 2 {
		if err := migrations.Apply(ctx, u); err != nil {
			t.Fatalf("apply #%d: %v", i+1, err)
		}
		v, err := migrations.Version(ctx, u)
		if err != nil || v != migrations.Latest() || v < 1 {
			t.Fatalf("version after apply #%d: %d, %v; want %d", i+1, v, err, migrations.Latest())
		}
	}
	got := strings.Join(tables(t, conn, schema), " ")
	want := "agent_state_events agent_states capital_moves equity_snapshots fills killswitch_events model_deployments orders position_marks positions projector_offsets signal_summaries synapse_schema_version"
	if got != want {
		t.Errorf("tables in %s: %s\nwant %s", schema, got, want)
	}
	// nothing went to public
	var n int
	if err := conn.QueryRow(ctx, "select count(*) from pg_tables where schemaname = 'public' and tablename = 'orders'").Scan(&n); err != nil || n != 0 {
		t.Errorf("an orders table in public (%d, %v): the search_path was not used", n, err)
	}
}

// A search_path naming a schema that does not exist yet: Apply creates it.
func TestApplyCreatesTheSchema(t *testing.T) {
	conn := admin(t)
	ctx := context.Background()
	schema := testdb.Name("synapse_new_")
	t.Cleanup(func() { _, _ = conn.Exec(context.Background(), "drop schema if exists "+schema+" cascade") })
	if err := migrations.Apply(ctx, migrations.WithParam(testdb.URL(), "search_path", schema)); err != nil {
		t.Fatal(err)
	}
	if got := tables(t, conn, schema); len(got) < 10 {
		t.Fatalf("tables in the new schema %s: %v", schema, got)
	}
}

// TestDownAndUp checks that the migrations' down parts undo their up parts exactly.
func TestDownAndUp(t *testing.T) {
	conn := admin(t)
	schema, u := testdb.Schema(t)
	ctx := context.Background()
	if err := migrations.Apply(ctx, u); err != nil {
		t.Fatal(err)
	}
	c, err := migrations.Connect(ctx, u)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(ctx)
	m, err := migrate.NewMigrator(ctx, c, migrations.VersionTable)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.LoadMigrations(os.DirFS(".")); err != nil {
		t.Fatal(err)
	}
	if err := m.MigrateTo(ctx, 0); err != nil {
		t.Fatal(err)
	}
	if got := tables(t, conn, schema); len(got) != 1 || got[0] != migrations.VersionTable {
		t.Errorf("after migrating down: %v, want only the version table", got)
	}
	if err := migrations.Apply(ctx, u); err != nil {
		t.Fatal(err)
	}
	if v, err := migrations.Version(ctx, u); err != nil || v != migrations.Latest() {
		t.Errorf("version after up again: %d, %v", v, err)
	}
}

// TestErrors checks that each way of getting the URL or the rights wrong is an error that
// names the fix, and never shows the password.
func TestErrors(t *testing.T) {
	conn := admin(t)
	ctx := context.Background()
	cases := []struct {
		name, url string
		want      error
		says      string
	}{
		{"empty", "", migrations.ErrURL, "--database-url"},
		{"not a URL", "postgres://user:s3cret@[::1", migrations.ErrURL, "postgres://USER:PASSWORD@HOST:5432/DATABASE"},
		{"nobody listens", "postgres://postgres:s3cret@127.0.0.1:1/test?connect_timeout=2", migrations.ErrConnect, "is it running"},
		{"no such database", otherDatabase(t, testdb.Name("missing_")), migrations.ErrConnect, "createdb"},
	}
	// a user who may use the schema but not create tables in it (the role is dropped after
	// the schema, whose grant depends on it)
	role := testdb.Name("synapse_ro_")
	if _, err := conn.Exec(ctx, "create role "+role+" login"); err == nil {
		t.Cleanup(func() {
			if _, err := conn.Exec(context.Background(), "drop role "+role); err != nil {
				t.Errorf("dropping role %s: %v", role, err)
			}
		})
		schema, u := testdb.Schema(t)
		if _, err := conn.Exec(ctx, "grant usage on schema "+schema+" to "+role); err != nil {
			t.Fatal(err)
		}
		pu, _ := url.Parse(u)
		pu.User = url.User(role)
		cases = append(cases, struct {
			name, url string
			want      error
			says      string
		}{"no CREATE on the schema", pu.String(), migrations.ErrPermission, "GRANT CREATE ON SCHEMA"})
		// nor create a schema of its own: the schema named by search_path is missing
		pu.RawQuery = url.Values{"search_path": {testdb.Name("missing_")}}.Encode()
		cases = append(cases, struct {
			name, url string
			want      error
			says      string
		}{"no such schema, no CREATE on the database", pu.String(), migrations.ErrPermission, "CREATE SCHEMA"})
	} else {
		t.Logf("cannot create a role to test permissions (%v): skipping that case", err)
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := migrations.Apply(ctx, c.url)
			if !errors.Is(err, c.want) {
				t.Fatalf("got %v, want %v", err, c.want)
			}
			t.Log(err)
			if !strings.Contains(err.Error(), c.says) {
				t.Errorf("%q does not say %q", err, c.says)
			}
			if strings.Contains(err.Error(), "s3cret") {
				t.Errorf("%q shows the password", err)
			}
		})
	}
}
