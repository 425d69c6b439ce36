package sqlite_test

// Tests that run a second process: the test binary itself, started again
// with BOTLIFE_SQLITE_CHILD set, runs TestChild in the mode it names.

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/benbjohnson/clock"
	"github.com/botlife/botlife/lifecycle"
	"github.com/botlife/botlife/roles"
	"github.com/botlife/botlife/store"
	"github.com/botlife/botlife/store/sqlite"
	"github.com/google/go-cmp/cmp"
)

const (
	childEnv = "BOTLIFE_SQLITE_CHILD" // mode:path[:seed]
)

// startChild runs the test binary as a child in mode on the database at
// path. Its stdout is returned for reading; stdin for writing.
func startChild(t *testing.T, mode, path string, seed uint64) (*exec.Cmd, *bufio.Reader, io.WriteCloser) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), fmt.Sprintf("%s=%s:%d:%s", childEnv, mode, seed, path))
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	return cmd, bufio.NewReader(out), in
}

// TestChild is the body of the child processes; it does nothing in a
// normal run.
func TestChild(t *testing.T) {
	spec := os.Getenv(childEnv)
	if spec == "" {
		t.Skip("runs only as a child process of TestCrash and TestTwoProcesses")
	}
	parts := strings.SplitN(spec, ":", 3)
	seed, _ := strconv.ParseUint(parts[1], 10, 64)
	if parts[0] == "race" {
		raceChild(t, parts[2])
		return
	}
	// crash-<Synchronous>; crash-default is the zero Options.
	sync, ok := strings.CutPrefix(parts[0], "crash-")
	if !ok {
		t.Fatalf("unknown child mode %q", parts[0])
	}
	crashChild(t, parts[2], seed, sqlite.Options{Synchronous: sqlite.Synchronous(strings.TrimPrefix(sync, "default"))})
}

// --- crash safety --------------------------------------------------------------

var crashStart = time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)

// crashStream is a deterministic stream of operations, each of which is
// one atomic store write (a commit, or a route): replayed from the same
// seed on the memory store it gives the state after any prefix.
type crashStream struct {
	rng  *rand.Rand
	m    *lifecycle.Manager
	clk  *clock.Mock
	bots int
}

func newCrashStream(t testing.TB, st lifecycle.Store, seed uint64) *crashStream {
	clk := clock.NewMock()
	clk.Set(crashStart)
	n := 0
	m, err := lifecycle.New(lifecycle.Config{Store: st, Clock: clk, NewID: func(lifecycle.Workspace) lifecycle.BotID {
		n++
		return lifecycle.BotID(fmt.Sprintf("bot-%04d", n))
	}})
	if err != nil {
		t.Fatal(err)
	}
	return &crashStream{rng: rand.New(rand.NewPCG(seed, 18)), m: m, clk: clk}
}

var crashSenders = []lifecycle.Sender{{Channel: "sms", Address: "2001"}, {Channel: "sms", Address: "2002"}, {Channel: "sms", Address: "2003"}}

// setup grants the roles the stream's users need; it is op 0..2.
func (g *crashStream) setup(ctx context.Context, i int) error {
	user, role := [3]string{"ada", "mia", "dan"}[i], [3]roles.Role{roles.Admin, roles.Manager, roles.Designer}[i]
	_, err := g.m.GrantRole(ctx, lifecycle.System("crash test"), user, role)
	return err
}

func (g *crashStream) bot() lifecycle.BotID {
	return lifecycle.BotID(fmt.Sprintf("bot-%04d", 1+g.rng.IntN(max(g.bots, 1))))
}

// step runs operation i (i >= 3) and returns its error, which is part of
// the stream (refusals are deterministic too).
func (g *crashStream) step(ctx context.Context) error {
	g.clk.Add(time.Duration(g.rng.IntN(90)) * time.Second)
	mia, dan := lifecycle.User("mia"), lifecycle.User("dan")
	switch r := g.rng.IntN(10); {
	case r < 2 || g.bots == 0:
		g.bots++
		var ss []lifecycle.Sender
		for _, s := range crashSenders {
			if g.rng.IntN(2) == 0 {
				ss = append(ss, s)
			}
		}
		if len(ss) == 0 {
			ss = crashSenders[:1]
		}
		_, err := g.m.Create(ctx, dan, lifecycle.Create{Name: "crash bot \u00e9 '); --", Channel: "sms", Senders: ss, Definition: benchDefinition()})
		return err
	case r < 4:
		dec := [3]lifecycle.Decision{{}, lifecycle.Immediate(), lifecycle.Grace(10 * time.Minute)}[g.rng.IntN(3)]
		_, err := g.m.Activate(ctx, mia, g.bot(), dec, lifecycle.Ack{})
		return err
	case r < 5:
		_, err := g.m.Deactivate(ctx, mia, g.bot(), time.Duration(g.rng.IntN(2))*5*time.Minute)
		return err
	case r < 6:
		_, err := g.m.EndGrace(ctx, mia, g.bot())
		return err
	case r < 9:
		_, err := g.m.Route(ctx, crashSenders[g.rng.IntN(3)], fmt.Sprintf("+4480%02d", g.rng.IntN(20)))
		return err
	default:
		user := [2]string{"sue", "eve"}[g.rng.IntN(2)] // not dan: he creates the bots
		if g.rng.IntN(2) == 0 {
			_, err := g.m.GrantRole(ctx, lifecycle.User("ada"), user, roles.Supervisor)
			return err
		}
		_, err := g.m.RevokeRole(ctx, lifecycle.User("ada"), user, roles.Supervisor)
		return err
	}
}

func (g *crashStream) op(ctx context.Context, i int) error {
	if i < 3 {
		return g.setup(ctx, i)
	}
	return g.step(ctx)
}

// crashChild runs the stream on the file and prints "ACK i" after
// operation i returns, until it is killed.
func crashChild(t *testing.T, path string, seed uint64, opts sqlite.Options) {
	ctx := context.Background()
	st, err := sqlite.OpenWith(ctx, path, opts)
	if err != nil {
		t.Fatal(err)
	}
	g := newCrashStream(t, st, seed)
	for i := 0; i < 100000; i++ {
		err := g.op(ctx, i)
		if err != nil && errors.Is(err, lifecycle.ErrUnavailable) {
			t.Fatal(err)
		}
		fmt.Fprintf(os.Stdout, "ACK %d\n", i)
	}
}

// storeContents is everything a store holds.
type storeContents struct {
	Bots     []lifecycle.Bot
	Roles    []roleAssignment
	Audit    []lifecycle.AuditEntry
	Sessions []lifecycle.Session
	Stats    []lifecycle.SessionStats
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

func readContents(t testing.TB, st lifecycle.Store) storeContents {
	t.Helper()
	ctx := context.Background()
	var c storeContents
	var errs [5]error
	c.Bots, errs[0] = st.Bots(ctx, "", "", everything)
	c.Roles, errs[1] = crashRoles(ctx, st)
	c.Audit, errs[2] = st.AuditLog(ctx, "", 0, everything)
	c.Sessions, errs[3] = st.Sessions(ctx, "", 0, 1<<30)
	c.Stats, errs[4] = st.SessionStats(ctx, "")
	if err := errors.Join(errs[:]...); err != nil {
		t.Fatal(err)
	}
	c.Bots, c.Roles, c.Audit, c.Sessions, c.Stats = nonNil(c.Bots), nonNil(c.Roles), nonNil(c.Audit), nonNil(c.Sessions), nonNil(c.Stats)
	return c
}

// roleAssignment is the roles one user holds.
type roleAssignment struct {
	User  string
	Roles roles.Set
}

// crashRoles reads the roles of the crash stream's users (a Store lists
// no users).
func crashRoles(ctx context.Context, st lifecycle.Store) ([]roleAssignment, error) {
	var out []roleAssignment
	for _, u := range []string{"ada", "dan", "eve", "mia", "sue"} {
		rs, _, err := st.Roles(ctx, "", u)
		if err != nil {
			return nil, err
		}
		if !rs.Empty() {
			out = append(out, roleAssignment{User: u, Roles: rs})
		}
	}
	return out, nil
}

// checkSenders checks R1 and R2 on the stored states.
func checkSenders(t *testing.T, st lifecycle.Store) {
	t.Helper()
	for _, s := range crashSenders {
		live, _, err := st.SenderBots(context.Background(), "", []lifecycle.Sender{s}, "")
		if err != nil {
			t.Fatal(err)
		}
		count := map[lifecycle.State]int{}
		for _, b := range live {
			on, _ := b.On(s)
			count[on.State]++
		}
		if count[lifecycle.Active] > 1 {
			t.Errorf("R1: %d Active bots on %s", count[lifecycle.Active], s)
		}
		if count[lifecycle.Deactivated] > 1 {
			t.Errorf("R2: %d Deactivated bots on %s", count[lifecycle.Deactivated], s)
		}
	}
}

// TestCrash (R15, durability): a child process runs a stream of operations
// on a store with the default Options (SyncCommits), SyncFull or
// SyncNormal in turn, printing each one acknowledged; it is killed with
// SIGKILL after a random number of them. Reopened, the file must hold
// exactly the state after the acknowledged operations, or after one more
// (the one in flight, if its commit landed): every acknowledged commit is
// there, and nothing is half-applied. R1 and R2 hold. Several runs, each
// with its own seed and kill point.
func TestCrash(t *testing.T) {
	runs := 9
	if testing.Short() {
		runs = 3
	}
	for run := 0; run < runs; run++ {
		seed := rand.Uint64()
		t.Run(fmt.Sprintf("run%d", run), func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "crash.db")
			acked := killChild(t, "crash-"+[3]string{"default", "FULL", "NORMAL"}[run%3], path, seed)

			st, err := sqlite.Open(context.Background(), path)
			if err != nil {
				t.Fatalf("reopening after the crash: %v", err)
			}
			defer st.Close()
			got := readContents(t, st)
			checkSenders(t, st)

			// Replay on the memory store: the state after acked operations,
			// then after one more.
			ref := store.NewMemory()
			g := newCrashStream(t, ref, seed)
			ctx := context.Background()
			for i := 0; i < acked; i++ {
				_ = g.op(ctx, i)
			}
			diff := cmp.Diff(readContents(t, ref), got)
			if diff == "" {
				t.Logf("seed %d: killed after %d acknowledged operations; the one in flight had not landed", seed, acked)
				return
			}
			_ = g.op(ctx, acked)
			if diff2 := cmp.Diff(readContents(t, ref), got); diff2 != "" {
				t.Fatalf("seed %d: after the crash the file holds neither the state after the %d acknowledged operations nor after one more.\n(-after %d +file):\n%s\n(-after %d +file):\n%s",
					seed, acked, acked, diff, acked+1, diff2)
			}
			t.Logf("seed %d: killed after %d acknowledged operations; the one in flight had landed", seed, acked)
		})
	}
}

// killChild runs a crash child in mode, kills it with SIGKILL after a
// random number of acknowledged operations, and returns how many it
// acknowledged.
func killChild(t *testing.T, mode, path string, seed uint64) int {
	t.Helper()
	killAfter := 5 + rand.IntN(150)
	cmd, out, _ := startChild(t, mode, path, seed)
	acked := 0
	for acked < killAfter {
		line, err := out.ReadString('\n')
		if err != nil {
			t.Fatalf("child ended after %d acknowledgements: %v", acked, err)
		}
		if strings.HasPrefix(line, "ACK ") {
			acked++
		}
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	// Lines the child wrote before it died were acknowledged too.
	rest, _ := io.ReadAll(out)
	acked += strings.Count(string(rest), "ACK ")
	_ = cmd.Wait()
	return acked
}

// --- two processes ---------------------------------------------------------------

const raceRounds = 40

// raceBot names the bot process p (0 parent, 1 child) activates in a round.
func raceBot(p, round, which int) lifecycle.BotID {
	return lifecycle.BotID(fmt.Sprintf("race-%d-%02d-%d", p, round, which))
}

func raceSender(round int) lifecycle.Sender {
	return lifecycle.Sender{Channel: "sms", Address: fmt.Sprintf("3%03d", round)}
}

// raceWorkspace is the workspace of process p's claims (R27).
func raceWorkspace(p int) lifecycle.Workspace { return lifecycle.Workspace(fmt.Sprintf("p%d", p)) }

// raceActivations is what each process does: in every round, activate its
// bot without a decision (only one can win the free sender: R1), then its
// second bot with a grace period (R2: the loser's plan must not leave two
// drains), then create a bot in its own workspace on a sender no bot names
// (R27: only one workspace can claim it). It reports each outcome as
// "round which kind".
func raceActivations(ctx context.Context, m *lifecycle.Manager, p int, report func(string)) {
	mia := lifecycle.User("mia")
	mw, err := m.Workspace(raceWorkspace(p))
	if err != nil {
		report(err.Error())
		return
	}
	for r := 0; r < raceRounds; r++ {
		_, err := m.Activate(ctx, mia, raceBot(p, r, 0), lifecycle.Decision{}, lifecycle.Ack{})
		report(fmt.Sprintf("%d 0 %s", r, kindOf(err)))
		_, err = m.Activate(ctx, mia, raceBot(p, r, 1), lifecycle.Grace(time.Hour), lifecycle.Ack{})
		report(fmt.Sprintf("%d 1 %s", r, kindOf(err)))
		_, err = mw.Apply(ctx, mia, lifecycle.Create{ID: lifecycle.BotID(fmt.Sprintf("claim-%02d", r)), Name: "claim", Channel: "sms",
			Definition: benchDefinition(), Senders: []lifecycle.Sender{{Channel: "sms", Address: fmt.Sprintf("4%03d", r)}}})
		report(fmt.Sprintf("%d claim %s", r, kindOf(err)))
	}
}

func kindOf(err error) string {
	switch {
	case err == nil:
		return "ok"
	case errors.Is(err, lifecycle.ErrSenderOccupied):
		return "occupied"
	case errors.Is(err, lifecycle.ErrConflict):
		return "conflict"
	case errors.Is(err, lifecycle.ErrSenderClaimed):
		return "claimed"
	}
	return strings.ReplaceAll(err.Error(), "\n", " ")
}

func raceManager(t testing.TB, st lifecycle.Store) *lifecycle.Manager {
	m, err := lifecycle.New(lifecycle.Config{Store: st, MaxAttempts: 50})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func raceChild(t *testing.T, path string) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	m := raceManager(t, st)
	fmt.Println("READY")
	if _, err := bufio.NewReader(os.Stdin).ReadString('\n'); err != nil {
		t.Fatal(err)
	}
	raceActivations(ctx, m, 1, func(s string) { fmt.Println("RESULT " + s) })
	// A plan no Decide would make: a new bot Active on a sender that has
	// one (read from the file the other process shares). The database must
	// refuse it.
	forced := lifecycle.Bot{ID: "forced", Name: "forced", Channel: "sms", Senders: []lifecycle.Sender{raceSender(0)},
		Revision: 1, Activations: 1}
	setLive(&forced, lifecycle.Active, time.Time{})
	_, err = st.Commit(ctx, lifecycle.Plan{Changes: []lifecycle.Change{{Bot: forced.ID, To: lifecycle.Active, After: &forced}}})
	fmt.Println("FORCED " + kindOf(err))
	fmt.Println("DONE")
}

// TestTwoProcesses (R1, R2, R15 across processes): two processes open one
// file and race, round after round, to activate bots on the same sender
// without a decision, then to replace the winner with a grace period.
// Exactly one process wins each first activation, and no sender ever holds
// two Active or two Deactivated bots. Each round the two also race, each in
// a workspace of its own, to create a bot on a sender no bot names:
// exactly one workspace claims it, the other is refused (R27). Then the child commits a plan that
// no Decide would make - a second Active bot on a sender - and the
// database refuses it.
func TestTwoProcesses(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "shared.db")
	st, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	m := raceManager(t, st)
	sys := lifecycle.System("race setup")
	for _, ws := range []lifecycle.Workspace{"", raceWorkspace(0), raceWorkspace(1)} {
		mw := m
		if ws != "" {
			mw, _ = m.Workspace(ws)
		}
		if _, err := mw.GrantRole(ctx, sys, "mia", roles.Manager); err != nil {
			t.Fatal(err)
		}
	}
	mia := lifecycle.User("mia")
	for r := 0; r < raceRounds; r++ {
		for p := 0; p < 2; p++ {
			for w := 0; w < 2; w++ {
				c := lifecycle.Create{ID: raceBot(p, r, w), Name: "race", Channel: "sms", Senders: []lifecycle.Sender{raceSender(r)}, Definition: benchDefinition()}
				if _, err := m.Apply(ctx, mia, c); err != nil {
					t.Fatal(err)
				}
			}
		}
	}

	cmd, out, in := startChild(t, "race", path, 0)
	if line, err := out.ReadString('\n'); err != nil || line != "READY\n" {
		t.Fatalf("child: %q, %v", line, err)
	}
	results := map[string]int{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		raceActivations(ctx, m, 0, func(s string) {
			mu.Lock()
			results[s]++
			mu.Unlock()
		})
	}()
	if _, err := io.WriteString(in, "go\n"); err != nil {
		t.Fatal(err)
	}
	for {
		line, err := out.ReadString('\n')
		if err != nil {
			t.Fatalf("child ended early: %v", err)
		}
		if line == "DONE\n" {
			break
		}
		if line == "FORCED conflict\n" {
			mu.Lock()
			results["forced"]++
			mu.Unlock()
		} else if strings.HasPrefix(line, "FORCED") {
			t.Errorf("R1: the other process committed a second Active bot on a sender: %s", line)
		}
		if s, ok := strings.CutPrefix(strings.TrimSuffix(line, "\n"), "RESULT "); ok {
			mu.Lock()
			results[s]++
			mu.Unlock()
		}
	}
	wg.Wait()
	if err := cmd.Wait(); err != nil {
		t.Fatalf("child: %v", err)
	}
	for r := 0; r < raceRounds; r++ {
		if got := results[fmt.Sprintf("%d 0 ok", r)]; got != 1 {
			t.Errorf("R1: round %d: %d processes activated a bot on the free sender, want exactly 1 (results %v)", r, got, results)
		}
		if got := results[fmt.Sprintf("%d 0 occupied", r)]; got != 1 {
			t.Errorf("round %d: %d activations refused as occupied, want 1", r, got)
		}
		if got := results[fmt.Sprintf("%d 1 ok", r)]; got != 2 {
			t.Errorf("round %d: %d grace activations succeeded, want 2 (each replaces the current bot)", r, got)
		}
		if ok, claimed := results[fmt.Sprintf("%d claim ok", r)], results[fmt.Sprintf("%d claim claimed", r)]; ok != 1 || claimed != 1 {
			t.Errorf("R27: round %d: %d workspaces claimed the free sender and %d were refused, want exactly 1 of each (results %v)", r, ok, claimed, results)
		}
		live, _, err := st.SenderBots(ctx, "", []lifecycle.Sender{raceSender(r)}, "")
		if err != nil {
			t.Fatal(err)
		}
		count := map[lifecycle.State]int{}
		for _, b := range live {
			on, _ := b.On(raceSender(r))
			count[on.State]++
		}
		if count[lifecycle.Active] != 1 || count[lifecycle.Deactivated] != 1 {
			t.Errorf("R1/R2: round %d ends with %v", r, count)
		}
	}
	if results["forced"] != 1 {
		t.Errorf("R1: the other process's forced plan was not refused with ErrConflict")
	}
	// The audit log both processes wrote is gap-free (R16, R24).
	all, err := st.AuditLog(ctx, "", 0, everything)
	if err != nil {
		t.Fatal(err)
	}
	for i, e := range all {
		if e.Seq != uint64(i+1) {
			t.Fatalf("R24: audit entry %d has Seq %d", i, e.Seq)
		}
	}
}
