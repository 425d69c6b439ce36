package lifecycle_test

import (
	"errors"
	"testing"
	"time"

	"github.com/botlife/botlife/lifecycle"
)

// R26, R16: closing a test session that idled out is refused (ErrSessionOver):
// a refused operation changes nothing, so no "closed" audit entry claims the
// tester closed it at now, after it was already over.
func TestR26RefusedCloseIsNotAudited(t *testing.T) {
	e := newEnv(t)
	b, ts := e.tested(t)
	e.clk.Add(b.IdleTimeout + time.Minute)
	before, err := e.m.AuditLog(e.ctx, admin, 0, 10000)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.m.CloseTestSession(e.ctx, designer, ts.ID); !errors.Is(err, lifecycle.ErrSessionOver) {
		t.Fatalf("closing an idled-out test session: %v; want ErrSessionOver", err)
	}
	after, err := e.m.AuditLog(e.ctx, admin, 0, 10000)
	if err != nil {
		t.Fatal(err)
	}
	if len(after) != len(before) {
		t.Fatalf("R26/R16: the refused close appended %d audit entries: %+v", len(after)-len(before), after[len(before):])
	}
}

// R26, R9: a test session of a bot that was deleted is over with
// content_changed, and reads the same before and after a sweep recorded it -
// also when a new bot was since created with the deleted bot's id.
func TestR26DeletedBotIDReusedTestSessionEnd(t *testing.T) {
	for _, reuse := range []bool{false, true} {
		t.Run(map[bool]string{false: "id not reused", true: "id reused"}[reuse], func(t *testing.T) {
			e := newEnv(t)
			create := func() {
				e.must(e.m.Create(e.ctx, designer, lifecycle.Create{ID: "x", Name: "d", Channel: "sms", Senders: []lifecycle.Sender{sms("100")}, Definition: cleanDef()}))
			}
			create()
			ts, err := e.m.OpenTestSession(e.ctx, designer, "x")
			if err != nil {
				t.Fatal(err)
			}
			e.clk.Add(time.Minute)
			if err := e.m.Delete(e.ctx, designer, "x"); err != nil {
				t.Fatal(err)
			}
			if reuse {
				create()
			}
			e.clk.Add(time.Minute)
			before, err := e.m.TestSession(e.ctx, designer, ts.ID)
			if err != nil {
				t.Fatal(err)
			}
			e.must(e.m.ExpireDue(e.ctx))
			after, err := e.m.TestSession(e.ctx, designer, ts.ID)
			if err != nil {
				t.Fatal(err)
			}
			if before.Open() || before.CloseReason != after.CloseReason || !before.ClosedAt.Equal(after.ClosedAt) {
				t.Fatalf("R26/R9: before the sweep %s at %v; after it %s at %v; want over, the same", before.CloseReason, before.ClosedAt, after.CloseReason, after.ClosedAt)
			}
		})
	}
}

// R26: a bot deleted and created again with the same id at the same instant
// (the injected clock did not move) takes a test session like any bot.
func TestR26SameInstantIDReuseOpensTestSession(t *testing.T) {
	e := newEnv(t)
	create := func() {
		e.must(e.m.Create(e.ctx, designer, lifecycle.Create{ID: "x", Name: "d", Channel: "sms", Senders: []lifecycle.Sender{sms("100")}, Definition: cleanDef()}))
	}
	create()
	e.must(e.m.OpenTestSession(e.ctx, designer, "x"))
	if err := e.m.Delete(e.ctx, designer, "x"); err != nil {
		t.Fatal(err)
	}
	create()
	if _, err := e.m.OpenTestSession(e.ctx, designer, "x"); err != nil {
		t.Fatalf("R26: opening a test session on the new bot x: %v", err)
	}
}
