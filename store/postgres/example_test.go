package postgres_test

import (
	"context"
	"errors"
	"log"
	"os"

	"github.com/botlife/botlife/lifecycle"
	"github.com/botlife/botlife/store/postgres"
)

// A service opens the store, migrates it (safe from every replica at once)
// and runs its Manager on it. Errors wrap library sentinels: a database that
// cannot be reached is lifecycle.ErrUnavailable (answer 503, retry later).
func ExampleOpen() {
	ctx := context.Background()
	st, err := postgres.Open(ctx, os.Getenv("DATABASE_URL"))
	if errors.Is(err, lifecycle.ErrUnavailable) {
		log.Fatalf("the database is not reachable yet: %v", err)
	}
	if err != nil {
		log.Fatal(err)
	}
	defer st.Close()
	if err := st.Migrate(ctx); err != nil {
		log.Fatal(err)
	}
	m, err := lifecycle.New(lifecycle.Config{Store: st})
	if err != nil {
		log.Fatal(err)
	}
	// Follow every committed change, from any replica, in Seq order (R24).
	for e, err := range m.Watch(ctx, lifecycle.User("ada"), 0) {
		if err != nil {
			log.Fatal(err)
		}
		log.Printf("%d %s %s", e.Seq, e.Actor, e.Action)
	}
}
