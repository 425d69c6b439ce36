package lifecycle_test

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/botlife/botlife/lifecycle"
	"github.com/botlife/botlife/roles"
	"github.com/botlife/botlife/validate"
	"github.com/google/go-cmp/cmp"
)

func TestS1RefusedTransitionsNameBotStateAndOp(t *testing.T) {
	e := newEnv(t)
	a := e.live("live", "100")
	d := e.draft("draft", "200")
	tests := []struct {
		name string
		op   func() error
		msg  string
	}{
		{"activate an Active bot", func() error {
			_, err := e.m.Activate(e.ctx, manager, a.ID, lifecycle.Immediate(), lifecycle.Ack{})
			return err
		}, `activate: cannot activate bot bot-01 ("live"): it is Active; it is live or draining on every one of its senders already, and an Active bot goes live only on senders it is off (R22), so there is nothing to activate; to activate it anew, take it off all of them first: deactivate it, then end the grace period of any drain left`},
		{"deactivate a Draft", func() error { _, err := e.m.Deactivate(e.ctx, manager, d.ID, 0); return err },
			`deactivate: cannot deactivate bot bot-02 ("draft"): it is Draft; deactivate needs a bot that is Active; from Draft the table allows activate, delete, edit`},
		{"end the grace of an Active bot", func() error { _, err := e.m.EndGrace(e.ctx, manager, a.ID); return err },
			`end_grace: cannot end the grace period of bot bot-01 ("live"): it is Active; end_drain needs a bot that is Deactivated; from Active the table allows deactivate, drain`},
	}
	for _, tt := range tests {
		t.Run("S1/"+tt.name, func(t *testing.T) {
			err := e.refused(lifecycle.ErrInvalidTransition, false, tt.op)
			var se *lifecycle.StateError
			if !errors.As(err, &se) || err.Error() != tt.msg {
				t.Errorf("error = %q, want %q", err, tt.msg)
			}
		})
	}
}

func TestR1OneActivePerSender(t *testing.T) {
	e := newEnv(t)
	a := e.live("a", "100", "200")
	b := e.draft("b", "200")
	e.activate(b.ID, lifecycle.Immediate())
	if diff := cmp.Diff([]lifecycle.State{lifecycle.Inactive, lifecycle.Active}, e.states(a.ID, b.ID)); diff != "" {
		t.Fatalf("R1: states (-want +got):\n%s", diff)
	}
}

func TestR1UnderConcurrency(t *testing.T) {
	e := newEnv(t)
	const n = 16
	var ids []lifecycle.BotID
	for i := 0; i < n; i++ {
		ids = append(ids, e.draft("racer", "100").ID)
	}
	var wg sync.WaitGroup
	for _, id := range ids {
		wg.Add(1)
		go func(id lifecycle.BotID) {
			defer wg.Done()
			// Each replaces whatever is Active; the Manager retries conflicts.
			if _, err := e.m.Activate(e.ctx, manager, id, lifecycle.Grace(time.Minute), lifecycle.Ack{}); err != nil &&
				!errors.Is(err, lifecycle.ErrInvalidTransition) {
				t.Error(err)
			}
		}(id)
	}
	wg.Wait()
	var active, draining int
	for _, id := range ids {
		switch e.state(id) {
		case lifecycle.Active:
			active++
		case lifecycle.Deactivated:
			draining++
		}
	}
	if active != 1 || draining > 1 {
		t.Fatalf("R1/R2: %d Active and %d Deactivated on one sender", active, draining)
	}
}

func TestR2R6NewestDrainWins(t *testing.T) {
	e := newEnv(t)
	v1 := e.live("v1", "100")
	v2 := e.draft("v2", "100")
	e.activate(v2.ID, lifecycle.Grace(time.Hour))
	e.clk.Add(time.Minute)
	v3 := e.draft("v3", "100")
	p := e.activate(v3.ID, lifecycle.Grace(time.Hour))
	if diff := cmp.Diff([]lifecycle.State{lifecycle.Inactive, lifecycle.Deactivated, lifecycle.Active}, e.states(v1.ID, v2.ID, v3.ID)); diff != "" {
		t.Fatalf("R6: states (-want +got):\n%s", diff)
	}
	if got := e.get(v1.ID).EndReason; got != lifecycle.CloseReplaced {
		t.Errorf("R6: v1 ended with %q", got)
	}
	if diff := cmp.Diff([]lifecycle.BotID{v1.ID, v2.ID, v3.ID}, sortedIDs(changed(p))); diff != "" {
		t.Errorf("R6: changed bots (-want +got):\n%s", diff)
	}
}

func sortedIDs(ids []lifecycle.BotID) []lifecycle.BotID {
	out := append([]lifecycle.BotID(nil), ids...)
	for i := range out {
		for j := i + 1; j < len(out); j++ {
			if out[j] < out[i] {
				out[i], out[j] = out[j], out[i]
			}
		}
	}
	return out
}

func TestR3DeactivatedIsLive(t *testing.T) {
	e := newEnv(t)
	old := e.live("old", "100")
	nb := e.draft("new", "100")
	e.activate(nb.ID, lifecycle.Grace(time.Hour))

	t.Run("R3/cannot be edited", func(t *testing.T) {
		e.refused(lifecycle.ErrNotEditable, false, func() error {
			_, err := e.m.Update(e.ctx, designer, lifecycle.Update{Bot: old.ID, Name: ptr("x")})
			return err
		})
	})
	t.Run("R3/cannot be deleted", func(t *testing.T) {
		e.refused(lifecycle.ErrNotDeletable, false, func() error { return e.m.Delete(e.ctx, designer, old.ID) })
	})
	t.Run("R3/does not count towards R1", func(t *testing.T) {
		// One Active and one Deactivated bot share the sender; new
		// conversations go to the Active one.
		if diff := cmp.Diff([]lifecycle.State{lifecycle.Deactivated, lifecycle.Active}, e.states(old.ID, nb.ID)); diff != "" {
			t.Fatalf("(-want +got):\n%s", diff)
		}
		s, err := e.m.Route(e.ctx, sms("100"), "newcomer")
		if err != nil || s.Bot != nb.ID {
			t.Fatalf("R3: %+v, %v", s, err)
		}
	})
	t.Run("R3/listed as Deactivated", func(t *testing.T) {
		list, err := e.m.List(e.ctx, analyzer, "", 100)
		if err != nil {
			t.Fatal(err)
		}
		if len(list) != 2 || list[0].ID != old.ID || list[0].State != lifecycle.Deactivated || !list[0].GraceDeadline.Equal(start.Add(time.Hour)) {
			t.Errorf("R3: dashboard %+v", list)
		}
	})
}

func ptr[T any](v T) *T { return &v }

func TestR4Validation(t *testing.T) {
	e := newEnv(t)
	b := e.draft("b", "100")

	t.Run("R4/errors block", func(t *testing.T) {
		r := cleanRef()
		r.Dialogs[0].Elements[1].Target = "nowhere"
		bad := refDef(r)
		e.must(e.m.Update(e.ctx, designer, lifecycle.Update{Bot: b.ID, Definition: &bad}))
		err := e.refused(lifecycle.ErrValidation, false, func() error {
			_, err := e.m.Activate(e.ctx, manager, b.ID, lifecycle.Decision{}, lifecycle.Ack{Codes: []string{"target.unknown"}})
			return err
		})
		var ve *validate.ValidationError
		if !errors.As(err, &ve) || len(ve.Findings) != 1 || ve.Findings[0].Code != "target.unknown" {
			t.Errorf("R4: error %v", err)
		}
	})

	def := warnDef()
	e.must(e.m.Update(e.ctx, designer, lifecycle.Update{Bot: b.ID, Definition: &def}))
	report, err := e.m.Validate(e.ctx, supervisor, b.ID)
	if err != nil {
		t.Fatal(err)
	}

	t.Run("R4/warnings block unless acknowledged", func(t *testing.T) {
		err := e.refused(lifecycle.ErrWarningsNotAcknowledged, false, func() error {
			_, err := e.m.Activate(e.ctx, manager, b.ID, lifecycle.Decision{}, lifecycle.Ack{})
			return err
		})
		var we *lifecycle.WarningsError
		if !errors.As(err, &we) || we.Report.Fingerprint() != report.Fingerprint() || len(we.Unacknowledged) != 1 {
			t.Fatalf("R4: %v", err)
		}
		// A stale fingerprint or the wrong code still blocks.
		for _, ack := range []lifecycle.Ack{{Fingerprint: "0123456789abcdef"}, {Codes: []string{"webhook.insecure"}}} {
			e.refused(lifecycle.ErrWarningsNotAcknowledged, false, func() error {
				_, err := e.m.Activate(e.ctx, manager, b.ID, lifecycle.Decision{}, ack)
				return err
			})
		}
	})

	t.Run("R4/a new warning not acknowledged still blocks", func(t *testing.T) {
		r := warnRef()
		r.Attributes = []validate.Attribute{{Name: "unused", Type: validate.String}}
		more := refDef(r)
		e.must(e.m.Update(e.ctx, designer, lifecycle.Update{Bot: b.ID, Definition: &more}))
		for _, ack := range []lifecycle.Ack{{Fingerprint: report.Fingerprint()}, {Codes: []string{"fallback.missing"}}} {
			e.refused(lifecycle.ErrWarningsNotAcknowledged, false, func() error {
				_, err := e.m.Activate(e.ctx, manager, b.ID, lifecycle.Decision{}, ack)
				return err
			})
		}
		e.must(e.m.Update(e.ctx, designer, lifecycle.Update{Bot: b.ID, Definition: &def}))
	})

	t.Run("R4/acknowledged by fingerprint", func(t *testing.T) {
		p, err := e.m.Activate(e.ctx, manager, b.ID, lifecycle.Decision{}, lifecycle.Ack{Fingerprint: report.Fingerprint()})
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(&report, p.Report); diff != "" {
			t.Errorf("R4: the plan's report (-want +got):\n%s", diff)
		}
		if got := p.Audit[0].Acknowledged; !cmp.Equal(got, []string{"fallback.missing"}) {
			t.Errorf("R16: acknowledged = %v", got)
		}
	})

	t.Run("R4/acknowledged by codes", func(t *testing.T) {
		c := e.draft("c", "300")
		e.must(e.m.Update(e.ctx, designer, lifecycle.Update{Bot: c.ID, Definition: &def}))
		if _, err := e.m.Activate(e.ctx, manager, c.ID, lifecycle.Decision{}, lifecycle.Ack{Codes: []string{"fallback.missing"}}); err != nil {
			t.Fatal(err)
		}
	})
}

func TestR5DecisionRequired(t *testing.T) {
	e := newEnv(t)
	a := e.live("a", "100")
	c := e.live("c", "300")
	b := e.draft("b", "100", "300")

	t.Run("R5/no decision names every occupant", func(t *testing.T) {
		err := e.refused(lifecycle.ErrSenderOccupied, false, func() error {
			_, err := e.m.Activate(e.ctx, manager, b.ID, lifecycle.Decision{}, lifecycle.Ack{})
			return err
		})
		var oe *lifecycle.OccupiedError
		if !errors.As(err, &oe) {
			t.Fatal(err)
		}
		want := []lifecycle.Occupant{{Sender: sms("100"), Bot: a.ID, Name: "a"}, {Sender: sms("300"), Bot: c.ID, Name: "c"}}
		if diff := cmp.Diff(want, oe.Occupants); diff != "" {
			t.Errorf("R5: occupants (-want +got):\n%s", diff)
		}
		if !strings.Contains(err.Error(), "pass Immediate()") {
			t.Errorf("R5: message does not say what to do: %v", err)
		}
	})
	t.Run("R5/grace must be positive and at most the maximum", func(t *testing.T) {
		for _, d := range []time.Duration{0, -time.Second, 24*time.Hour + time.Nanosecond} {
			e.refused(lifecycle.ErrInvalidInput, false, func() error {
				_, err := e.m.Activate(e.ctx, manager, b.ID, lifecycle.Grace(d), lifecycle.Ack{})
				return err
			})
		}
	})
	t.Run("R5/grace drains every occupant", func(t *testing.T) {
		p := e.activate(b.ID, lifecycle.Grace(24*time.Hour))
		if diff := cmp.Diff([]lifecycle.State{lifecycle.Deactivated, lifecycle.Deactivated, lifecycle.Active}, e.states(a.ID, c.ID, b.ID)); diff != "" {
			t.Fatalf("R5: (-want +got):\n%s", diff)
		}
		if dl := e.get(a.ID).GraceDeadline; !dl.Equal(start.Add(24 * time.Hour)) {
			t.Errorf("R5: deadline %v", dl)
		}
		if len(p.DarkSenders) != 0 {
			t.Errorf("R14: nothing goes dark here: %v", p.DarkSenders)
		}
	})
}

func TestR5Immediate(t *testing.T) {
	e := newEnv(t)
	a := e.live("a", "100")
	s, err := e.m.Route(e.ctx, sms("100"), "u1")
	if err != nil {
		t.Fatal(err)
	}
	b := e.draft("b", "100")
	e.activate(b.ID, lifecycle.Immediate())
	if e.state(a.ID) != lifecycle.Inactive {
		t.Fatal("R5: old bot still live")
	}
	got, _ := e.m.Session(e.ctx, s.ID)
	if got.Open() || got.CloseReason != lifecycle.CloseReplaced || !got.ClosedAt.Equal(start) {
		t.Fatalf("R5: the old bot's session: %+v", got)
	}
}

func TestR7Deactivate(t *testing.T) {
	e := newEnv(t)
	t.Run("R7/without grace", func(t *testing.T) {
		a := e.live("a", "100")
		s, _ := e.m.Route(e.ctx, sms("100"), "u1")
		p, err := e.m.Deactivate(e.ctx, manager, a.ID, 0)
		if err != nil {
			t.Fatal(err)
		}
		if p.Changes[0].To != lifecycle.Inactive {
			t.Fatalf("R7: %+v", p.Changes)
		}
		got, _ := e.m.Session(e.ctx, s.ID)
		if got.CloseReason != lifecycle.CloseDeactivated {
			t.Errorf("R7: session %+v", got)
		}
		if _, err := e.m.Route(e.ctx, sms("100"), "u1"); !errors.Is(err, lifecycle.ErrNoBot) {
			t.Errorf("R10: route after deactivation = %v", err)
		}
	})
	t.Run("R7/with grace", func(t *testing.T) {
		a := e.live("a2", "200")
		if _, err := e.m.Deactivate(e.ctx, manager, a.ID, time.Hour); err != nil {
			t.Fatal(err)
		}
		if got := e.get(a.ID); got.State != lifecycle.Deactivated || !got.GraceDeadline.Equal(start.Add(time.Hour)) {
			t.Errorf("R7: %v until %v", got.State, got.GraceDeadline)
		}
	})
	t.Run("R7/only Active bots", func(t *testing.T) {
		d := e.draft("d", "300")
		x := e.live("x", "400")
		e.refused(lifecycle.ErrInvalidTransition, false, func() error { _, err := e.m.Deactivate(e.ctx, manager, d.ID, 0); return err })
		e.refused(lifecycle.ErrInvalidInput, false, func() error {
			_, err := e.m.Deactivate(e.ctx, manager, x.ID, -time.Second)
			return err
		})
	})
}

func TestR8Cascade(t *testing.T) {
	e := newEnv(t)
	old := e.live("old", "100", "200")
	nb := e.draft("new", "100")
	p := e.activate(nb.ID, lifecycle.Grace(time.Hour))
	// R14: 200 was old's alone.
	if diff := cmp.Diff([]lifecycle.Sender{sms("200")}, p.DarkSenders); diff != "" {
		t.Errorf("R14: dark senders (-want +got):\n%s", diff)
	}
	p, err := e.m.Deactivate(e.ctx, manager, nb.ID, 0)
	if err != nil {
		t.Fatal(err)
	}
	want := []lifecycle.Change{
		{Bot: old.ID, From: lifecycle.Deactivated, To: lifecycle.Inactive},
		{Bot: nb.ID, From: lifecycle.Active, To: lifecycle.Inactive},
	}
	got := make([]lifecycle.Change, len(p.Changes))
	for i, c := range p.Changes {
		got[i] = lifecycle.Change{Bot: c.Bot, From: c.From, To: c.To}
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("R8: the result lists every bot that changed (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]lifecycle.Transition{{Bot: old.ID, From: lifecycle.Deactivated, To: lifecycle.Inactive}, {Bot: nb.ID, From: lifecycle.Active, To: lifecycle.Inactive}}, p.Audit[0].Transitions); diff != "" {
		t.Errorf("R16: audit transitions (-want +got):\n%s", diff)
	}
}

func TestR11R12EditAndDelete(t *testing.T) {
	e := newEnv(t)
	d := e.draft("d", "100")
	a := e.live("a", "200")
	tests := []struct {
		name string
		op   func() error
		want error
	}{
		{"R11/edit a Draft", func() error {
			_, err := e.m.Update(e.ctx, designer, lifecycle.Update{Bot: d.ID, Description: ptr("fine")})
			return err
		}, nil},
		{"R11/edit an Active bot", func() error {
			_, err := e.m.Update(e.ctx, designer, lifecycle.Update{Bot: a.ID, Description: ptr("no")})
			return err
		}, lifecycle.ErrNotEditable},
		{"R12/delete an Active bot", func() error { return e.m.Delete(e.ctx, designer, a.ID) }, lifecycle.ErrNotDeletable},
		{"R12/delete a missing bot", func() error { return e.m.Delete(e.ctx, designer, "nope") }, lifecycle.ErrNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.want == nil {
				if err := tt.op(); err != nil {
					t.Fatal(err)
				}
				return
			}
			e.refused(tt.want, false, tt.op)
		})
	}
	t.Run("R11/edit an Inactive bot", func(t *testing.T) {
		if _, err := e.m.Deactivate(e.ctx, manager, a.ID, 0); err != nil {
			t.Fatal(err)
		}
		got, err := e.m.Update(e.ctx, designer, lifecycle.Update{Bot: a.ID, Description: ptr("offline now")})
		if err != nil || got.Description != "offline now" {
			t.Fatal(got, err)
		}
		e.refused(lifecycle.ErrNotDeletable, false, func() error { return e.m.Delete(e.ctx, designer, a.ID) })
	})
	t.Run("R12/delete a Draft", func(t *testing.T) {
		if err := e.m.Delete(e.ctx, designer, d.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := e.m.Get(e.ctx, manager, d.ID); !errors.Is(err, lifecycle.ErrNotFound) {
			t.Fatal(err)
		}
	})
}

func TestR13DuplicateExportImport(t *testing.T) {
	e := newEnv(t)
	src := e.live("Support bot", "100")
	dup, err := e.m.Duplicate(e.ctx, designer, src.ID, "")
	if err != nil {
		t.Fatal(err)
	}
	if dup.Name != "Support bot (copy)" || dup.ID == src.ID || dup.State != lifecycle.Draft {
		t.Errorf("R13: duplicate %q %s %v", dup.Name, dup.ID, dup.State)
	}
	if diff := cmp.Diff(src.Definition, dup.Definition); diff != "" {
		t.Errorf("R13: definition differs:\n%s", diff)
	}
	if diff := cmp.Diff(src.Senders, dup.Senders); diff != "" {
		t.Errorf("R13: senders differ:\n%s", diff)
	}
	named, _ := e.m.Duplicate(e.ctx, designer, src.ID, "v2")
	if named.Name != "v2" {
		t.Errorf("R13: named duplicate %q", named.Name)
	}

	doc, err := e.m.Export(e.ctx, designer, src.ID)
	if err != nil {
		t.Fatal(err)
	}
	imp, err := e.m.Import(e.ctx, designer, doc)
	if err != nil {
		t.Fatal(err)
	}
	again, err := e.m.Export(e.ctx, designer, imp.ID)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(string(doc), string(again)); diff != "" {
		t.Errorf("R13: export(import(x)) != x (-x +again):\n%s", diff)
	}
	if imp.State != lifecycle.Draft || imp.Name != src.Name {
		t.Errorf("R13: imported %v %q", imp.State, imp.Name)
	}

	bad := []struct{ name, doc string }{
		{"unknown field", strings.Replace(string(doc), `"format"`, `"colour": 1, "format"`, 1)},
		{"wrong version", strings.Replace(string(doc), `"version": 2`, `"version": 1`, 1)},
		{"R25/definition without a format", strings.Replace(string(doc), `"format": "botlife.reference/v1"`, `"format": ""`, 1)},
		{"R25/definition in a format the checker does not read", strings.Replace(string(doc), `"format": "botlife.reference/v1"`, `"format": "acme.flow/v1"`, 1)},
		{"wrong format", strings.Replace(string(doc), `"botlife.chatbot"`, `"other"`, 1)},
		{"bad sender", strings.Replace(string(doc), `"address": "100"`, `"address": "call me"`, 1)},
		{"trailing data", string(doc) + "{}"},
		{"not json", "hello"},
		{"oversize", `{"format":"botlife.chatbot","description":"` + strings.Repeat("x", lifecycle.DefaultMaxImport) + `"}`},
		{"empty name", strings.Replace(string(doc), `"name": "Support bot"`, `"name": " "`, 1)},
		{"bad idle timeout", strings.Replace(string(doc), `"idle_timeout": "30m0s"`, `"idle_timeout": "soon"`, 1)},
		// encoding/json folds U+017F (long s) to s (and U+212A, Kelvin, to
		// k): such a key is another spelling of one, or a repeat of it.
		{"a key spelt with a long s", strings.Replace(string(doc), `"senders"`, "\"\u017fenders\"", 1)},
		{"a key repeated with a long s", strings.Replace(string(doc), `"senders"`, "\"\u017fenders\": [], \"senders\"", 1)},
		{"a key repeated with a long s after it", strings.Replace(string(doc), `"description"`, "\"description\": \"x\", \"de\u017fcription\"", 1)},
	}
	for _, tt := range bad {
		t.Run("R13/import refuses "+tt.name, func(t *testing.T) {
			e.refused(lifecycle.ErrInvalidInput, false, func() error { _, err := e.m.Import(e.ctx, designer, []byte(tt.doc)); return err })
		})
	}
}

// racingStore commits a concurrent change to the same bot just before the
// first n commits it is given, so those commits conflict (R15).
type racingStore struct {
	lifecycle.Store
	n       int
	commits int
}

func (s *racingStore) Commit(ctx context.Context, p lifecycle.Plan) ([]lifecycle.AuditEntry, error) {
	s.commits++
	if s.n > 0 && len(p.Changes) > 0 {
		s.n--
		b, err := s.Store.Bot(ctx, "", p.Changes[0].Bot)
		if err != nil {
			return nil, err
		}
		other := b
		other.Description, other.Revision = "concurrent", b.Revision+1
		if _, err := s.Store.Commit(ctx, lifecycle.Plan{Op: lifecycle.OpUpdate, Changes: []lifecycle.Change{
			{Bot: b.ID, From: b.State, To: b.State, Revision: b.Revision, After: &other}}}); err != nil {
			return nil, err
		}
	}
	return s.Store.Commit(ctx, p)
}

func TestR15ConflictsRetry(t *testing.T) {
	for _, tc := range []struct {
		name      string
		conflicts int
		attempts  int
		wantErr   error
		wantRev   uint64
	}{
		{"R15/a-conflict-is-decided-again-on-fresh-reads", 2, 0, nil, 1 + 2 + 1}, // 0: the default, 8
		{"R15/one-attempt-gives-up-at-the-first-conflict", 1, 1, lifecycle.ErrConflict, 1 + 1},
		{"R15/retries-are-bounded", 3, 3, lifecycle.ErrConflict, 1 + 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			b := e.draft("b", "100")
			rs := &racingStore{Store: e.st, n: tc.conflicts}
			m, err := lifecycle.New(lifecycle.Config{Store: rs, Clock: e.clk, MaxAttempts: tc.attempts})
			if err != nil {
				t.Fatal(err)
			}
			_, err = m.Update(e.ctx, designer, lifecycle.Update{Bot: b.ID, Name: ptr("mine")})
			if !errors.Is(err, tc.wantErr) || (tc.wantErr == nil) != (err == nil) {
				t.Fatalf("R15: Update = %v, want %v", err, tc.wantErr)
			}
			got := e.get(b.ID)
			if got.Revision != tc.wantRev || got.Description != "concurrent" || (err == nil) != (got.Name == "mine") {
				t.Errorf("R15: after %d commits: revision %d, description %q, name %q", rs.commits, got.Revision, got.Description, got.Name)
			}
			attempts := tc.attempts
			if attempts == 0 {
				attempts = 8
			}
			if rs.commits != min(tc.conflicts+1, attempts) {
				t.Errorf("R15: %d commits tried, want %d", rs.commits, min(tc.conflicts+1, attempts))
			}
		})
	}
}

func TestR16AuditEntry(t *testing.T) {
	e := newEnv(t)
	old := e.live("old", "100")
	nb := e.draft("new", "100")
	def := warnDef()
	e.must(e.m.Update(e.ctx, designer, lifecycle.Update{Bot: nb.ID, Definition: &def}))
	e.clk.Add(time.Minute)
	p, err := e.m.Activate(e.ctx, manager, nb.ID, lifecycle.Grace(15*time.Minute), lifecycle.Ack{Codes: []string{"fallback.missing"}})
	if err != nil {
		t.Fatal(err)
	}
	log := e.audit()
	got := log[len(log)-1]
	want := lifecycle.AuditEntry{
		Seq: uint64(len(log)), Time: start.Add(time.Minute), Actor: "mia", Roles: roles.MustSet(roles.Manager), Action: lifecycle.OpActivate,
		Transitions: []lifecycle.Transition{{Bot: old.ID, From: lifecycle.Active, To: lifecycle.Deactivated}, {Bot: nb.ID, From: lifecycle.Inactive, To: lifecycle.Active}},
		// R22: and each bot's move on the sender.
		Senders: []lifecycle.SenderTransition{
			{Bot: old.ID, Sender: sms("100"), From: lifecycle.Active, To: lifecycle.Deactivated},
			{Bot: nb.ID, Sender: sms("100"), From: lifecycle.Inactive, To: lifecycle.Active},
		},
		GraceDeadline: start.Add(16 * time.Minute), Acknowledged: []string{"fallback.missing"},
	}
	want.Transitions[1].From = lifecycle.Draft
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("R16: entry (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(p.Audit, []lifecycle.AuditEntry{got}); diff != "" {
		t.Errorf("R16: the plan returns the stored entry (-plan +stored):\n%s", diff)
	}
	for i := 1; i < len(log); i++ {
		if log[i].Seq <= log[i-1].Seq {
			t.Fatalf("R16: sequence not increasing at %d", i)
		}
	}
}

func TestR17DryRun(t *testing.T) {
	e := newEnv(t)
	e.live("old", "100", "200")
	nb := e.draft("new", "100")
	cmd := lifecycle.Activate{Bot: nb.ID, Decision: lifecycle.Grace(time.Hour)}
	before, auditBefore := e.dump(), e.audit()
	plan, err := e.m.Plan(e.ctx, manager, cmd)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(before, e.dump()); diff != "" {
		t.Fatalf("R17: a dry run changed the store:\n%s", diff)
	}
	if len(e.audit()) != len(auditBefore) {
		t.Fatal("R17: a dry run wrote the audit log")
	}
	applied, err := e.m.Apply(e.ctx, manager, cmd)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(plan.Changes, applied.Changes); diff != "" {
		t.Errorf("R17: applying changed other things than planned (-plan +applied):\n%s", diff)
	}
	if diff := cmp.Diff(plan.DarkSenders, applied.DarkSenders); diff != "" {
		t.Errorf("R17: dark senders differ:\n%s", diff)
	}
	for i := range plan.Audit {
		plan.Audit[i].Seq = applied.Audit[i].Seq
	}
	if diff := cmp.Diff(plan.Audit, applied.Audit); diff != "" {
		t.Errorf("R17: audit differs (-plan +applied):\n%s", diff)
	}
}

func TestR18Settings(t *testing.T) {
	e := newEnv(t)
	create := func(c lifecycle.Create) func() error {
		return func() error { _, err := e.m.Create(e.ctx, designer, c); return err }
	}
	tests := []struct {
		name string
		c    lifecycle.Create
	}{
		{"empty name", lifecycle.Create{Name: "  ", Channel: "sms"}},
		{"long description", lifecycle.Create{Name: "x", Channel: "sms", Description: strings.Repeat("é", 501)}},
		{"bad channel", lifecycle.Create{Name: "x", Channel: "S M S"}},
		{"sender of another channel", lifecycle.Create{Name: "x", Channel: "sms", Senders: []lifecycle.Sender{{Channel: "whatsapp", Address: "+44123"}}}},
		{"bad phone number", lifecycle.Create{Name: "x", Channel: "sms", Senders: []lifecycle.Sender{{Address: "12ab"}}}},
		{"R25/definition in a format the checker does not read", lifecycle.Create{Name: "x", Channel: "sms", Definition: lifecycle.Definition{Format: "acme.flow/v1", Text: "{}"}}},
		{"R21/definition text with NUL", lifecycle.Create{Name: "x", Channel: "sms", Definition: lifecycle.Definition{Text: "a\x00b"}}},
		{"R25/definition text over the limit", lifecycle.Create{Name: "x", Channel: "sms", Definition: lifecycle.Definition{Text: strings.Repeat("x", lifecycle.DefaultMaxDefinition+1)}}},
		{"negative idle timeout", lifecycle.Create{Name: "x", Channel: "sms", IdleTimeout: -time.Second}},
	}
	for _, tt := range tests {
		t.Run("R18/"+tt.name, func(t *testing.T) { e.refused(lifecycle.ErrInvalidInput, false, create(tt.c)) })
	}
	t.Run("R18/500 characters is fine and senders normalise", func(t *testing.T) {
		b, err := e.m.Create(e.ctx, designer, lifecycle.Create{Name: " ok ", Channel: "SMS", Description: strings.Repeat("é", 500),
			Senders: []lifecycle.Sender{{Address: "+44 (20) 7946-0000"}, {Channel: "sms", Address: "+442079460000"}}})
		if err != nil {
			t.Fatal(err)
		}
		if b.Name != "ok" || b.Channel != "sms" || !cmp.Equal(b.Senders, []lifecycle.Sender{sms("+442079460000")}) || b.Definition.Format != validate.ReferenceFormat {
			t.Errorf("R18: %q %q %v", b.Name, b.Channel, b.Senders)
		}
	})
	t.Run("R18/activation needs a sender", func(t *testing.T) {
		b, _ := e.m.Create(e.ctx, designer, lifecycle.Create{Name: "lonely", Channel: "sms", Definition: cleanDef()})
		err := e.refused(lifecycle.ErrInvalidInput, false, func() error {
			_, err := e.m.Activate(e.ctx, manager, b.ID, lifecycle.Decision{}, lifecycle.Ack{})
			return err
		})
		if !strings.Contains(err.Error(), "add at least one sender") {
			t.Errorf("R18: %v", err)
		}
	})
}

func TestR19SystemActor(t *testing.T) {
	e := newEnv(t)
	a := e.live("a", "100")
	p, err := e.m.Deactivate(e.ctx, lifecycle.System("account out of credit"), a.ID, 0)
	if err != nil {
		t.Fatal(err)
	}
	got := p.Audit[0]
	if got.Actor != "system" || !got.System || got.Reason != "account out of credit" || got.Action != lifecycle.OpDeactivate {
		t.Errorf("R19: audit %+v", got)
	}
	if e.state(a.ID) != lifecycle.Inactive {
		t.Error("R19: not deactivated")
	}
	// The system follows every other rule.
	e.refused(lifecycle.ErrInvalidTransition, false, func() error {
		_, err := e.m.Deactivate(e.ctx, lifecycle.System("again"), a.ID, 0)
		return err
	})
}

func TestP1PermissionFirst(t *testing.T) {
	e := newEnv(t)
	b := e.draft("b", "100")
	tests := []struct {
		name  string
		actor lifecycle.Actor
		op    func(a lifecycle.Actor) error
	}{
		{"Designer cannot activate", designer, func(a lifecycle.Actor) error {
			_, err := e.m.Activate(e.ctx, a, b.ID, lifecycle.Immediate(), lifecycle.Ack{})
			return err
		}},
		{"Supervisor cannot edit", supervisor, func(a lifecycle.Actor) error {
			_, err := e.m.Update(e.ctx, a, lifecycle.Update{Bot: b.ID, Name: ptr("x")})
			return err
		}},
		{"Analyzer cannot see details", analyzer, func(a lifecycle.Actor) error { _, err := e.m.Get(e.ctx, a, b.ID); return err }},
		{"Manager cannot read the audit log", manager, func(a lifecycle.Actor) error { _, err := e.m.AuditLog(e.ctx, a, 0, 10); return err }},
		{"Admin cannot create bots", admin, func(a lifecycle.Actor) error {
			_, err := e.m.Create(e.ctx, a, lifecycle.Create{Name: "x", Channel: "sms"})
			return err
		}},
		{"a stranger cannot list", stranger, func(a lifecycle.Actor) error { _, err := e.m.List(e.ctx, a, "", 10); return err }},
		// Permission comes first: even a missing bot is refused as forbidden.
		{"permission before existence", designer, func(a lifecycle.Actor) error { _, err := e.m.Deactivate(e.ctx, a, "nope", 0); return err }},
	}
	for _, tt := range tests {
		t.Run("P1/"+tt.name, func(t *testing.T) {
			err := e.refused(lifecycle.ErrForbidden, true, func() error { return tt.op(tt.actor) })
			var pe *roles.PermissionError
			if !errors.As(err, &pe) || pe.Actor != tt.actor.ID {
				t.Fatalf("P1: %v", err)
			}
			log := e.audit()
			if last := log[len(log)-1]; last.Actor != tt.actor.ID || last.Reason != pe.Error() {
				t.Errorf("R16: denial entry %+v", last)
			}
		})
	}
}

func TestP2Roles(t *testing.T) {
	e := newEnv(t)
	t.Run("P2/only role managers grant", func(t *testing.T) {
		e.refused(lifecycle.ErrForbidden, true, func() error {
			_, err := e.m.GrantRole(e.ctx, manager, "dan", roles.Manager)
			return err
		})
	})
	t.Run("P2/the last Admin stays", func(t *testing.T) {
		e.refused(lifecycle.ErrLastAdmin, false, func() error {
			_, err := e.m.RevokeRole(e.ctx, admin, "ada", roles.Admin)
			return err
		})
	})
	t.Run("P2/changes take effect on the next operation", func(t *testing.T) {
		b := e.draft("b", "100")
		if _, err := e.m.Activate(e.ctx, designer, b.ID, lifecycle.Decision{}, lifecycle.Ack{}); !errors.Is(err, lifecycle.ErrForbidden) {
			t.Fatal(err)
		}
		rs, err := e.m.GrantRole(e.ctx, admin, "dan", roles.Manager)
		if err != nil || rs != roles.MustSet(roles.Manager) {
			t.Fatal(rs, err)
		}
		if _, err := e.m.Activate(e.ctx, designer, b.ID, lifecycle.Decision{}, lifecycle.Ack{}); err != nil {
			t.Fatalf("P2: promoted user still refused: %v", err)
		}
	})
	t.Run("P2/a second Admin may remove the first", func(t *testing.T) {
		if _, err := e.m.GrantRole(e.ctx, admin, "zoe", roles.Admin); err != nil {
			t.Fatal(err)
		}
		if _, err := e.m.RevokeRole(e.ctx, lifecycle.User("zoe"), "ada", roles.Admin); err != nil {
			t.Fatal(err)
		}
		if rs, _ := e.m.UserRoles(e.ctx, lifecycle.User("zoe"), "ada"); !rs.Empty() {
			t.Errorf("ada still holds %v", rs)
		}
	})
	t.Run("P2/bad user ids", func(t *testing.T) {
		e.refused(lifecycle.ErrInvalidInput, false, func() error {
			_, err := e.m.GrantRole(e.ctx, lifecycle.User("zoe"), " ", roles.Analyzer)
			return err
		})
	})
}

func TestEndGraceAndRollback(t *testing.T) {
	e := newEnv(t)
	v1 := e.live("v1", "100")
	v2 := e.draft("v2", "100")
	e.activate(v2.ID, lifecycle.Grace(time.Hour))
	if _, err := e.m.EndGrace(e.ctx, manager, v1.ID); err != nil {
		t.Fatal(err)
	}
	if b := e.get(v1.ID); b.State != lifecycle.Inactive || b.EndReason != lifecycle.CloseGraceEnded {
		t.Fatalf("EndGrace: %v %v", b.State, b.EndReason)
	}
	// Roll back: v1 was most recently Active on v2's senders.
	e.clk.Add(time.Minute)
	p, err := e.m.Rollback(e.ctx, manager, v2.ID, lifecycle.Immediate(), lifecycle.Ack{})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]lifecycle.State{lifecycle.Active, lifecycle.Inactive}, e.states(v1.ID, v2.ID)); diff != "" {
		t.Fatalf("rollback states (-want +got):\n%s", diff)
	}
	if p.Audit[0].Action != lifecycle.OpRollback || e.get(v1.ID).Activations != 2 {
		t.Errorf("rollback audit %+v", p.Audit[0])
	}
	// Nothing to roll back to from a bot that never had a predecessor.
	lone := e.live("lone", "900")
	e.refused(lifecycle.ErrNoRollback, false, func() error {
		_, err := e.m.Rollback(e.ctx, manager, lone.ID, lifecycle.Immediate(), lifecycle.Ack{})
		return err
	})
}

// The seed's six redeploy steps, through the public API.
func TestRedeployScenario(t *testing.T) {
	e := newEnv(t)
	v1 := e.live("Support", "+15550100")
	oldChat, _ := e.m.Route(e.ctx, sms("+15550100"), "alice")

	// 1. Copy the chatbot: duplicate (or export and import).
	v2, err := e.m.Duplicate(e.ctx, designer, v1.ID, "Support v2")
	if err != nil {
		t.Fatal(err)
	}
	// 2. Edit the new chatbot.
	ref, err := validate.Decode(v2.Definition.Text)
	if err != nil {
		t.Fatal(err)
	}
	ref.Dialogs[0].Elements[0].Text = "Hello from v2"
	def := refDef(ref)
	if _, err := e.m.Update(e.ctx, designer, lifecycle.Update{Bot: v2.ID, Definition: &def}); err != nil {
		t.Fatal(err)
	}
	// 3-4. Activate it: both use the same sender, so the system asks.
	_, err = e.m.Activate(e.ctx, manager, v2.ID, lifecycle.Decision{}, lifecycle.Ack{})
	if !errors.Is(err, lifecycle.ErrSenderOccupied) {
		t.Fatalf("step 4: %v", err)
	}
	// 5. Give the old chatbot a grace period.
	if _, err := e.m.Activate(e.ctx, manager, v2.ID, lifecycle.Grace(30*time.Minute), lifecycle.Ack{}); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]lifecycle.State{lifecycle.Deactivated, lifecycle.Active}, e.states(v1.ID, v2.ID)); diff != "" {
		t.Fatalf("step 5 (-want +got):\n%s", diff)
	}
	e.clk.Add(10 * time.Minute)
	if s, _ := e.m.Route(e.ctx, sms("+15550100"), "alice"); s.ID != oldChat.ID {
		t.Fatal("step 5: the open session left the old bot")
	}
	if s, _ := e.m.Route(e.ctx, sms("+15550100"), "bob"); s.Bot != v2.ID {
		t.Fatal("step 5: a new session went to the old bot")
	}
	// 6. The grace period ends: the old sessions end, the old bot is Inactive.
	e.clk.Add(20 * time.Minute)
	if _, err := e.m.ExpireDue(e.ctx); err != nil {
		t.Fatal(err)
	}
	if e.state(v1.ID) != lifecycle.Inactive {
		t.Fatal("step 6: old bot not Inactive")
	}
	if s, _ := e.m.Session(e.ctx, oldChat.ID); s.CloseReason != lifecycle.CloseGraceExpired {
		t.Fatalf("step 6: old session %+v", s)
	}
}

// The usual rollback: the new version is broken during the old one's grace
// period. The draining predecessor ends its drain and goes Active again.
func TestRollbackDuringGrace(t *testing.T) {
	e := newEnv(t)
	v1 := e.live("v1", "100")
	v2 := e.draft("v2", "100")
	e.activate(v2.ID, lifecycle.Grace(time.Hour))
	e.clk.Add(time.Minute)
	p, err := e.m.Rollback(e.ctx, manager, v2.ID, lifecycle.Immediate(), lifecycle.Ack{})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]lifecycle.State{lifecycle.Active, lifecycle.Inactive}, e.states(v1.ID, v2.ID)); diff != "" {
		t.Fatalf("(-want +got):\n%s", diff)
	}
	// Every step is one the table allows.
	want := []lifecycle.Transition{
		{Bot: v1.ID, From: lifecycle.Deactivated, To: lifecycle.Inactive},
		{Bot: v2.ID, From: lifecycle.Active, To: lifecycle.Inactive},
		{Bot: v1.ID, From: lifecycle.Inactive, To: lifecycle.Active},
	}
	if diff := cmp.Diff(want, p.Audit[0].Transitions); diff != "" {
		t.Errorf("R16: rollback audit (-want +got):\n%s", diff)
	}
}

// Rollback picks the most recent predecessor, not any.
func TestRollbackPicksMostRecent(t *testing.T) {
	e := newEnv(t)
	v1 := e.live("v1", "100")
	e.clk.Add(time.Minute)
	v2 := e.live("v2", "100") // v1 leaves Active at +1m
	e.clk.Add(time.Minute)
	v3 := e.live("v3", "100") // v2 leaves Active at +2m
	plan, err := e.m.Plan(e.ctx, manager, lifecycle.Rollback{Bot: v3.ID, Decision: lifecycle.Immediate()})
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := plan.Bot(v2.ID); got.State != lifecycle.Active {
		t.Fatalf("rollback from v3 activates %v, want v2 (v1 is older)", changed(plan))
	}
	if _, touched := plan.Bot(v1.ID); touched {
		t.Errorf("rollback touched v1: %v", changed(plan))
	}
}

// TestR21AcknowledgementIsText: acknowledged warning codes and fingerprints
// are text a caller passes (R21), on every path that activates: valid UTF-8
// without NUL, at most MaxIDBytes bytes each and at most MaxAckCodes codes.
// A violation is an input error that changes nothing, is not audited and
// does not repeat the raw bytes.
func TestR21AcknowledgementIsText(t *testing.T) {
	long := strings.Repeat("c", lifecycle.MaxIDBytes+1)
	tooMany := make([]string, lifecycle.MaxAckCodes+1)
	for i := range tooMany {
		tooMany[i] = "fallback.missing"
	}
	tests := []struct {
		name string
		ack  lifecycle.Ack
	}{
		{"R21/code-with-NUL", lifecycle.Ack{Codes: []string{"attribute.unused\x00"}}},
		{"R21/code-with-invalid-UTF-8", lifecycle.Ack{Codes: []string{"fallback.missing", "x\xff"}}},
		{"R21/code-over-256-bytes", lifecycle.Ack{Codes: []string{long}}},
		{"R21/too-many-codes", lifecycle.Ack{Codes: tooMany}},
		{"R21/fingerprint-with-NUL", lifecycle.Ack{Fingerprint: "42b7\x00"}},
		{"R21/fingerprint-with-invalid-UTF-8", lifecycle.Ack{Fingerprint: "\xc3"}},
		{"R21/fingerprint-over-256-bytes", lifecycle.Ack{Fingerprint: long}},
	}
	paths := []struct {
		name string
		do   func(e *env, ack lifecycle.Ack) error
	}{
		{"activate", func(e *env, ack lifecycle.Ack) error {
			b := e.draft("b", "100")
			return e.refused(lifecycle.ErrInvalidInput, false, func() error {
				_, err := e.m.Activate(e.ctx, manager, b.ID, lifecycle.Immediate(), ack)
				return err
			})
		}},
		{"rollback", func(e *env, ack lifecycle.Ack) error {
			e.live("old", "100")
			cur := e.live("cur", "100")
			return e.refused(lifecycle.ErrInvalidInput, false, func() error {
				_, err := e.m.Rollback(e.ctx, manager, cur.ID, lifecycle.Immediate(), ack)
				return err
			})
		}},
		{"schedule", func(e *env, ack lifecycle.Ack) error {
			b := e.draft("b", "100")
			return e.refused(lifecycle.ErrInvalidInput, false, func() error {
				_, err := e.m.Schedule(e.ctx, manager, e.clk.Now().Add(time.Hour), lifecycle.Activate{Bot: b.ID, Ack: ack})
				return err
			})
		}},
	}
	for _, tt := range tests {
		for _, p := range paths {
			t.Run(tt.name+"/"+p.name, func(t *testing.T) {
				err := p.do(newEnv(t), tt.ack)
				var ie *lifecycle.InputError
				if !errors.As(err, &ie) {
					t.Fatalf("R21: error %v is not an *InputError", err)
				}
				if msg := err.Error(); !utf8.ValidString(msg) || strings.Contains(msg, "\x00") || strings.Contains(msg, long) {
					t.Errorf("R21: the refusal repeats the raw input: %q", msg)
				}
			})
		}
	}
}

// TestR21IDsAreText: a bot or schedule id, a user or a list cursor that a
// caller passes is text (R21) on every path that names one - commands and
// reads alike: valid UTF-8 without NUL, 1 to MaxIDBytes bytes. A violation
// is an input error (not "not found") that changes nothing, is not
// audited and does not repeat the raw bytes; the permission is checked
// first (P1).
func TestR21IDsAreText(t *testing.T) {
	long := strings.Repeat("b", lifecycle.MaxIDBytes+1)
	for _, bad := range []string{"", "x\xffy", "a\x00b", long} {
		paths := []struct {
			name string
			who  lifecycle.Actor
			do   func(e *env, a lifecycle.Actor) error
		}{
			{"activate", manager, func(e *env, a lifecycle.Actor) error {
				_, err := e.m.Activate(e.ctx, a, lifecycle.BotID(bad), lifecycle.Immediate(), lifecycle.Ack{})
				return err
			}},
			{"deactivate", manager, func(e *env, a lifecycle.Actor) error {
				_, err := e.m.Deactivate(e.ctx, a, lifecycle.BotID(bad), 0)
				return err
			}},
			{"end grace", manager, func(e *env, a lifecycle.Actor) error {
				_, err := e.m.EndGrace(e.ctx, a, lifecycle.BotID(bad))
				return err
			}},
			{"rollback", manager, func(e *env, a lifecycle.Actor) error {
				_, err := e.m.Rollback(e.ctx, a, lifecycle.BotID(bad), lifecycle.Immediate(), lifecycle.Ack{})
				return err
			}},
			{"update", designer, func(e *env, a lifecycle.Actor) error {
				_, err := e.m.Update(e.ctx, a, lifecycle.Update{Bot: lifecycle.BotID(bad)})
				return err
			}},
			{"delete", designer, func(e *env, a lifecycle.Actor) error { return e.m.Delete(e.ctx, a, lifecycle.BotID(bad)) }},
			{"duplicate", designer, func(e *env, a lifecycle.Actor) error {
				_, err := e.m.Duplicate(e.ctx, a, lifecycle.BotID(bad), "")
				return err
			}},
			{"open test session", designer, func(e *env, a lifecycle.Actor) error {
				_, err := e.m.OpenTestSession(e.ctx, a, lifecycle.BotID(bad))
				return err
			}},
			{"schedule", manager, func(e *env, a lifecycle.Actor) error {
				_, err := e.m.Schedule(e.ctx, a, e.clk.Now().Add(time.Hour), lifecycle.Deactivate{Bot: lifecycle.BotID(bad)})
				return err
			}},
			{"cancel schedule", manager, func(e *env, a lifecycle.Actor) error {
				_, err := e.m.CancelSchedule(e.ctx, a, lifecycle.ScheduleID(bad))
				return err
			}},
			{"get", manager, func(e *env, a lifecycle.Actor) error { _, err := e.m.Get(e.ctx, a, lifecycle.BotID(bad)); return err }},
			{"validate", manager, func(e *env, a lifecycle.Actor) error {
				_, err := e.m.Validate(e.ctx, a, lifecycle.BotID(bad))
				return err
			}},
			{"export", designer, func(e *env, a lifecycle.Actor) error {
				_, err := e.m.Export(e.ctx, a, lifecycle.BotID(bad))
				return err
			}},
			{"get schedule", manager, func(e *env, a lifecycle.Actor) error {
				_, err := e.m.GetSchedule(e.ctx, a, lifecycle.ScheduleID(bad))
				return err
			}},
			{"user roles", admin, func(e *env, a lifecycle.Actor) error { _, err := e.m.UserRoles(e.ctx, a, bad); return err }},
		}
		if bad != "" { // "" is the first page
			paths = append(paths, struct {
				name string
				who  lifecycle.Actor
				do   func(e *env, a lifecycle.Actor) error
			}{"list", manager, func(e *env, a lifecycle.Actor) error {
				_, err := e.m.List(e.ctx, a, lifecycle.BotID(bad), 10)
				return err
			}})
		}
		for _, p := range paths {
			t.Run(p.name+"/"+strconv.Quote(bad[:min(len(bad), 8)]), func(t *testing.T) {
				e := newEnv(t)
				e.live("b", "100")
				err := e.refused(lifecycle.ErrInvalidInput, false, func() error { return p.do(e, p.who) })
				var ie *lifecycle.InputError
				if !errors.As(err, &ie) || errors.Is(err, lifecycle.ErrNotFound) {
					t.Fatalf("R21: error %v is not an *InputError alone", err)
				}
				if msg := err.Error(); !utf8.ValidString(msg) || strings.Contains(msg, "\x00") || strings.Contains(msg, long) {
					t.Errorf("R21: the refusal repeats the raw input: %q", msg)
				}
				// P1: a stranger is refused on permission grounds first.
				e.refused(lifecycle.ErrForbidden, true, func() error { return p.do(e, stranger) })
			})
		}
	}
}
