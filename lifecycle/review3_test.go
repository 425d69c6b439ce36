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
