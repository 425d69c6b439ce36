package sqlite_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/benbjohnson/clock"
	"github.com/botlife/botlife/lifecycle"
	"github.com/botlife/botlife/roles"
	"github.com/botlife/botlife/validate"
)

// R26: a message on a test session that is over is refused with
// ErrSessionOver, the refusal DecideRoute decides - not a store that did
// not answer (ErrUnavailable, which a caller retries and an HTTP service
// answers 503).
func TestR26SessionOverIsNotUnavailable(t *testing.T) {
	ctx := context.Background()
	st := newStore(t)
	clk := clock.NewMock()
	clk.Set(t0)
	m, err := lifecycle.New(lifecycle.Config{Store: st, Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.GrantRole(ctx, lifecycle.System("test"), "dan", roles.Designer); err != nil {
		t.Fatal(err)
	}
	dan := lifecycle.User("dan")
	def, err := lifecycle.ReferenceDefinition(validate.Definition{EntryDialog: "hi", Dialogs: []validate.Dialog{
		{ID: "hi", Name: "Hi", Elements: []validate.Element{{Type: validate.Text, Text: "Hello!"}, {Type: validate.Close}}}}})
	if err != nil {
		t.Fatal(err)
	}
	b, err := m.Create(ctx, dan, lifecycle.Create{Name: "d", Channel: "sms", Definition: def})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.OpenTestSession(ctx, dan, b.ID); err != nil {
		t.Fatal(err)
	}
	ss, err := st.Sessions(ctx, "", 0, 10)
	if err != nil || len(ss) != 1 {
		t.Fatal(ss, err)
	}
	clk.Add(time.Minute)
	def.Text += " "
	if _, err := m.Update(ctx, dan, lifecycle.Update{Bot: b.ID, Definition: &def}); err != nil {
		t.Fatal(err)
	}
	clk.Add(time.Minute)
	_, err = st.Route(ctx, "", ss[0].Sender, ss[0].EndUser, clk.Now())
	if !errors.Is(err, lifecycle.ErrSessionOver) || errors.Is(err, lifecycle.ErrUnavailable) {
		t.Errorf("R26: Route on a test session over = %v; want ErrSessionOver and not ErrUnavailable", err)
	}
}

// Times come back as the same instant in UTC (package documentation): the
// session Route returns equals the one stored, whatever the location of
// the now it was given, on a new session and on an open one.
func TestRouteTimesInUTC(t *testing.T) {
	ctx := context.Background()
	st := newStore(t)
	snd := lifecycle.Sender{Channel: "sms", Address: "1"}
	b := lifecycle.Bot{ID: "b", Name: "b", Channel: "sms", State: lifecycle.Active, Revision: 1, Activations: 1,
		Senders: []lifecycle.Sender{snd}, Live: []lifecycle.SenderState{{Sender: snd, State: lifecycle.Active, Activation: 1}}}
	if _, err := st.Commit(ctx, lifecycle.Plan{Changes: []lifecycle.Change{{Bot: "b", To: lifecycle.Active, After: &b}}}); err != nil {
		t.Fatal(err)
	}
	east := time.FixedZone("UTC+3", 3*60*60)
	for i, now := range []time.Time{t0.In(east), t0.Add(time.Second).In(east)} {
		got, err := st.Route(ctx, "", snd, "u", now)
		if err != nil {
			t.Fatal(err)
		}
		stored, err := sessionByID(ctx, st, got.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got != stored || got.LastActivityAt.Location() != time.UTC || got.OpenedAt.Location() != time.UTC {
			t.Errorf("message %d: Route returned %+v, stored %+v; want the same, in UTC", i+1, got, stored)
		}
	}
	got, err := st.CloseSession(ctx, "", 1, lifecycle.CloseCompleted, t0.Add(time.Minute).In(east))
	if err != nil {
		t.Fatal(err)
	}
	if stored, err := sessionByID(ctx, st, 1); err != nil || got != stored || got.ClosedAt.Location() != time.UTC {
		t.Errorf("CloseSession returned %+v, stored %+v (%v); want the same, in UTC", got, stored, err)
	}
}
