package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"

	"github.com/botlife/botlife/lifecycle"
)

// Test sessions (R26). A user holding "Test chatbots" opens a test session
// on a bot in any state, Draft included, and talks to it without a sender:
//
//	POST /bots/{id}/test-sessions             open one (201, Location); ?dry_run=true
//	                                          answers the plan, which POST
//	                                          /plans/{id}/apply opens (201)
//	POST /test-sessions/{id}/messages         one message of the tester (200)
//	GET  /test-sessions/{id}                  the test session as seen now (200)
//	POST /test-sessions/{id}/close            close it (200)
//
// Only the tester who opened a test session may use it: another user's is
// 404 not-found, never 403. A test session is pinned to the content it was
// opened on; once the bot's definition or senders change (or the bot is
// deleted), or it idles out, it is over: a message or a close answers 409
// session-over with close_reason and closed_at, and GET answers it with
// them. Past Policy.MaxTestSessions open on a bot, opening answers 409
// test-session-limit. The test session id is opaque and holds the bot id
// and the tester's: percent-encode it in a path, or follow Location.

// maxTestSessionID bounds the test session ids taken from paths (R21): a
// bot id and a tester id (each up to maxID), and the numbers and
// separators around them (session, slot, length, incarnation, test number:
// under 96 bytes).
const maxTestSessionID = 2*maxID + 96

// testSessionPath is the path of test session id.
func testSessionPath(id lifecycle.TestSessionID) string {
	return "/test-sessions/" + url.PathEscape(string(id))
}

// testSessionID reads the {id} path value.
func testSessionID(r *http.Request) (lifecycle.TestSessionID, error) {
	id := r.PathValue("id")
	if len(id) > maxTestSessionID {
		return "", &lifecycle.InputError{Field: "test session id", Value: "", Problem: fmt.Sprintf("is longer than %d bytes; use the id POST /bots/{id}/test-sessions answered", maxTestSessionID)}
	}
	return lifecycle.TestSessionID(id), nil
}

// testSessionCreated answers a test session just opened: 201 with its
// Location.
func testSessionCreated(ts lifecycle.TestSession) (reply, error) {
	rep := reply{status: http.StatusCreated, body: testSession(ts), header: http.Header{}}
	rep.header.Set("Location", testSessionPath(ts.ID))
	return rep, nil
}

// openTestSession is POST /bots/{id}/test-sessions. With ?dry_run=true it
// answers the plan (R17); with If-Match it opens one only while the bot is
// at that revision, so a tester tries exactly the content they read.
func (s *Server) openTestSession(r *http.Request, who caller) (reply, error) {
	id, err := botID(r)
	if err != nil {
		return reply{}, err
	}
	if err := s.decode(r, &emptyRequest{}, bodyMayBeEmpty); err != nil {
		return reply{}, err
	}
	var ts lifecycle.TestSession
	open := committer{
		apply: func(c context.Context, actor lifecycle.Actor, _ lifecycle.Command) (lifecycle.Plan, error) {
			var e error
			ts, e = who.m.OpenTestSession(c, actor, id)
			return lifecycle.Plan{}, openConflict(id, e)
		},
		applyPlan: func(c context.Context, p lifecycle.Plan) (lifecycle.Plan, error) {
			var e error
			ts, e = who.m.ApplyTestPlan(c, p)
			return p, openConflict(id, e)
		},
	}
	p, dry, err := s.changeWith(r, who, lifecycle.OpenTestSession{Bot: id}, id, open)
	if err != nil || dry {
		return s.dryRunOr(who, p, err)
	}
	return testSessionCreated(ts)
}

// openConflict is the answer to err, the error of opening a test session
// on bot: a conflict may come after the lease was committed and audited as
// opened (its route kept conflicting, R26), so a retry of the request
// would open a second test session while the first lease holds a slot.
// Its answer is final - no Retry-After, kept under an Idempotency-Key
// (R15), with If-Match too never a 412 that says nothing was done - and
// says to open again as a new request. A plan ApplyTestPlan refused before
// committing anything (R17: a ConflictError whose Fix says what to do,
// "plan again") is err as it is: nothing was opened, and its detail says
// what moved. Other errors are err.
func openConflict(bot lifecycle.BotID, err error) error {
	var ce *lifecycle.ConflictError
	if !errors.Is(err, lifecycle.ErrConflict) || errors.As(err, &ce) && ce.Fix != "" {
		return err
	}
	return &finalError{fmt.Errorf("opening a test session on bot %s conflicted with other changes of the bot: its lease may be committed "+
		"(audited as opened) without its session, holding a slot until it idles out; open one again as a new request, "+
		"with a new Idempotency-Key if you sent one: %w", bot, lifecycle.ErrConflict)}
}

// sendTest is POST /test-sessions/{id}/messages: one message of the
// tester on their test session, routed as the gateway's are on a live one
// (R10). Its body is empty: the library routes messages, it does not read
// them.
func (s *Server) sendTest(r *http.Request, who caller) (reply, error) {
	return s.onTestSession(r, who, who.m.SendTest)
}

// getTestSession is GET /test-sessions/{id}.
func (s *Server) getTestSession(r *http.Request, who caller) (reply, error) {
	return s.onTestSession(r, who, who.m.TestSession)
}

// closeTestSession is POST /test-sessions/{id}/close.
func (s *Server) closeTestSession(r *http.Request, who caller) (reply, error) {
	return s.onTestSession(r, who, who.m.CloseTestSession)
}

// onTestSession runs op on the test session {id} as who and answers it.
func (s *Server) onTestSession(r *http.Request, who caller,
	op func(context.Context, lifecycle.Actor, lifecycle.TestSessionID) (lifecycle.TestSession, error)) (reply, error) {
	id, err := testSessionID(r)
	if err != nil {
		return reply{}, err
	}
	if r.Method == http.MethodPost {
		if err := s.decode(r, &emptyRequest{}, bodyMayBeEmpty); err != nil {
			return reply{}, err
		}
	}
	ts, err := op(ctx(r), who.user(), id)
	if err != nil {
		return reply{}, err
	}
	return ok(testSession(ts))
}
