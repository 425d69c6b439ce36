package lifecycle_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/botlife/botlife/lifecycle"
	"github.com/google/go-cmp/cmp"
)

// R23 (issue 23, defect 6): a schedule pins the bot's content, not its
// edits. Three activations are scheduled for one instant: one bot is only
// renamed (with a new description and idle timeout), one has its
// definition edited and edited back byte for byte, and one has its
// definition changed. The first two run; the third is refused, says the
// bot changed since it was scheduled, is no "invalid input", and changes
// no bot.
func TestR23SchedulePinsContentNotEdits(t *testing.T) {
	e := newEnv(t)
	renamed, back, changed := e.draft("renamed", "100"), e.draft("back", "200"), e.draft("changed", "300")
	at := e.clk.Now().Add(time.Hour)
	schedule := func(b lifecycle.Bot) lifecycle.Schedule {
		sc, err := e.m.Schedule(e.ctx, manager, at, lifecycle.Activate{Bot: b.ID, Decision: lifecycle.Immediate()})
		if err != nil {
			t.Fatal(err)
		}
		return sc
	}
	scRenamed, scBack, scChanged := schedule(renamed), schedule(back), schedule(changed)
	def := cleanDef()
	def.Text += "\n"
	for _, u := range []lifecycle.Update{
		{Bot: renamed.ID, Name: ptr("renamed again"), Description: ptr("new"), IdleTimeout: ptr(time.Minute)},
		{Bot: back.ID, Definition: &def},
		{Bot: back.ID, Definition: ptr(cleanDef())},
		{Bot: changed.ID, Definition: &def},
	} {
		e.must(e.m.Update(e.ctx, designer, u))
	}
	e.clk.Set(at)
	beforeChanged := e.get(changed.ID)
	if _, err := e.m.ExpireDue(e.ctx); err != nil {
		t.Fatal(err)
	}
	for _, sc := range []lifecycle.Schedule{scRenamed, scBack} {
		got, _ := e.m.GetSchedule(e.ctx, manager, sc.ID)
		if got.Status != lifecycle.ScheduleDone || e.state(sc.Action.Bot) != lifecycle.Active {
			t.Errorf("R23: the schedule of %s, whose content did not change: %s %q; bot %v", sc.Action.Bot, got.Status, got.Outcome, e.state(sc.Action.Bot))
		}
	}
	got, _ := e.m.GetSchedule(e.ctx, manager, scChanged.ID)
	if got.Status != lifecycle.ScheduleRefused || !strings.Contains(got.Outcome, "changed since it was scheduled") ||
		strings.Contains(got.Outcome, "invalid") {
		t.Errorf("R23: the schedule of the changed bot: %s %q", got.Status, got.Outcome)
	}
	if diff := cmp.Diff(beforeChanged, e.get(changed.ID)); diff != "" {
		t.Errorf("R23: the refused run changed the bot (-before +after):\n%s", diff)
	}
	err := lifecycle.CheckContent(scChanged, e.get(changed.ID))
	var ce *lifecycle.ContentChangedError
	if !errors.Is(err, lifecycle.ErrContentChanged) || errors.Is(err, lifecycle.ErrInvalidInput) || !errors.As(err, &ce) ||
		ce.Bot != changed.ID || ce.Schedule != scChanged.ID || !cmp.Equal(ce.Changed, []string{"definition"}) {
		t.Errorf("R23: CheckContent of the changed bot = %#v", err)
	}
	if err := lifecycle.CheckContent(scRenamed, e.get(renamed.ID)); err != nil {
		t.Errorf("R23: CheckContent of the renamed bot = %v", err)
	}
}
