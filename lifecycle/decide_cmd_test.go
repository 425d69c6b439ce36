package lifecycle_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/botlife/botlife/lifecycle"
	"github.com/botlife/botlife/roles"
	"github.com/botlife/botlife/validate"
)

// commandParsers turn "do OP ARGS..." into a command, one row per command.
var commandParsers = map[string]func(t *testing.T, args []string, kv map[string]string, bots []lifecycle.Bot) lifecycle.Command{
	"create": func(t *testing.T, _ []string, kv map[string]string, _ []lifecycle.Bot) lifecycle.Command {
		ss := senders(kv["senders"])
		for i := range ss {
			ss[i].Channel = "" // the bot's channel
		}
		var idle time.Duration
		if kv["idle"] != "" {
			idle = dur(t, kv["idle"])
		}
		return lifecycle.Create{ID: lifecycle.BotID(kv["id"]), Name: kv["name"], Description: kv["desc"], Channel: kv["channel"],
			Senders: ss, Definition: definition(t, kv["def"]), IdleTimeout: idle}
	},
	"update": func(t *testing.T, args []string, kv map[string]string, _ []lifecycle.Bot) lifecycle.Command {
		u := lifecycle.Update{Bot: lifecycle.BotID(args[0])}
		if v, ok := kv["name"]; ok {
			u.Name = &v
		}
		if v, ok := kv["desc"]; ok {
			u.Description = &v
		}
		if v, ok := kv["senders"]; ok {
			ss := senders(v)
			if ch := kv["channel"]; ch != "" {
				for i := range ss {
					ss[i].Channel = ch
				}
			}
			u.Senders = &ss
		}
		if v, ok := kv["def"]; ok {
			d := definition(t, v)
			u.Definition = &d
		}
		return u
	},
	"delete": func(_ *testing.T, args []string, _ map[string]string, _ []lifecycle.Bot) lifecycle.Command {
		return lifecycle.Delete{Bot: lifecycle.BotID(args[0])}
	},
	"duplicate": func(_ *testing.T, args []string, kv map[string]string, _ []lifecycle.Bot) lifecycle.Command {
		return lifecycle.Duplicate{Bot: lifecycle.BotID(args[0]), ID: lifecycle.BotID(kv["id"]), Name: kv["name"]}
	},
	"import": func(_ *testing.T, _ []string, kv map[string]string, _ []lifecycle.Bot) lifecycle.Command {
		return lifecycle.Import{ID: lifecycle.BotID(kv["id"]), Data: []byte(kv["data"])}
	},
	"activate":   parseActivate,
	"deactivate": parseDeactivate,
	// schedule [id=ID] at=DUR [zone=NAME] activate|deactivate BOT [...]:
	// the rest is the scheduled command, as its own row reads it.
	"schedule": func(t *testing.T, args []string, kv map[string]string, bots []lifecycle.Bot) lifecycle.Command {
		at := now.Add(dur(t, kv["at"]))
		if z := kv["zone"]; z != "" {
			loc, err := time.LoadLocation(z)
			if err != nil {
				t.Fatal(err)
			}
			at = at.In(loc)
		}
		var do lifecycle.Schedulable
		switch {
		case len(args) > 0 && args[0] == "activate":
			do = parseActivate(t, args[1:], kv, bots).(lifecycle.Schedulable)
		case len(args) > 0 && args[0] == "deactivate":
			do = parseDeactivate(t, args[1:], kv, bots).(lifecycle.Schedulable)
		}
		return lifecycle.CreateSchedule{ID: lifecycle.ScheduleID(kv["id"]), At: at, Do: do}
	},
	"cancel": func(_ *testing.T, args []string, _ map[string]string, _ []lifecycle.Bot) lifecycle.Command {
		return lifecycle.CancelSchedule{ID: lifecycle.ScheduleID(args[0])}
	},
	"run": func(_ *testing.T, args []string, _ map[string]string, _ []lifecycle.Bot) lifecycle.Command {
		return lifecycle.RunSchedule{ID: lifecycle.ScheduleID(args[0])}
	},
	"endgrace": func(_ *testing.T, args []string, _ map[string]string, _ []lifecycle.Bot) lifecycle.Command {
		return lifecycle.EndGrace{Bot: lifecycle.BotID(args[0])}
	},
	"expiregrace": func(_ *testing.T, args []string, _ map[string]string, _ []lifecycle.Bot) lifecycle.Command {
		return lifecycle.ExpireGrace{Bot: lifecycle.BotID(args[0])}
	},
	"rollback": func(t *testing.T, args []string, kv map[string]string, bots []lifecycle.Bot) lifecycle.Command {
		return lifecycle.Rollback{Bot: lifecycle.BotID(args[0]), Decision: decision(t, kv["decision"]), Ack: ack(kv["ack"], kv["target"], bots)}
	},
	"grant": func(t *testing.T, args []string, _ map[string]string, _ []lifecycle.Bot) lifecycle.Command {
		return lifecycle.GrantRole{User: value(t, args[0]), Role: role(t, args[1])}
	},
	"revoke": func(t *testing.T, args []string, _ map[string]string, _ []lifecycle.Bot) lifecycle.Command {
		return lifecycle.RevokeRole{User: value(t, args[0]), Role: role(t, args[1])}
	},
	// opentest BOT; closetest BOT K (R26).
	"opentest": func(_ *testing.T, args []string, _ map[string]string, _ []lifecycle.Bot) lifecycle.Command {
		return lifecycle.OpenTestSession{Bot: lifecycle.BotID(args[0])}
	},
	"closetest": func(t *testing.T, args []string, _ map[string]string, _ []lifecycle.Bot) lifecycle.Command {
		return lifecycle.CloseTestSession{Bot: lifecycle.BotID(args[0]), Activation: uint64(atoi(t, args[1]))}
	},
	"read": func(_ *testing.T, args []string, _ map[string]string, _ []lifecycle.Bot) lifecycle.Command {
		return lifecycle.Read{What: lifecycle.Op(args[0])}
	},
}

func parseActivate(t *testing.T, args []string, kv map[string]string, bots []lifecycle.Bot) lifecycle.Command {
	return lifecycle.Activate{Bot: lifecycle.BotID(args[0]), Decision: decision(t, kv["decision"]), Ack: ack(kv["ack"], args[0], bots),
		Senders: senders(kv["senders"])}
}

func parseDeactivate(t *testing.T, args []string, kv map[string]string, _ []lifecycle.Bot) lifecycle.Command {
	var g time.Duration
	if kv["grace"] != "" {
		g = dur(t, kv["grace"])
	}
	return lifecycle.Deactivate{Bot: lifecycle.BotID(args[0]), Grace: g, Senders: senders(kv["senders"])}
}

func parseCommand(t *testing.T, words []string, bots []lifecycle.Bot) lifecycle.Command {
	parse, ok := commandParsers[words[0]]
	if !ok {
		t.Fatalf("unknown command %q", words[0])
	}
	var args, pairs []string
	for _, w := range words[1:] {
		if strings.Contains(w, "=") {
			pairs = append(pairs, w)
		} else {
			args = append(args, w)
		}
	}
	return parse(t, args, keyValues(t, pairs), bots)
}

func role(t *testing.T, s string) roles.Role {
	r, err := roles.ParseRole(s)
	if err != nil && s != "none" {
		t.Fatal(err)
	}
	return r
}

func decision(t *testing.T, s string) lifecycle.Decision {
	d, err := lifecycle.ParseDecision(s)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// ack reads "codes:A,B" or "fingerprint" (the fingerprint of bot's report).
func ack(s string, bot string, bots []lifecycle.Bot) lifecycle.Ack {
	if codes, ok := strings.CutPrefix(s, "codes:"); ok {
		return lifecycle.Ack{Codes: strings.Split(codes, ",")}
	}
	if s == "fingerprint" {
		for _, b := range bots {
			if string(b.ID) == bot {
				var c validate.Checker = validate.Default()
				if b.Definition.Format == flowFormat {
					c = testChecker{}
				}
				r := c.Check(validate.Document{Format: b.Definition.Format, Text: b.Definition.Text, Channel: b.Channel})
				return lifecycle.Ack{Fingerprint: r.Fingerprint()}
			}
		}
	}
	return lifecycle.Ack{}
}

// renderPlan prints a plan and its error one fact a line, times relative
// to now.
func renderPlan(p lifecycle.Plan, err error) string {
	var lines []string
	add := func(format string, args ...any) { lines = append(lines, fmt.Sprintf(format, args...)) }
	if err != nil {
		var e *lifecycle.Error
		if !errors.As(err, &e) || e.Op != p.Op {
			add("BAD ERROR (not an *Error of op %s): %v", p.Op, err)
		} else {
			add("error %v: %v", e.Kind, err)
		}
	}
	for _, c := range p.Changes {
		add("change %s", renderChange(c))
	}
	for _, r := range p.Roles {
		add("role %s %v -> %v", r.User, r.From, r.To)
	}
	for _, c := range p.Schedules {
		add("schedule %s", renderSchedule(c))
	}
	for _, a := range p.Audit {
		add("audit %s", renderEntry(a)+renderTestAudit(p, a.Test))
	}
	if len(p.DarkSenders) > 0 {
		add("dark %v", p.DarkSenders)
	}
	if p.Report != nil {
		add("report errors=%v warnings=%v fingerprint=%s", codes(p.Report.Errors()), codes(p.Report.Warnings()), p.Report.Fingerprint())
	}
	if len(lines) == 0 {
		return "(nothing)"
	}
	return strings.Join(lines, "\n")
}

func renderChange(c lifecycle.Change) string {
	s := fmt.Sprintf("%s %v->%v rev=%d", c.Bot, c.From, c.To, c.Revision)
	b := c.After
	if b == nil {
		return s
	}
	if c.From == 0 {
		s += fmt.Sprintf(" name=%q channel=%s senders=%v idle=%v", b.Name, b.Channel, b.Senders, b.IdleTimeout)
		s += " def=" + renderDef(b.Definition)
	}
	if !b.GraceDeadline.IsZero() {
		s += " deadline=" + rel(b.GraceDeadline)
	}
	if b.State == lifecycle.Inactive && b.EndReason != "" {
		s += fmt.Sprintf(" ended=%s reason=%s", rel(b.EndedAt), b.EndReason)
	}
	if changed := b.ChangedSinceActive(); len(changed) > 0 {
		s += fmt.Sprintf(" changed=%v", changed)
	}
	if len(b.Live) > 0 {
		var on []string
		for _, e := range b.Live {
			x := fmt.Sprintf("%s:%v#%d", e.Sender.Address, e.State, e.Activation)
			if !e.GraceDeadline.IsZero() {
				x += "@" + rel(e.GraceDeadline)
			}
			on = append(on, x)
		}
		s += " on=" + strings.Join(on, ",")
	}
	for _, l := range b.Tests { // R26
		s += fmt.Sprintf(" test=%d#%d:%s@%s", l.Slot, l.Activation, l.Tester, rel(l.OpenedAt))
		if l.Content != lifecycle.ContentFingerprint(b) {
			s += "(stale)"
		}
	}
	for _, e := range b.Ends {
		if e.Senders != nil {
			s += fmt.Sprintf(" left=%d%v:%s@%s", e.Activation, addresses(e.Senders), e.Reason, rel(e.At))
		}
	}
	return s
}

func addresses(ss []lifecycle.Sender) []string {
	var out []string
	for _, s := range ss {
		out = append(out, s.Address)
	}
	return out
}

// renderDef shows a definition's format and its text, quoted when short
// (R25: the text is kept byte for byte), else its length.
func renderDef(d lifecycle.Definition) string {
	if len(d.Text) <= 60 {
		return fmt.Sprintf("%s:%q", d.Format, d.Text)
	}
	return fmt.Sprintf("%s:<%d bytes>", d.Format, len(d.Text))
}

func renderEntry(a lifecycle.AuditEntry) string {
	s := fmt.Sprintf("%s by %s roles=%v", a.Action, a.Actor, a.Roles)
	if a.System {
		s += " system"
	}
	if a.Denied {
		s += " denied"
	}
	if a.Bot != "" {
		s += " bot=" + string(a.Bot)
	}
	for _, tr := range a.Transitions {
		s += fmt.Sprintf(" %s:%v->%v", tr.Bot, tr.From, tr.To)
	}
	for _, tr := range a.Senders {
		s += fmt.Sprintf(" %s@%s:%v->%v", tr.Bot, tr.Sender.Address, tr.From, tr.To)
	}
	if !a.GraceDeadline.IsZero() {
		s += " deadline=" + rel(a.GraceDeadline)
	}
	if len(a.Acknowledged) > 0 {
		s += fmt.Sprintf(" ack=%v", a.Acknowledged)
	}
	if a.User != "" {
		s += fmt.Sprintf(" user=%s role=%v", a.User, a.Role)
	}
	if a.Reason != "" {
		s += fmt.Sprintf(" reason=%q", a.Reason)
	}
	if a.Schedule != "" {
		s += " schedule=" + string(a.Schedule)
	}
	return s
}

// renderTestAudit shows what an entry says of a test session (R26): its
// bot and number, and its content - "current" when it is the content of
// the bot as the plan leaves it.
func renderTestAudit(p lifecycle.Plan, e *lifecycle.TestSessionAudit) string {
	if e == nil {
		return ""
	}
	content := e.Content
	if b, ok := p.Bot(e.Bot); ok && lifecycle.ContentFingerprint(&b) == content {
		content = "current"
	}
	return fmt.Sprintf(" test=%s#%d content=%s", e.Bot, e.Activation, content)
}

func renderSchedule(c lifecycle.ScheduleChange) string {
	sc := c.After
	s := fmt.Sprintf("%s rev=%d->%d %s at=%s zone=%s by=%s %s %s", sc.ID, c.Revision, sc.Revision, sc.Status, rel(sc.At), sc.Zone, sc.CreatedBy, sc.Action.Op, sc.Action.Bot)
	if sc.Action.Decision != "" && sc.Action.Decision != "none" {
		s += " decision=" + sc.Action.Decision
	}
	if sc.Action.Grace != 0 {
		s += " grace=" + sc.Action.Grace.String()
	}
	if len(sc.Action.Senders) > 0 {
		s += fmt.Sprintf(" senders=%v", addresses(sc.Action.Senders))
	}
	if !sc.RanAt.IsZero() {
		s += " ran=" + rel(sc.RanAt)
	}
	if sc.Outcome != "" {
		s += fmt.Sprintf(" outcome=%q", sc.Outcome)
	}
	return s
}

func rel(t time.Time) string {
	d := t.Sub(now)
	if d >= 0 {
		return "+" + d.String()
	}
	return d.String()
}

func codes(fs []validate.Finding) []string {
	out := []string{}
	for _, f := range fs {
		out = append(out, f.Code)
	}
	return out
}
