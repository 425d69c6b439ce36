package lifecycle_test

import (
	"errors"
	"strconv"
	"testing"

	"github.com/botlife/botlife/lifecycle"
)

// R26, R21: a test session id no Manager made - here one shaped like a
// Manager's but naming a bot id that is not text, so no bot has it - is
// not found on every test session path alike, CloseTestSession included
// (as for any other id no Manager made): no tester's own test session is
// named by it, and the id is the Manager's handle, not text the caller
// chose. It was an input error from CloseTestSession alone, once bot ids
// were checked as text in Decide.
func TestR26TestSessionIDNamingNoBotIsNotFound(t *testing.T) {
	for _, bot := range []string{" ", "a\xffb", "a\x00b"} {
		id := lifecycle.TestSessionID("1.1~" + strconv.Itoa(len(bot)) + "~" + bot + "~5.1~dan")
		paths := map[string]func(e *env) error{
			"send": func(e *env) error { _, err := e.m.SendTest(e.ctx, designer, id); return err },
			"read": func(e *env) error { _, err := e.m.TestSession(e.ctx, designer, id); return err },
			"close": func(e *env) error {
				_, err := e.m.CloseTestSession(e.ctx, designer, id)
				return err
			},
		}
		for name, do := range paths {
			t.Run(name+"/"+strconv.Quote(bot), func(t *testing.T) {
				e := newEnv(t)
				e.openTest()
				if err := do(e); !errors.Is(err, lifecycle.ErrNotFound) || errors.Is(err, lifecycle.ErrInvalidInput) {
					t.Errorf("R26: %s of a test session id naming no bot: %v; want ErrNotFound", name, err)
				}
				if name == "close" { // P1: the permission first, a refusal audited
					e.refused(lifecycle.ErrForbidden, true, func() error { _, err := e.m.CloseTestSession(e.ctx, stranger, id); return err })
				}
			})
		}
	}
}
