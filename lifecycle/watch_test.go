package lifecycle_test

import (
	"context"
	"errors"
	"iter"
	"slices"
	"testing"
	"time"

	"github.com/botlife/botlife/lifecycle"
	"github.com/botlife/botlife/roles"
)

// R24: a watcher gets every entry after N in Seq order, waits for new ones,
// and resumes from the last Seq it saw.
func TestR24WatchOrderWaitResume(t *testing.T) {
	e := newEnv(t)
	before := len(e.audit())
	ctx, cancel := context.WithTimeout(e.ctx, 10*time.Second)
	defer cancel()
	got := make(chan lifecycle.AuditEntry)
	go func() {
		defer close(got)
		for en, err := range e.m.Watch(ctx, admin, 0) {
			if err != nil {
				t.Errorf("Watch: %v", err)
				return
			}
			got <- en
		}
	}()
	var seqs []uint64
	for len(seqs) < before {
		seqs = append(seqs, (<-got).Seq)
	}
	b := e.draft("v1", "100") // committed while the watcher waits
	en := <-got
	if en.Action != lifecycle.OpCreate || en.Transitions[0].Bot != b.ID {
		t.Fatalf("the entry committed after the watcher caught up = %+v, want the create of %s", en, b.ID)
	}
	seqs = append(seqs, en.Seq)
	for i, s := range seqs {
		if s != uint64(i+1) {
			t.Fatalf("R24: sequence numbers seen %v, want 1..%d with none skipped", seqs, len(seqs))
		}
	}
	cancel()
	if _, ok := <-got; ok {
		t.Fatal("Watch went on after its context ended")
	}

	// Resume after the last Seq handled: only what came later.
	e.live("v2", "200")
	var resumed []lifecycle.Op
	ctx2, cancel2 := context.WithCancel(e.ctx)
	for en, err := range e.m.Watch(ctx2, admin, seqs[len(seqs)-1]) {
		if err != nil {
			t.Fatal(err)
		}
		resumed = append(resumed, en.Action)
		if en.Action == lifecycle.OpActivate {
			break
		}
	}
	cancel2()
	if len(resumed) != 2 || resumed[0] != lifecycle.OpCreate {
		t.Fatalf("R24: resumed entries %v, want [create activate]", resumed)
	}
}

// P1, R16: watching needs "View audit log"; a refusal is yielded once and audited.
func TestR24WatchNeedsAuditPermission(t *testing.T) {
	e := newEnv(t)
	n := 0
	var err error
	for _, err = range e.m.Watch(e.ctx, manager, 0) {
		n++
	}
	if n != 1 || !errors.Is(err, lifecycle.ErrForbidden) {
		t.Fatalf("Watch as a Manager yielded %d element(s), last error %v; want one ErrForbidden", n, err)
	}
	log := e.audit()
	if last := log[len(log)-1]; !last.Denied || last.Action != lifecycle.OpReadAudit {
		t.Fatalf("R16: the refused watch was not audited: %+v", last)
	}
}

// P1, P2, R16: a watcher whose "View audit log" is revoked while it waits
// gets no entry committed after the revocation: role changes take effect on
// the next read, and the refusal ends the watch, yielded once and audited.
func TestP2WatchStopsWhenThePermissionIsRevoked(t *testing.T) {
	e := newEnv(t)
	e.must(e.m.GrantRole(e.ctx, admin, "bob", roles.Admin))
	after := uint64(len(e.audit())) - 1 // the grant: once bob sees it, his watch is past its first check
	ctx, cancel := context.WithTimeout(e.ctx, 10*time.Second)
	defer cancel()
	type item struct {
		e   lifecycle.AuditEntry
		err error
	}
	got := make(chan item)
	go func() {
		defer close(got)
		for en, err := range e.m.Watch(ctx, lifecycle.User("bob"), after) {
			got <- item{en, err}
		}
	}()
	if first := <-got; first.err != nil || first.e.Action != lifecycle.OpGrantRole {
		t.Fatalf("the watch began with %+v; want the grant", first)
	}
	revoked := len(e.audit()) // the watcher may wake and be refused before RevokeRole returns
	e.must(e.m.RevokeRole(e.ctx, admin, "bob", roles.Admin))
	b := e.draft("secret", "100")
	var seen []lifecycle.Op
	var last error
	for it := range got {
		if it.err != nil {
			last = it.err
			continue
		}
		seen = append(seen, it.e.Action)
		if it.e.Action == lifecycle.OpCreate && it.e.Transitions[0].Bot == b.ID {
			t.Errorf("P2: the watcher whose View audit log was revoked still got %+v", it.e)
			cancel()
		}
	}
	if !errors.Is(last, lifecycle.ErrForbidden) {
		t.Fatalf("P2: watch saw %v and ended with %v; want it refused with ErrForbidden once the role is revoked", seen, last)
	}
	// R16: the refusal is audited - before or after the create, as the
	// watcher woke.
	if !slices.ContainsFunc(e.audit()[revoked:], func(en lifecycle.AuditEntry) bool {
		return en.Denied && en.Actor == "bob" && en.Action == lifecycle.OpReadAudit
	}) {
		t.Fatalf("R16: the refusal was not audited: %+v", e.audit()[revoked:])
	}
}

func TestSessionsPagedAsSeenNow(t *testing.T) {
	e := newEnv(t)
	v1 := e.live("v1", "100")
	for _, u := range []string{"u1", "u2"} {
		e.must(e.m.Route(e.ctx, sms("100"), u))
	}
	e.must(e.m.Deactivate(e.ctx, manager, v1.ID, 0))
	ss, err := e.m.Sessions(e.ctx, supervisor, 0, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(ss) != 2 || ss[0].Open() || ss[0].CloseReason != lifecycle.CloseDeactivated {
		t.Fatalf("Sessions after deactivation = %+v, want 2 closed as deactivated", ss)
	}
	if _, err := e.m.Sessions(e.ctx, analyzer, 0, 10); !errors.Is(err, lifecycle.ErrForbidden) {
		t.Fatalf("Sessions as an Analyzer = %v, want ErrForbidden", err)
	}
	if _, err := e.m.Sessions(e.ctx, supervisor, 0, 0); !errors.Is(err, lifecycle.ErrInvalidInput) {
		t.Fatalf("Sessions with limit 0 = %v, want ErrInvalidInput", err)
	}
}

// TestR24FollowRefusesAnAfterPastTheEnd: Watch and Backlog given a sequence
// number no entry of the log has - past its end, as after a restore from
// an older backup - yield an ErrInvalidInput first instead of waiting to
// skip every entry up to it; the last entry's number and 0 are fine.
func TestR24FollowRefusesAnAfterPastTheEnd(t *testing.T) {
	e := newEnv(t)
	e.live("b", "100")
	last := e.audit()[len(e.audit())-1].Seq
	for _, tc := range []struct {
		name  string
		after uint64
		want  error
		n     int // entries yielded before the end
	}{
		{"past the end", last + 1, lifecycle.ErrInvalidInput, 0},
		{"far past the end", last + 1000, lifecycle.ErrInvalidInput, 0},
		{"the last entry", last, nil, 0},
		{"the first entry", 1, nil, int(last) - 1},
		{"the start", 0, nil, int(last)},
	} {
		follows := map[string]func(context.Context) iter.Seq2[lifecycle.AuditEntry, error]{
			"Backlog": func(ctx context.Context) iter.Seq2[lifecycle.AuditEntry, error] {
				return e.m.Backlog(ctx, admin, tc.after)
			},
			"Watch": func(ctx context.Context) iter.Seq2[lifecycle.AuditEntry, error] {
				return e.m.Watch(ctx, admin, tc.after)
			},
		}
		for name, follow := range follows {
			if name == "Watch" && tc.want == nil && tc.n == 0 {
				continue // nothing to yield: Watch would wait; Backlog shows it
			}
			// The deadline only bounds a Watch that would wait for ever
			// when the check is missing; no passing case waits.
			ctx, cancel := context.WithTimeout(e.ctx, 5*time.Second)
			var n int
			var err error
			for entry, ferr := range follow(ctx) {
				if err = ferr; err != nil {
					break
				}
				if n++; entry.Seq == last {
					cancel() // caught up: Watch would wait
				}
			}
			cancel()
			if !errors.Is(err, tc.want) || n != tc.n {
				t.Errorf("R24: %s after %d (%s): %d entries, %v; want %d, %v", name, tc.after, tc.name, n, err, tc.n, tc.want)
			}
		}
	}
}
