package sqlite

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/benbjohnson/clock"
	"github.com/botlife/botlife/lifecycle"
	"github.com/botlife/botlife/roles"
	"github.com/botlife/botlife/validate"
)

// No operation costs O(history) (issue 13, the same bars as the memory
// and PostgreSQL stores): each benchmark runs one operation on two stores,
// one with a little history and one with much, interleaved in rounds in
// one run, and reports the ratio of their times (want about 1, under 2).
// The stores use SyncNormal, so that a sync per commit does not hide what
// the queries cost.
//
//	go test -run '^$' -bench History -benchtime 20x

var historySender = lifecycle.Sender{Channel: "sms", Address: "+15550100"}

func historyDefinition() lifecycle.Definition {
	def, err := lifecycle.ReferenceDefinition(validate.Definition{Channel: "sms", EntryDialog: "hi", FallbackDialog: "hi", Dialogs: []validate.Dialog{
		{ID: "hi", Name: "Hi", Elements: []validate.Element{{Type: validate.Text, Text: "Hello"}, {Type: validate.Close}}},
	}})
	if err != nil {
		panic(err)
	}
	return def
}

// rotation is three bots on the sender: one Active, one draining, one
// free (Draft or Inactive).
type rotation struct {
	m                   *lifecycle.Manager
	clk                 *clock.Mock
	active, drain, free lifecycle.BotID
	mia                 lifecycle.Actor
}

// step activates the free bot with a grace period (R5, R6), then rolls it
// back to its predecessor (R20, LastActive), which is Active again.
func (r *rotation) step(ctx context.Context) error {
	r.clk.Add(time.Second)
	if _, err := r.m.Activate(ctx, r.mia, r.free, lifecycle.Grace(time.Hour), lifecycle.Ack{}); err != nil {
		return err
	}
	r.clk.Add(time.Second)
	if _, err := r.m.Rollback(ctx, r.mia, r.free, lifecycle.Grace(time.Hour), lifecycle.Ack{}); err != nil {
		return err
	}
	r.drain, r.free = r.free, r.drain
	return nil
}

// historyStore opens a store whose sender was used by old Inactive bots,
// each of which left Active once, and starts a rotation on it.
func historyStore(b *testing.B, old int) (*Store, *rotation) {
	ctx := context.Background()
	st, err := OpenWith(ctx, filepath.Join(b.TempDir(), "history.db"), Options{Synchronous: SyncNormal})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	clk := clock.NewMock()
	start := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	clk.Set(start)
	m, err := lifecycle.New(lifecycle.Config{Store: st, Clock: clk})
	if err != nil {
		b.Fatal(err)
	}
	if _, err := m.GrantRole(ctx, lifecycle.System("bench"), "mia", roles.Manager); err != nil {
		b.Fatal(err)
	}
	// The old bots, written directly (a Manager would take minutes).
	err = st.inTx(ctx, func(tx conn) error {
		for i := 0; i < old; i++ {
			at := start.Add(-time.Duration(old-i) * time.Minute)
			bot := lifecycle.Bot{ID: lifecycle.BotID(fmt.Sprintf("old-%06d", i)), Name: "old", Channel: "sms", Senders: []lifecycle.Sender{historySender},
				Definition: historyDefinition(), State: lifecycle.Inactive, Revision: 3, Activations: 1, CreatedAt: at, UpdatedAt: at,
				FirstActivatedAt: at, ActivatedAt: at, DeactivatedAt: at, EndedAt: at, EndReason: lifecycle.CloseReplaced}
			r := lifecycle.Change{Bot: bot.ID, To: bot.State, After: &bot}
			if err := applyBot(ctx, tx, "", r); err != nil {
				return err
			}
			if err := addSenders(ctx, tx, "", r); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	r := &rotation{m: m, clk: clk, mia: lifecycle.User("mia")}
	var ids [3]lifecycle.BotID
	for i := range ids {
		bot, err := m.Create(ctx, r.mia, lifecycle.Create{Name: fmt.Sprint("b", i), Channel: "sms", Senders: []lifecycle.Sender{historySender}, Definition: historyDefinition()})
		if err != nil {
			b.Fatal(err)
		}
		ids[i] = bot.ID
	}
	// b0 Active, b1 draining, b2 free.
	for _, id := range ids[:2] {
		clk.Add(time.Second)
		if _, err := m.Activate(ctx, r.mia, id, lifecycle.Grace(time.Hour), lifecycle.Ack{}); err != nil {
			b.Fatal(err)
		}
	}
	clk.Add(time.Second)
	if _, err := m.Rollback(ctx, r.mia, ids[1], lifecycle.Grace(time.Hour), lifecycle.Ack{}); err != nil {
		b.Fatal(err)
	}
	r.active, r.drain, r.free = ids[0], ids[1], ids[2]
	return st, r
}

// interleave runs each op perRound times per round, b.N rounds,
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

// BenchmarkHistoryActivate: replacing the Active bot with a grace period
// and rolling back, with 10 and with 20,000 old bots on the sender.
func BenchmarkHistoryActivate(b *testing.B) {
	const few, many = 10, 20000
	ctx := context.Background()
	var ops []func() error
	for _, old := range []int{few, many} {
		_, r := historyStore(b, old)
		ops = append(ops, func() error { return r.step(ctx) })
	}
	took := interleave(b, 5, ops...)
	b.ReportMetric(float64(took[1])/float64(took[0]), fmt.Sprintf("x-%d-vs-%d-old-bots", many, few))
}

// BenchmarkHistoryExpireDue: ExpireDue with nothing due, with 10 and with
// 20,000 open sessions, and 20,000 closed ones in the second (R9: a sweep
// costs what is due).
func BenchmarkHistoryExpireDue(b *testing.B) {
	const few, many = 10, 20000
	ctx := context.Background()
	var ops []func() error
	for _, n := range []int{few, many} {
		st, r := historyStore(b, 0)
		bot, err := st.Bot(ctx, "", r.active)
		if err != nil {
			b.Fatal(err)
		}
		now := r.clk.Now().UnixNano()
		err = st.inTx(ctx, func(tx conn) error {
			for i := 0; i < n; i++ {
				if _, err := tx.ExecContext(ctx, `INSERT INTO sessions (workspace, id, channel, address, end_user, bot_id, activation, opened_at, last_activity_at, messages)
					VALUES ('', (SELECT coalesce(max(id), 0) + 1 FROM sessions WHERE workspace = ''), ?, ?, ?, ?, ?, ?, ?, 1)`, historySender.Channel, historySender.Address, fmt.Sprint("u", i), string(bot.ID), int64(bot.Activations), now, now); err != nil {
					return err
				}
				if n == many {
					if _, err := tx.ExecContext(ctx, `INSERT INTO sessions (workspace, id, channel, address, end_user, bot_id, activation, opened_at, last_activity_at, closed_at, close_reason, messages)
						VALUES ('', (SELECT coalesce(max(id), 0) + 1 FROM sessions WHERE workspace = ''), ?, ?, ?, ?, ?, ?, ?, ?, 'completed', 1)`, historySender.Channel, historySender.Address, fmt.Sprint("c", i), string(bot.ID), int64(bot.Activations), now, now, now); err != nil {
						return err
					}
				}
			}
			_, err := tx.ExecContext(ctx, `INSERT OR IGNORE INTO session_groups VALUES ('', ?, ?, ?, ?, `+dueNow+`)`, string(bot.ID), historySender.Channel, historySender.Address, int64(bot.Activations))
			return err
		})
		if err != nil {
			b.Fatal(err)
		}
		ops = append(ops, func() error {
			x, err := r.m.ExpireDue(ctx)
			if err == nil && x.SessionsClosed != 0 {
				err = fmt.Errorf("ExpireDue closed %d sessions; none is due", x.SessionsClosed)
			}
			return err
		})
	}
	took := interleave(b, 20, ops...)
	b.ReportMetric(float64(took[1])/float64(took[0]), fmt.Sprintf("x-%d-vs-%d-sessions", many, few))
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
		_, r := historyStore(b, 0)
		for i := 0; i < n; i++ {
			snd := lifecycle.Sender{Channel: "sms", Address: fmt.Sprintf("+1555%07d", i)}
			bot, err := r.m.Create(ctx, r.mia, lifecycle.Create{Name: fmt.Sprint("g", i), Channel: "sms", Senders: []lifecycle.Sender{snd},
				Definition: historyDefinition(), IdleTimeout: time.Hour})
			if err == nil {
				_, err = r.m.Activate(ctx, r.mia, bot.ID, lifecycle.Immediate(), lifecycle.Ack{})
			}
			if err == nil {
				_, err = r.m.Route(ctx, snd, "u")
			}
			if err != nil {
				b.Fatal(err)
			}
		}
		r.clk.Add(time.Minute)
		op := func() error {
			x, err := r.m.ExpireDue(ctx)
			if err == nil && x.SessionsClosed != 0 {
				err = fmt.Errorf("ExpireDue closed %d sessions; none is due", x.SessionsClosed)
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
