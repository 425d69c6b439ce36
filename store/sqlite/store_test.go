package sqlite_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/botlife/botlife/lifecycle"
	"github.com/botlife/botlife/roles"
	"github.com/botlife/botlife/store/sqlite"
	"github.com/google/go-cmp/cmp"
	_ "modernc.org/sqlite"
)

// everything is a limit above what any test stores: a limit below zero
// reads nothing (lifecycle.Store).
const everything = 1 << 30

var t0 = time.Date(2026, 6, 1, 10, 0, 0, 123456789, time.UTC)

// hostileTexts are kept byte for byte (R21: every store accepts and returns
// exactly the same text).
var hostileTexts = map[string]string{
	"NUL":           "a\x00b",
	"invalid UTF-8": "x\xff\xfe",
	"surrogate":     "\xed\xa0\x80",
	"long":          strings.Repeat("\u00e9", 5000),
	"SQL":           "'); DROP TABLE bots; --",
	"empty":         "",
}

func hostileBot(id lifecycle.BotID, text string) lifecycle.Bot {
	return lifecycle.Bot{
		ID: id, Name: text, Description: text, Channel: "sms",
		Senders:    []lifecycle.Sender{{Channel: "sms", Address: text}, {Channel: text, Address: "1"}},
		Definition: lifecycle.Definition{Format: text, Text: text}, Edited: []string{},
		State: lifecycle.Draft, Revision: 1, IdleTimeout: time.Minute,
		CreatedAt: t0, UpdatedAt: t0.Add(time.Nanosecond), EndReason: lifecycle.CloseReason(text),
	}
}

// setLive puts b in state st on every one of its senders, in activation
// b.Activations, as Decide would leave a bot moved whole (R22); deadline
// is the drains' grace deadline. It sorts b.Senders, as Decide keeps them.
func setLive(b *lifecycle.Bot, st lifecycle.State, deadline time.Time) {
	sort.Slice(b.Senders, func(i, j int) bool {
		x, y := b.Senders[i], b.Senders[j]
		return x.Channel < y.Channel || (x.Channel == y.Channel && x.Address < y.Address)
	})
	b.State, b.Live = st, nil
	if st == lifecycle.Deactivated {
		b.GraceDeadline = deadline
	}
	for _, snd := range b.Senders {
		b.Live = append(b.Live, lifecycle.SenderState{Sender: snd, State: st, Activation: b.Activations, GraceDeadline: b.GraceDeadline})
	}
}

// R21: text round-trips byte for byte through bots, audit entries, roles
// and sessions; nil and empty slices stay apart; times keep the instant.
func TestR21TextRoundTrip(t *testing.T) {
	for name, text := range hostileTexts {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			st := newStore(t)
			id := lifecycle.BotID("bot-" + text)
			b := hostileBot(id, text)
			entry := lifecycle.AuditEntry{Time: t0, Actor: text, Action: lifecycle.OpCreate, Reason: text, User: text,
				Acknowledged: []string{text}, Transitions: []lifecycle.Transition{{Bot: id, To: lifecycle.Draft}}}
			p := lifecycle.Plan{Op: lifecycle.OpCreate,
				Changes: []lifecycle.Change{{Bot: id, To: lifecycle.Draft, After: &b}},
				Roles:   []lifecycle.RoleChange{{User: text, To: roles.MustSet(roles.Designer)}},
				Audit:   []lifecycle.AuditEntry{entry}}
			if _, err := st.Commit(ctx, p); err != nil {
				t.Fatal(err)
			}
			got, err := st.Bot(ctx, "", id)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(b, got); diff != "" {
				t.Errorf("bot (-committed +stored):\n%s", diff)
			}
			if got.Edited == nil {
				t.Errorf("an empty slice came back nil")
			}
			if got.CreatedAt.Location() != time.UTC || !got.UpdatedAt.Equal(t0.Add(time.Nanosecond)) {
				t.Errorf("times: %v, %v", got.CreatedAt, got.UpdatedAt)
			}
			log, err := st.AuditLog(ctx, "", 0, 10)
			if err != nil || len(log) != 1 {
				t.Fatal(log, err)
			}
			entry.Seq = 1
			if diff := cmp.Diff(entry, log[0]); diff != "" {
				t.Errorf("audit entry (-committed +stored):\n%s", diff)
			}
			if rs, _, err := st.Roles(ctx, "", text); err != nil || rs != roles.MustSet(roles.Designer) {
				t.Errorf("UserRoles(%q) = %v, %v", text, rs, err)
			}
		})
	}
}

// R21, R10: a route with a hostile sender and end user that are ids stores
// them as given; one that is not an id is refused and stores nothing.
func TestR21RouteText(t *testing.T) {
	ctx := context.Background()
	st := newStore(t)
	// notIDs are the hostile texts that are not ids: DecideRoute refuses
	// them before any session opens (R21).
	notIDs := map[string]bool{"NUL": true, "invalid UTF-8": true, "surrogate": true, "long": true, "empty": true}
	want := func(name string) error {
		if notIDs[name] {
			return lifecycle.ErrInvalidInput
		}
		return lifecycle.ErrNoBot
	}
	for name, text := range hostileTexts {
		snd := lifecycle.Sender{Channel: "sms", Address: text}
		if _, err := st.Route(ctx, "", snd, text, t0); !errors.Is(err, want(name)) {
			t.Errorf("%s: Route with no bot = %v, want %v", name, err, want(name))
		}
	}
	b := hostileBot("b", "x")
	b.Activations = 1
	b.Senders = nil
	for _, text := range hostileTexts {
		b.Senders = append(b.Senders, lifecycle.Sender{Channel: "sms", Address: text})
	}
	setLive(&b, lifecycle.Active, time.Time{})
	if _, err := st.Commit(ctx, lifecycle.Plan{Changes: []lifecycle.Change{{Bot: "b", To: lifecycle.Active, After: &b}}}); err != nil {
		t.Fatal(err)
	}
	for name, text := range hostileTexts {
		snd := lifecycle.Sender{Channel: "sms", Address: text}
		s1, err := st.Route(ctx, "", snd, text, t0)
		if notIDs[name] {
			if !errors.Is(err, lifecycle.ErrInvalidInput) {
				t.Errorf("%s: Route on the bot's sender = %+v, %v; want ErrInvalidInput", name, s1, err)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		s2, err := st.Route(ctx, "", snd, text, t0.Add(time.Second))
		if err != nil || s2.ID != s1.ID || s2.Messages != 2 {
			t.Fatalf("%s: second message: %+v, %v", name, s2, err)
		}
		got, err := sessionByID(ctx, st, s1.ID)
		if err != nil || got != s2 || got.EndUser != text || got.Sender != snd {
			t.Errorf("%s: Session = %+v, %v; want %+v", name, got, err, s2)
		}
	}
	if ss, err := st.Sessions(ctx, "", 0, 100); err != nil || len(ss) != len(hostileTexts)-len(notIDs) {
		t.Errorf("R21: %d sessions stored (%v), want %d: one per text that is an id", len(ss), err, len(hostileTexts)-len(notIDs))
	}
}

// Times outside what a column keeps are refused, not altered.
func TestTimeOutOfRange(t *testing.T) {
	ctx := context.Background()
	st := newStore(t)
	b := hostileBot("b", "x")
	b.Activations = 1
	setLive(&b, lifecycle.Deactivated, time.Date(3000, 1, 1, 0, 0, 0, 0, time.UTC))
	_, err := st.Commit(ctx, lifecycle.Plan{Changes: []lifecycle.Change{{Bot: "b", To: lifecycle.Deactivated, After: &b}}})
	if !errors.Is(err, lifecycle.ErrInvalidInput) {
		t.Fatalf("Commit with a deadline in the year 3000 = %v, want ErrInvalidInput", err)
	}
	if _, err := st.Route(ctx, "", lifecycle.Sender{Channel: "sms", Address: "1"}, "u", time.Date(1500, 1, 1, 0, 0, 0, 0, time.UTC)); !errors.Is(err, lifecycle.ErrInvalidInput) {
		t.Fatalf("Route in the year 1500 = %v, want ErrInvalidInput", err)
	}
}

// Data survives Close and Open; opening again does not migrate again.
func TestReopen(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "keep.db")
	st, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	b := hostileBot("b", "keep")
	if _, err := st.Commit(ctx, lifecycle.Plan{Changes: []lifecycle.Change{{Bot: "b", To: lifecycle.Draft, After: &b}},
		Audit: []lifecycle.AuditEntry{{Time: t0, Actor: "a", Action: lifecycle.OpCreate}}}); err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 2; i++ {
		st, err = sqlite.Open(ctx, path)
		if err != nil {
			t.Fatal(err)
		}
		got, err := st.Bot(ctx, "", "b")
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(b, got); diff != "" {
			t.Errorf("after reopening (-committed +stored):\n%s", diff)
		}
		st.Close()
	}
}

// Errors carry library sentinels: a database held by another writer
// beyond the busy timeout is ErrUnavailable; options that make no sense are
// ErrInvalidInput.
func TestErrors(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "busy.db")
	st, err := sqlite.OpenWith(ctx, path, sqlite.Options{BusyTimeout: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	// Another process (here: another connection) holds the write lock.
	other, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	tx, err := other.Begin()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(`INSERT INTO role_assignments (workspace, user_id, roles) VALUES ('', 'x', 1)`); err != nil {
		t.Fatal(err)
	}
	b := hostileBot("b", "busy")
	_, err = st.Commit(ctx, lifecycle.Plan{Changes: []lifecycle.Change{{Bot: "b", To: lifecycle.Draft, After: &b}}})
	if !errors.Is(err, lifecycle.ErrUnavailable) {
		t.Errorf("Commit while another writer holds the lock = %v, want ErrUnavailable", err)
	}
	if _, err := st.Route(ctx, "", lifecycle.Sender{Channel: "sms", Address: "1"}, "u", t0); !errors.Is(err, lifecycle.ErrUnavailable) {
		t.Errorf("Route while another writer holds the lock = %v, want ErrUnavailable", err)
	}
	// Reads go on meanwhile (WAL).
	if _, err := st.Bots(ctx, "", "", 10); err != nil {
		t.Errorf("a read while another writer holds the lock = %v", err)
	}
	_ = tx.Rollback()
	if _, err := st.Commit(ctx, lifecycle.Plan{Changes: []lifecycle.Change{{Bot: "b", To: lifecycle.Draft, After: &b}}}); err != nil {
		t.Errorf("Commit after the lock is released = %v", err)
	}

	for _, tc := range []struct {
		name string
		path string
		opts sqlite.Options
	}{
		{"empty path", "", sqlite.Options{}},
		{"unknown sync", filepath.Join(t.TempDir(), "x.db"), sqlite.Options{Synchronous: "OFF"}},
	} {
		if _, err := sqlite.OpenWith(ctx, tc.path, tc.opts); !errors.Is(err, lifecycle.ErrInvalidInput) {
			t.Errorf("%s: OpenWith = %v, want ErrInvalidInput", tc.name, err)
		}
	}
	if _, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "no", "such", "dir", "x.db")); !errors.Is(err, lifecycle.ErrUnavailable) {
		t.Errorf("Open in a missing directory = %v, want ErrUnavailable", err)
	}
}

// R24: WaitAudit wakes on a commit through the same Store at once, and
// notices another process's commits only with PollOtherProcesses.
func TestWaitAuditOtherProcess(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "watch.db")
	a, err := sqlite.OpenWith(ctx, path, sqlite.Options{PollOtherProcesses: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := sqlite.Open(ctx, path) // stands for another process
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	done := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		done <- a.WaitAudit(ctx, "", 0)
	}()
	if _, err := b.Commit(ctx, lifecycle.Plan{Audit: []lifecycle.AuditEntry{{Time: t0, Actor: "x", Action: lifecycle.OpGet, Denied: true}}}); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatalf("WaitAudit with PollOtherProcesses after another process's commit = %v", err)
	}
}

// R10, R15: two messages of one end user racing on a sender open one
// session, not two; WaitAudit returns when the store closes.
func TestConcurrentRoutesAndClose(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "race.db"))
	if err != nil {
		t.Fatal(err)
	}
	b := hostileBot("b", "x")
	b.Activations, b.Senders = 1, []lifecycle.Sender{{Channel: "sms", Address: "1"}}
	setLive(&b, lifecycle.Active, time.Time{})
	if _, err := st.Commit(ctx, lifecycle.Plan{Changes: []lifecycle.Change{{Bot: "b", To: lifecycle.Active, After: &b}}}); err != nil {
		t.Fatal(err)
	}
	const n = 16
	errs := make(chan error, n)
	for i := 0; i < n; i++ {
		go func() {
			_, err := st.Route(ctx, "", b.Senders[0], "same user", t0)
			errs <- err
		}()
	}
	for i := 0; i < n; i++ {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	all, err := st.Sessions(ctx, "", 0, 100)
	if err != nil || len(all) != 1 || all[0].Messages != n {
		t.Fatalf("after %d concurrent first messages: %+v, %v; want one session with %d messages", n, all, err, n)
	}

	waiting := make(chan error, 1)
	go func() { waiting <- st.WaitAudit(ctx, "", 0) }()
	time.Sleep(10 * time.Millisecond) // let it wait; the result does not depend on it
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	if err := <-waiting; !errors.Is(err, lifecycle.ErrUnavailable) {
		t.Fatalf("WaitAudit when the store closes = %v, want ErrUnavailable", err)
	}
	if _, err := st.Bot(ctx, "", "b"); !errors.Is(err, lifecycle.ErrUnavailable) {
		t.Fatalf("Bot after Close = %v, want ErrUnavailable", err)
	}
}

// A file written by a newer version of the schema is refused, not
// damaged.
func TestNewerSchemaRefused(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "newer.db")
	st, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	st.Close()
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`PRAGMA user_version = 99`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	if _, err := sqlite.Open(ctx, path); !errors.Is(err, lifecycle.ErrUnavailable) || !strings.Contains(err.Error(), "upgrade botlife") {
		t.Fatalf("Open of a newer file = %v, want ErrUnavailable saying to upgrade", err)
	}
}

// R21, R23: a schedule round-trips exactly, hostile text and nil and
// empty slices included; Seq is the store's (1, 2, ... in creation order,
// kept by a change whatever the plan says); a pending schedule is due from
// its instant and no longer once it ran.
func TestScheduleRoundTrip(t *testing.T) {
	ctx := context.Background()
	st := newStore(t)
	var made []lifecycle.Schedule
	for _, name := range []string{"NUL", "invalid UTF-8", "long", "SQL", "empty"} {
		text := hostileTexts[name]
		sc := lifecycle.Schedule{ID: lifecycle.ScheduleID(fmt.Sprint("s", len(made))), Seq: 99, At: t0.Add(time.Duration(len(made)) * time.Hour), Zone: text,
			Action: lifecycle.ScheduledAction{Op: lifecycle.OpActivate, Bot: lifecycle.BotID(text), Senders: []lifecycle.Sender{{Channel: text, Address: text}},
				Decision: text, Ack: lifecycle.Ack{Fingerprint: text, Codes: []string{}}, Grace: time.Nanosecond},
			CreatedBy: text, CreatedAt: t0, Edition: text, Revision: 1, Status: lifecycle.SchedulePending, Outcome: text}
		if len(made)%2 == 1 {
			sc.Action.Senders, sc.Action.Ack.Codes = nil, []string{text, ""}
		}
		if _, err := st.Commit(ctx, lifecycle.Plan{Schedules: []lifecycle.ScheduleChange{{After: sc}}}); err != nil {
			t.Fatal(err)
		}
		sc.Seq = uint64(len(made) + 1)
		made = append(made, sc)
	}
	for _, want := range made {
		got, err := st.Schedule(ctx, "", want.ID)
		if diff := cmp.Diff(want, got); err != nil || diff != "" {
			t.Errorf("Schedule(%q) = %v (-committed +stored):\n%s", want.ID, err, diff)
		}
	}
	if all, err := st.Schedules(ctx, "", 0, everything); err != nil || !cmp.Equal(made, all) {
		t.Fatalf("Schedules = %v, %v; want every one in creation order", all, err)
	}
	due, err := dueSchedules(ctx, st, made[1].At)
	if err != nil || !cmp.Equal(made[:2], due) {
		t.Fatalf("DueSchedules at the second's instant = %v, %v; want the first two", due, err)
	}
	ran := made[0]
	ran.Seq, ran.Revision, ran.Status, ran.RanAt = 0, 2, lifecycle.ScheduleDone, t0.Add(time.Minute)
	if _, err := st.Commit(ctx, lifecycle.Plan{Schedules: []lifecycle.ScheduleChange{{Revision: 1, After: ran}}}); err != nil {
		t.Fatal(err)
	}
	ran.Seq = 1
	if got, _ := st.Schedule(ctx, "", ran.ID); !cmp.Equal(ran, got) {
		t.Errorf("after running: %+v, want %+v", got, ran)
	}
	if due, _ := dueSchedules(ctx, st, made[1].At); !cmp.Equal(made[1:2], due) {
		t.Errorf("R23: a schedule that ran is still due: %v", due)
	}
	x := lifecycle.Schedule{ID: "x", Revision: 1, Status: lifecycle.SchedulePending}
	twice := lifecycle.Plan{Schedules: []lifecycle.ScheduleChange{{After: x}, {After: x}}}
	if _, err := st.Commit(ctx, twice); !errors.Is(err, lifecycle.ErrInvalidInput) {
		t.Errorf("a plan creating one schedule twice = %v, want ErrInvalidInput", err)
	}
}

// sessionByID reads one session as the Manager does: a page of Sessions.
func sessionByID(ctx context.Context, st lifecycle.Store, id lifecycle.SessionID) (lifecycle.Session, error) {
	out, err := st.Sessions(ctx, "", id-1, 1)
	if err == nil && (len(out) != 1 || out[0].ID != id) {
		err = &lifecycle.NotFoundError{Kind: "session", ID: fmt.Sprint(id)}
	}
	if err != nil {
		return lifecycle.Session{}, err
	}
	return out[0], nil
}

func dueSchedules(ctx context.Context, st lifecycle.Store, now time.Time) ([]lifecycle.Schedule, error) {
	due, err := st.Due(ctx, "", now, everything)
	return due.Schedules, err
}
