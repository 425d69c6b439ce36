package lifecycle

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"unicode"
)

// Workspace names one customer account of the service a store holds (R27).
// Every bot, sender claim, role assignment, schedule, session, test session
// and audit entry belongs to exactly one workspace, and nothing of one can
// be read, changed, routed, listed or followed from another: an id of
// another workspace is not found, never forbidden.
//
// The zero value is the default workspace: a service with one customer
// names none, and a Manager from New acts in it.
type Workspace string

// MaxWorkspaceBytes is the longest workspace name.
const MaxWorkspaceBytes = 64

// ErrSenderClaimed: the sender is registered to another workspace (R27): a
// bot may name a sender only while no bot of another workspace names it.
// The error names nothing of the other workspace.
var ErrSenderClaimed = errors.New("sender registered to another account")

// checkWorkspace refuses a workspace name that is not 1 to
// MaxWorkspaceBytes bytes of printable text without spaces: no space,
// control or format character (U+200B would make "acme\u200b" a workspace
// that reads as "acme"), nor one unassigned or for private use. The default
// workspace ("") is named by leaving it out, never by "".
func checkWorkspace(ws Workspace) error {
	s := string(ws)
	if err := checkText("workspace", s); err != nil {
		return err
	}
	if s == "" || len(s) > MaxWorkspaceBytes || strings.IndexFunc(s, func(r rune) bool { return r == ' ' || !unicode.IsPrint(r) }) >= 0 {
		return &InputError{Field: "workspace", Value: shown(s), Problem: fmt.Sprintf("must be 1 to %d bytes of printable text without spaces or invisible characters, such as \"acme\"", MaxWorkspaceBytes)}
	}
	return nil
}

// Workspace returns a Manager that acts in workspace ws (R27): every
// operation, read, route and watch of it sees and changes ws only, with
// the roles users hold there. It shares m's store, clock, policy and
// configuration, costs nothing to make, and is safe for concurrent use
// like m. A name that is not 1 to MaxWorkspaceBytes bytes of printable
// text without spaces is an ErrInvalidInput.
func (m *Manager) Workspace(ws Workspace) (*Manager, error) {
	if err := checkWorkspace(ws); err != nil {
		return nil, opError("", err)
	}
	return m.in(ws), nil
}

// in returns m acting in ws.
func (m *Manager) in(ws Workspace) *Manager {
	if ws == m.ws {
		return m
	}
	c := *m
	c.ws, c.ids.ws = ws, ws
	return &c
}

// ClaimError reports a sender the plan would give a bot while a bot of
// another workspace names it (R27). It wraps ErrSenderClaimed and names
// nothing of the other workspace. A Store returns it from Commit; the
// Manager from a plan, dry run or not, that gives a bot such a sender.
type ClaimError struct {
	Sender Sender
}

// Error implements the error interface.
func (e *ClaimError) Error() string {
	return "sender " + e.Sender.String() + " is registered to another account; name a sender of your own, or ask the service's operator to move it"
}

// Unwrap returns ErrSenderClaimed.
func (e *ClaimError) Unwrap() error { return ErrSenderClaimed }

// claimed refuses p with a *ClaimError if it gives a bot a real sender
// that a bot of another workspace names (R27), reading the claims only
// when it gives one: a dry run refuses what its commit would (R17). snap
// holds the bots as stored, whose senders are claimed already.
func (m *Manager) claimed(ctx context.Context, snap *Snapshot, p *Plan) error {
	var added []Sender
	for _, c := range p.Changes {
		if c.After == nil {
			continue
		}
		i := slices.IndexFunc(snap.Bots, func(b Bot) bool { return b.ID == c.Bot })
		for _, s := range c.After.Senders {
			if !s.IsTest() && (i < 0 || !slices.Contains(snap.Bots[i].Senders, s)) && !slices.Contains(added, s) {
				added = append(added, s)
			}
		}
	}
	if len(added) == 0 {
		return nil
	}
	claimed, err := m.store.Claimed(ctx, m.ws, added)
	if err != nil || len(claimed) == 0 {
		return err
	}
	return &ClaimError{Sender: claimed[0]}
}
