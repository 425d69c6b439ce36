package api_test

import (
	"context"
	"strings"
	"testing"

	"github.com/botlife/botlife/examples/httpserver/api"
	"github.com/botlife/botlife/examples/httpserver/api/apitest"
	"github.com/botlife/botlife/lifecycle"
	"github.com/botlife/botlife/store"
)

// beforeCommit is a store that runs a hook once before the first commit
// of an operation: another request's change landing between a decision
// and its commit.
type beforeCommit struct {
	lifecycle.Store
	op   lifecycle.Op
	hook func()
}

func (s *beforeCommit) Commit(ctx context.Context, p lifecycle.Plan) ([]lifecycle.AuditEntry, error) {
	if p.Op == s.op && s.hook != nil {
		hook := s.hook
		s.hook = nil
		hook()
	}
	return s.Store.Commit(ctx, p)
}

// RFC 9110: If-Match answers 412 only when the bot's revision is not the
// one it names. A change committed between the decision and its commit
// that leaves the target bot's revision as it was - here a tester opening
// a test session on the bot the activation replaces - is decided again,
// as the same request without If-Match is; it was a 412 saying the
// target bot had changed, though its ETag still matched.
func TestIfMatchSurvivesAConflictElsewhere(t *testing.T) {
	st := &beforeCommit{Store: store.NewMemory(), op: lifecycle.OpActivate}
	c, m := demoService(t, lifecycle.Config{Store: st, Clock: mockAtStart()})
	var a, b api.Bot
	c.Do("POST", "/bots", "mia", apitest.BotJSON).JSON(t, &a)
	if r := c.Do("POST", "/bots/"+a.ID+"/activate", "mia", ""); r.Status != 200 {
		t.Fatalf("activate %s: %d %s", a.ID, r.Status, r.Body)
	}
	r := c.Do("POST", "/bots", "mia", strings.Replace(apitest.BotJSON, "Pizza", "Pizza 2", 1))
	r.JSON(t, &b)
	etag := r.Header.Get("ETag")

	st.hook = func() { // a tester opens a test session on a, the bot b replaces
		if _, err := m.OpenTestSession(context.Background(), lifecycle.User("dan"), lifecycle.BotID(a.ID)); err != nil {
			t.Errorf("the concurrent test session: %v", err)
		}
	}
	r = c.Do("POST", "/bots/"+b.ID+"/activate", "mia", `{"decision":"immediate"}`, "If-Match: "+etag)
	if got := c.Do("GET", "/bots/"+b.ID, "mia", "").Header.Get("ETag"); r.Status == 412 && got == etag {
		t.Fatalf("412 though %s is still at %s: %s", b.ID, etag, r.Body)
	}
	if r.Status != 200 {
		t.Fatalf("activate %s with If-Match: %d %s", b.ID, r.Status, r.Body)
	}
	if st.hook != nil {
		t.Fatal("the concurrent change did not run")
	}
}
