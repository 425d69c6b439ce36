package postgres_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/botlife/botlife/lifecycle"
	"github.com/botlife/botlife/roles"
	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5/pgxpool"
)

// crash kills the server the way a crash does: it stops the postmaster, so
// that it forks nothing more, sends SIGKILL to it and every process it
// started, and waits until they are gone. Nothing runs a shutdown; what
// was only in shared memory (WAL not yet written) is lost.
func (s *server) crash(t *testing.T) {
	t.Helper()
	head, err := os.ReadFile(filepath.Join(s.data, "postmaster.pid"))
	if err != nil {
		t.Fatal(err)
	}
	pid, _ := strconv.Atoi(strings.SplitN(string(head), "\n", 2)[0])
	_ = syscall.Kill(pid, syscall.SIGSTOP)
	pids := []int{pid}
	stats, _ := filepath.Glob("/proc/[0-9]*/stat")
	for _, f := range stats {
		b, _ := os.ReadFile(f)
		if i := strings.LastIndexByte(string(b), ')'); i > 0 {
			fields := strings.Fields(string(b[i+1:])) // state, ppid, ...
			if len(fields) > 1 && fields[1] == strconv.Itoa(pid) {
				child, _ := strconv.Atoi(filepath.Base(filepath.Dir(f)))
				pids = append(pids, child)
			}
		}
	}
	for _, p := range pids {
		_ = syscall.Kill(p, syscall.SIGKILL)
	}
	deadline := time.Now().Add(30 * time.Second)
	for _, p := range pids {
		for syscall.Kill(p, 0) == nil {
			if time.Now().After(deadline) {
				t.Fatalf("process %d of the killed server is still there", p)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
}

// stream is what a crash test's clients were told: every acknowledgement,
// ordered by a logical clock (tick) read before each call and after its
// answer.
type stream struct {
	tick atomic.Int64

	mu          sync.Mutex
	lastDurable int64 // the latest start of a durable operation acknowledged
	bots        []lifecycle.Bot
	granted     []string
	audit       []lifecycle.AuditEntry
	opened      []lifecycle.SessionID
	messages    []routed
	tried       map[lifecycle.SessionID]uint64 // messages sent to the session's end user, answered or not
	users       map[string]lifecycle.SessionID
	commits     int
	crashing    bool
	ready       chan struct{} // closed when enough is acknowledged to crash
}

type routed struct {
	id       lifecycle.SessionID
	messages uint64
	end      int64
}

func (s *stream) durable(begin int64) {
	if begin > s.lastDurable {
		s.lastDurable = begin
	}
}

// check closes ready once 30 commits and 300 messages are acknowledged.
func (s *stream) check() {
	if !s.crashing && s.commits >= 30 && len(s.messages) >= 300 {
		s.crashing = true
		close(s.ready)
	}
}

// route sends messages for end users of its own, five each, until the
// server is gone.
func (s *stream) route(ctx context.Context, m *lifecycle.Manager, sender lifecycle.Sender, g int) {
	for k := 0; ; k++ {
		user := fmt.Sprintf("g%d-u%d", g, k/5)
		s.mu.Lock()
		if id, ok := s.users[user]; ok {
			s.tried[id]++
		}
		s.mu.Unlock()
		begin := s.tick.Add(1)
		sess, err := m.Route(ctx, sender, user)
		end := s.tick.Add(1)
		if err != nil {
			return
		}
		s.mu.Lock()
		if sess.Messages == 1 {
			s.opened = append(s.opened, sess.ID)
			s.users[user], s.tried[sess.ID] = sess.ID, 1
			s.durable(begin)
		}
		s.messages = append(s.messages, routed{sess.ID, sess.Messages, end})
		s.check()
		s.mu.Unlock()
	}
}

// commit creates bots, grants roles and appends audit entries in turn
// until the server is gone.
func (s *stream) commit(ctx context.Context, m *lifecycle.Manager, st lifecycle.Store, mia lifecycle.Actor) {
	for i := 0; ; i++ {
		var b lifecycle.Bot
		var entries []lifecycle.AuditEntry
		var err error
		begin := s.tick.Add(1)
		switch i % 3 {
		case 0:
			b, err = m.Create(ctx, mia, lifecycle.Create{Name: fmt.Sprint("c", i), Channel: "sms",
				Senders: []lifecycle.Sender{{Channel: "sms", Address: fmt.Sprintf("+1666%04d", i)}}, Definition: definition()})
		case 1:
			_, err = m.GrantRole(ctx, lifecycle.System("crash"), fmt.Sprint("r", i), roles.Analyzer)
		default:
			entries, err = st.Commit(ctx, auditOnly(fmt.Sprint("a", i)))
		}
		if err != nil {
			return
		}
		s.mu.Lock()
		switch i % 3 {
		case 0:
			s.bots = append(s.bots, b)
		case 1:
			s.granted = append(s.granted, fmt.Sprint("r", i))
		default:
			s.audit = append(s.audit, entries...)
		}
		s.durable(begin)
		s.commits++
		s.check()
		s.mu.Unlock()
	}
}

// TestCrash (issue 25; R15, R24): kill -9 of the server in the middle of a
// stream of routed messages and commits loses nothing acknowledged as
// durable - bots, roles, audit entries, session openings - on a server
// whose own default is synchronous_commit=off (with fsync=on), the default
// the store must not depend on. A message count can be lost, but never one
// acknowledged before a durable operation that was acknowledged began
// (the flush of that commit wrote it). After the restart, an AuditLog
// resuming from the last number it saw sees the next entry: no number is
// handed out twice.
func TestCrash(t *testing.T) {
	requireServer(t)
	bin := findBin()
	if bin == "" {
		t.Skip("needs PostgreSQL's binaries to start a server it may kill")
	}
	srv, err := startServer(bin, "-c fsync=on -c synchronous_commit=off")
	if err != nil {
		t.Fatal(err)
	}
	defer srv.stop()
	ctx := context.Background()
	st := openStore(t, srv.url, func(c *pgxpool.Config) { c.MaxConns = 8 })
	m, err := lifecycle.New(lifecycle.Config{Store: st, Clock: &stepClock{t: time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)}})
	if err != nil {
		t.Fatal(err)
	}
	sender := lifecycle.Sender{Channel: "sms", Address: "+15550100"}
	mia := setupRouting(t, m, sender)

	s := &stream{ready: make(chan struct{}), tried: map[lifecycle.SessionID]uint64{}, users: map[string]lifecycle.SessionID{}}
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Go(func() { s.route(ctx, m, sender, g) })
	}
	wg.Go(func() { s.commit(ctx, m, st, mia) })
	<-s.ready
	srv.crash(t)
	wg.Wait()
	if err := srv.start(); err != nil {
		t.Fatal(err)
	}
	after := openStore(t, srv.url, nil)
	checkDurable(t, after, s)
	checkMessages(t, after, s)
}

// setupRouting grants mia the Manager role and makes a bot Active on sender.
func setupRouting(tb testing.TB, m *lifecycle.Manager, senders ...lifecycle.Sender) lifecycle.Actor {
	tb.Helper()
	ctx := context.Background()
	if _, err := m.GrantRole(ctx, lifecycle.System("setup"), "mia", roles.Manager); err != nil {
		tb.Fatal(err)
	}
	mia := lifecycle.User("mia")
	b, err := m.Create(ctx, mia, lifecycle.Create{Name: "router", Channel: "sms", Senders: senders, Definition: definition()})
	if err == nil {
		_, err = m.Activate(ctx, mia, b.ID, lifecycle.Decision{}, lifecycle.Ack{})
	}
	if err != nil {
		tb.Fatal(err)
	}
	return mia
}

// checkDurable checks that every acknowledged bot, role, audit entry and
// session opening survived the crash, and that the audit log goes on
// numbering after the last number any client saw.
func checkDurable(t *testing.T, st lifecycle.Store, s *stream) {
	ctx := context.Background()
	for _, want := range s.bots {
		got, err := st.Bot(ctx, "", want.ID)
		if err != nil || got.Revision != want.Revision || got.Name != want.Name {
			t.Errorf("bot %s after the crash: revision %d, %v; acknowledged revision %d", want.ID, got.Revision, err, want.Revision)
		}
	}
	for _, user := range s.granted {
		if rs, _, err := st.Roles(ctx, "", user); err != nil || !rs.Has(roles.Analyzer) {
			t.Errorf("the role granted to %s is gone after the crash: %v %v", user, rs, err)
		}
	}
	log, err := st.AuditLog(ctx, "", 0, everything)
	if err != nil {
		t.Fatal(err)
	}
	bySeq := map[uint64]lifecycle.AuditEntry{}
	var last uint64
	for _, e := range log {
		bySeq[e.Seq] = e
	}
	for _, want := range s.audit {
		if diff := cmp.Diff(want, bySeq[want.Seq]); diff != "" {
			t.Errorf("audit entry %d after the crash (-acknowledged +stored):\n%s", want.Seq, diff)
		}
		last = max(last, want.Seq)
	}
	next, err := st.Commit(ctx, auditOnly("after the crash"))
	if err != nil {
		t.Fatal(err)
	}
	resumed, err := st.AuditLog(ctx, "", last, everything)
	if err != nil || len(resumed) == 0 || resumed[len(resumed)-1].Seq != next[0].Seq || next[0].Seq != log[len(log)-1].Seq+1 {
		t.Errorf("R24: an AuditLog resuming after %d (the last acknowledged) does not end with the entry committed after the restart (%d; the log ended at %d): %v",
			last, next[0].Seq, log[len(log)-1].Seq, err)
	}
	sessions, err := st.Sessions(ctx, "", 0, everything)
	if err != nil {
		t.Fatal(err)
	}
	stored := map[lifecycle.SessionID]bool{}
	for _, x := range sessions {
		stored[x.ID] = true
	}
	for _, id := range s.opened {
		if !stored[id] {
			t.Errorf("session %d, whose opening was acknowledged, is gone after the crash", id)
		}
	}
	t.Logf("acknowledged before the crash: %d bots, %d roles, %d audit entries, %d session openings, %d messages",
		len(s.bots), len(s.granted), len(s.audit), len(s.opened), len(s.messages))
}

// checkMessages checks the message counts: each session keeps every
// message acknowledged before the start of the last durable operation
// that was acknowledged, and holds no message that was not sent; the
// counters SessionStats reads agree with the sessions.
func checkMessages(t *testing.T, st lifecycle.Store, s *stream) {
	ctx := context.Background()
	sessions, err := st.Sessions(ctx, "", 0, everything)
	if err != nil {
		t.Fatal(err)
	}
	count := map[lifecycle.SessionID]uint64{}
	var total uint64
	for _, x := range sessions {
		count[x.ID] = x.Messages
		total += x.Messages
	}
	lost := 0
	for _, r := range s.messages {
		if r.end < s.lastDurable && count[r.id] < r.messages {
			t.Errorf("session %d has %d messages after the crash; its message %d was acknowledged before a durable commit that was acknowledged began", r.id, count[r.id], r.messages)
		}
		if count[r.id] < r.messages {
			lost++
		}
	}
	for id, n := range count {
		if sent, ok := s.tried[id]; ok && n > sent {
			t.Errorf("session %d has %d messages after the crash; %d were sent", id, n, s.tried[id])
		}
	}
	stats, err := st.SessionStats(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	var counted, opened uint64
	for _, x := range stats {
		counted, opened = counted+x.Messages, opened+x.Opened
	}
	if counted != total || opened != uint64(len(sessions)) {
		t.Errorf("SessionStats counts %d sessions and %d messages after the crash; the sessions hold %d and %d", opened, counted, len(sessions), total)
	}
	t.Logf("message counts lost: %d of %d acknowledged", lost, len(s.messages))
}
