package storetest

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/botlife/botlife/lifecycle"
	"github.com/botlife/botlife/roles"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// other returns a harness on the same store in another workspace, named
// name after h's, with senders of its own.
func (h *harness) other(name string, pfx string) *harness {
	return &harness{t: h.t, st: h.st, ws: lifecycle.Workspace(name + string(h.ws)), pfx: h.pfx + pfx, ctx: h.ctx, now: h.now}
}

// testWorkspaceIsolation (R27): every read names its workspace; the ids,
// senders, sessions and sequence numbers of one are not found, empty or
// refused in another, and nothing done in one changes the other.
func testWorkspaceIsolation(t *testing.T, h *harness) {
	h.do(lifecycle.GrantRole{User: "amy", Role: roles.Admin})
	a := h.active("100")
	d := h.active("200")
	h.do(lifecycle.Deactivate{Bot: d.ID, Grace: time.Minute})
	h.schedule("s1", time.Hour, lifecycle.Deactivate{Bot: a.ID})
	s, err := h.st.Route(h.ctx, h.ws, h.sender("100"), "u1", h.now)
	if err != nil {
		t.Fatal(err)
	}
	mine := h.contents()

	o := h.other("rival", "8")
	h.now = h.now.Add(2 * time.Hour) // a's session idled out, d's drain and s1 are due in h's workspace
	o.now = h.now
	if _, err := o.st.Bot(o.ctx, o.ws, a.ID); !errors.Is(err, lifecycle.ErrNotFound) {
		t.Errorf("R27: Bot of another workspace's id = %v, want ErrNotFound", err)
	}
	if _, err := o.st.Schedule(o.ctx, o.ws, "s1"); !errors.Is(err, lifecycle.ErrNotFound) {
		t.Errorf("R27: Schedule of another workspace's id = %v, want ErrNotFound", err)
	}
	if live, last, err := o.st.SenderBots(o.ctx, o.ws, h.senders("100", "200"), noBot); err != nil || len(live) != 0 || last != nil {
		t.Errorf("R27: SenderBots of another workspace's senders = %v, %v, %v; want none", ids(live), last, err)
	}
	if rs, admins, err := o.st.Roles(o.ctx, o.ws, "amy"); err != nil || !rs.Empty() || admins != 0 {
		t.Errorf("R27: Roles in another workspace = %v, %d admins, %v; want none", rs, admins, err)
	}
	if _, err := o.st.Route(o.ctx, o.ws, h.sender("100"), "u1", o.now); !errors.Is(err, lifecycle.ErrNoBot) {
		t.Errorf("R27: Route on another workspace's sender = %v, want ErrNoBot", err)
	}
	if _, err := o.st.CloseSession(o.ctx, o.ws, s.ID, lifecycle.CloseCompleted, o.now); !errors.Is(err, lifecycle.ErrNotFound) {
		t.Errorf("R27: CloseSession of another workspace's session = %v, want ErrNotFound", err)
	}
	if due, err := o.st.Due(o.ctx, o.ws, o.now, 10); err != nil || len(due.Drains)+len(due.Schedules) != 0 {
		t.Errorf("R27: Due in another workspace = %d drains, %d schedules, %v; want none", len(due.Drains), len(due.Schedules), err)
	}
	if n, err := o.st.SweepSessions(o.ctx, o.ws, o.now, 10); err != nil || n != 0 {
		t.Errorf("R27: SweepSessions in another workspace closed %d, %v; want 0", n, err)
	}
	if x := o.expireDue(); len(x.DrainsEnded)+len(x.Schedules)+x.SessionsClosed != 0 {
		t.Errorf("R27: ExpireDue in another workspace settled %+v; want nothing", x)
	}
	if diff := cmp.Diff(contents{}, o.contents(), cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("R27: another workspace reads what it never wrote (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(mine, h.contents()); diff != "" {
		t.Errorf("R27: reading from another workspace changed this one (-before +after):\n%s", diff)
	}
	// The same ids in the other workspace are its own.
	o.do(lifecycle.Create{ID: a.ID, Name: "theirs", Channel: "sms", Senders: o.senders("100"), Definition: definition()})
	if got := h.bot(a.ID); got.Name != a.Name {
		t.Errorf("R27: a bot of the same id in another workspace replaced this one's: name %q", got.Name)
	}
	if got := o.bot(a.ID); got.Name != "theirs" || got.Workspace != o.ws {
		t.Errorf("R27: the other workspace's bot reads name %q in %q", got.Name, got.Workspace)
	}
	if got := h.bot(a.ID); got.Workspace != h.ws {
		t.Errorf("R27: the bot reads workspace %q, want %q", got.Workspace, h.ws)
	}
}

// testSenderClaims (R27): a real sender is named by the bots of one
// workspace at a time; a claim refusal changes nothing and names nothing
// of the other workspace; the sender is free once no bot of its workspace
// names it (senders edited, or the bot deleted).
func testSenderClaims(t *testing.T, h *harness) {
	o := h.other("rival", "8")
	a := h.create("100")
	b := h.create("100") // the same workspace: any number of its bots
	claimed := func(why string) {
		t.Helper()
		mine, theirs := h.contents(), o.contents()
		h.claimedAre(o, h.senders("300", "100"), h.senders("100"))
		h.claimedAre(h, h.senders("100", "300"), nil)
		p, err := o.plan(lifecycle.Create{ID: "theirs", Name: "theirs", Channel: "sms", Senders: h.senders("100"), Definition: definition()})
		if err != nil {
			t.Fatal(err)
		}
		_, err = o.st.Commit(o.ctx, p)
		var ce *lifecycle.ClaimError
		if !errors.Is(err, lifecycle.ErrSenderClaimed) || !errors.As(err, &ce) || ce.Sender != h.sender("100") {
			t.Fatalf("R27 (%s): claiming a sender another workspace's bots name: Commit = %v, want a *ClaimError for it", why, err)
		}
		for _, leak := range []string{string(a.ID), string(b.ID), string(h.ws) + "/"} {
			if leak != "/" && strings.Contains(err.Error(), leak) {
				t.Errorf("R27: the claim refusal %q names %q of the other workspace", err, leak)
			}
		}
		if diff := cmp.Diff(theirs, o.contents()); diff != "" {
			t.Fatalf("R27: a refused claim changed the claimant's workspace:\n%s", diff)
		}
		if diff := cmp.Diff(mine, h.contents()); diff != "" {
			t.Fatalf("R27: a refused claim changed the owner's workspace:\n%s", diff)
		}
	}
	claimed("two bots name it")
	h.do(lifecycle.Update{Bot: a.ID, Senders: ptr(h.senders("200"))})
	claimed("one bot still names it")
	h.do(lifecycle.Delete{Bot: b.ID})
	c := o.do(lifecycle.Create{ID: "theirs", Name: "theirs", Channel: "sms", Senders: h.senders("100"), Definition: definition()})
	if len(c.Changes) != 1 {
		t.Fatalf("R27: the sender no bot of its workspace names is free: %+v", c)
	}
	// Now it is theirs: this workspace's bots cannot take it back.
	h.claimedAre(h, h.senders("200", "100"), h.senders("100"))
	h.claimedAre(o, h.senders("100"), nil)
	p, err := h.plan(lifecycle.Update{Bot: a.ID, Senders: ptr(h.senders("100", "200"))})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.st.Commit(h.ctx, p); !errors.Is(err, lifecycle.ErrSenderClaimed) {
		t.Fatalf("R27: taking back a sender another workspace now names: Commit = %v, want ErrSenderClaimed", err)
	}
	// A plan that claims one sender and frees another is refused whole.
	if got := h.bot(a.ID); !cmp.Equal(got.Senders, h.senders("200")) {
		t.Fatalf("R27: a refused claim changed the bot's senders to %v", got.Senders)
	}
}

// claimedAre fails the test unless Store.Claimed in in's workspace
// returns want of senders: those a bot of another workspace names (R27).
func (h *harness) claimedAre(in *harness, senders, want []lifecycle.Sender) {
	h.t.Helper()
	got, err := h.st.Claimed(h.ctx, in.ws, senders)
	if err != nil || !cmp.Equal(got, want, cmpopts.EquateEmpty()) {
		h.t.Fatalf("R27: Claimed(%q, %v) = %v, %v; want %v", in.ws, senders, got, err, want)
	}
}

// testStalePlanNamingClaimedSender (R17, R27): a plan applied after the
// world moved is refused as a conflict - the Manager decides again - even
// when a sender it names has since been claimed by another workspace, and
// changes nothing.
func testStalePlanNamingClaimedSender(t *testing.T, h *harness) {
	a := h.create("200")
	stale := h.mustPlan(lifecycle.Update{Bot: a.ID, Senders: ptr(h.senders("100", "200"))})
	h.do(lifecycle.Update{Bot: a.ID, Name: ptr("renamed")})
	o := h.other("rival", "8")
	o.do(lifecycle.Create{ID: "theirs", Name: "theirs", Channel: "sms", Senders: h.senders("100"), Definition: definition()})
	h.refused(stale, "R17: a stale plan naming a sender another workspace claimed since")
}

// testSenderClaimRace (R27): workspaces racing to claim one sender - each
// committing a bot that names it - leave exactly one winner; every other
// commit is refused as claimed and leaves its workspace unchanged.
func testSenderClaimRace(t *testing.T, h *harness) {
	const racers, rounds = 6, 4
	for r := range rounds {
		s := h.sender(fmt.Sprintf("9%02d", r))
		var wg sync.WaitGroup
		errs := make([]error, racers)
		hs := make([]*harness, racers)
		for i := range racers {
			hs[i] = h.other(fmt.Sprintf("race%d-", i), "")
			p, err := hs[i].plan(lifecycle.Create{ID: lifecycle.BotID(fmt.Sprintf("r%d", r)), Name: "r", Channel: "sms", Senders: []lifecycle.Sender{s}, Definition: definition()})
			if err != nil {
				t.Fatal(err)
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, errs[i] = hs[i].st.Commit(hs[i].ctx, p)
			}()
		}
		wg.Wait()
		won := 0
		for i, err := range errs {
			switch {
			case err == nil:
				won++
			case errors.Is(err, lifecycle.ErrSenderClaimed):
				if _, err := hs[i].st.Bot(hs[i].ctx, hs[i].ws, lifecycle.BotID(fmt.Sprintf("r%d", r))); !errors.Is(err, lifecycle.ErrNotFound) {
					t.Errorf("R27: a refused claimant's bot was stored anyway (%v)", err)
				}
			default:
				t.Errorf("R27: a racing claim failed with %v, want success or ErrSenderClaimed", err)
			}
		}
		if won != 1 {
			t.Fatalf("R27: %d of %d workspaces racing for %s won; want exactly 1", won, racers, s)
		}
	}
}

// testAuditPerWorkspace (R16, R24, R27): committers in two workspaces at
// once: each workspace's audit log numbers its own entries 1..n, gap-free,
// in commit order, and holds no entry of the other.
func testAuditPerWorkspace(t *testing.T, h *harness) {
	const committers, each = 8, 12
	o := h.other("second", "8")
	var wg sync.WaitGroup
	for c := range committers {
		w := []*harness{h, o}[c%2]
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				if _, err := w.st.Commit(w.ctx, w.mustPlan(lifecycle.Create{ID: lifecycle.BotID(fmt.Sprintf("w-%d-%d", c, i)), Name: "w", Channel: "sms"})); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	for _, w := range []*harness{h, o} {
		log, err := w.st.AuditLog(w.ctx, w.ws, 0, 1<<30)
		if err != nil {
			t.Fatal(err)
		}
		if len(log) != committers/2*each {
			t.Fatalf("R27: workspace %q holds %d audit entries, want its own %d", w.ws, len(log), committers/2*each)
		}
		for i, e := range log {
			if e.Seq != uint64(i+1) {
				t.Fatalf("R27: workspace %q's audit entry %d has Seq %d; want 1..n without gaps", w.ws, i, e.Seq)
			}
			var c, n int
			if _, err := fmt.Sscanf(string(e.Transitions[0].Bot), "w-%d-%d", &c, &n); err != nil || []*harness{h, o}[c%2] != w {
				t.Fatalf("R27: workspace %q's log holds %s, a bot of the other workspace", w.ws, e.Transitions[0].Bot)
			}
		}
	}
}

// mustPlan decides cmd or stops the test.
func (h *harness) mustPlan(cmd lifecycle.Command) lifecycle.Plan {
	p, err := h.plan(cmd)
	if err != nil {
		h.t.Error(err)
	}
	return p
}

// testClaimRefusalIsAtomic (R15, R27): a plan refused because it names a
// sender another workspace claims changes nothing - not its role changes
// or audit entries either, whatever order a store checks and applies in.
func testClaimRefusalIsAtomic(t *testing.T, h *harness) {
	h.create("100")
	o := h.other("rival", "8")
	o.do(lifecycle.GrantRole{User: "amy", Role: roles.Admin})
	p := o.mustPlan(lifecycle.Create{ID: "theirs", Name: "theirs", Channel: "sms", Senders: h.senders("100"), Definition: definition()})
	grant := o.mustPlan(lifecycle.GrantRole{User: "zed", Role: roles.Designer})
	if len(grant.Roles) == 0 || len(p.Audit) == 0 {
		t.Fatalf("the plans hold too little to check: %d role changes, %d audit entries", len(grant.Roles), len(p.Audit))
	}
	p.Roles, p.Audit = grant.Roles, append(p.Audit, grant.Audit...)
	mine, theirs, held := h.contents(), o.contents(), o.planRoles(p)
	if _, err := o.st.Commit(o.ctx, p); !errors.Is(err, lifecycle.ErrSenderClaimed) {
		t.Fatalf("R27: a plan naming a claimed sender, with a role change: Commit = %v, want ErrSenderClaimed", err)
	}
	if diff := cmp.Diff(theirs, o.contents()); diff != "" {
		t.Errorf("R15: a plan refused as claimed changed its workspace (-before +after):\n%s", diff)
	}
	if diff := cmp.Diff(held, o.planRoles(p)); diff != "" {
		t.Errorf("R15: a plan refused as claimed changed roles (-before +after):\n%s", diff)
	}
	if diff := cmp.Diff(mine, h.contents()); diff != "" {
		t.Errorf("R27: a plan refused as claimed changed the owner's workspace (-before +after):\n%s", diff)
	}
}
