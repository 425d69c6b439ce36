package lifecycle_test

import (
	"testing"
	"time"

	"github.com/botlife/botlife/lifecycle"
)

// R9: a session's end - time and reason - is that of the activation it was
// opened in, the same whether a sweep ran or not: an idle timeout set on
// the bot after that activation ended does not rewrite it.
func TestR9SessionEndSurvivesALaterIdleTimeoutEdit(t *testing.T) {
	var got [2]lifecycle.Session
	for i, sweep := range []bool{false, true} {
		e := newEnv(t)
		b := e.live("a", "100")
		s, err := e.m.Route(e.ctx, sms("100"), "u1")
		if err != nil {
			t.Fatal(err)
		}
		e.clk.Add(5 * time.Minute)
		if _, err := e.m.Deactivate(e.ctx, manager, b.ID, 0); err != nil {
			t.Fatal(err)
		}
		ended := e.clk.Now()
		e.clk.Add(time.Minute)
		if sweep {
			e.must(e.m.ExpireDue(e.ctx))
		}
		if _, err := e.m.Update(e.ctx, designer, lifecycle.Update{Bot: b.ID, IdleTimeout: ptr(time.Minute)}); err != nil {
			t.Fatal(err)
		}
		e.clk.Add(time.Minute)
		if got[i], err = e.m.Session(e.ctx, s.ID); err != nil {
			t.Fatal(err)
		}
		if got[i].CloseReason != lifecycle.CloseDeactivated || !got[i].ClosedAt.Equal(ended) {
			t.Errorf("R9 (sweep before the edit %v): session reads %s at %v; want deactivated at %v, when its activation ended",
				sweep, got[i].CloseReason, got[i].ClosedAt, ended)
		}
	}
}

// R26 with R9: an edit that changes a bot's content and its idle timeout
// at once ends its test sessions then, as content_changed: the shorter
// idle timeout it sets never makes one read over since before the edit
// (a read just before said it was open).
func TestR26ContentEditWithAShorterIdleTimeoutEndsTestSessionsThen(t *testing.T) {
	e := newEnv(t)
	b, ts := e.tested(t)
	e.clk.Add(20 * time.Minute)
	if read, err := e.m.TestSession(e.ctx, designer, ts.ID); err != nil || !read.Open() {
		t.Fatalf("before the edit: %+v, %v; want open", read, err)
	}
	def := cleanRef()
	def.Dialogs[0].Elements[0].Text = "Hello again"
	if _, err := e.m.Update(e.ctx, designer, lifecycle.Update{Bot: b.ID, Definition: ptr(refDef(def)), IdleTimeout: ptr(5 * time.Minute)}); err != nil {
		t.Fatal(err)
	}
	edited := e.clk.Now()
	e.clk.Add(time.Minute)
	wantOver(t, e, ts.ID, lifecycle.CloseContentChanged, edited, "after the edit")
}
