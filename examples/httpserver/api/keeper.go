package api

import (
	"container/heap"
	"container/list"
	"context"
	"errors"
	"sync"
	"time"

	"github.com/botlife/botlife/lifecycle"
)

// Keeper keeps what a Server remembers between requests: the response to
// each request made with an Idempotency-Key (see idempotency.go) and the
// plan of each dry run (see plans.go). A service with several replicas
// backs it with its database, so that replicas share it and it survives
// restarts; NewMemoryKeeper is the default, for one process.
//
// Values are opaque bytes the Server encodes. Every entry belongs to a
// Scope - one principal in one workspace (R27) - and lives until an
// explicit expiry: an entry whose expiry is not after the now a method is
// given is gone for that method, and an implementation deletes it in its
// own time (bounded retention). Times come from the Server's clock (the
// Manager's). An implementation bounds what it keeps by bytes - the bytes
// of the key, the request digest and the value - and per Scope, and
// refuses what does not fit with an error wrapping ErrNotKept; it must
// never make room for one Scope by deleting another Scope's entries.
// Methods are safe for concurrent use and, across processes, atomic per
// entry. Errors other than ErrNotKept are the store's: the Server answers
// them as it answers the Manager's (503 for lifecycle.ErrUnavailable).
// Every call's context ends after Config.KeeperTimeout at most: Claim's
// and TakePlan's is the request's own (a client hanging up cancels it),
// the others' outlive the request (see Config.KeeperTimeout).
type Keeper interface {
	// Claim is put-if-absent for an idempotency key. If scope holds no
	// live entry under key, Claim stores a pending one - request (the
	// digest of the request) without a response - that lives until
	// expires, and returns nil: the caller runs the request. Otherwise it
	// changes nothing and returns the live entry. Of callers racing with
	// one key - two replicas - exactly one gets nil.
	Claim(ctx context.Context, scope Scope, key string, request []byte, now, expires time.Time) (*KeptResponse, error)
	// Finish keeps response as the answer of the pending entry that Claim
	// stored for request under key, until expires. When that entry is
	// gone (its claim expired, and maybe another request claimed the key)
	// Finish does nothing. When the implementation's bounds refuse
	// response, Finish deletes the pending entry, freeing the key, and
	// returns an error wrapping ErrNotKept.
	Finish(ctx context.Context, scope Scope, key string, request, response []byte, now, expires time.Time) error
	// Release deletes the pending entry that Claim stored for request
	// under key, freeing the key; a finished entry, or another request's
	// claim, is left alone.
	Release(ctx context.Context, scope Scope, key string, request []byte) error
	// KeepPlan keeps plan under id for scope until expires. The Server
	// draws ids at random (96 bits); KeepPlan replaces an entry of scope
	// with the same id.
	KeepPlan(ctx context.Context, scope Scope, id string, plan []byte, now, expires time.Time) error
	// TakePlan deletes and returns the live plan id of scope, or nil
	// without an error when scope has none: another Scope's plan is never
	// returned, nor used up.
	TakePlan(ctx context.Context, scope Scope, id string, now time.Time) ([]byte, error)
}

// Scope is whose an entry of a Keeper is: one principal in one workspace
// (R27). The same user id in two workspaces is two scopes, and so is one id
// of two kinds: a user whose id is the gateway's never shares the gateway's
// keys, plans or bounds.
type Scope struct {
	Workspace lifecycle.Workspace
	// Kind is which Authenticator vouched for User; the zero Kind is a
	// user's.
	Kind PrincipalKind
	// User is the principal's ID.
	User string
}

// KeptResponse is the entry a Keeper holds for an idempotency key.
type KeptResponse struct {
	// Request is the digest of the request that claimed the key.
	Request []byte
	// Response is its response as the Server encoded it; nil while the
	// request runs (the claim is pending).
	Response []byte
}

// ErrNotKept is wrapped by a Keeper's refusal to keep an entry its bounds
// do not allow. The Server answers the request all the same; what was not
// kept cannot be replayed or applied (see idempotency.go and plans.go).
var ErrNotKept = errors.New("not kept: over the keeper's bounds")

// KeepLimits bounds a MemoryKeeper. A zero field takes its default.
type KeepLimits struct {
	// Bytes bounds what the keeper holds in all; default 128 MiB. It is one
	// ceiling for every workspace: principals of one workspace that fill it
	// leave others' responses unkept (answered, but a retry runs again). A
	// service of many customers keeps keys in its database instead, as
	// examples/httpserver/service does, where each user is bounded alone.
	Bytes int64
	// UserBytes and UserItems bound what one Scope holds; default 8 MiB
	// and 1,000 entries. An entry larger than UserBytes is never kept.
	UserBytes int64
	UserItems int
	// GatewayBytes and GatewayItems bound what the messaging gateway's
	// Scope (KindGateway) holds in each workspace instead; default 64 MiB
	// and 100,000 entries. The gateway keeps a response per message it
	// routes, so its share is what its retry window lasts: 100,000 /route
	// answers (about 600 bytes each) are about 17 minutes at 100 messages
	// a second, and the full IdempotencyTTL below about 1.2 a second. A
	// late retry beyond it routes the message again.
	GatewayBytes int64
	GatewayItems int
}

// share returns the bytes and entries scope may hold.
func (l KeepLimits) share(scope Scope) (bytes int64, items int) {
	if scope.Kind == KindGateway {
		return l.GatewayBytes, l.GatewayItems
	}
	return l.UserBytes, l.UserItems
}

// entryOverhead is what an entry counts beyond its key and values: the
// bookkeeping a MemoryKeeper holds for it.
const entryOverhead = 160

// MemoryKeeper is the Keeper of one process: a map bounded by KeepLimits.
// A Scope over its own bounds makes room by dropping its own oldest
// finished entries (never a request still running); an entry that would
// take the keeper over Bytes is not kept, so one Scope never drops
// another's entries and memory has a hard ceiling. The one exception is a
// claim of a request in flight, which takes the keeper over Bytes by its
// digest and key for as long as the request runs. It is safe for
// concurrent use.
type MemoryKeeper struct {
	mu      sync.Mutex
	lim     KeepLimits
	entries map[memKey]*memEntry
	scopes  map[Scope]*memScope
	expiry  expiryHeap
	bytes   int64
}

type memKey struct {
	scope Scope
	plan  bool
	name  string // the idempotency key or the plan id
}

type memEntry struct {
	key      memKey
	request  []byte
	value    []byte // the response or the plan; nil while pending
	pending  bool
	expires  time.Time
	size     int64
	heapAt   int
	elem     *list.Element // in its scope's order, oldest first
	scopeSum *memScope
}

type memScope struct {
	bytes        int64
	order        list.List // of *memEntry
	pending      int       // claims in order
	pendingBytes int64     // their bytes
}

// NewMemoryKeeper returns an empty MemoryKeeper bounded by lim.
func NewMemoryKeeper(lim KeepLimits) *MemoryKeeper {
	if lim.Bytes <= 0 {
		lim.Bytes = 128 << 20
	}
	if lim.UserBytes <= 0 {
		lim.UserBytes = 8 << 20
	}
	if lim.UserItems <= 0 {
		lim.UserItems = 1000
	}
	if lim.GatewayBytes <= 0 {
		lim.GatewayBytes = 64 << 20
	}
	if lim.GatewayItems <= 0 {
		lim.GatewayItems = 100_000
	}
	return &MemoryKeeper{lim: lim, entries: map[memKey]*memEntry{}, scopes: map[Scope]*memScope{}}
}

// Size returns the bytes and entries the keeper holds, as its bounds count
// them.
func (k *MemoryKeeper) Size() (bytes int64, items int) {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.bytes, len(k.entries)
}

// ScopeSize returns the bytes and entries scope holds.
func (k *MemoryKeeper) ScopeSize(scope Scope) (bytes int64, items int) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if s := k.scopes[scope]; s != nil {
		return s.bytes, s.order.Len()
	}
	return 0, 0
}

// Claim implements Keeper.
func (k *MemoryKeeper) Claim(_ context.Context, scope Scope, key string, request []byte, now, expires time.Time) (*KeptResponse, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.expire(now)
	mk := memKey{scope: scope, name: key}
	if e := k.entries[mk]; e != nil {
		return &KeptResponse{Request: e.request, Response: e.value}, nil
	}
	e := &memEntry{key: mk, request: append([]byte(nil), request...), pending: true, expires: expires}
	return nil, k.add(e, true)
}

// Finish implements Keeper.
func (k *MemoryKeeper) Finish(_ context.Context, scope Scope, key string, request, response []byte, now, expires time.Time) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.expire(now)
	e := k.entries[memKey{scope: scope, name: key}]
	if e == nil || !e.pending || string(e.request) != string(request) {
		return nil
	}
	k.remove(e)
	e.value, e.pending, e.expires = append([]byte{}, response...), false, expires
	return k.add(e, false)
}

// Release implements Keeper.
func (k *MemoryKeeper) Release(_ context.Context, scope Scope, key string, request []byte) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	if e := k.entries[memKey{scope: scope, name: key}]; e != nil && e.pending && string(e.request) == string(request) {
		k.remove(e)
	}
	return nil
}

// KeepPlan implements Keeper.
func (k *MemoryKeeper) KeepPlan(_ context.Context, scope Scope, id string, plan []byte, now, expires time.Time) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.expire(now)
	mk := memKey{scope: scope, plan: true, name: id}
	if e := k.entries[mk]; e != nil {
		k.remove(e)
	}
	return k.add(&memEntry{key: mk, value: append([]byte{}, plan...), expires: expires}, false)
}

// TakePlan implements Keeper.
func (k *MemoryKeeper) TakePlan(_ context.Context, scope Scope, id string, now time.Time) ([]byte, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.expire(now)
	e := k.entries[memKey{scope: scope, plan: true, name: id}]
	if e == nil {
		return nil, nil
	}
	k.remove(e)
	return e.value, nil
}

// add stores e within the bounds, dropping its scope's oldest finished
// entries to make room, or refuses it with ErrNotKept and drops nothing. A
// claim (pending) is not held to the total bound.
func (k *MemoryKeeper) add(e *memEntry, claim bool) error {
	e.size = int64(len(e.key.name)+len(e.request)+len(e.value)) + entryOverhead
	s := k.scopes[e.key.scope]
	if s == nil {
		s = &memScope{}
	}
	maxBytes, maxItems := k.lim.share(e.key.scope)
	over := func() bool {
		return s.bytes+e.size > maxBytes || s.order.Len() >= maxItems ||
			(!claim && k.bytes+e.size > k.lim.Bytes)
	}
	droppable := s.bytes - s.pendingBytes // what the scope could free: its finished entries
	if e.size > maxBytes || (!claim && k.bytes-droppable+e.size > k.lim.Bytes) ||
		s.pending >= maxItems {
		return ErrNotKept
	}
	for el := s.order.Front(); el != nil && over(); {
		o := el.Value.(*memEntry)
		el = el.Next()
		if !o.pending {
			k.remove(o)
		}
	}
	k.scopes[e.key.scope] = s
	e.scopeSum, e.elem = s, s.order.PushBack(e)
	s.bytes += e.size
	if e.pending {
		s.pending++
		s.pendingBytes += e.size
	}
	k.bytes += e.size
	k.entries[e.key] = e
	heap.Push(&k.expiry, e)
	return nil
}

func (k *MemoryKeeper) remove(e *memEntry) {
	heap.Remove(&k.expiry, e.heapAt)
	delete(k.entries, e.key)
	s := e.scopeSum
	s.order.Remove(e.elem)
	s.bytes -= e.size
	if e.pending {
		s.pending--
		s.pendingBytes -= e.size
	}
	k.bytes -= e.size
	if s.order.Len() == 0 {
		delete(k.scopes, e.key.scope)
	}
}

// expire drops every entry whose expiry is not after now.
func (k *MemoryKeeper) expire(now time.Time) {
	for len(k.expiry) > 0 && !k.expiry[0].expires.After(now) {
		k.remove(k.expiry[0])
	}
}

// expiryHeap orders entries by expiry, soonest first.
type expiryHeap []*memEntry

func (h expiryHeap) Len() int           { return len(h) }
func (h expiryHeap) Less(i, j int) bool { return h[i].expires.Before(h[j].expires) }
func (h expiryHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].heapAt, h[j].heapAt = i, j
}
func (h *expiryHeap) Push(x any) {
	e := x.(*memEntry)
	e.heapAt = len(*h)
	*h = append(*h, e)
}
func (h *expiryHeap) Pop() any {
	old := *h
	e := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	return e
}
