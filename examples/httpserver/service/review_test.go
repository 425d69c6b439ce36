package main

import (
	"strings"
	"testing"
)

// P2: a role revoked through the API stays revoked when the service
// restarts (or another replica starts) on the same store: the users file
// provisions a user's roles once, not whenever they hold none. Otherwise
// an Admin who takes a user's role away finds it back at the next deploy.
func TestP2RevokedRoleStaysRevokedAfterARestart(t *testing.T) {
	st := sqliteStore(t)
	base, stop := start(t, st)
	call(t, "DELETE", base+"/users/dan/roles/designer", "ada-token", "", 204)
	call(t, "POST", base+"/bots", "dan-token", pizza, 403)
	stop()

	base, _ = start(t, st)
	call(t, "POST", base+"/bots", "dan-token", pizza, 403)
	if body := call(t, "GET", base+"/users/dan/roles", "ada-token", "", 200); !strings.Contains(body, `"roles": []`) {
		t.Errorf("after a restart dan's roles are %s, want none", body)
	}
}
