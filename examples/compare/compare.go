// Command compare measures botlife against what a Go user would otherwise
// pick, in one run: roles.Can against casbin's RBAC Enforce with the same five
// roles and seven permissions (the ladder as casbin role inheritance), and
// lifecycle.Next against asking looplab/fsm directly. Run it from this
// folder:
//
//	go run .
//
// It is a module of its own so that the root module gains no dependency.
package main

import (
	"fmt"
	"io"
	"os"
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
		roles.Supervisor: {roles.ViewDetails},
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
		if m.Can(roleSets[i%5], roles.AllPermissions[i%7]) {
			n++
		}
	}
	sink = n
}

func benchEnforce(e *casbin.Enforcer) func(*testing.B) {
	return func(b *testing.B) {
		n := 0
		for i := 0; i < b.N; i++ {
			ok, err := e.Enforce(roleName(roles.AllRoles[i%5]), roles.AllPermissions[i%7].Code())
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

func benchNext(b *testing.B) {
	n := 0
	for i := 0; i < b.N; i++ {
		if _, ok := lifecycle.Next(states[i%4], events[i%5]); ok {
			n++
		}
	}
	sink = n
}

func benchFSM(b *testing.B) {
	f := lifecycleFSM()
	n := 0
	for i := 0; i < b.N; i++ {
		f.SetState(states[i%4].String())
		if f.Can(string(events[i%5])) {
			n++
		}
	}
	sink = n
}

var sink int

func main() {
	if err := run(os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "compare:", err)
		os.Exit(1)
	}
}

func run(w io.Writer) error {
	e, err := newEnforcer()
	if err != nil {
		return err
	}
	if err := agree(e); err != nil {
		return err
	}
	row := func(name string, r testing.BenchmarkResult) float64 {
		ns := float64(r.T.Nanoseconds()) / float64(r.N)
		fmt.Fprintf(w, "%-38s %12.1f ns/op %6d allocs/op\n", name, ns, r.AllocsPerOp())
		return ns
	}
	fmt.Fprintln(w, "permission check (5 roles x 7 permissions, rules.md matrix)")
	can := row("  botlife roles.Can", testing.Benchmark(benchCan))
	enf := row("  casbin Enforce (RBAC, inheritance)", testing.Benchmark(benchEnforce(e)))
	fmt.Fprintf(w, "  roles.Can is %.0fx faster\n\n", enf/can)
	fmt.Fprintln(w, "transition check (4 states x 5 events)")
	next := row("  botlife lifecycle.Next", testing.Benchmark(benchNext))
	lf := row("  looplab/fsm SetState+Can", testing.Benchmark(benchFSM))
	fmt.Fprintf(w, "  lifecycle.Next is %.1fx faster\n", lf/next)
	return nil
}

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
