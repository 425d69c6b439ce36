package api

import (
	"container/list"
	"crypto/sha256"
	"net/http"
	"sync"
	"time"
)

// Idempotency keys: a POST that carries an Idempotency-Key header is done
// once per (workspace, client, key): a key that another client or another
// workspace used is a fresh request, never a replay (R27). A retry with the
// same key and the same request (method, path, query and body) gets the
// first response again, with the header Idempotent-Replayed: true; a retry
// with another request is refused (422, idempotency-key-reused); a retry
// while the first is still running is refused (409,
// idempotency-key-in-use). Responses with a 5xx status are not kept, so
// such a request may be retried. Memory is bounded: at most
// Config.IdempotencyKeys keys are kept, each for Config.IdempotencyTTL, the
// oldest evicted first.

// MaxIdempotencyKey is the longest Idempotency-Key accepted, in bytes.
const MaxIdempotencyKey = 255

type idemState int

const (
	idemNew idemState = iota
	idemReplay
	idemMismatch
	idemBusy
)

type idemEntry struct {
	key     string
	request [sha256.Size]byte
	created time.Time
	done    bool
	resp    rendered
	elem    *list.Element
}

// rendered is a response as written: status, headers and body.
type rendered struct {
	status int
	header http.Header
	body   []byte
}

type idemStore struct {
	mu      sync.Mutex
	max     int
	ttl     time.Duration
	now     func() time.Time
	entries map[string]*idemEntry
	order   list.List // of *idemEntry, oldest first
}

func newIdemStore(max int, ttl time.Duration, now func() time.Time) *idemStore {
	return &idemStore{max: max, ttl: ttl, now: now, entries: map[string]*idemEntry{}}
}

// begin claims key for request, or says why not; on idemReplay it returns
// the stored response.
func (s *idemStore) begin(key string, request [sha256.Size]byte) (idemState, rendered) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	s.evict(now)
	if e, ok := s.entries[key]; ok {
		switch {
		case e.request != request:
			return idemMismatch, rendered{}
		case !e.done:
			return idemBusy, rendered{}
		}
		return idemReplay, e.resp
	}
	e := &idemEntry{key: key, request: request, created: now}
	e.elem = s.order.PushBack(e)
	s.entries[key] = e
	for len(s.entries) > s.max {
		s.remove(s.order.Front().Value.(*idemEntry))
	}
	return idemNew, rendered{}
}

// finish stores the response of a claimed key; a 5xx response releases the
// key instead.
func (s *idemStore) finish(key string, request [sha256.Size]byte, resp rendered) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.entries[key]
	if !ok || e.request != request || e.done {
		return // evicted meanwhile
	}
	if resp.status >= 500 {
		s.remove(e)
		return
	}
	e.done, e.resp = true, resp
}

func (s *idemStore) evict(now time.Time) {
	for f := s.order.Front(); f != nil; f = s.order.Front() {
		e := f.Value.(*idemEntry)
		if now.Sub(e.created) < s.ttl {
			return
		}
		s.remove(e)
	}
}

func (s *idemStore) remove(e *idemEntry) {
	s.order.Remove(e.elem)
	delete(s.entries, e.key)
}

// len returns how many keys are kept.
func (s *idemStore) len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.entries)
}
