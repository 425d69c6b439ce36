package api

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/botlife/botlife/lifecycle"
)

// Idempotency keys: a POST that carries an Idempotency-Key header is done
// once per (workspace, client, key): a key that another client or another
// workspace used is a fresh request, never a replay (R27). A retry with
// the same key and the same request (method, path, query, If-Match and
// body) gets the first response again, with the header
// Idempotent-Replayed: true; a retry with another request is refused (422,
// idempotency-key-reused); a retry
// while the first is still running - on this replica or another that
// shares the Keeper - is refused (409, idempotency-key-in-use); a retry
// whose kept response cannot be read (damaged in the Keeper) is refused
// (409, idempotency-response-lost, without Retry-After: the request was
// done; check what it did and use a new key), never run again. Responses
// with a 5xx status, and any response that tells the client to retry (it
// carries Retry-After: a 409 conflict of commits that kept colliding), are
// not kept, so a retry with the same key runs the request again.
//
// The key is claimed in the Keeper before the request runs (put if
// absent: of two replicas racing with one key, one runs the request) and
// its response kept when it ends, for Config.IdempotencyTTL or until the
// principal's share of the Keeper drops it for newer ones (the gateway's
// share is larger, as it keeps an answer per message). A claim lasts
// ClaimLease: the claim of a replica that died mid-request frees the key
// then, and a request still running after ClaimLease may run a second
// time. A response the Keeper's bounds refuse (larger than a user's share,
// or the keeper full) is answered but not kept: the key is free again and
// a retry runs the request anew. A response the Keeper fails to keep (its
// database briefly unavailable) is tried finishAttempts times; if it is
// still not kept, the claim is left to its lease rather than released: a
// retry until then is told the key is in use (409), never run a second
// time on a request that did its work.

// MaxIdempotencyKey is the longest Idempotency-Key accepted, in bytes.
const MaxIdempotencyKey = 255

// ClaimLease is how long an Idempotency-Key claim holds while its request
// runs.
const ClaimLease = 5 * time.Minute

// rendered is a response as written: status, headers and body.
type rendered struct {
	status int
	header http.Header
	body   []byte
}

// keptHead is the encoded form of a rendered response: this JSON, a
// newline, then the body as is.
type keptHead struct {
	Status int         `json:"status"`
	Header http.Header `json:"header,omitempty"`
}

func encodeResponse(r rendered) []byte {
	head, _ := json.Marshal(keptHead{r.status, r.header}) // cannot fail: an int and strings
	return append(append(head, '\n'), r.body...)
}

func decodeResponse(b []byte) (rendered, error) {
	i := bytes.IndexByte(b, '\n')
	var h keptHead
	if i < 0 || json.Unmarshal(b[:i], &h) != nil || h.Status < 100 {
		return rendered{}, errors.New("a kept response does not decode")
	}
	if h.Header == nil {
		h.Header = http.Header{}
	}
	return rendered{status: h.Status, header: h.Header, body: b[i+1:]}, nil
}

func (s *Server) idempotent(w http.ResponseWriter, r *http.Request, who caller, key string, h handler) {
	// R21: the text first, so that what is not text is never quoted back,
	// however long; a store keeps text (a PostgreSQL one failed on such a
	// key with a 503 no retry gets past).
	if !pathIsText(key) {
		s.writeProblem(w, r, &lifecycle.InputError{Field: "Idempotency-Key", Value: "",
			Problem: "is not text: send a key of printable characters, such as a UUID"})
		return
	}
	if len(key) > MaxIdempotencyKey {
		s.writeProblem(w, r, &lifecycle.InputError{Field: "Idempotency-Key", Value: shown(key, 16),
			Problem: fmt.Sprintf("is longer than %d bytes: send a shorter key, such as a UUID", MaxIdempotencyKey)})
		return
	}
	body, err := readBody(r, s.bodyLimit(r))
	if err != nil {
		s.writeProblem(w, r, err)
		return
	}
	digest := func(ifMatch []string) []byte {
		sum := sha256.New()
		fmt.Fprintf(sum, "%s\x00%s\x00%s\x00", r.Method, r.URL.Path, r.URL.RawQuery)
		if len(ifMatch) > 0 {
			fmt.Fprintf(sum, "\x00If-Match\x00%s\x00", strings.Join(ifMatch, ","))
		}
		sum.Write(body)
		return sum.Sum(nil)
	}
	// The condition is part of the request: under the key with another
	// ETag it is another request (422), never the replay of a 412. A
	// request without one digests as it always did.
	im := r.Header.Values("If-Match")
	request := digest(im)
	r.Body = readCloser{bytes.NewReader(body)}
	scope := who.scope()
	now := s.m.Now()
	kctx, cancel := s.bounded(ctx(r))
	prev, err := s.keep.Claim(kctx, scope, key, request, now, now.Add(ClaimLease))
	err = s.keeperLate(kctx, err, "claiming the Idempotency-Key")
	cancel()
	switch {
	case errors.Is(err, ErrNotKept): // the user's share is full of requests in flight
		s.log.WarnContext(r.Context(), "idempotency key not kept", append(logWorkspace(r.Context()), "path", loggedPath(r), "err", err)...)
		s.write(w, r, s.render(r, who, h))
		return
	case err != nil:
		s.writeProblem(w, r, err)
		return
	case prev != nil && !bytes.Equal(prev.Request, request) && !(len(im) > 0 && bytes.Equal(prev.Request, digest(nil))):
		// A kept digest without the request's If-Match is the same
		// request as the previous version digested it (it left If-Match
		// out): a retry across an upgrade is replayed, not a 422. Only
		// a request that sent no If-Match has such a digest now, and it
		// never answered 412, so no stale 412 is replayed through it.
		s.writeProblem(w, r, fail(probIdempotencyReuse, "this Idempotency-Key was used for another request; use a new key for a new request"))
		return
	case prev != nil && prev.Response == nil:
		s.writeProblem(w, r, fail(probIdempotencyBusy, "a request with this Idempotency-Key is still running; retry later"))
		return
	case prev != nil:
		stored, err := decodeResponse(prev.Response)
		if err != nil {
			// The request was done and its answer is lost: it is never run
			// again under the key, which the Keeper holds until it expires.
			// The server's fault, logged; the client is told what to do,
			// not to retry (4xx, no Retry-After).
			s.log.ErrorContext(r.Context(), "idempotent response not replayed", append(logWorkspace(r.Context()), "path", loggedPath(r), "err", err)...)
			s.writeProblem(w, r, fail(probIdempotencyLost, "the response kept for this Idempotency-Key cannot be read (the server's fault; it is logged): "+
				"the request was done once and is not run again under this key; check what it did (read what it acted on) "+
				"and send a new request, if one is needed, with a new Idempotency-Key"))
			return
		}
		stored.header.Set("Idempotent-Replayed", "true")
		s.write(w, r, stored)
		return
	}
	// The claim is ours: finish or release it however the request ends,
	// even if the client has gone, each within the Keeper's budget.
	finished := false
	defer func() {
		if !finished {
			bg, cancel := s.detached(r.Context())
			defer cancel()
			if err := s.keep.Release(bg, scope, key, request); err != nil {
				s.log.WarnContext(r.Context(), "idempotency key not released: it stays claimed until its lease ends",
					append(logWorkspace(r.Context()), "path", loggedPath(r), "lease", ClaimLease, "err", err)...)
			}
		}
	}()
	resp := s.render(r, who, h)
	if resp.status < 500 && resp.header.Get("Retry-After") == "" {
		// The request did what it answers: the claim is never released
		// now, or a retry would do it again. A response not kept leaves
		// the key free (ErrNotKept: Finish deleted the claim) or claimed
		// until its lease ends (the Keeper failed).
		finished = true
		bg, cancel := s.detached(r.Context())
		err := s.finish(bg, scope, key, request, encodeResponse(resp))
		cancel()
		if err != nil {
			s.log.WarnContext(r.Context(), "idempotent response not kept", append(logWorkspace(r.Context()), "path", loggedPath(r), "bytes", len(resp.body), "err", err)...)
		}
	}
	s.write(w, r, resp)
}

// finishAttempts is how many times finish tries to keep a response.
const finishAttempts = 3

// finish keeps response under key, trying again after a failure of the
// Keeper other than ErrNotKept, finishAttempts times in all, 50 ms and
// then 250 ms apart, until ctx ends.
func (s *Server) finish(ctx context.Context, scope Scope, key string, request, response []byte) error {
	wait := 50 * time.Millisecond
	for attempt := 1; ; attempt++ {
		now := s.m.Now()
		err := s.keep.Finish(ctx, scope, key, request, response, now, now.Add(s.idemTTL))
		if err == nil || errors.Is(err, ErrNotKept) || attempt == finishAttempts || ctx.Err() != nil {
			return err
		}
		select {
		case <-time.After(wait):
		case <-ctx.Done():
			return err
		}
		wait *= 5
	}
}

// errKeeperBudget is the cause of the end of a Keeper call's context
// that ran out of the server's KeeperTimeout.
var errKeeperBudget = errors.New("the Keeper call took longer than the server's KeeperTimeout")

// bounded returns the context of a Keeper call that a request waits for
// before it runs - claiming its Idempotency-Key, taking the plan it
// applies: the request's own context, so that a client hanging up
// cancels it, ending after the server's KeeperTimeout too, so that a hung
// Keeper does not hold a request of a Server that has no deadline of its
// own until its client hangs up.
func (s *Server) bounded(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeoutCause(ctx, s.keepTime, errKeeperBudget)
}

// detached returns the context of a Keeper call that must outlive the
// request whose context is ctx - a client hanging up must not
// half-finish a write - but not run on for ever: it ends after the
// server's KeeperTimeout, whatever ctx's own deadline.
func (s *Server) detached(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeoutCause(context.WithoutCancel(ctx), s.keepTime, errKeeperBudget)
}

// keeperLate is the 503 timeout problem of a Keeper call, whose context
// kctx is bounded or detached, that failed with err because it ran out of
// the server's KeeperTimeout; else err (the request's own cancellation or
// deadline is answered as such). The problem keeps the budget's end and
// err as its cause, for the log and errors.Is (context.DeadlineExceeded
// among them, whatever err the Keeper returned); the answer shows neither.
func (s *Server) keeperLate(kctx context.Context, err error, what string) error {
	if err == nil || errors.Is(err, ErrNotKept) || !errors.Is(context.Cause(kctx), errKeeperBudget) {
		return err
	}
	cause := fmt.Errorf("%w: %w", context.Cause(kctx), err)
	if !errors.Is(err, context.DeadlineExceeded) {
		cause = fmt.Errorf("%w (%w): %w", context.Cause(kctx), kctx.Err(), err)
	}
	return failWith(probTimeout, fmt.Sprintf("%s took longer than the server allows (%v); nothing changed: retry later", what, s.keepTime), cause)
}

type readCloser struct{ *bytes.Reader }

func (readCloser) Close() error { return nil }
