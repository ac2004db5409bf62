package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/synapse-trading/synapse/migrations"
)

// DB is a pool of Postgres connections (a pgxpool.Pool) shared by the projector (one per
// stream it projects, while it writes a batch) and the read model's queries. A connection
// that broke, or that is released inside a transaction, is closed, never reused: the next
// acquire dials a fresh one.
type DB struct {
	pool *pgxpool.Pool
	cfg  *pgx.ConnConfig // what the pool dials; names the database in errors (migrations.Explain)
}

// DBOptions configure Open.
type DBOptions struct {
	// MaxConns bounds the open connections (default 8).
	MaxConns int
}

// Open checks that the database at databaseURL answers and has the read model's schema,
// and returns a pool of connections to it. Errors say what to fix (see migrations.Explain).
func Open(ctx context.Context, databaseURL string, opts DBOptions) (*DB, error) {
	if opts.MaxConns <= 0 {
		opts.MaxConns = 8
	}
	cfg, err := migrations.ParseURL(databaseURL)
	if err != nil {
		return nil, err
	}
	pcfg, err := pgxpool.ParseConfig(databaseURL)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", migrations.ErrURL, err)
	}
	pcfg.ConnConfig.ConnectTimeout = cfg.ConnectTimeout
	// Statements are described once per connection but planned at each execution: a
	// cached generic plan, made while the tables were small, would keep scanning them
	// whole as they grow.
	pcfg.ConnConfig.DefaultQueryExecMode = pgx.QueryExecModeCacheDescribe
	pcfg.AfterConnect = func(_ context.Context, conn *pgx.Conn) error {
		RegisterDecimal(conn.TypeMap()) // COPY sends decimals without math/big
		return nil
	}
	pcfg.MaxConns = int32(opts.MaxConns)
	pcfg.MinConns = 0
	pool, err := pgxpool.NewWithConfig(ctx, pcfg)
	if err != nil {
		return nil, err
	}
	db := &DB{pool: pool, cfg: pool.Config().ConnConfig}
	conn, err := pool.Acquire(ctx)
	if err != nil {
		pool.Close()
		return nil, migrations.Explain(db.cfg, err)
	}
	var n int
	err = conn.QueryRow(ctx, "select count(*) from projector_offsets").Scan(&n)
	conn.Release()
	if err != nil {
		pool.Close()
		return nil, fmt.Errorf("%w: %w", ErrSchema, migrations.Explain(db.cfg, err))
	}
	return db, nil
}

// Close closes the pool: it refuses new acquires, closes the idle connections, and waits
// for those in use to be released, then closes them.
func (db *DB) Close() { db.pool.Close() }
