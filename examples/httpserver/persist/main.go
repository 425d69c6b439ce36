// Command persist runs botlife's reference HTTP service (see
// examples/httpserver) on a SQLite file, so bots, roles, sessions and the
// audit log survive a restart:
//
//	go run . -db botlife.db -addr 127.0.0.1:8080
//
// It is a module of its own because it needs the SQLite driver, which the
// root module does not carry.
package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"flag"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	_ "time/tzdata" // schedules name IANA time zones (R23); the host may lack the tz database

	"github.com/botlife/botlife/examples/httpserver/demo"
	"github.com/botlife/botlife/lifecycle"
	"github.com/botlife/botlife/store/sqlite"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8080", "address to listen on")
	db := flag.String("db", "botlife.db", "the SQLite file; created and migrated if missing")
	flag.Parse()
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, *addr, *db, log, nil); err != nil {
		log.Error("persist stopped", "err", err)
		os.Exit(1)
	}
}

// run serves the API over the SQLite file db until ctx ends. Bot ids are
// random, so a restart never reuses one.
func run(ctx context.Context, addr, db string, log *slog.Logger, ready func(string)) error {
	st, err := sqlite.Open(ctx, db)
	if err != nil {
		return err
	}
	defer st.Close()
	var cfg lifecycle.Config
	cfg.NewID = randomID
	return demo.Serve(ctx, addr, st, cfg, log, ready)
}

// randomID returns a random bot id such as "bot_3f2a9c0d1e4b", as the
// Manager makes when Config.NewID is nil; the demo would otherwise number
// bots from 1 again after a restart.
func randomID() lifecycle.BotID {
	var b [6]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	return lifecycle.BotID("bot_" + hex.EncodeToString(b[:]))
}
