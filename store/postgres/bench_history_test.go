package postgres_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/botlife/botlife/lifecycle"
	"github.com/botlife/botlife/roles"
	"github.com/botlife/botlife/store/postgres"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Issue 13: no operation costs O(history). Each benchmark here runs the
// same operation on two databases, one with a little history and one with
// much, interleaved in rounds in one run, and reports the ratio of their
// times (want about 1, and under 2).

// historyManager returns a Manager on a fresh database whose one sender has
// a rotation of three bots and old Inactive bots that used the sender
// before, and the rotation.
func historyManager(b *testing.B, old int) (*lifecycle.Manager, *postgres.Store, lifecycle.Actor, *rotation) {
	_, url := newStore(b)
	st := openStore(b, url, func(c *pgxpool.Config) { c.MaxConns = 4 })
	ctx := context.Background()
	clk := &stepClock{t: time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)}
	m, err := lifecycle.New(lifecycle.Config{Store: st, Clock: clk})
	if err != nil {
		b.Fatal(err)
	}
	if _, err := m.GrantRole(ctx, lifecycle.System("bench"), "mia", roles.Manager); err != nil {
		b.Fatal(err)
	}
	mia := lifecycle.User("mia")
	sender := lifecycle.Sender{Channel: "sms", Address: "+15550100"}
	// The old bots, written directly (a Manager would take minutes):
	// Inactive, each left Active once, at a different time.
	var bots, senders [][]any
	for i := 0; i < old; i++ {
		at := clk.t.Add(-time.Duration(old-i) * time.Minute)
		bot := lifecycle.Bot{ID: lifecycle.BotID(fmt.Sprintf("old-%06d", i)), Name: "old", Channel: "sms", Senders: []lifecycle.Sender{sender},
			Definition: definition(), State: lifecycle.Inactive, Revision: 3, Activations: 1, CreatedAt: at, UpdatedAt: at,
			FirstActivatedAt: at, ActivatedAt: at, DeactivatedAt: at, EndedAt: at, EndReason: lifecycle.CloseReplaced}
		doc, err := postgres.EncodeBot(bot)
		if err != nil {
			b.Fatal(err)
		}
		bots = append(bots, []any{string(bot.ID), int64(bot.Revision), int64(bot.IdleTimeout), doc})
		senders = append(senders, []any{string(bot.ID), sender.Channel, sender.Address, at.UnixNano()})
	}
	if _, err := st.Pool().CopyFrom(ctx, pgx.Identifier{"bots"}, []string{"id", "revision", "idle_timeout", "doc"}, pgx.CopyFromRows(bots)); err != nil {
		b.Fatal(err)
	}
	if _, err := st.Pool().CopyFrom(ctx, pgx.Identifier{"bot_senders"}, []string{"bot_id", "channel", "address", "left_at"}, pgx.CopyFromRows(senders)); err != nil {
		b.Fatal(err)
	}
	if _, err := st.Pool().Exec(ctx, "ANALYZE"); err != nil {
		b.Fatal(err)
	}
	r := &rotation{m: m, draining: -1}
	for i := range r.ids {
		bot, err := m.Create(ctx, mia, lifecycle.Create{Name: fmt.Sprint("b", i), Channel: "sms", Senders: []lifecycle.Sender{sender}, Definition: definition()})
		if err != nil {
			b.Fatal(err)
		}
		r.ids[i] = bot.ID
	}
	if _, err := m.Activate(ctx, mia, r.ids[0], lifecycle.Decision{}, lifecycle.Ack{}); err != nil {
		b.Fatal(err)
	}
	return m, st, mia, r
}

// interleave runs each of ops perRound times per round, b.N rounds,
// alternating, and returns the time each took.
func interleave(b *testing.B, perRound int, ops ...func() error) []time.Duration {
	took := make([]time.Duration, len(ops))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for j, op := range ops {
			start := time.Now()
			for k := 0; k < perRound; k++ {
				if err := op(); err != nil {
					b.Fatal(err)
				}
			}
			took[j] += time.Since(start)
		}
	}
	return took
}

// BenchmarkActivateHistory: replacing the Active bot with a grace period
// (R5, R6), and rolling back (R20, SenderBots), with 10 and with 20,000
// old bots on the sender.
func BenchmarkActivateHistory(b *testing.B) {
	const few, many = 10, 20000
	ctx := context.Background()
	var ops []func() error
	for _, old := range []int{few, many} {
		_, _, mia, r := historyManager(b, old)
		ops = append(ops, func() error {
			if err := r.step(ctx, mia); err != nil {
				return err
			}
			// Roll back to the bot now draining, and replace it again.
			if _, err := r.m.Rollback(ctx, mia, r.ids[r.active], lifecycle.Grace(time.Hour), lifecycle.Ack{}); err != nil {
				return err
			}
			r.active, r.draining = r.draining, r.active
			return nil
		})
	}
	took := interleave(b, 1, ops...)
	b.ReportMetric(float64(took[1])/float64(took[0]), fmt.Sprintf("x-%d-vs-%d-old-bots", many, few))
}

// BenchmarkExpireDueIdle: ExpireDue with nothing due, with 10 and with
// 20,000 open sessions (R9: a sweep costs what is due).
func BenchmarkExpireDueIdle(b *testing.B) {
	const few, many = 10, 20000
	ctx := context.Background()
	var ops []func() error
	for _, open := range []int{few, many} {
		m, st, _, r := historyManager(b, 0)
		bot, err := st.Bot(ctx, "", r.ids[0])
		if err != nil {
			b.Fatal(err)
		}
		now := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC).UnixNano()
		pool := st.Pool()
		if _, err := pool.Exec(ctx, `
			INSERT INTO sessions (id, channel, address, end_user, bot_id, activation, opened_at, last_activity_at, activity_floor, messages)
			SELECT i, 'sms', '+15550100', 'u' || i, $1, $2, $3, $3, $3, 1 FROM generate_series(1, $4) i`,
			string(bot.ID), int64(bot.Activations), now, open); err != nil {
			b.Fatal(err)
		}
		if _, err := pool.Exec(ctx, `VACUUM ANALYZE`); err != nil { // no autovacuum during the run
			b.Fatal(err)
		}
		ops = append(ops, func() error {
			e, err := m.ExpireDue(ctx)
			if err == nil && e.SessionsClosed != 0 {
				err = fmt.Errorf("closed %d sessions; none is due", e.SessionsClosed)
			}
			return err
		})
	}
	took := interleave(b, 1, ops...)
	b.ReportMetric(float64(took[1])/float64(took[0]), fmt.Sprintf("x-%d-vs-%d-open-sessions", many, few))
}

// BenchmarkHistorySweepGroups is ExpireDue with nothing due, 2,000 bots
// against 10, each Active on its own sender with one session open (an
// hour's idle timeout): a sweep visits the groups of sessions that are due
// (session_groups), not every group with a session open. The metric is
// the ratio; goal at most 1.2.
func BenchmarkHistorySweepGroups(b *testing.B) {
	const few, many = 10, 2000
	ctx := context.Background()
	var ops []func() error
	for _, n := range []int{few, many} {
		m, _, mia, _ := historyManager(b, 0)
		for i := 0; i < n; i++ {
			snd := lifecycle.Sender{Channel: "sms", Address: fmt.Sprintf("+1555%07d", i)}
			bot, err := m.Create(ctx, mia, lifecycle.Create{Name: fmt.Sprint("g", i), Channel: "sms", Senders: []lifecycle.Sender{snd},
				Definition: definition(), IdleTimeout: time.Hour})
			if err == nil {
				_, err = m.Activate(ctx, mia, bot.ID, lifecycle.Immediate(), lifecycle.Ack{})
			}
			if err == nil {
				_, err = m.Route(ctx, snd, "u")
			}
			if err != nil {
				b.Fatal(err)
			}
		}
		op := func() error {
			e, err := m.ExpireDue(ctx)
			if err == nil && e.SessionsClosed != 0 {
				err = fmt.Errorf("closed %d sessions; none is due", e.SessionsClosed)
			}
			return err
		}
		for range n/1000 + 1 { // the first sweeps find when each new group is due, 1,000 a time
			if err := op(); err != nil {
				b.Fatal(err)
			}
		}
		ops = append(ops, op)
	}
	took := interleave(b, 20, ops...)
	b.ReportMetric(float64(took[1])/float64(took[0]), fmt.Sprintf("x-%d-vs-%d-groups", many, few))
}
