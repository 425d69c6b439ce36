package postgres_test

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/botlife/botlife/lifecycle"
	"github.com/botlife/botlife/store/postgres"
	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"
)

// A database a newer version of botlife migrated - it records a schema
// version this one does not know - is refused by Migrate with an error
// wrapping lifecycle.ErrUnavailable that says to upgrade, as store/sqlite
// refuses such a file, and Migrate changes nothing: this version's code
// would write rows the newer schema does not expect (a column it dropped,
// a rule it moved), on every bot, session, schedule and audit entry.
func TestMigrateRefusesNewerSchema(t *testing.T) {
	st, _ := newStore(t)
	ctx := context.Background()
	scripts, err := filepath.Glob("migrations/*.sql")
	if err != nil {
		t.Fatal(err)
	}
	newer := len(scripts) + 1
	if _, err := st.Pool().Exec(ctx, `INSERT INTO botlife_schema_migrations (version) VALUES ($1)`, newer); err != nil {
		t.Fatal(err)
	}
	versions := func() []int32 {
		t.Helper()
		rows, _ := st.Pool().Query(ctx, `SELECT version FROM botlife_schema_migrations ORDER BY version`)
		v, err := pgx.CollectRows(rows, pgx.RowTo[int32])
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	before := versions()
	err = st.Migrate(ctx)
	if !errors.Is(err, lifecycle.ErrUnavailable) || !strings.Contains(err.Error(), "upgrade botlife") {
		t.Fatalf("Migrate on a database of schema version %d = %v, want an error wrapping ErrUnavailable that says to upgrade botlife", newer, err)
	}
	if diff := cmp.Diff(before, versions()); diff != "" {
		t.Errorf("the applied migrations after a refused Migrate (-before +after):\n%s", diff)
	}
	// A second store of this version, as a replica starting, is refused too.
	other, err := postgres.Open(ctx, st.Pool().Config().ConnString())
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	if err := other.Migrate(ctx); !errors.Is(err, lifecycle.ErrUnavailable) {
		t.Errorf("Migrate of another store on the newer database = %v, want ErrUnavailable", err)
	}
}
