// Command compare measures every figure the README's Performance section
// states as a ratio, in one run, and prints the table. Each figure names its
// baseline: botlife against what a Go user would otherwise pick (roles.Can
// against casbin's RBAC Enforce with the same five roles and eight
// permissions, the ladder as casbin role inheritance; lifecycle.Next
// against asking looplab/fsm directly; Route against a bare map lookup),
// or a cost against the same cost at another size (validation per dialog,
// activation and ExpireDue with 100k bots of history against 10, Route on
// 8 goroutines against 1, the worst audit Commit while the log grows
// against the same Commits into a log restarted every 1,000 entries). The
// two sides of a figure alternate, in one process, and the medians are
// compared, so both meet the same load. Run it from this folder (about a
// minute on two cores: the README gives its run's time):
//
//	go run .
//
// It is a module of its own so that the root module gains no dependency.
package main

import (
	"fmt"
	"testing"

	"github.com/botlife/botlife/lifecycle"
	"github.com/botlife/botlife/roles"
	"github.com/casbin/casbin/v2"
	"github.com/casbin/casbin/v2/model"
	"github.com/looplab/fsm"
)

const rbacModel = `
[request_definition]
r = sub, act

[policy_definition]
p = sub, act

[role_definition]
g = _, _

[policy_effect]
e = some(where (p.eft == allow))

[matchers]
m = g(r.sub, p.sub) && r.act == p.act
`

// roleName is the casbin subject of a role.
func roleName(r roles.Role) string { b, _ := r.MarshalText(); return string(b) }

// newEnforcer builds casbin's equivalent of roles.Default(): each role is
// given the permissions it adds, and the ladder is role inheritance.
func newEnforcer() (*casbin.Enforcer, error) {
	m, err := model.NewModelFromString(rbacModel)
	if err != nil {
		return nil, err
	}
	e, err := casbin.NewEnforcer(m)
	if err != nil {
		return nil, err
	}
	adds := map[roles.Role][]roles.Permission{
		roles.Analyzer:   {roles.ViewAnalytics, roles.ViewDashboard},
		roles.Supervisor: {roles.ViewDetails, roles.TestChatbots},
		roles.Designer:   {roles.EditChatbots},
		roles.Manager:    {roles.ActivateChatbots},
		roles.Admin:      {roles.ManageRoles, roles.ViewAuditLog},
	}
	for r, ps := range adds {
		for _, p := range ps {
			if _, err := e.AddPolicy(roleName(r), p.Code()); err != nil {
				return nil, err
			}
		}
	}
	for r := roles.Supervisor; r <= roles.Manager; r++ {
		if _, err := e.AddGroupingPolicy(roleName(r), roleName(r-1)); err != nil {
			return nil, err
		}
	}
	return e, nil
}

// lifecycleFSM is the transition table as a looplab/fsm FSM.
func lifecycleFSM() *fsm.FSM {
	return fsm.NewFSM("Draft", fsm.Events{
		{Name: "activate", Src: []string{"Draft", "Inactive"}, Dst: "Active"},
		{Name: "deactivate", Src: []string{"Active"}, Dst: "Inactive"},
		{Name: "drain", Src: []string{"Active"}, Dst: "Deactivated"},
		{Name: "end_drain", Src: []string{"Deactivated"}, Dst: "Inactive"},
		{Name: "delete", Src: []string{"Draft"}, Dst: "Deleted"},
	}, nil)
}

var (
	states = []lifecycle.State{lifecycle.Draft, lifecycle.Active, lifecycle.Deactivated, lifecycle.Inactive}
	events = []lifecycle.Event{lifecycle.EventActivate, lifecycle.EventDeactivate, lifecycle.EventDrain, lifecycle.EventEndDrain, lifecycle.EventDelete}
)

// The four measured functions. Each cycles through every cell it compares.
// roleSets are the five single-role sets, as a service holds them after
// reading a user's roles.
var roleSets = func() (out [5]roles.Set) {
	for i, r := range roles.AllRoles {
		out[i] = roles.MustSet(r)
	}
	return out
}()

func benchCan(b *testing.B) {
	m := roles.Default()
	n := 0
	for i := 0; i < b.N; i++ {
		if m.Can(roleSets[i%5], roles.AllPermissions[i%len(roles.AllPermissions)]) {
			n++
		}
	}
	sink = n
}

func benchEnforce(e *casbin.Enforcer) func(*testing.B) {
	return func(b *testing.B) {
		n := 0
		for i := 0; i < b.N; i++ {
			ok, err := e.Enforce(roleName(roles.AllRoles[i%5]), roles.AllPermissions[i%len(roles.AllPermissions)].Code())
			if err != nil {
				b.Fatal(err)
			}
			if ok {
				n++
			}
		}
		sink = n
	}
}

// benchNext and benchFSM each check every cell of the table per op, 20
// checks, and report the time per check ("ns/check"): the loop around
// them then costs a fraction of a check on both sides alike, where a
// modulo per op cost lifecycle.Next more than Next itself.
func benchNext(b *testing.B) {
	n := 0
	for i := 0; i < b.N; i++ {
		for _, s := range states {
			for _, e := range events {
				if _, ok := lifecycle.Next(s, e); ok {
					n++
				}
			}
		}
	}
	sink = n
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(states)*len(events)), "ns/check")
}

func benchFSM(b *testing.B) {
	f := lifecycleFSM()
	n := 0
	for i := 0; i < b.N; i++ {
		for _, s := range states {
			for _, e := range events {
				f.SetState(s.String())
				if f.Can(string(e)) {
					n++
				}
			}
		}
	}
	sink = n
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(states)*len(events)), "ns/check")
}

var sink int

// agree checks that both sides of each comparison give the same answers,
// so the figures compare equal work.
func agree(e *casbin.Enforcer) error {
	for _, r := range roles.AllRoles {
		for _, p := range roles.AllPermissions {
			ok, err := e.Enforce(roleName(r), p.Code())
			if err != nil {
				return err
			}
			if want := roles.Default().Can(roles.MustSet(r), p); ok != want {
				return fmt.Errorf("casbin says %v for %v/%v, roles.Can says %v", ok, r, p, want)
			}
		}
	}
	f := lifecycleFSM()
	for _, s := range states {
		for _, ev := range events {
			f.SetState(s.String())
			_, want := lifecycle.Next(s, ev)
			if got := f.Can(string(ev)); got != want {
				return fmt.Errorf("fsm says %v for %v/%s, lifecycle.Next says %v", got, s, ev, want)
			}
		}
	}
	return nil
}
