package postgres

import "errors"

var (
	// ErrSchema means the read model's tables are missing or older than this build: run
	// synapse migrate --database-url URL.
	ErrSchema = errors.New("read model schema")
	// ErrDiverged means the database holds sequences past the end of a stream: it was
	// projected from another log. Point --database-url at an empty database (or drop and
	// migrate this one) to project this log.
	ErrDiverged = errors.New("read model diverged from the log")
	// ErrDatabase means a query could not be answered because Postgres failed (not
	// because of its parameters, which is portfolio.ErrQuery).
	ErrDatabase = errors.New("read model database")
)
