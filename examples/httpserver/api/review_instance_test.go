package api_test

import (
	"net/url"
	"testing"

	"github.com/botlife/botlife/examples/httpserver/api/apitest"
)

// A problem's instance is a URI reference (RFC 9457) naming the request's
// path: an id with a space, '#', '?' or '%' in it is percent-encoded there,
// as in the request, so that the instance resolves to the path the client
// sent. It was the decoded path: "/users/a#b c/roles/admin" read as the
// path /users/a with a fragment.
func TestProblemInstanceIsTheEscapedPath(t *testing.T) {
	f := apitest.NewFixture(t)
	c := &apitest.Client{T: t, Handler: f.Server}
	for _, path := range []string{"/users/a%23b%20c%3Fd%25e/roles/admin", "/users/Infobip%20admin/roles/admin"} {
		r := c.Do("DELETE", path, "ada", "")
		p := r.Problem(t)
		if r.Status != 409 || p.Instance != path {
			t.Errorf("DELETE %s: %d, instance %q, want 409 and %q", path, r.Status, p.Instance, path)
			continue
		}
		u, err := url.Parse(p.Instance)
		if err != nil || u.Fragment != "" || u.RawQuery != "" {
			t.Errorf("instance %q is not the path alone: %+v %v", p.Instance, u, err)
		}
	}
}
