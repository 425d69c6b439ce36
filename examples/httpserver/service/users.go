package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/botlife/botlife/examples/httpserver/api"
	"github.com/botlife/botlife/lifecycle"
	"github.com/botlife/botlife/roles"
)

// A users file says who may call the service: one credential a line,
// fields separated by spaces, # starting a comment:
//
//	# kind   workspace  id         token            role
//	user     -          ada        ada-token        admin
//	user     acme       ida        acme-ida-token   admin
//	gateway  -          gateway    gateway-token
//	system   -          scheduler  scheduler-token
//
// kind is user (a person, who may do what their roles in the workspace
// allow), gateway (the messaging gateway: POST /route and closing
// sessions) or system (the hosting service's own jobs: the /system
// routes). workspace is the workspace the token acts in, - for the default
// one (R27). id is the user id (for gateway and system, the name logged
// and audited). A user line may end with a role (analyzer, supervisor,
// designer, manager or admin): at start the service grants the user their
// listed roles, as the system (R19), the first time it finds them holding
// none in that workspace, and records that in the database: a new line
// provisions its user, and no restart or new replica changes a role given
// or taken through the API since (P2). Remove a line to take a token away.
//
// A token is any text without spaces or #. Tokens are secrets: keep the
// file readable by the service only. They are never logged, nor shown in
// an error (an error names the line, and shows no field that could be a
// misplaced token).
type users struct {
	user, gateway, system map[string]api.Principal // by token
	// grants are the roles to provision, in the order of the file.
	grants []grant
	// workspaces are the workspaces named, in the order of the file, and
	// line the line that names each first.
	workspaces []lifecycle.Workspace
	line       map[lifecycle.Workspace]int
}

// grant is a role a users file gives a user in a workspace.
type grant struct {
	ws   lifecycle.Workspace
	user string
	role roles.Role
}

// readUsers reads the users file at path.
func readUsers(path string) (*users, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("users file: %w", err)
	}
	defer f.Close()
	u, err := parseUsers(f)
	if err != nil {
		return nil, fmt.Errorf("users file %s: %w", path, err)
	}
	return u, nil
}

// parseUsers reads a users file (see users).
func parseUsers(r io.Reader) (*users, error) {
	u := &users{user: map[string]api.Principal{}, gateway: map[string]api.Principal{}, system: map[string]api.Principal{},
		line: map[lifecycle.Workspace]int{}}
	seen := map[string]int{} // token -> line
	sc := bufio.NewScanner(r)
	for n := 1; sc.Scan(); n++ {
		line, _, _ := strings.Cut(sc.Text(), "#")
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		if len(f) < 4 || len(f) > 5 {
			return nil, fmt.Errorf("line %d: has %d fields; want kind, workspace, id, token and, for a user, an optional role", n, len(f))
		}
		kind, ws, id, token := f[0], lifecycle.Workspace(f[1]), f[2], f[3]
		if ws == "-" {
			ws = ""
		}
		if !validID(id) { // not shown: it may be a misplaced token
			return nil, fmt.Errorf("line %d: the id is not 1 to %d bytes of UTF-8 text without control characters (R21)", n, lifecycle.MaxIDBytes)
		}
		if len(token) > api.MaxCredential {
			return nil, fmt.Errorf("line %d: the token is longer than %d bytes", n, api.MaxCredential)
		}
		if first, ok := seen[token]; ok {
			return nil, fmt.Errorf("line %d: the token is the one on line %d; each token stands for one principal", n, first)
		}
		seen[token] = n
		p := api.Principal{ID: id, Workspace: ws}
		switch {
		case kind == "user":
			u.user[token] = p
			if len(f) == 5 {
				role, err := roles.ParseRole(f[4])
				if err != nil { // not shown: a line in the wrong order may put its token here
					return nil, fmt.Errorf("line %d: the role is not analyzer, supervisor, designer, manager or admin", n)
				}
				u.grants = append(u.grants, grant{ws, id, role})
			}
		case len(f) == 5:
			return nil, fmt.Errorf("line %d: only a user line may name a role", n)
		case kind == "gateway":
			u.gateway[token] = p
		case kind == "system":
			u.system[token] = p
		default:
			return nil, fmt.Errorf("line %d: the kind (the first field) is not user, gateway or system", n)
		}
		if _, ok := u.line[ws]; !ok {
			u.line[ws] = n
			u.workspaces = append(u.workspaces, ws)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if len(u.user) == 0 {
		return nil, fmt.Errorf("names no user: add a line such as 'user - ada ada-token admin'")
	}
	return u, nil
}

// validID reports whether id is one the library takes as a user's, or an
// actor's (R21): 1 to lifecycle.MaxIDBytes bytes of UTF-8 text without
// control characters. A users file's id outside that would authenticate,
// then have every request refused as invalid input - and a role to
// provision for it would keep the service unready.
func validID(id string) bool {
	return id != "" && len(id) <= lifecycle.MaxIDBytes && utf8.ValidString(id) && strings.IndexFunc(id, unicode.IsControl) < 0
}

// managers returns m acting in each workspace of the file, or an error
// naming the line of a workspace name m refuses.
func (u *users) managers(m *lifecycle.Manager) (map[lifecycle.Workspace]*lifecycle.Manager, error) {
	out := make(map[lifecycle.Workspace]*lifecycle.Manager, len(u.workspaces))
	for _, ws := range u.workspaces {
		in := m
		if ws != "" {
			var err error
			if in, err = m.Workspace(ws); err != nil { // not shown: it may be a misplaced token
				return nil, fmt.Errorf("users file, line %d: the workspace is not 1 to %d bytes of text without spaces", u.line[ws], lifecycle.MaxWorkspaceBytes)
			}
		}
		out[ws] = in
	}
	return out, nil
}

// provisioner is where provision reads roles and records what it did: the
// service's backend.
type provisioner interface {
	Roles(ctx context.Context, ws lifecycle.Workspace, user string) (roles.Set, int, error)
	provisioned(ctx context.Context, ws lifecycle.Workspace, user string) (bool, error)
	markProvisioned(ctx context.Context, ws lifecycle.Workspace, user string) error
}

// provision grants each user of the file the roles listed for them, as
// the system (R19), in each workspace, once: a user is provisioned when
// they are first seen holding no role there, and never again after (it is
// recorded in the store's database), so a role revoked through the API
// stays revoked across restarts and new replicas (P2). A user who holds a
// role when first seen (given through the API, or provisioned by a
// version that did not record it) is recorded as provisioned as they are.
func (u *users) provision(ctx context.Context, st provisioner, ms map[lifecycle.Workspace]*lifecycle.Manager) error {
	type state struct{ grant, done bool }
	seen := map[grantee]*state{}
	var order []grantee
	for _, g := range u.grants {
		k := grantee{g.ws, g.user}
		s, ok := seen[k]
		if !ok {
			done, err := st.provisioned(ctx, g.ws, g.user)
			if err != nil {
				return err
			}
			s = &state{done: done}
			if !done {
				held, _, err := st.Roles(ctx, g.ws, g.user)
				if err != nil {
					return err
				}
				s.grant = held == 0
			}
			seen[k] = s
			order = append(order, k)
		}
		if !s.grant {
			continue
		}
		_, err := ms[g.ws].GrantRole(ctx, lifecycle.System("provisioned from the users file"), g.user, g.role)
		if err != nil && !errors.Is(err, lifecycle.ErrRoleHeld) {
			return fmt.Errorf("granting %s the role %v in workspace %q: %w", g.user, g.role, g.ws, err)
		}
	}
	for _, k := range order {
		if s := seen[k]; !s.done {
			if err := st.markProvisioned(ctx, k.ws, k.user); err != nil {
				return fmt.Errorf("recording the users file's roles as provisioned: %w", err)
			}
		}
	}
	return nil
}
