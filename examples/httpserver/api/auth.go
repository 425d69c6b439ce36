package api

import (
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"net/http"
	"strings"
)

// MaxCredential is the longest credential an Authenticator from this
// package looks at; a longer one is refused unread (R21).
const MaxCredential = 256

// ErrUnauthenticated is what an Authenticator returns for a request without
// a valid credential. The server answers 401 with a problem of type
// /problems/unauthenticated and never repeats, logs or audits the
// credential.
var ErrUnauthenticated = errors.New("unauthenticated")

// Authenticator tells who sent a request: a user id for the lifecycle (for
// the API's users), or the name of a trusted client (for the messaging
// gateway). It returns an error wrapping ErrUnauthenticated when the
// request carries no valid credential. A service plugs in its own: OIDC,
// mTLS, its session cookies. The identity never comes from a header that
// simply names a user.
type Authenticator interface {
	Authenticate(r *http.Request) (string, error)
}

// AuthenticatorFunc adapts a function to Authenticator.
type AuthenticatorFunc func(r *http.Request) (string, error)

// Authenticate calls f.
func (f AuthenticatorFunc) Authenticate(r *http.Request) (string, error) { return f(r) }

// BearerTokens is an Authenticator over a static table of bearer tokens
// ("Authorization: Bearer <token>") to identities. Tokens are compared in
// constant time through their SHA-256 digests, so the table does not keep
// them in the clear after NewBearerTokens. It suits a demo, tests, or a
// gateway with one shared secret; a service with real users plugs in its
// own Authenticator.
type BearerTokens struct {
	entries []tokenEntry
}

type tokenEntry struct {
	digest [sha256.Size]byte
	who    string
}

// NewBearerTokens returns the table token -> identity.
func NewBearerTokens(tokens map[string]string) *BearerTokens {
	t := &BearerTokens{}
	for tok, who := range tokens {
		t.entries = append(t.entries, tokenEntry{digest: sha256.Sum256([]byte(tok)), who: who})
	}
	return t
}

// Authenticate implements Authenticator.
func (t *BearerTokens) Authenticate(r *http.Request) (string, error) {
	h := r.Header.Get("Authorization")
	scheme, tok, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || tok == "" {
		return "", authError("send the header Authorization: Bearer <token>")
	}
	if len(tok) > MaxCredential {
		return "", authError("the bearer token is not valid")
	}
	d := sha256.Sum256([]byte(tok))
	who := ""
	for _, e := range t.entries {
		if subtle.ConstantTimeCompare(d[:], e.digest[:]) == 1 {
			who = e.who
		}
	}
	if who == "" {
		return "", authError("the bearer token is not valid")
	}
	return who, nil
}

// authError is a refusal that wraps ErrUnauthenticated and says what to do,
// never what was sent.
type authError string

func (e authError) Error() string { return string(e) }
func (e authError) Unwrap() error { return ErrUnauthenticated }
