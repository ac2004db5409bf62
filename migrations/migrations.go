// Package migrations holds the SQL schema of the Postgres read model (numbered tern
// migrations, embedded in the binary) and applies it: `synapse migrate --database-url URL`,
// and `synapse run --database-url URL` before the projector starts. Applying is idempotent:
// a database already at the newest version is left as it is. The version is kept in the
// table synapse_schema_version of the first schema on the connection's search_path, so a
// URL with ?search_path=NAME keeps a whole read model in its own schema.
package migrations

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/tern/v2/migrate"
)

//go:embed *.sql
var files embed.FS

// VersionTable records the schema version (tern's version table).
const VersionTable = "synapse_schema_version"

var (
	// ErrURL means the database URL does not parse.
	ErrURL = errors.New("database url")
	// ErrConnect means Postgres could not be reached or refused the connection; the message
	// says which part of the URL to fix.
	ErrConnect = errors.New("database connection")
	// ErrPermission means the user may not create or change the read model's tables.
	ErrPermission = errors.New("database permission")
	// ErrMigrate means a migration failed for another reason.
	ErrMigrate = errors.New("migration")
)

// Latest is the version the embedded migrations bring a database to.
func Latest() int32 {
	names, err := migrate.FindMigrations(files)
	if err != nil {
		panic(err) // the embedded files are checked by the tests
	}
	return int32(len(names))
}

// Apply brings the database at databaseURL to the latest version. Errors wrap ErrURL,
// ErrConnect, ErrPermission or ErrMigrate and say what to fix.
func Apply(ctx context.Context, databaseURL string) error {
	conn, err := Connect(ctx, databaseURL)
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if err := createSchema(ctx, conn); err != nil {
		return err
	}
	m, err := migrate.NewMigrator(ctx, conn, VersionTable)
	if err != nil {
		return Explain(conn.Config(), err)
	}
	if err := m.LoadMigrations(files); err != nil {
		return fmt.Errorf("%w: loading the embedded migrations: %v", ErrMigrate, err)
	}
	if err := m.Migrate(ctx); err != nil {
		return Explain(conn.Config(), err)
	}
	return nil
}

// Version reports the version of the database at databaseURL (0: never migrated).
func Version(ctx context.Context, databaseURL string) (int32, error) {
	conn, err := Connect(ctx, databaseURL)
	if err != nil {
		return 0, err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	var v int32
	err = conn.QueryRow(ctx, "select version from "+VersionTable).Scan(&v)
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "42P01" { // undefined_table
		return 0, nil
	}
	if err != nil {
		return 0, Explain(conn.Config(), err)
	}
	return v, nil
}

// Connect opens one connection to databaseURL; its errors say what to fix, like Apply's.
func Connect(ctx context.Context, databaseURL string) (*pgx.Conn, error) {
	cfg, err := ParseURL(databaseURL)
	if err != nil {
		return nil, err
	}
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return nil, Explain(cfg, err)
	}
	return conn, nil
}

// WithParam sets a connection parameter on a Postgres URL (or appends key=value to a
// keyword/value connection string): WithParam(url, "search_path", schema) keeps a read model
// in a schema of its own.
func WithParam(databaseURL, key, value string) string {
	u, err := url.Parse(databaseURL)
	if err != nil || u.Scheme == "" {
		return strings.TrimSpace(databaseURL) + " " + key + "=" + value
	}
	q := u.Query()
	q.Set(key, value)
	u.RawQuery = q.Encode()
	return u.String()
}

// ParseURL parses a Postgres URL (or key=value string), with a 10 s connect timeout unless
// the URL sets connect_timeout.
func ParseURL(databaseURL string) (*pgx.ConnConfig, error) {
	if strings.TrimSpace(databaseURL) == "" {
		return nil, fmt.Errorf("%w: none given: pass --database-url postgres://USER:PASSWORD@HOST:5432/DATABASE", ErrURL)
	}
	cfg, err := pgx.ParseConfig(databaseURL)
	if err != nil {
		return nil, fmt.Errorf("%w: %v: it must look like postgres://USER:PASSWORD@HOST:5432/DATABASE[?sslmode=disable]", ErrURL, redact(err, databaseURL))
	}
	if cfg.ConnectTimeout == 0 && !strings.Contains(databaseURL, "connect_timeout") {
		cfg.ConnectTimeout = 10 * time.Second
	}
	return cfg, nil
}

// Explain wraps a Postgres error in ErrConnect, ErrPermission or ErrMigrate with a message
// that names the fix. The password is never part of it.
func Explain(cfg *pgx.ConnConfig, err error) error {
	if err == nil {
		return nil
	}
	where := fmt.Sprintf("user %q on database %q at %s", cfg.User, cfg.Database, net.JoinHostPort(cfg.Host, fmt.Sprint(cfg.Port)))
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch {
		case pgErr.Code == "28P01" || pgErr.Code == "28000":
			return fmt.Errorf("%w: Postgres refused %s: %s: check the user and password in --database-url", ErrConnect, where, pgErr.Message)
		case pgErr.Code == "3D000":
			return fmt.Errorf("%w: database %q does not exist at %s: create it (createdb %s) or name another one in --database-url", ErrConnect, cfg.Database, net.JoinHostPort(cfg.Host, fmt.Sprint(cfg.Port)), cfg.Database)
		case pgErr.Code == "42501" && strings.Contains(pgErr.Message, "for database"):
			return fmt.Errorf("%w: %s: %s: grant the user CONNECT on it (GRANT CONNECT ON DATABASE %s TO %s)", ErrPermission, where, pgErr.Message,
				pgx.Identifier{cfg.Database}.Sanitize(), pgx.Identifier{cfg.User}.Sanitize())
		case pgErr.Code == "42501" && (strings.Contains(pgErr.Message, "for table") || strings.Contains(pgErr.Message, "for sequence")):
			return fmt.Errorf("%w: %s: %s: the engine reads and writes the read model's tables: GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA %s TO %s",
				ErrPermission, where, pgErr.Message, schemaOf(cfg), pgx.Identifier{cfg.User}.Sanitize())
		case pgErr.Code == "42501" && strings.HasPrefix(pgErr.Message, "must be owner"):
			return fmt.Errorf("%w: %s: %s: a migration alters the read model's tables, which only their owner may: run synapse migrate --database-url with the owner's user, then start synapse with this one",
				ErrPermission, where, pgErr.Message)
		case pgErr.Code == "42501":
			return fmt.Errorf("%w: %s: %s: grant the user CREATE on the schema (GRANT CREATE ON SCHEMA %s TO %s) or migrate as the schema's owner", ErrPermission, where, pgErr.Message,
				schemaOf(cfg), pgx.Identifier{cfg.User}.Sanitize())
		case pgErr.Code == "3F000":
			return fmt.Errorf("%w: %s: %s: create the schema named by search_path in --database-url (or drop the parameter), and let the user use it (GRANT USAGE, CREATE ON SCHEMA ... TO %q)", ErrMigrate, where, pgErr.Message, cfg.User)
		case pgErr.Code == "42P01":
			return fmt.Errorf("%w: %s: %s: the read model's tables are missing: run synapse migrate --database-url URL", ErrMigrate, where, pgErr.Message)
		case strings.HasPrefix(pgErr.Code, "08") || strings.HasPrefix(pgErr.Code, "57P"):
			return fmt.Errorf("%w: %s: %s", ErrConnect, where, pgErr.Message)
		}
		return fmt.Errorf("%w: %s: %v", ErrMigrate, where, err)
	}
	var connErr *pgconn.ConnectError
	var netErr net.Error
	if errors.As(err, &netErr) || errors.As(err, &connErr) {
		detail := err.Error()
		if netErr != nil {
			detail = netErr.Error() // "dial tcp HOST:PORT: connect: connection refused"
		} else if connErr != nil {
			detail = connErr.Unwrap().Error()
		}
		detail = strings.Join(strings.Fields(detail), " ")
		return fmt.Errorf("%w: cannot reach Postgres for %s: %s: is it running, and are the host and port in --database-url right?", ErrConnect, where, detail)
	}
	return fmt.Errorf("%w: %s: %v", ErrMigrate, where, err)
}

// createSchema creates the schema the URL's search_path names first, if it is missing: a
// read model of its own is one parameter in --database-url, nothing to prepare.
func createSchema(ctx context.Context, conn *pgx.Conn) error {
	cfg := conn.Config()
	schema := schemaOf(cfg)
	if schema == "public" || strings.Contains(schema, "$") {
		return nil
	}
	var exists bool
	if err := conn.QueryRow(ctx, "select exists (select from pg_namespace where nspname = $1)", schema).Scan(&exists); err != nil {
		return Explain(cfg, err)
	}
	if exists {
		return nil
	}
	if _, err := conn.Exec(ctx, "create schema if not exists "+pgx.Identifier{schema}.Sanitize()); err != nil {
		var pgErr *pgconn.PgError
		if errors.As(err, &pgErr) && pgErr.Code == "42501" {
			return fmt.Errorf("%w: user %q may not create the schema %q named by search_path in --database-url: create it (CREATE SCHEMA %s AUTHORIZATION %s) or grant CREATE on database %q",
				ErrPermission, cfg.User, schema, pgx.Identifier{schema}.Sanitize(), pgx.Identifier{cfg.User}.Sanitize(), cfg.Database)
		}
		return Explain(cfg, err)
	}
	return nil
}

// schemaOf is the first schema of the URL's search_path, or public.
func schemaOf(cfg *pgx.ConnConfig) string {
	if sp := strings.TrimSpace(strings.Split(cfg.RuntimeParams["search_path"], ",")[0]); sp != "" {
		return sp
	}
	return "public"
}

// redact removes the URL's password from a parse error.
func redact(err error, databaseURL string) string {
	msg := err.Error()
	if i := strings.Index(databaseURL, "://"); i >= 0 {
		rest := databaseURL[i+3:]
		if at := strings.LastIndex(rest, "@"); at >= 0 {
			if colon := strings.Index(rest[:at], ":"); colon >= 0 {
				if pw := rest[colon+1 : at]; pw != "" {
					msg = strings.ReplaceAll(msg, pw, "xxxxx")
				}
			}
		}
	}
	return msg
}
