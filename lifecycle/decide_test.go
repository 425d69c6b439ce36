package lifecycle_test

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/botlife/botlife/lifecycle"
	"github.com/botlife/botlife/roles"
	"github.com/botlife/botlife/validate"
	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite the expected output of the decision cases in testdata/decide")

// TestDecideCases runs the decision cases in testdata/decide: each is a
// snapshot, a command and the plan (or refusal) Decide must return, named
// by the rule it proves. They call Decide directly: no store, no clock.
//
// A case reads:
//
//	case R5/occupied-sender-needs-a-decision
//	actor mia manager
//	bot a active senders=100
//	bot b draft senders=100
//	do activate b
//	----
//	error sender occupied: activate: cannot activate bot b without ...
//
// Directives before "do": actor ID [ROLE,...] | actor system "REASON";
// bot ID STATE [senders=A,B] [rev=N] [def=KIND] [name=N]
// [deadline=DUR] [left=DUR] [wasdef=KIND] [wassenders=A,B] (its content
// when last Active, R20; by default as it is) [legacy=yes]
// [edited=definition,senders] (stored before content fingerprints, with
// what that version recorded) [activations=N] [ends=K,...] [open=K,...]
// [tests=SLOT:K:TESTER[@DUR],...] (R26 leases, see parseTests);
// lastactive ID; show ends;
// user ID [roles=ROLE,...] [admins=N]; policy [maxgrace=DUR] [maxtests=N]
// [matrix=manager-audit] [checker=flow|panics]; KIND is a definition, see
// func definition. Durations are relative to now; values may be Go
// quoted strings, and X*N repeats X N times. The output lists the error,
// every change, role change, audit entry, dark sender and report. Run with
// -update to rewrite the expected output after reviewing the change.
func TestDecideCases(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "decide", "*.txt"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no decision cases: %v", err)
	}
	total := 0
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		cases := parseCases(t, file, string(data))
		total += len(cases)
		var out strings.Builder
		for i := range cases {
			c := &cases[i]
			t.Run(c.name, func(t *testing.T) {
				got := c.run(t)
				if *update {
					c.want = got
					return
				}
				if diff := cmp.Diff(c.want, got); diff != "" {
					t.Errorf("%s:%d: %s (-want +got):\n%s", file, c.line, c.name, diff)
				}
			})
			out.WriteString(c.format())
		}
		if *update {
			if err := os.WriteFile(file, []byte(strings.TrimRight(out.String(), "\n")+"\n"), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	if total < 40 {
		t.Errorf("%d decision cases; every command and refusal needs one (at least 40)", total)
	}
}

type decideCase struct {
	name     string
	line     int
	comments []string
	input    []string
	want     string
}

func (c *decideCase) format() string {
	var b strings.Builder
	for _, l := range c.comments {
		b.WriteString(l + "\n")
	}
	b.WriteString("case " + c.name + "\n")
	for _, l := range c.input {
		b.WriteString(l + "\n")
	}
	b.WriteString("----\n" + c.want + "\n")
	return b.String()
}

func parseCases(t *testing.T, file, data string) []decideCase {
	var cases []decideCase
	var comments []string
	var cur *decideCase
	inWant := false
	for i, l := range strings.Split(data, "\n") {
		switch {
		case strings.HasPrefix(l, "case "):
			cases = append(cases, decideCase{name: strings.TrimPrefix(l, "case "), line: i + 1, comments: comments})
			cur, comments, inWant = &cases[len(cases)-1], nil, false
		case cur == nil || (inWant && strings.HasPrefix(l, "#")) || (!inWant && strings.HasPrefix(l, "#")):
			if strings.TrimSpace(l) != "" {
				comments = append(comments, l)
			}
		case l == "----":
			inWant = true
		case inWant:
			if l != "" {
				if cur.want != "" {
					cur.want += "\n"
				}
				cur.want += l
			}
		case strings.TrimSpace(l) != "":
			cur.input = append(cur.input, l)
		}
	}
	if len(comments) > 0 {
		t.Fatalf("%s: comments after the last case", file)
	}
	return cases
}

// now is the instant every case is decided at.
var now = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func (c *decideCase) run(t *testing.T) string {
	t.Helper()
	snap := lifecycle.Snapshot{}
	var cmd lifecycle.Command
	showEnds := false
	for _, l := range c.input {
		words := splitWords(t, l)
		switch words[0] {
		case "actor":
			snap.Actor, snap.ActorRoles = parseActor(t, words[1:])
		case "bot":
			snap.Bots = append(snap.Bots, parseBot(t, words[1:]))
		case "schedule":
			snap.Schedule = parseSchedule(t, words[1:], snap.Bots)
		case "lastactive":
			snap.LastActive = lifecycle.BotID(words[1])
		case "user":
			kv := keyValues(t, words[2:])
			snap.UserRoles = parseRoles(t, kv["roles"])
			if kv["admins"] != "" {
				snap.Admins = atoi(t, kv["admins"])
			}
		case "policy":
			snap.Policy = parsePolicy(t, keyValues(t, words[1:]))
		case "do":
			cmd = parseCommand(t, words[1:], snap.Bots)
		case "show":
			if len(words) != 2 || words[1] != "ends" {
				t.Fatalf("show what? %q", l)
			}
			showEnds = true
		default:
			t.Fatalf("unknown directive %q", words[0])
		}
	}
	if cmd == nil {
		t.Fatal("case has no command (do ...)")
	}
	p, err := lifecycle.Decide(snap, cmd, now)
	out := renderPlan(p, err)
	if bot := unaudited(p); err == nil && bot != "" {
		t.Errorf("R16: the plan changes bot %s and no audit entry names it; a command records what it changed (a move, or a field of the entry)", bot)
	}
	if showEnds {
		out += renderEnds(p)
	}
	return out
}

// unaudited returns a bot the plan changes that none of its audit entries
// names (R16), or "": every change a command makes is audited, and a new
// command that changes a bot without moving it must say so in its entry.
func unaudited(p lifecycle.Plan) lifecycle.BotID {
	named := map[lifecycle.BotID]bool{}
	for _, e := range p.Audit {
		named[e.Bot] = true
		for _, tr := range e.Transitions {
			named[tr.Bot] = true
		}
		for _, tr := range e.Senders {
			named[tr.Bot] = true
		}
		if e.Test != nil {
			named[e.Test.Bot] = true
		}
	}
	for _, c := range p.Changes {
		if !named[c.Bot] {
			return c.Bot
		}
	}
	return ""
}

// renderEnds lists, for "show ends", the ends each changed bot keeps (R9):
// "ends BOT ACTIVATION[SENDERS]:REASON@TIME ...".
func renderEnds(p lifecycle.Plan) string {
	var out string
	for _, c := range p.Changes {
		if c.After == nil {
			continue
		}
		out += "\nends " + string(c.Bot)
		for _, e := range c.After.Ends {
			out += fmt.Sprintf(" %d", e.Activation)
			if e.Senders != nil {
				out += fmt.Sprint(addresses(e.Senders))
			}
			out += fmt.Sprintf(":%s@%s", e.Reason, rel(e.At))
		}
		if c.After.OpenActivations != nil {
			out += fmt.Sprintf(" BAD: a plan's bot has OpenActivations %v", c.After.OpenActivations)
		}
	}
	return out
}

// splitWords splits a line at spaces, keeping Go-quoted values whole.
func splitWords(t *testing.T, l string) []string {
	var out []string
	for l = strings.TrimSpace(l); l != ""; l = strings.TrimSpace(l) {
		i := 0
		for i < len(l) && l[i] != ' ' {
			if l[i] == '"' {
				q, err := strconv.QuotedPrefix(l[i:])
				if err != nil {
					t.Fatalf("bad quoted value in %q: %v", l, err)
				}
				i += len(q)
				continue
			}
			i++
		}
		out = append(out, l[:i])
		l = l[i:]
	}
	return out
}

// value reads a value: Go-quoted, X*N repeated, or as it is.
func value(t *testing.T, v string) string {
	if strings.HasPrefix(v, `"`) {
		s, err := strconv.Unquote(v)
		if err != nil {
			t.Fatalf("bad quoted value %s: %v", v, err)
		}
		return s
	}
	if x, n, ok := strings.Cut(v, "*"); ok {
		return strings.Repeat(x, atoi(t, n))
	}
	return v
}

func keyValues(t *testing.T, words []string) map[string]string {
	kv := map[string]string{}
	for _, w := range words {
		k, v, ok := strings.Cut(w, "=")
		if !ok {
			t.Fatalf("expected key=value, got %q", w)
		}
		kv[k] = value(t, v)
	}
	return kv
}

func atoi(t *testing.T, s string) int {
	n, err := strconv.Atoi(s)
	if err != nil {
		t.Fatalf("not a number: %q", s)
	}
	return n
}

func dur(t *testing.T, s string) time.Duration {
	d, err := time.ParseDuration(s)
	if err != nil {
		t.Fatalf("not a duration: %q", s)
	}
	return d
}

func parseRoles(t *testing.T, s string) roles.Set {
	var rs []roles.Role
	for _, name := range strings.Split(s, ",") {
		if name == "" || name == "none" {
			continue
		}
		r, err := roles.ParseRole(name)
		if err != nil {
			t.Fatal(err)
		}
		rs = append(rs, r)
	}
	set, err := roles.NewSet(rs...)
	if err != nil {
		t.Fatal(err)
	}
	return set
}

func parseActor(t *testing.T, words []string) (lifecycle.Actor, roles.Set) {
	if words[0] == "system" {
		reason := ""
		if len(words) > 1 {
			reason = value(t, words[1])
		}
		return lifecycle.System(reason), 0
	}
	rs := ""
	if len(words) > 1 {
		rs = words[1]
	}
	return lifecycle.User(value(t, words[0])), parseRoles(t, rs)
}

// definition is the document of def=KIND: clean, warn and error in the
// reference format (no finding, one warning, one error), nul (text with a
// NUL), garbage (reference format, not JSON), foreign (a format the default
// checker does not read), "text:..." (that text in the reference format)
// or "flow:..." (that text in flowFormat).
func definition(t *testing.T, kind string) lifecycle.Definition {
	if text, ok := strings.CutPrefix(kind, "text:"); ok {
		return lifecycle.Definition{Format: validate.ReferenceFormat, Text: text}
	}
	if text, ok := strings.CutPrefix(kind, "flow:"); ok {
		return lifecycle.Definition{Format: flowFormat, Text: text}
	}
	switch kind {
	case "", "clean":
		return cleanDef()
	case "warn":
		return warnDef()
	case "error":
		d := cleanRef()
		d.EntryDialog = "nowhere"
		return refDef(d)
	case "nul":
		return lifecycle.Definition{Format: validate.ReferenceFormat, Text: "Hel\x00lo"}
	case "garbage":
		return lifecycle.Definition{Format: validate.ReferenceFormat, Text: "dialogs: [hi]"}
	case "foreign":
		return lifecycle.Definition{Format: flowFormat, Text: "start: hi"}
	}
	t.Fatalf("unknown definition %q", kind)
	return lifecycle.Definition{}
}

// flowFormat is the format of the test checkers of policy checker=...
const flowFormat = "acme.flow/v1"

// testChecker reads flowFormat: a text with "error" in it has one error,
// one with "warn" one warning. If panics is set, Check panics.
type testChecker struct{ panics bool }

func (testChecker) Formats() []string { return []string{flowFormat} }

func (c testChecker) Check(doc validate.Document) validate.Report {
	if c.panics {
		panic("boom")
	}
	var fs []validate.Finding
	if strings.Contains(doc.Text, "error") {
		fs = append(fs, validate.Finding{Code: "flow.error", Severity: validate.Error, Path: "start", Message: "the flow has an error"})
	}
	if strings.Contains(doc.Text, "warn") {
		fs = append(fs, validate.Finding{Code: "flow.warn", Severity: validate.Warning, Path: "start", Message: "the flow has a warning"})
	}
	return validate.NewReport(fs)
}

func senders(s string) []lifecycle.Sender {
	var out []lifecycle.Sender
	for _, a := range strings.Split(s, ",") {
		if a != "" {
			out = append(out, sms(a))
		}
	}
	return out
}

// parseBot builds a stored bot whose timestamps fit its state.
func parseBot(t *testing.T, words []string) lifecycle.Bot {
	var st lifecycle.State
	if err := st.UnmarshalText([]byte(words[1])); err != nil {
		t.Fatal(err)
	}
	kv := keyValues(t, words[2:])
	b := lifecycle.Bot{ID: lifecycle.BotID(words[0]), Name: words[0], Channel: "sms", Senders: senders(kv["senders"]),
		Definition: definition(t, kv["def"]), IdleTimeout: 30 * time.Minute, State: st, Revision: 1,
		CreatedAt: now.Add(-3 * time.Hour), UpdatedAt: now.Add(-3 * time.Hour)}
	sort.Slice(b.Senders, func(i, j int) bool { return b.Senders[i].Address < b.Senders[j].Address })
	if n := kv["name"]; n != "" {
		b.Name = n
	}
	if r := kv["rev"]; r != "" {
		b.Revision = uint64(atoi(t, r))
	}
	left := -time.Hour
	if kv["left"] != "" {
		left = dur(t, kv["left"])
	}
	if st != lifecycle.Draft {
		b.Activations, b.FirstActivatedAt, b.ActivatedAt = 1, now.Add(-2*time.Hour), now.Add(-2*time.Hour)
	}
	switch st {
	case lifecycle.Deactivated:
		b.DeactivatedAt, b.GraceDeadline = now.Add(left), now.Add(10*time.Minute)
		if kv["deadline"] != "" {
			b.GraceDeadline = now.Add(dur(t, kv["deadline"]))
		}
	case lifecycle.Inactive:
		b.DeactivatedAt, b.EndedAt, b.EndReason = now.Add(left), now.Add(left), lifecycle.CloseDeactivated
	}
	if st != lifecycle.Draft { // R20: its content when it was last Active
		then := b
		if kv["wasdef"] != "" {
			then.Definition = definition(t, kv["wasdef"])
		}
		if kv["wassenders"] != "" {
			then.Senders = senders(kv["wassenders"])
		}
		b.ActiveContent = lifecycle.ContentFingerprint(&then)
	}
	if e := kv["edited"]; e != "" || kv["legacy"] == "yes" { // stored before content fingerprints
		b.ActiveContent = ""
		if e != "" {
			b.Edited = strings.Split(e, ",")
		}
	}
	if kv["activations"] != "" {
		b.Activations = uint64(atoi(t, kv["activations"]))
	}
	// R9: ends=K,... records how activations K ended (deactivated, each
	// ten minutes after the one before, the last an hour ago);
	// open=K,... lists the activations with a session recorded open.
	if kv["ends"] != "" {
		ks := strings.Split(kv["ends"], ",")
		for i, k := range ks {
			b.Ends = append(b.Ends, lifecycle.ActivationEnd{Activation: uint64(atoi(t, k)),
				At: now.Add(-time.Hour - time.Duration(len(ks)-1-i)*10*time.Minute), Reason: lifecycle.CloseDeactivated})
		}
	}
	if kv["open"] != "" {
		for _, k := range strings.Split(kv["open"], ",") {
			b.OpenActivations = append(b.OpenActivations, uint64(atoi(t, k)))
		}
	}
	b.Tests = parseTests(t, &b, kv["tests"])
	deadline := now.Add(10 * time.Minute)
	if kv["deadline"] != "" {
		deadline = now.Add(dur(t, kv["deadline"]))
	}
	b.Live = parseLive(t, b, kv["on"], deadline)
	b.GraceDeadline = time.Time{}
	for _, e := range b.Live {
		if e.State == lifecycle.Deactivated && (b.GraceDeadline.IsZero() || e.GraceDeadline.Before(b.GraceDeadline)) {
			b.GraceDeadline = e.GraceDeadline
		}
	}
	return b
}

// parseTests reads tests=SLOT:K:TESTER[@DUR],... (R26): b's test-session
// leases, slot SLOT, number K, opened by TESTER DUR from now (default 30
// minutes ago) on b's content as it is; b's activation counter is raised
// to the highest K.
func parseTests(t *testing.T, b *lifecycle.Bot, s string) []lifecycle.TestLease {
	var out []lifecycle.TestLease
	for _, p := range strings.Split(s, ",") {
		if p == "" {
			continue
		}
		p, at, _ := strings.Cut(p, "@")
		f := strings.Split(p, ":")
		if len(f) != 3 {
			t.Fatalf("tests: want SLOT:K:TESTER[@DUR], got %q", p)
		}
		opened := now.Add(-30 * time.Minute)
		if at != "" {
			opened = now.Add(dur(t, at))
		}
		l := lifecycle.TestLease{Slot: atoi(t, f[0]), Activation: uint64(atoi(t, f[1])), Tester: f[2],
			Content: lifecycle.ContentFingerprint(b), OpenedAt: opened}
		b.Activations = max(b.Activations, l.Activation)
		out = append(out, l)
	}
	return out
}

// parseSchedule reads "schedule ID STATUS at=DUR by=USER OP BOT [...]"
// (R23): a stored schedule, made an hour ago for the bot as the snapshot
// holds it, except that thendef=KIND, thensenders=A,B and thenname=N say
// what it was then; legacy=yes gives it the edition a version before
// content fingerprints wrote.
func parseSchedule(t *testing.T, words []string, bots []lifecycle.Bot) *lifecycle.Schedule {
	var args, pairs []string
	for _, w := range words[2:] {
		if strings.Contains(w, "=") {
			pairs = append(pairs, w)
		} else {
			args = append(args, w)
		}
	}
	kv := keyValues(t, pairs)
	sched := commandParsers["schedule"](t, args, map[string]string{"id": words[0], "at": "1h", "decision": kv["decision"], "grace": kv["grace"], "senders": kv["senders"], "ack": kv["ack"]}, bots)
	then := slices.Clone(bots)
	i := slices.IndexFunc(then, func(b lifecycle.Bot) bool { return string(b.ID) == args[1] })
	if i < 0 {
		// A bot deleted since: it was a Draft then.
		then = append(then, parseBot(t, []string{args[1], "draft", "senders=100,200"}))
		i = len(then) - 1
	}
	was := &then[i] // as it was when the schedule was made
	if kv["thendef"] != "" {
		was.Definition = definition(t, kv["thendef"])
	}
	if kv["thensenders"] != "" {
		was.Senders = senders(kv["thensenders"])
	}
	if kv["thenname"] != "" {
		was.Name = kv["thenname"]
	}
	made, err := lifecycle.Decide(lifecycle.Snapshot{Actor: lifecycle.User(kv["by"]), ActorRoles: roles.MustSet(roles.Manager), Bots: then},
		sched.(lifecycle.CreateSchedule), now.Add(-time.Hour))
	if err != nil {
		t.Fatalf("schedule: %v", err)
	}
	sc := made.Schedules[0].After
	sc.ID, sc.Seq, sc.Status, sc.At = lifecycle.ScheduleID(words[0]), 1, lifecycle.ScheduleStatus(words[1]), now.Add(dur(t, kv["at"]))
	if kv["legacy"] == "yes" { // stored by a version before content fingerprints
		sc.Edition = lifecycle.LegacyEdition(was)
	}
	return &sc
}

// parseLive reads on=ADDR:STATE,... (R22): the bot's state on each sender
// it is live on; without it a live bot is in its own state on all of them.
func parseLive(t *testing.T, b lifecycle.Bot, on string, deadline time.Time) []lifecycle.SenderState {
	var out []lifecycle.SenderState
	add := func(addr string, st lifecycle.State) {
		e := lifecycle.SenderState{Sender: sms(addr), State: st, Activation: b.Activations}
		if st == lifecycle.Deactivated {
			e.GraceDeadline = deadline
		}
		out = append(out, e)
	}
	if on == "" {
		if b.State.Live() {
			for _, s := range b.Senders {
				add(s.Address, b.State)
			}
		}
		return out
	}
	for _, p := range strings.Split(on, ",") {
		addr, name, _ := strings.Cut(p, ":")
		var st lifecycle.State
		if err := st.UnmarshalText([]byte(name)); err != nil {
			t.Fatal(err)
		}
		add(addr, st)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Sender.Address < out[j].Sender.Address })
	return out
}

func parsePolicy(t *testing.T, kv map[string]string) lifecycle.Policy {
	var p lifecycle.Policy
	if kv["maxgrace"] != "" {
		p.MaxGrace = dur(t, kv["maxgrace"])
	}
	if kv["maxtests"] != "" {
		p.MaxTestSessions = atoi(t, kv["maxtests"])
	}
	switch kv["checker"] {
	case "":
	case "flow": // R25: a service's own format
		p.Checker = testChecker{}
	case "panics": // R25: a checker that crashes
		p.Checker = testChecker{panics: true}
	default:
		t.Fatalf("unknown checker %q", kv["checker"])
	}
	switch kv["matrix"] {
	case "":
	case "manager-audit": // P4: the default matrix, and Manager reads the audit log too
		grants := map[roles.Role][]roles.Permission{}
		for _, r := range roles.AllRoles {
			grants[r] = roles.Default().Permissions(roles.MustSet(r))
		}
		grants[roles.Manager] = append(grants[roles.Manager], roles.ViewAuditLog)
		m, err := roles.NewMatrix(grants)
		if err != nil {
			t.Fatal(err)
		}
		p.Matrix = m
	default:
		t.Fatalf("unknown matrix %q", kv["matrix"])
	}
	return p
}
