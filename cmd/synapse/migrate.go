package main

import (
	"context"
	"fmt"
	"io"
	"os"

	"github.com/synapse-trading/synapse/migrations"
)

// cmdMigrate applies the read model's migrations to a Postgres database and prints the
// version it is at.
func cmdMigrate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("migrate", stderr)
	databaseURL := fs.String("database-url", os.Getenv("SYNAPSE_DATABASE_URL"),
		"Postgres to migrate, postgres://USER:PASSWORD@HOST:5432/DATABASE[?search_path=SCHEMA] (default $SYNAPSE_DATABASE_URL)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: synapse migrate --database-url URL\n\nCreates or updates the tables of the Postgres read model (see migrations/README.md); running it again changes nothing.")
		fs.PrintDefaults()
	}
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		fs.Usage()
		return fmt.Errorf("%w: unexpected %q", errUsage, pos[0])
	}
	if *databaseURL == "" {
		fs.Usage()
		return fmt.Errorf("%w: --database-url (or $SYNAPSE_DATABASE_URL) is required", errUsage)
	}
	before, err := migrations.Version(ctx, *databaseURL)
	if err != nil {
		return err
	}
	if err := migrations.Apply(ctx, *databaseURL); err != nil {
		return err
	}
	after, err := migrations.Version(ctx, *databaseURL)
	if err != nil {
		return err
	}
	if after == before {
		fmt.Fprintf(stdout, "read model schema at version %d (up to date)\n", after)
	} else {
		fmt.Fprintf(stdout, "read model schema migrated from version %d to %d\n", before, after)
	}
	return nil
}
