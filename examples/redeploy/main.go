// Command redeploy tells the redeploy story of the product documentation as a
// timeline on a mock clock: a live bot v1 with open conversations, a copy v2
// edited, tried by its Designer in a test session (R26) and activated with a
// grace period, conversations routed to the old and the new bot, the grace
// period running out, then v3 replacing v2 immediately and a rollback to v2.
// Then the Berlin branch: its bot runs on two numbers and leaves one of them
// with a grace period while it stays Active on the other (R22), and its next
// version is released at 02:00 Berlin time by a schedule that ExpireDue runs
// once the clock passes it (R23). The output starts with a key: the time
// zone, the numbers, the idle timeout and the rule codes it names; no line
// is wider than 100 columns.
//
//	go run ./examples/redeploy
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/benbjohnson/clock"
	"github.com/botlife/botlife/lifecycle"
	"github.com/botlife/botlife/roles"
	"github.com/botlife/botlife/store"
	"github.com/botlife/botlife/validate"
)

func main() {
	if err := run(os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "redeploy:", err)
		os.Exit(1)
	}
}

// width is the widest line the story prints.
const width = 100

// glossary explains, in the header, every rule code the story names.
var glossary = []struct{ code, what string }{
	{"R20", "rollback"}, {"R22", "per-number state"}, {"R23", "schedules"}, {"R26", "test sessions"},
}

// story holds the cast and prints the narration.
type story struct {
	w   io.Writer
	ctx context.Context
	clk *clock.Mock
	m   *lifecycle.Manager
	st  *store.Memory
	// The numbers (senders) end users write to: Pizza Planet's, the
	// Berlin branch's and its Christmas market stall's.
	pizza, main, market lifecycle.Sender
}

// say prints a line of the timeline, wrapped to width.
func (s *story) say(format string, args ...any) {
	fit(s.w, s.clk.Now().Format("15:04:05")+"  "+fmt.Sprintf(format, args...), 14)
}

// num is a number's short name, as the header lists it.
func (s *story) num(sn lifecycle.Sender) string {
	switch sn {
	case s.pizza:
		return "pizza"
	case s.main:
		return "berlin"
	case s.market:
		return "market"
	}
	return sn.String()
}

// header tells what the story shows and the key to its lines.
func (s *story) header() {
	fmt.Fprintf(s.w, `The redeploy story: Pizza Planet's live WhatsApp bot v1 is replaced by an edited copy v2,
tried first in a test session, without cutting off v1's open conversations; then v3, a
rollback to v2, and the Berlin branch: b1 leaves one of its two numbers, b2 is released by a
schedule at 02:00 Berlin time. Times are UTC (hh:mm:ss) on a mock clock from %s.
The numbers (senders) end users write to, by short name:
  %-6s  %-21s  Pizza Planet: v1, v2, v3
  %-6s  %-21s  the Berlin branch: b1, then b2
  %-6s  %-21s  the Berlin branch's Christmas market stall: b1
A session closes after %d minutes without a message (the idle timeout; reason idle_timeout).
`, s.clk.Now().Format("2006-01-02 15:04"), s.num(s.pizza), s.pizza, s.num(s.main), s.main,
		s.num(s.market), s.market, lifecycle.DefaultIdleTimeout/time.Minute)
	var codes []string
	for _, g := range glossary {
		codes = append(codes, g.code+" "+g.what)
	}
	fmt.Fprintf(s.w, "Rule codes: %s.\n\n", strings.Join(codes, ", "))
}

// fit prints line without trailing blanks, wrapped to width: the rest goes
// on continuation lines indented by indent, broken after the last ", " or
// "; " in the line's last third, else at its last blank. A line with no
// blank to break at is printed whole.
func fit(w io.Writer, line string, indent int) {
	line = strings.TrimRight(line, " ")
	for len(line) > width {
		head := line[:width+1]
		cut := max(strings.LastIndex(head[:width], ", "), strings.LastIndex(head[:width], "; ")) + 1
		if cut < width*2/3 {
			cut = strings.LastIndexByte(head, ' ')
		}
		if cut <= indent {
			break
		}
		fmt.Fprintln(w, strings.TrimRight(line[:cut], " "))
		line = strings.Repeat(" ", indent) + strings.TrimLeft(line[cut:], " ")
	}
	fmt.Fprintln(w, line)
}

// table aligns the tab-separated header and rows and prints them through
// fit, continuation lines indented to the column headed last.
func table(w io.Writer, header, last string, rows []string) error {
	var b strings.Builder
	tw := tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, header)
	for _, r := range rows {
		fmt.Fprintln(tw, r)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	lines := strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n")
	indent := strings.LastIndex(lines[0], last)
	for _, l := range lines {
		fit(w, l, indent)
	}
	return nil
}

func (s *story) chat(line lifecycle.Sender, user string, names map[lifecycle.BotID]string) error {
	sess, err := s.m.Route(s.ctx, line, user)
	if err != nil {
		return err
	}
	kind := "continues"
	if sess.Messages == 1 {
		kind = "opens"
	}
	s.say("%-6s writes to %-6s -> session %d on %s (%s)", user, s.num(line), sess.ID, names[sess.Bot], kind)
	return nil
}

// greeting is a bot in the reference format that greets with text.
func greeting(text string) (lifecycle.Definition, error) {
	return lifecycle.ReferenceDefinition(validate.Definition{
		Channel: "whatsapp", EntryDialog: "welcome", FallbackDialog: "agent",
		Dialogs: []validate.Dialog{
			{ID: "welcome", Name: "Welcome", Elements: []validate.Element{
				{Type: validate.Buttons, Text: text, Options: []string{"Menu", "Order", "Agent"}},
				{Type: validate.GoTo, Target: "agent"},
			}},
			{ID: "agent", Name: "Agent", Elements: []validate.Element{{Type: validate.Transfer, Queue: "pizza"}}},
		},
	})
}

func run(w io.Writer) error {
	clk := clock.NewMock()
	clk.Set(time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC))
	st := store.NewMemory()
	n := 0
	m, err := lifecycle.New(lifecycle.Config{Store: st, Clock: clk, NewID: func(lifecycle.Workspace) lifecycle.BotID {
		n++
		return lifecycle.BotID(fmt.Sprintf("bot-%d", n))
	}})
	if err != nil {
		return err
	}
	s := &story{w: w, ctx: context.Background(), clk: clk, m: m, st: st}
	for _, n := range []struct {
		sn   *lifecycle.Sender
		addr string
	}{{&s.pizza, "+1 555 0100"}, {&s.main, "+49 30 1234567"}, {&s.market, "+49 30 7654321"}} {
		if *n.sn, err = lifecycle.NewSender("whatsapp", n.addr); err != nil {
			return err
		}
	}
	s.header()
	ada, dan, mia := lifecycle.User("ada"), lifecycle.User("dan"), lifecycle.User("mia")

	fmt.Fprintln(w, "== Setup: ada is Admin, dan a Designer, mia a Manager")
	if _, err := m.GrantRole(s.ctx, lifecycle.System("first Admin"), "ada", roles.Admin); err != nil {
		return err
	}
	for _, g := range []struct {
		user string
		role roles.Role
	}{{"dan", roles.Designer}, {"mia", roles.Manager}} {
		if _, err := m.GrantRole(s.ctx, ada, g.user, g.role); err != nil {
			return err
		}
	}
	line := s.pizza
	def1, err := greeting("Welcome to Pizza Planet!")
	if err != nil {
		return err
	}
	v1, err := m.Create(s.ctx, dan, lifecycle.Create{Name: "Pizza bot", Channel: "whatsapp", Senders: []lifecycle.Sender{line}, Definition: def1})
	if err != nil {
		return err
	}
	if _, err := m.Activate(s.ctx, mia, v1.ID, lifecycle.Decision{}, lifecycle.Ack{}); err != nil {
		return err
	}
	if v1.IdleTimeout != lifecycle.DefaultIdleTimeout {
		return fmt.Errorf("v1's idle timeout is %v, the header says %v", v1.IdleTimeout, lifecycle.DefaultIdleTimeout)
	}
	names := map[lifecycle.BotID]string{v1.ID: "v1"}
	s.say("v1 %q is Active on the %s number", v1.Name, s.num(line))
	for _, u := range []string{"alice", "bob", "carol"} {
		if err := s.chat(line, u, names); err != nil {
			return err
		}
	}

	fmt.Fprintln(w, "\n== Steps 1-2: dan duplicates v1 and edits the copy (live bots are never edited)")
	clk.Add(10 * time.Minute)
	v2, err := m.Duplicate(s.ctx, dan, v1.ID, "Pizza bot v2")
	if err != nil {
		return err
	}
	names[v2.ID] = "v2"
	def, err := greeting("Welcome to Pizza Planet! Try our new vegan menu.")
	if err != nil {
		return err
	}
	if _, err := m.Update(s.ctx, dan, lifecycle.Update{Bot: v2.ID, Definition: &def}); err != nil {
		return err
	}
	s.say("v2 %q is a %v copy with a new greeting", v2.Name, v2.State)
	if _, err := m.Update(s.ctx, dan, lifecycle.Update{Bot: v1.ID, Definition: &def}); err != nil {
		s.say("editing v1 instead is refused: %v", err)
	}
	if err := s.tryCopy(v2.ID, names); err != nil {
		return err
	}

	fmt.Fprintln(w, "\n== Steps 3-4: mia activates v2; both use the same number, so the system asks")
	if _, err := m.Activate(s.ctx, mia, v2.ID, lifecycle.Decision{}, lifecycle.Ack{}); err != nil {
		s.say("refused: %v", err)
	} else {
		return fmt.Errorf("activation without a decision went through")
	}

	fmt.Fprintln(w, "\n== Step 5: mia gives v1 a 15 minute grace period")
	plan, err := m.Activate(s.ctx, mia, v2.ID, lifecycle.Grace(15*time.Minute), lifecycle.Ack{})
	if err != nil {
		return err
	}
	for _, c := range plan.Changes {
		s.say("%s: %v -> %v", names[c.Bot], c.From, c.To)
	}
	deadline, _ := s.botState(v1.ID)
	s.say("v1 drains until %s", deadline.Format("15:04:05"))

	clk.Add(5 * time.Minute)
	if err := s.chat(line, "alice", names); err != nil { // open session: stays on v1
		return err
	}
	if err := s.chat(line, "bob", names); err != nil { // open session: stays on v1
		return err
	}
	if err := s.chat(line, "dave", names); err != nil { // new end user: v2
		return err
	}

	fmt.Fprintln(w, "\n== Step 6: the grace period ends")
	clk.Set(deadline)
	if _, st := s.botState(v1.ID); st != lifecycle.Inactive {
		return fmt.Errorf("v1 still %v at its deadline", st)
	}
	s.say("at the deadline v1 reads Inactive, before any sweep")
	if err := s.chat(line, "alice", names); err != nil { // old session is over: new one on v2
		return err
	}
	s.say("alice's session 1 on v1 is recorded closed now, as her message is routed")
	recordedBy, err := s.recordedClosed(nil, "alice's message")
	if err != nil {
		return err
	}
	clk.Add(time.Minute)
	exp, err := m.ExpireDue(s.ctx)
	if err != nil {
		return err
	}
	s.say("ExpireDue (a sweep, a minute late): %d drain ended, %d more session(s) recorded closed",
		len(exp.DrainsEnded), exp.SessionsClosed)
	s.say("every v1 session ends at the deadline, %s, with grace_expired, whoever records it",
		deadline.Format("15:04:05"))
	if recordedBy, err = s.recordedClosed(recordedBy, "ExpireDue at "+clk.Now().Format("15:04:05")); err != nil {
		return err
	}

	fmt.Fprintln(w, "\n== Step 7: dan makes v3; mia replaces v2 with it immediately")
	clk.Add(9 * time.Minute)
	v3, err := m.Duplicate(s.ctx, dan, v2.ID, "Pizza bot v3")
	if err != nil {
		return err
	}
	names[v3.ID] = "v3"
	def3, err := greeting("Welcome to Pizza Planet! Two pizzas for one today.")
	if err != nil {
		return err
	}
	if _, err := m.Update(s.ctx, dan, lifecycle.Update{Bot: v3.ID, Definition: &def3}); err != nil {
		return err
	}
	plan, err = m.Activate(s.ctx, mia, v3.ID, lifecycle.Immediate(), lifecycle.Ack{})
	if err != nil {
		return err
	}
	for _, c := range plan.Changes {
		s.say("%s: %v -> %v", names[c.Bot], c.From, c.To)
	}
	s.say("no grace: v2's open sessions (dave's, alice's) end now, replaced")
	if err := s.chat(line, "dave", names); err != nil { // v2 no longer serves him: v3
		return err
	}
	if err := s.chat(line, "erin", names); err != nil {
		return err
	}
	if recordedBy, err = s.recordedClosed(recordedBy, "dave's message"); err != nil {
		return err
	}

	fmt.Fprintln(w, "\n== Step 8: the offer was a mistake; mia rolls back to v2")
	clk.Add(5 * time.Minute)
	plan, err = m.Rollback(s.ctx, mia, v3.ID, lifecycle.Immediate(), lifecycle.Ack{})
	if err != nil {
		return err
	}
	for _, c := range plan.Changes {
		s.say("%s: %v -> %v", names[c.Bot], c.From, c.To)
	}
	s.say("v2 is unchanged since it was last Active, so it comes back as it was (R20)")
	if err := s.chat(line, "erin", names); err != nil { // her v3 session is over: v2
		return err
	}
	if recordedBy, err = s.recordedClosed(recordedBy, "erin's message"); err != nil {
		return err
	}
	clk.Add(time.Minute)
	if _, err := m.ExpireDue(s.ctx); err != nil {
		return err
	}
	if recordedBy, err = s.recordedClosed(recordedBy, "ExpireDue at "+clk.Now().Format("15:04:05")); err != nil {
		return err
	}

	br, berlinBots, err := s.berlinBranch(names, recordedBy)
	if err != nil {
		return err
	}
	recordedBy = br.recorded

	fmt.Fprintln(w, "\n== Final states")
	var rows []string
	for _, id := range append([]lifecycle.BotID{v1.ID, v2.ID, v3.ID}, berlinBots...) {
		b, err := m.Get(s.ctx, mia, id)
		if err != nil {
			return err
		}
		ended, reason := "", lifecycle.CloseReason("")
		if b.State == lifecycle.Inactive {
			ended, reason = b.EndedAt.Format("15:04:05"), b.EndReason
		}
		rows = append(rows, fmt.Sprintf("%s\t%s\t%v\t%s\t%s", names[id], b.Name, b.State, ended, reason))
	}
	if err := table(w, "bot\tname\tstate\tended at\tend reason", "end reason", rows); err != nil {
		return err
	}

	if err := s.sessionTable(names, recordedBy); err != nil {
		return err
	}

	fmt.Fprintln(w, "\n== Audit log (read by ada, the Admin; \"recorded\" is when the entry was written)")
	log, err := m.AuditLog(s.ctx, ada, 0, 100)
	if err != nil {
		return err
	}
	rows = rows[:0]
	for _, e := range log {
		rows = append(rows, fmt.Sprintf("%d\t%s\t%s\t%v\t%s\t%s", e.Seq, e.Time.Format("15:04:05"), e.Actor, e.Roles, e.Action, br.changes(e)))
	}
	return table(w, "seq\trecorded\tactor\troles\taction\tchanges", "changes", rows)
}

// recordedClosed notes, for each session the store has recorded closed
// since the last call, what recorded it; seen holds the earlier notes.
func (s *story) recordedClosed(seen map[lifecycle.SessionID]string, by string) (map[lifecycle.SessionID]string, error) {
	if seen == nil {
		seen = map[lifecycle.SessionID]string{}
	}
	recorded, err := s.st.Sessions(s.ctx, "", 0, 1000)
	if err != nil {
		return nil, err
	}
	for _, sess := range recorded {
		if _, ok := seen[sess.ID]; !ok && !sess.Open() {
			seen[sess.ID] = by
		}
	}
	return seen, nil
}

// botState returns a bot's grace deadline and state as seen now: Get reads
// a drain past its deadline as over, sweep or not (R9).
func (s *story) botState(id lifecycle.BotID) (time.Time, lifecycle.State) {
	b, err := s.m.Get(s.ctx, lifecycle.User("mia"), id)
	if err != nil {
		return time.Time{}, 0
	}
	return b.GraceDeadline, b.State
}

// sessionTable prints every end user's session as seen now, with what
// recorded it closed; test sessions (R26) are left out, by number.
func (s *story) sessionTable(names map[lifecycle.BotID]string, recordedBy map[lifecycle.SessionID]string) error {
	fmt.Fprintln(s.w, "\n== Sessions (closed: when the session ended; recorded by: what wrote that down)")
	var tests, rows []string
	recorded, err := s.st.Sessions(s.ctx, "", 0, 1000)
	if err != nil {
		return err
	}
	for _, r := range recorded {
		if r.Sender.IsTest() { // R26: its tester's alone, not found by Session
			tests = append(tests, fmt.Sprint(r.ID))
			continue
		}
		sess, err := s.m.Session(s.ctx, r.ID)
		if err != nil {
			return err
		}
		closed := "open"
		if !sess.Open() {
			closed = sess.ClosedAt.Format("15:04:05")
		}
		rows = append(rows, fmt.Sprintf("%d\t%s\t%s\t%d\t%s\t%s\t%s", sess.ID, sess.EndUser, names[sess.Bot], sess.Messages, closed, sess.CloseReason, recordedBy[sess.ID]))
	}
	if err := table(s.w, "id\tend user\tbot\tmessages\tclosed\treason\trecorded by", "recorded by", rows); err != nil {
		return err
	}
	fmt.Fprintf(s.w, "(left out, R26: test session %s, which serves no end user)\n",
		strings.Join(tests, ", "))
	return nil
}
