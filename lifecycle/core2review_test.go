package lifecycle_test

import (
	"errors"
	"testing"
	"time"

	"github.com/botlife/botlife/lifecycle"
	"github.com/botlife/botlife/roles"
)

// R11, R13: a bot made with the policy's idle timeout can be duplicated
// (the redeploy of R11) and its export imported again (R13). A policy idle
// timeout longer than a bot's own may be (MaxIdleTimeout) gave bots one
// that Duplicate and Import then refused ("invalid idle timeout"): New
// refuses it, and Decide, given it in a hand-built Snapshot, holds it to
// MaxIdleTimeout.
func TestR13PolicyIdleTimeoutIsOneABotMayHave(t *testing.T) {
	e := newEnv(t)
	long := lifecycle.MaxIdleTimeout + time.Hour
	if _, err := lifecycle.New(lifecycle.Config{Store: e.st, Policy: lifecycle.Policy{IdleTimeout: long}}); !errors.Is(err, lifecycle.ErrInvalidInput) {
		t.Errorf("New with Policy.IdleTimeout %v = %v, want ErrInvalidInput", long, err)
	}
	if _, err := lifecycle.New(lifecycle.Config{Store: e.st, Policy: lifecycle.Policy{IdleTimeout: lifecycle.MaxIdleTimeout}}); err != nil {
		t.Errorf("New with Policy.IdleTimeout = MaxIdleTimeout: %v", err)
	}

	snap := lifecycle.Snapshot{Actor: designer, ActorRoles: 1 << roles.Designer, Policy: lifecycle.Policy{IdleTimeout: long}}
	p, err := lifecycle.Decide(snap, lifecycle.Create{ID: "b", Name: "b", Channel: "sms", Senders: []lifecycle.Sender{sms("100")}, Definition: cleanDef()}, start)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := p.Bot("b")
	if b.IdleTimeout != lifecycle.MaxIdleTimeout {
		t.Fatalf("idle timeout of a bot made with Policy.IdleTimeout %v = %v, want MaxIdleTimeout", long, b.IdleTimeout)
	}
	snap.Bots = []lifecycle.Bot{b}
	if _, err := lifecycle.Decide(snap, lifecycle.Duplicate{Bot: "b", ID: "c"}, start); err != nil {
		t.Errorf("R11: duplicating it = %v", err)
	}
}
