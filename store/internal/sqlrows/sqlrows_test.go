package sqlrows

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"testing"
	"testing/fstest"
	"time"

	"github.com/botlife/botlife/lifecycle"
	"github.com/botlife/botlife/store/internal/binarydoc"
	"github.com/botlife/botlife/validate"
	"github.com/google/go-cmp/cmp"
)

// Migrations lists the scripts in version order, numbered by their names,
// marks those that hold the line RefreshRowsLine, and refuses a name
// without a number.
func TestMigrations(t *testing.T) {
	for _, tc := range []struct {
		name  string
		files fstest.MapFS
		want  []Migration
		fails bool
	}{
		{"in order", fstest.MapFS{
			"migrations/002_b.sql": {Data: []byte("B")},
			"migrations/001_a.sql": {Data: []byte("A")},
			"migrations/notes.txt": {Data: []byte("not a script")},
		}, []Migration{{Version: 1, Name: "migrations/001_a.sql", SQL: "A"}, {Version: 2, Name: "migrations/002_b.sql", SQL: "B"}}, false},
		{"refresh rows", fstest.MapFS{
			"migrations/001_a.sql": {Data: []byte("-- a\n" + RefreshRowsLine + "\nSELECT 1")},
			"migrations/002_b.sql": {Data: []byte("-- not " + RefreshRowsLine + "\nSELECT 1")},
		}, []Migration{{Version: 1, Name: "migrations/001_a.sql", SQL: "-- a\n" + RefreshRowsLine + "\nSELECT 1", RefreshRows: true},
			{Version: 2, Name: "migrations/002_b.sql", SQL: "-- not " + RefreshRowsLine + "\nSELECT 1"}}, false},
		// A checkout with CRLF line ends (git's core.autocrlf on Windows)
		// embeds the scripts so: the refresh must still run.
		{"refresh rows, CRLF", fstest.MapFS{
			"migrations/001_a.sql": {Data: []byte("-- a\r\n" + RefreshRowsLine + "\r\nSELECT 1\r\n")},
		}, []Migration{{Version: 1, Name: "migrations/001_a.sql", SQL: "-- a\r\n" + RefreshRowsLine + "\r\nSELECT 1\r\n", RefreshRows: true}}, false},
		{"none", fstest.MapFS{}, []Migration{}, false},
		{"no number", fstest.MapFS{"migrations/init.sql": {Data: []byte("A")}}, nil, true},
	} {
		got, err := Migrations(tc.files)
		if (err != nil) != tc.fails {
			t.Fatalf("%s: err = %v", tc.name, err)
		}
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("%s: (-want +got)\n%s", tc.name, diff)
		}
	}
}

// R21: a time is kept to the nanosecond or refused with ErrInvalidInput,
// never rounded (MustNanos also refuses the zero time); a comparison with any instant clamps to the columns'
// range; NULL is the zero time; times come back in UTC.
func TestNanos(t *testing.T) {
	east := time.FixedZone("east", 3600)
	for _, tc := range []struct {
		name    string
		t       time.Time
		want    *int64
		refused bool
		clamp   int64
	}{
		{"zero", time.Time{}, nil, false, math.MinInt64},
		{"epoch", time.Unix(0, 0).In(east), ptr(int64(0)), false, 0},
		{"first", MinTime, ptr(int64(math.MinInt64)), false, math.MinInt64},
		{"last", MaxTime, ptr(int64(math.MaxInt64)), false, math.MaxInt64},
		{"before", MinTime.Add(-1), nil, true, math.MinInt64},
		{"after", MaxTime.Add(1), nil, true, math.MaxInt64},
	} {
		got, err := Nanos("when", tc.t)
		if tc.refused != errors.Is(err, lifecycle.ErrInvalidInput) || (err != nil) != tc.refused {
			t.Errorf("%s: err = %v, want refused %v", tc.name, err, tc.refused)
		}
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("%s: (-want +got)\n%s", tc.name, diff)
		}
		if c := Clamp(tc.t); c != tc.clamp {
			t.Errorf("%s: Clamp = %d, want %d", tc.name, c, tc.clamp)
		}
		if n, err := MustNanos("now", tc.t); (err != nil) != (tc.refused || tc.t.IsZero()) || err == nil && n != *got {
			t.Errorf("%s: MustNanos = %d, %v", tc.name, n, err)
		}
		if back := Time(got); !tc.refused && (!back.Equal(tc.t) || back.Location() != time.UTC) {
			t.Errorf("%s: Time(Nanos) = %v, want %v in UTC", tc.name, back, tc.t)
		}
	}
}

func ptr[T any](v T) *T { return &v }

// NextEnd is lifecycle.NextSessionEnd in Unix nanoseconds: at once for no
// bot, never for a bot that serves the activation without an idle timeout,
// the idle end otherwise, clamped to the column's range.
func TestNextEnd(t *testing.T) {
	on := lifecycle.Sender{Channel: "sms", Address: "+15550001"}
	last := time.Unix(100, 0)
	serving := func(idle time.Duration) *lifecycle.Bot {
		return &lifecycle.Bot{State: lifecycle.Active, IdleTimeout: idle,
			Live: []lifecycle.SenderState{{Sender: on, State: lifecycle.Active, Activation: 1}}}
	}
	for _, tc := range []struct {
		name string
		b    *lifecycle.Bot
		last time.Time
		want int64
	}{
		{"no bot", nil, last, math.MinInt64},
		{"no idle timeout", serving(0), last, math.MaxInt64},
		{"idle", serving(time.Minute), last, last.Add(time.Minute).UnixNano()},
		{"idle past the range", serving(time.Minute), MaxTime, math.MaxInt64},
	} {
		want, ok := lifecycle.NextSessionEnd(tc.b, on, 1, tc.last)
		if got := NextEnd(tc.b, on, 1, tc.last); got != tc.want {
			t.Errorf("%s: NextEnd = %d, want %d (NextSessionEnd: %v, %v)", tc.name, got, tc.want, want, ok)
		}
	}
}

// Bot reads the binary document and the JSON of the first PostgreSQL
// schema alike, upgraded; no document is no bot; a malformed one fails.
func TestBot(t *testing.T) {
	want := lifecycle.Bot{ID: "b", Name: "Support\x00\xff", Revision: 3}
	doc := docOf(t, want)
	// Bots as versions before R22 stored them: live, with no Live; read
	// back live on every sender in their latest activation.
	a, b := lifecycle.Sender{Channel: "sms", Address: "100"}, lifecycle.Sender{Channel: "sms", Address: "200"}
	end := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	old := lifecycle.Bot{ID: "o", State: lifecycle.Active, Senders: []lifecycle.Sender{a, b}, Activations: 3}
	oldLive := old
	oldLive.Live = []lifecycle.SenderState{{Sender: a, State: lifecycle.Active, Activation: 3}, {Sender: b, State: lifecycle.Active, Activation: 3}}
	oldDraining := lifecycle.Bot{ID: "d", State: lifecycle.Deactivated, Senders: []lifecycle.Sender{a}, Activations: 2, GraceDeadline: end}
	oldDrainingLive := oldDraining
	oldDrainingLive.Live = []lifecycle.SenderState{{Sender: a, State: lifecycle.Deactivated, Activation: 2, GraceDeadline: end}}
	for _, tc := range []struct {
		name  string
		doc   []byte
		want  *lifecycle.Bot
		fails bool
	}{
		{"binary", doc, ptr(want), false},
		{"json", []byte(`{"id":"b","name":"Support","revision":3}`), ptr(lifecycle.Bot{ID: "b", Name: "Support", Revision: 3}), false},
		{"R22: live before bots were live per sender", docOf(t, old), ptr(oldLive), false},
		{"R22: draining before bots were live per sender", docOf(t, oldDraining), ptr(oldDrainingLive), false},
		{"none", nil, nil, false},
		{"empty", []byte{}, nil, true},
		{"bad json", []byte(`{"id":`), nil, true},
	} {
		got, err := Bot(tc.doc)
		if (err != nil) != tc.fails {
			t.Fatalf("%s: err = %v", tc.name, err)
		}
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("%s: (-want +got)\n%s", tc.name, diff)
		}
	}
}

type row []any

func (r row) Scan(dest ...any) error {
	for i, v := range r {
		switch d := dest[i].(type) {
		case **int64:
			if v != nil {
				*d = ptr(v.(int64))
			}
		case **string:
			if v != nil {
				*d = ptr(v.(string))
			}
		case *bool:
			*d = v.(bool)
		}
	}
	return nil
}

// ScanSession reads the session columns in their order, then the extra
// ones; a row of NULLs (no open session) is the zero Session.
func TestScanSession(t *testing.T) {
	at := time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC)
	var extra bool
	got, err := ScanSession(row{int64(7), "wa", "1001", "u", "b", int64(2), at.UnixNano(), at.UnixNano() + 1, nil, "", int64(3), true}, &extra)
	want := lifecycle.Session{ID: 7, Sender: lifecycle.Sender{Channel: "wa", Address: "1001"}, EndUser: "u", Bot: "b",
		Activation: 2, OpenedAt: at, LastActivityAt: at.Add(1), Messages: 3}
	if diff := cmp.Diff(want, got); diff != "" || err != nil || !extra {
		t.Errorf("a session: %v, extra %v (-want +got)\n%s", err, extra, diff)
	}
	got, err = ScanSession(make(row, 11))
	if diff := cmp.Diff(lifecycle.Session{}, got); diff != "" || err != nil {
		t.Errorf("a row of NULLs: %v (-want +got)\n%s", err, diff)
	}
}

// R24: a commit's audit entries come back numbered from the first
// sequence number and share no slice with the plan's.
func TestNumbered(t *testing.T) {
	in := []lifecycle.AuditEntry{{Acknowledged: []string{"W1"}}, {Acknowledged: []string{}}}
	out := Numbered(in, 5)
	out[0].Acknowledged[0] = "changed"
	if out[0].Seq != 5 || out[1].Seq != 6 || in[0].Acknowledged[0] != "W1" || in[0].Seq != 0 || out[1].Acknowledged == nil {
		t.Errorf("Numbered = %+v from %+v", out, in)
	}
}

// A library error passes unchanged; a driver's does not.
func TestKnown(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want bool
	}{
		{&lifecycle.ConflictError{Reason: "x"}, true},
		{&lifecycle.NotFoundError{Kind: "bot", ID: "b"}, true},
		{lifecycle.ErrUnavailable, true},
		{&lifecycle.SessionOverError{Reason: lifecycle.CloseContentChanged}, true}, // R26: DecideRoute's refusal
		{lifecycle.ErrTestSessionLimit, true},
		{errors.New("driver"), false},
	} {
		if got := Known(tc.err); got != tc.want {
			t.Errorf("Known(%v) = %v", tc.err, got)
		}
	}
}

// R24: WaitAudit returns once the head is past after; a Wake of its
// workspace with a later sequence number answers without reading the head,
// one of another workspace does not wake it, WakeAll makes it read the
// head again, and the end of ctx ends it.
func TestWaiters(t *testing.T) {
	var w Waiters
	reads := make(chan uint64)   // the test's answers to head
	asked := make(chan struct{}) // head was called
	head := func() (uint64, error) { asked <- struct{}{}; return <-reads, nil }
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- w.Wait(ctx, "ws", 3, 0, head) }()

	<-asked
	reads <- 3 // not yet
	w.Wake("other", 9)
	w.WakeAll()
	<-asked // WakeAll read the head again; "other" did not answer it
	reads <- 3
	w.Wake("ws", 4)
	if err := <-done; err != nil {
		t.Fatalf("Wait after a Wake past after: %v", err)
	}

	go func() { done <- w.Wait(ctx, "ws", 3, 0, head) }()
	<-asked
	reads <- 4
	if err := <-done; err != nil {
		t.Fatalf("Wait with the head past after: %v", err)
	}

	go func() { done <- w.Wait(ctx, "ws", 3, 0, head) }()
	<-asked
	reads <- 1
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("Wait after its context ended: %v", err)
	}
	if len(w.m) != 0 {
		t.Errorf("%d workspaces kept after their waiters left", len(w.m))
	}
}

// R24: a Wake up to after itself is no answer (the waiter reads the head
// again); a head that fails ends the wait with its error; a head past
// after is an answer even once ctx has ended.
func TestWaitersEdges(t *testing.T) {
	var w Waiters
	reads := make(chan uint64)
	asked := make(chan struct{})
	head := func() (uint64, error) { asked <- struct{}{}; return <-reads, nil }
	ctx := context.Background()
	done := make(chan error, 1)
	go func() { done <- w.Wait(ctx, "ws", 3, 0, head) }()
	<-asked
	reads <- 3
	w.Wake("ws", 3)
	select {
	case <-asked:
		reads <- 4
	case err := <-done:
		t.Fatalf("Wait(after 3) returned %v on a Wake up to 3", err)
	}
	if err := <-done; err != nil {
		t.Fatalf("Wait with the head past after: %v", err)
	}

	failed := errors.New("the head cannot be read")
	if err := w.Wait(ctx, "ws", 3, 0, func() (uint64, error) { return 0, failed }); !errors.Is(err, failed) {
		t.Errorf("Wait with a failing head = %v, want its error", err)
	}
	ended, cancel := context.WithCancel(ctx)
	cancel()
	if err := w.Wait(ended, "ws", 3, 0, func() (uint64, error) { return 4, nil }); err != nil {
		t.Errorf("Wait with the head past after and its context ended = %v, want nil", err)
	}
}

func docOf(t *testing.T, b lifecycle.Bot) []byte {
	t.Helper()
	doc, err := binarydoc.Encode(b)
	if err != nil {
		t.Fatal(err)
	}
	return doc
}

// botBeforeR25 is a bot as versions before R25 kept it: its definition the
// reference chatbot definition itself (validate.Definition), not a
// document of the service's.
type botBeforeR25 struct {
	ID         lifecycle.BotID     `json:"id"`
	Name       string              `json:"name"`
	Channel    string              `json:"channel"`
	Definition validate.Definition `json:"definition"`
	State      lifecycle.State     `json:"state"`
	Revision   uint64              `json:"revision"`
}

// R25, migrations: a bot stored before R25 - by the SQLite store as a
// binary document, by the first PostgreSQL schema as JSON - reads with its
// definition as the reference chatbot definition it was, not with none.
func TestBotDefinitionBeforeR25(t *testing.T) {
	def := validate.Definition{Channel: "sms", EntryDialog: "hi", FallbackDialog: "hi", Dialogs: []validate.Dialog{
		{ID: "hi", Name: "Hi", Elements: []validate.Element{{Type: validate.Text, Text: "Hello"}, {Type: validate.Close}}},
	}}
	old := botBeforeR25{ID: "b", Name: "n", Channel: "sms", Definition: def, State: lifecycle.Draft, Revision: 2}
	ref, err := lifecycle.ReferenceDefinition(def)
	if err != nil {
		t.Fatal(err)
	}
	want := &lifecycle.Bot{ID: "b", Name: "n", Channel: "sms", Definition: ref, State: lifecycle.Draft, Revision: 2}
	bin, err := binarydoc.Encode(old)
	if err != nil {
		t.Fatal(err)
	}
	js, err := json.Marshal(old)
	if err != nil {
		t.Fatal(err)
	}
	for name, doc := range map[string][]byte{"binary": bin, "json": js} {
		got, err := Bot(doc)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%s: a bot stored before R25 lost its definition (-want +got)\n%s", name, diff)
		}
	}
	// A bot of this version with no definition stays so.
	empty := lifecycle.Bot{ID: "e", Revision: 1}
	if got, err := Bot(docOf(t, empty)); err != nil || !cmp.Equal(&empty, got) {
		t.Errorf("a bot with no definition reads as %+v, %v", got, err)
	}
}
