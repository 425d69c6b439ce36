package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"

	"github.com/botlife/botlife/lifecycle"
)

// migrate opens the store with migrations (a SQLite file is created if
// missing) and reports it.
func migrate(ctx context.Context, c config, stdout io.Writer) error {
	b, err := openStore(ctx, c.Store, true)
	if err != nil {
		return err
	}
	defer b.close()
	if err := b.ready(ctx); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s: schema up to date\n", b.name)
	return nil
}

// inWorkspace opens the store (migrating it, as the service does) and a
// Manager acting in c.Workspace; close the backend when done.
func inWorkspace(ctx context.Context, c config, log *slog.Logger) (*backend, *lifecycle.Manager, error) {
	b, err := openStore(ctx, c.Store, true)
	if err != nil {
		return nil, nil, err
	}
	m, err := lifecycle.New(lifecycle.Config{Store: b, Logger: log, NewID: b.newID(c.IDs, log)})
	if err == nil && c.Workspace != "" && c.Workspace != "-" { // "-" is the default, as in the users file
		m, err = m.Workspace(lifecycle.Workspace(c.Workspace))
	}
	if err != nil {
		b.close()
		return nil, nil, err
	}
	return b, m, nil
}

// export writes bot id's export document (R13), as c.As, to stdout.
func export(ctx context.Context, c config, id string, stdout io.Writer) error {
	b, m, err := inWorkspace(ctx, c, slog.New(slog.DiscardHandler))
	if err != nil {
		return err
	}
	defer b.close()
	doc, err := m.Export(ctx, lifecycle.User(c.As), lifecycle.BotID(id))
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(stdout, "%s\n", doc)
	return err
}

// importBot makes a Draft, as c.As, from the export document in the file
// args names (standard input if none or "-"), and prints its id.
func importBot(ctx context.Context, c config, args []string, stdin io.Reader, stdout io.Writer, log *slog.Logger) error {
	in := stdin
	if len(args) == 1 && args[0] != "-" {
		f, err := os.Open(args[0])
		if err != nil {
			return err
		}
		defer f.Close()
		in = f
	}
	b, m, err := inWorkspace(ctx, c, log)
	if err != nil {
		return err
	}
	defer b.close()
	limit := max(m.Policy().MaxImport, lifecycle.DefaultMaxImport) // Import refuses a longer one
	doc, err := io.ReadAll(io.LimitReader(in, int64(limit)+1))
	if err != nil {
		return err
	}
	bot, err := m.Import(ctx, lifecycle.User(c.As), doc)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(stdout, bot.ID)
	return err
}

// expireDue runs ExpireDue once in each workspace of the users file and
// prints what it settled, a line per workspace. Anything that could not be
// settled (logged; the next run tries again) makes it fail.
func expireDue(ctx context.Context, c config, stdout io.Writer, log *slog.Logger) error {
	u, err := readUsers(c.Users)
	if err != nil {
		return err
	}
	b, err := openStore(ctx, c.Store, true)
	if err != nil {
		return err
	}
	defer b.close()
	m, err := lifecycle.New(lifecycle.Config{Store: b, Logger: log})
	if err != nil {
		return err
	}
	ms, err := u.managers(m)
	if err != nil {
		return err
	}
	failed := 0
	for _, ws := range u.workspaces {
		e, err := ms[ws].ExpireDue(ctx)
		if err != nil {
			return fmt.Errorf("workspace %q: %w", ws, err)
		}
		failed += len(e.Failed) + len(e.FailedSchedules)
		fmt.Fprintf(stdout, "workspace %q: %d drains ended, %d sessions closed, %d schedules run (%d refused), %d failed\n",
			ws, len(e.DrainsEnded), e.SessionsClosed, len(e.Schedules), len(e.SchedulesRefused), len(e.Failed)+len(e.FailedSchedules))
	}
	if failed > 0 {
		return fmt.Errorf("%d due items could not be settled (logged); the next run tries them again", failed)
	}
	return nil
}
