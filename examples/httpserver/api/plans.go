package api

import (
	"container/list"
	"crypto/rand"
	"encoding/hex"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/botlife/botlife/lifecycle"
)

// Dry-run plans are kept so that a client can apply exactly the plan it
// saw (R17): a dry run answers the plan with an id and Location
// /plans/{id}; POST /plans/{id}/apply commits that plan through
// Manager.ApplyPlan - the same ids, changes and audit entries - or answers
// 409 conflict when the bots or roles it read have moved. A plan that opens
// a test session (R26) answers the test session, 201 with Location. Only the user who
// made the plan may apply it, once, and only in the workspace they made it
// in (R27): a plan id of another user or workspace is not found. Memory is bounded: at most
// maxKeptPlans plans, each kept for the Manager's Policy.MaxPlanAge.

const maxKeptPlans = 1000

type keptPlan struct {
	id   string
	who  Principal // the user and the workspace that made it (R27)
	plan lifecycle.Plan
	at   time.Time
	elem *list.Element
}

type planStore struct {
	mu    sync.Mutex
	ttl   time.Duration
	now   func() time.Time
	plans map[string]*keptPlan
	order list.List
}

func newPlanStore(ttl time.Duration, now func() time.Time) *planStore {
	return &planStore{ttl: ttl, now: now, plans: map[string]*keptPlan{}}
}

// keep stores p for who and returns its id.
func (s *planStore) keep(who Principal, p lifecycle.Plan) string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	id := "plan_" + hex.EncodeToString(b[:])
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	s.evict(now)
	k := &keptPlan{id: id, who: who, plan: p, at: now}
	k.elem = s.order.PushBack(k)
	s.plans[id] = k
	for len(s.plans) > maxKeptPlans {
		s.remove(s.order.Front().Value.(*keptPlan))
	}
	return id
}

// take removes and returns the plan id of who: of the same user in the
// same workspace.
func (s *planStore) take(who Principal, id string) (lifecycle.Plan, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.evict(s.now())
	k, ok := s.plans[id]
	if !ok || k.who != who {
		return lifecycle.Plan{}, false
	}
	s.remove(k)
	return k.plan, true
}

func (s *planStore) evict(now time.Time) {
	for f := s.order.Front(); f != nil; f = s.order.Front() {
		k := f.Value.(*keptPlan)
		if now.Sub(k.at) <= s.ttl {
			return
		}
		s.remove(k)
	}
}

func (s *planStore) remove(k *keptPlan) {
	s.order.Remove(k.elem)
	delete(s.plans, k.id)
}

// dryRunReply answers a dry run's plan with its id and Location.
func (s *Server) dryRunReply(who caller, p lifecycle.Plan) (reply, error) {
	id := s.plans.keep(who.Principal, p)
	out := plan(p, true)
	out.ID = id
	rep := reply{status: http.StatusOK, body: out, header: http.Header{}}
	rep.header.Set("Location", "/plans/"+url.PathEscape(id))
	return rep, nil
}

// applyKeptPlan is POST /plans/{id}/apply.
func (s *Server) applyKeptPlan(r *http.Request, who caller) (reply, error) {
	if err := s.decode(r, &emptyRequest{}, bodyMayBeEmpty); err != nil {
		return reply{}, err
	}
	id := r.PathValue("id")
	p, ok := s.plans.take(who.Principal, id)
	if !ok {
		return reply{}, &lifecycle.NotFoundError{Kind: "plan", ID: trunc(id)}
	}
	if _, open := p.Command.(lifecycle.OpenTestSession); open {
		// The plan opens a test session (R26): answer it, as opening does.
		ts, err := who.m.ApplyTestPlan(ctx(r), p)
		if err != nil {
			return reply{}, err
		}
		return testSessionCreated(ts)
	}
	committed, err := who.m.ApplyPlan(ctx(r), p)
	if err != nil {
		return reply{}, err
	}
	out := reply{status: http.StatusOK, body: plan(committed, false), header: http.Header{}}
	if len(committed.Changes) > 0 && committed.Changes[0].After != nil {
		out.header.Set("ETag", etag(committed.Changes[0].After.Revision))
	}
	return out, nil
}
