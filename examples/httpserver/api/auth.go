package api

import (
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/botlife/botlife/lifecycle"
)

// MaxCredential is the longest credential an Authenticator from this
// package looks at; a longer one is refused unread (R21).
const MaxCredential = 256

// ErrUnauthenticated is what an Authenticator returns for a request without
// a valid credential. The server answers 401 with a problem of type
// /problems/unauthenticated and never repeats, logs or audits the
// credential.
var ErrUnauthenticated = errors.New("unauthenticated")

// Principal is who sent a request (R27): a user id for the lifecycle (for
// the API's users) or the name of a trusted client (the messaging gateway,
// the scheduler), and the one workspace the credential belongs to. The
// workspace comes from the credential, never from a header or body the
// client chooses: a token of a user of "acme" acts in "acme" only. The
// zero Workspace is the default workspace, which a service with one
// customer uses throughout.
type Principal struct {
	ID        string
	Workspace lifecycle.Workspace
}

// PrincipalKind is which of a Config's Authenticators vouched for a
// Principal: Users, Gateway or System. Ids are the Authenticators' own, so
// a user and the gateway may share one; what a Server keeps for a
// principal (see Scope) is kept apart by kind as well as by id.
type PrincipalKind uint8

const (
	// KindUser is a principal of Config.Users, a user of the API.
	KindUser PrincipalKind = iota
	// KindGateway is a principal of Config.Gateway, the messaging gateway.
	KindGateway
	// KindSystem is a principal of Config.System, the hosting service's
	// own jobs.
	KindSystem
)

// String returns "user", "gateway" or "system".
func (k PrincipalKind) String() string {
	switch k {
	case KindUser:
		return "user"
	case KindGateway:
		return "gateway"
	case KindSystem:
		return "system"
	}
	return fmt.Sprintf("PrincipalKind(%d)", uint8(k))
}

// Authenticator tells who sent a request: the Principal. It returns an
// error wrapping ErrUnauthenticated when the request carries no valid
// credential. A service plugs in its own: OIDC (the workspace from a
// claim the issuer signs), mTLS, its session cookies. Neither the identity
// nor the workspace ever comes from a header that simply names them.
type Authenticator interface {
	Authenticate(r *http.Request) (Principal, error)
}

// AuthenticatorFunc adapts a function to Authenticator.
type AuthenticatorFunc func(r *http.Request) (Principal, error)

// Authenticate calls f.
func (f AuthenticatorFunc) Authenticate(r *http.Request) (Principal, error) { return f(r) }

// BearerTokens is an Authenticator over a static table of bearer tokens
// ("Authorization: Bearer <token>") to principals: each token belongs to
// one user (or client) in one workspace. Tokens are compared in
// constant time through their SHA-256 digests, so the table does not keep
// them in the clear after NewBearerTokens. It suits a demo, tests, or a
// gateway with one shared secret; a service with real users plugs in its
// own Authenticator.
type BearerTokens struct {
	entries []tokenEntry
}

type tokenEntry struct {
	digest [sha256.Size]byte
	who    Principal
}

// NewBearerTokens returns the table token -> principal. A principal
// without an ID is never authenticated.
func NewBearerTokens(tokens map[string]Principal) *BearerTokens {
	t := &BearerTokens{}
	for tok, who := range tokens {
		t.entries = append(t.entries, tokenEntry{digest: sha256.Sum256([]byte(tok)), who: who})
	}
	return t
}

// Authenticate implements Authenticator.
func (t *BearerTokens) Authenticate(r *http.Request) (Principal, error) {
	h := r.Header.Get("Authorization")
	scheme, tok, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || tok == "" {
		return Principal{}, authError("send the header Authorization: Bearer <token>")
	}
	if len(tok) > MaxCredential {
		return Principal{}, authError("the bearer token is not valid")
	}
	d := sha256.Sum256([]byte(tok))
	var who Principal
	for _, e := range t.entries {
		if subtle.ConstantTimeCompare(d[:], e.digest[:]) == 1 {
			who = e.who
		}
	}
	if who.ID == "" {
		return Principal{}, authError("the bearer token is not valid")
	}
	return who, nil
}

// authError is a refusal that wraps ErrUnauthenticated and says what to do,
// never what was sent.
type authError string

func (e authError) Error() string { return string(e) }
func (e authError) Unwrap() error { return ErrUnauthenticated }
