package postgres_test

import (
	"context"
	"errors"
	"testing"

	"github.com/botlife/botlife/lifecycle"
	"github.com/botlife/botlife/roles"
	"github.com/botlife/botlife/store/postgres"
	"github.com/jackc/pgx/v5"
)

// P2 under REPEATABLE READ: on a database whose transactions default to
// it (default_transaction_isolation, a server or role setting the store
// does not choose), two replicas each revoking a different one of the
// workspace's two Admins at once leave one Admin, the other commit refused
// with ErrConflict. Each counted the Admins in the snapshot its first
// statement took, before the role lock it waited for: both saw the other
// Admin stay. The plans carry no audit entry (a Store takes such plans;
// the workspace's audit head would otherwise conflict first). A second
// connection holds the role lock until both commits wait for it.
func TestP2RepeatableRead(t *testing.T) {
	st, url := newStore(t)
	ctx := context.Background()
	if _, err := st.Pool().Exec(ctx, `DO $$ BEGIN EXECUTE format('ALTER DATABASE %I SET default_transaction_isolation TO %L', current_database(), 'repeatable read'); END $$`); err != nil {
		t.Fatal(err)
	}
	rr, err := postgres.Open(ctx, url) // new connections: repeatable read
	if err != nil {
		t.Fatal(err)
	}
	defer rr.Close()
	var level string
	if err := rr.Pool().QueryRow(ctx, `SHOW transaction_isolation`).Scan(&level); err != nil || level != "repeatable read" {
		t.Fatalf("transaction_isolation = %q, %v", level, err)
	}
	admin := roles.MustSet(roles.Admin)
	if _, err := rr.Commit(ctx, lifecycle.Plan{Op: lifecycle.OpGrantRole, Roles: []lifecycle.RoleChange{{User: "ada", To: admin}, {User: "bob", To: admin}}}); err != nil {
		t.Fatal(err)
	}

	holder, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer holder.Close(ctx)
	tx, err := holder.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(7342013, hashtext(''))`); err != nil {
		t.Fatal(err)
	}
	errs := make(chan error, 2)
	for _, user := range []string{"ada", "bob"} {
		go func() {
			_, err := rr.Commit(ctx, lifecycle.Plan{Op: lifecycle.OpRevokeRole, Roles: []lifecycle.RoleChange{{User: user, From: admin}}})
			errs <- err
		}()
	}
	for waiting := 0; waiting < 2; {
		if err := holder.QueryRow(ctx, `SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted`).Scan(&waiting); err != nil {
			t.Fatal(err)
		}
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	var refused int
	for range 2 {
		if err := <-errs; errors.Is(err, lifecycle.ErrConflict) {
			refused++
		} else if err != nil {
			t.Fatalf("a revocation failed with %v, want ErrConflict or nothing", err)
		}
	}
	_, admins, err := rr.Roles(ctx, "", "ada")
	if err != nil || admins != 1 || refused != 1 {
		t.Fatalf("P2: after two concurrent revocations of the last two Admins: %d Admins, %d refused, %v; want 1 Admin, 1 refused", admins, refused, err)
	}
}
