package telemetry

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"testing"

	"github.com/botlife/botlife/lifecycle"
)

// uncomparable is an error whose == panics.
type uncomparable []string

func (uncomparable) Error() string { return "uncomparable" }

// Issue 28: every kind lifecycle documents has its own stable snake_case
// outcome; refusals are not failures, a failed or unavailable store, an
// exhausted conflict and a deadline are; an unknown kind is "other", a
// failure, and never a panic.
func TestOutcomes(t *testing.T) {
	refusals := []error{lifecycle.ErrForbidden, lifecycle.ErrNotFound, lifecycle.ErrNotEditable, lifecycle.ErrNotDeletable,
		lifecycle.ErrInvalidTransition, lifecycle.ErrSenderOccupied, lifecycle.ErrValidation, lifecycle.ErrWarningsNotAcknowledged,
		lifecycle.ErrNoRollback, lifecycle.ErrContentChanged, lifecycle.ErrLastAdmin, lifecycle.ErrRoleHeld, lifecycle.ErrRoleNotHeld,
		lifecycle.ErrUnknownRole, lifecycle.ErrInvalidInput, lifecycle.ErrNoBot, lifecycle.ErrSenderClaimed,
		lifecycle.ErrTestSessionLimit, lifecycle.ErrSessionOver, context.Canceled}
	failures := []error{lifecycle.ErrConflict, lifecycle.ErrUnavailable, lifecycle.ErrStore, context.DeadlineExceeded}
	snake := regexp.MustCompile(`^[a-z]+(_[a-z]+)*$`)
	seen := map[string]error{}
	for i, k := range append(refusals, failures...) {
		o := outcomeOf(k)
		if !snake.MatchString(o.name) || o.name == "ok" || o.name == "other" {
			t.Errorf("%v: outcome %q", k, o.name)
		}
		if prev, ok := seen[o.name]; ok {
			t.Errorf("%v and %v share outcome %q", prev, k, o.name)
		}
		seen[o.name] = k
		if o.failure != (i >= len(refusals)) {
			t.Errorf("%v: failure %v", k, o.failure)
		}
	}
	if o := outcomeOf(nil); o != (outcome{"ok", false}) {
		t.Errorf("nil: %+v", o)
	}
	if o := outcomeOf(fmt.Errorf("wrapped: %w", lifecycle.ErrNoBot)); o.name != "no_bot" {
		t.Errorf("wrapped kind: %+v", o)
	}
	for _, k := range []error{errors.New("new kind"), uncomparable{"x"}} {
		if o := outcomeOf(k); o != (outcome{"other", true}) {
			t.Errorf("%v: %+v, want other", k, o)
		}
	}
}
