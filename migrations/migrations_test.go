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
	m := migrator(t, u)
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

// TestPermissionErrorsNameTheirFix: a user without CONNECT, one that may read the tables but
// not write them, and one that is not the tables' owner when a migration must alter them each
// get the grant (or the step) that fixes their case.
func TestPermissionErrorsNameTheirFix(t *testing.T) {
	conn := admin(t)
	ctx := context.Background()
	role := testdb.Name("synapse_dml_")
	if _, err := conn.Exec(ctx, "create role "+role+" login"); err != nil {
		t.Skipf("cannot create a role (%v)", err)
	}
	schema, u := testdb.Schema(t) // dropped before the role: its grants depend on it
	t.Cleanup(func() {
		if _, err := conn.Exec(context.Background(), "drop owned by "+role+"; drop role "+role); err != nil {
			t.Errorf("dropping role %s: %v", role, err)
		}
	})
	as := func(u string) string {
		pu, _ := url.Parse(u)
		pu.User = url.User(role)
		return pu.String()
	}
	check := func(name string, err error, says string) {
		t.Helper()
		if !errors.Is(err, migrations.ErrPermission) || !strings.Contains(err.Error(), says) {
			t.Errorf("%s: %v, want ErrPermission saying %q", name, err, says)
		}
	}

	// Migrated by its owner to the version before the latest; the role may read only.
	m := migrator(t, u)
	if err := m.MigrateTo(ctx, migrations.Latest()-1); err != nil {
		t.Fatal(err)
	}
	for _, grant := range []string{"grant usage on schema " + schema + " to " + role, "grant select on all tables in schema " + schema + " to " + role} {
		if _, err := conn.Exec(ctx, grant); err != nil {
			t.Fatal(err)
		}
	}
	rc, err := migrations.Connect(ctx, as(u))
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close(ctx)
	_, err = rc.Exec(ctx, "insert into projector_offsets (stream) values ('X')")
	check("reads only", migrations.Explain(rc.Config(), err), "GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA "+schema)

	// It may write the tables and create in the schema, but the next migration alters a
	// table it does not own.
	for _, grant := range []string{"grant create on schema " + schema + " to " + role, "grant all on all tables in schema " + schema + " to " + role} {
		if _, err := conn.Exec(ctx, grant); err != nil {
			t.Fatal(err)
		}
	}
	check("not the owner", migrations.Apply(ctx, as(u)), "with the owner's user")

	// A database it may not connect to.
	db := testdb.Name("synapse_noconnect_")
	if _, err := conn.Exec(ctx, "create database "+db); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _, _ = conn.Exec(context.Background(), "drop database "+db) })
	if _, err := conn.Exec(ctx, "revoke connect on database "+db+" from public"); err != nil {
		t.Fatal(err)
	}
	pu, _ := url.Parse(as(u))
	pu.Path = "/" + db
	pu.RawQuery = ""
	check("no CONNECT", migrations.Apply(ctx, pu.String()), "GRANT CONNECT ON DATABASE")
}

// migrator is a tern migrator of this package's migrations on the database at u, its
// connection closed at the test's end.
func migrator(t *testing.T, u string) *migrate.Migrator {
	t.Helper()
	ctx := context.Background()
	c, err := migrations.Connect(ctx, u)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close(context.Background()) })
	m, err := migrate.NewMigrator(ctx, c, migrations.VersionTable)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.LoadMigrations(os.DirFS(".")); err != nil {
		t.Fatal(err)
	}
	return m
}
