package main

import (
	"fmt"
	"strings"
	"time"
	_ "time/tzdata" // Europe/Berlin on hosts without the tz database

	"github.com/botlife/botlife/lifecycle"
)

// berlin is the Berlin branch: its bot runs on two numbers, leaves one of
// them (R22), and its next version is released at night, Berlin time, by a
// schedule (R23).
type berlin struct {
	*story
	names    map[lifecycle.BotID]string
	recorded map[lifecycle.SessionID]string
	// schedules are the schedules made, for the audit table.
	schedules map[lifecycle.ScheduleID]lifecycle.Schedule
}

// berlinBranch tells steps 9 and 10 and returns the branch (with the
// sessions recorded closed so far) and its bots.
func (s *story) berlinBranch(names map[lifecycle.BotID]string, recorded map[lifecycle.SessionID]string) (*berlin, []lifecycle.BotID, error) {
	fmt.Fprintln(s.w, "\n== Step 9: the Berlin branch's bot runs on two numbers, then leaves one of them (R22)")
	s.clk.Add(9 * time.Minute)
	br := &berlin{story: s, names: names, recorded: recorded, schedules: map[lifecycle.ScheduleID]lifecycle.Schedule{}}
	b1, err := br.twoNumbers()
	if err != nil {
		return nil, nil, err
	}
	fmt.Fprintln(s.w, "\n== Step 10: a night-time release, scheduled for 02:00 in Berlin (R23; the timeline is in UTC)")
	b2, err := br.nightRelease(b1)
	if err != nil {
		return nil, nil, err
	}
	return br, []lifecycle.BotID{b1.ID, b2.ID}, nil
}

// twoNumbers is step 9: the Berlin bot b1 goes live on both numbers, then
// leaves the market stall's number (see leaveMarket).
func (s *berlin) twoNumbers() (lifecycle.Bot, error) {
	mia, dan := lifecycle.User("mia"), lifecycle.User("dan")
	def, err := greeting("Willkommen bei Pizza Planet Berlin!")
	if err != nil {
		return lifecycle.Bot{}, err
	}
	b1, err := s.m.Create(s.ctx, dan, lifecycle.Create{Name: "Berlin bot", Channel: "whatsapp",
		Senders: []lifecycle.Sender{s.main, s.market}, Definition: def})
	if err != nil {
		return lifecycle.Bot{}, err
	}
	s.names[b1.ID] = "b1"
	if _, err := s.m.Activate(s.ctx, mia, b1.ID, lifecycle.Decision{}, lifecycle.Ack{}); err != nil {
		return lifecycle.Bot{}, err
	}
	if err := s.live(b1.ID); err != nil {
		return lifecycle.Bot{}, err
	}
	for _, c := range []struct {
		line lifecycle.Sender
		user string
	}{{s.main, "frank"}, {s.market, "gina"}} {
		if err := s.chat(c.line, c.user, s.names); err != nil {
			return lifecycle.Bot{}, err
		}
	}
	return b1, s.leaveMarket(b1.ID)
}

// leaveMarket takes b1 off the market stall's number with a grace period:
// its open session there goes on until the deadline, a new one finds no
// bot, and the main number is not touched.
func (s *berlin) leaveMarket(b1 lifecycle.BotID) error {
	mia := lifecycle.User("mia")
	s.clk.Add(5 * time.Minute)
	s.say("the market stall closes: mia takes b1 off the %s number with a 10 minute grace period", s.num(s.market))
	plan, err := s.m.Apply(s.ctx, mia, lifecycle.Deactivate{Bot: b1, Grace: 10 * time.Minute, Senders: []lifecycle.Sender{s.market}})
	if err != nil {
		return err
	}
	e := plan.Audit[0]
	s.say("audit #%d %s: %d bot transition(s) (b1 stays Active); sender moves: %s", e.Seq, e.Action, len(e.Transitions), s.moves(e.Senders))
	if err := s.live(b1); err != nil {
		return err
	}

	s.clk.Add(5 * time.Minute)
	if err := s.chat(s.market, "gina", s.names); err != nil { // open session: goes on while b1 drains there
		return err
	}
	if _, err := s.m.Route(s.ctx, s.market, "hans"); err != nil {
		s.say("%-6s writes to %-6s -> refused: %v", "hans", s.num(s.market), err)
	}
	if err := s.chat(s.main, "hans", s.names); err != nil {
		return err
	}

	s.clk.Add(6 * time.Minute)
	exp, err := s.m.ExpireDue(s.ctx)
	if err != nil {
		return err
	}
	s.say("ExpireDue: %d drain ended (b1 on the market number), %d session(s) recorded closed", len(exp.DrainsEnded), exp.SessionsClosed)
	if s.recorded, err = s.recordedClosed(s.recorded, "ExpireDue at "+s.clk.Now().Format("15:04:05")); err != nil {
		return err
	}
	return s.live(b1)
}

// live prints the bot's state and its state on each of its numbers.
func (s *berlin) live(id lifecycle.BotID) error {
	b, err := s.m.Get(s.ctx, lifecycle.User("mia"), id)
	if err != nil {
		return err
	}
	s.say("%s is %v; per number:", s.names[id], b.State)
	for _, sn := range b.Senders {
		e, ok := b.On(sn)
		switch {
		case !ok:
			s.say("    %-6s  off (Inactive)", s.num(sn))
		case e.State == lifecycle.Deactivated:
			s.say("    %-6s  %v, draining until %s (activation %d)", s.num(sn), e.State, e.GraceDeadline.Format("15:04:05"), e.Activation)
		default:
			s.say("    %-6s  %v (activation %d)", s.num(sn), e.State, e.Activation)
		}
	}
	return nil
}

// moves writes an audit entry's sender moves.
func (s *berlin) moves(ms []lifecycle.SenderTransition) string {
	var out []string
	for _, m := range ms {
		out = append(out, fmt.Sprintf("%s on %s %v->%v", s.names[m.Bot], s.num(m.Sender), m.From, m.To))
	}
	return strings.Join(out, ", ")
}

// nightRelease is step 10: dan prepares b2 for the main number only; mia
// schedules its activation for 02:00 Berlin time; the clock passes it, and
// ExpireDue runs the schedule as mia.
func (s *berlin) nightRelease(b1 lifecycle.Bot) (lifecycle.Bot, error) {
	mia, dan := lifecycle.User("mia"), lifecycle.User("dan")
	s.clk.Add(9 * time.Minute)
	b2, err := s.m.Duplicate(s.ctx, dan, b1.ID, "Berlin bot 2")
	if err != nil {
		return lifecycle.Bot{}, err
	}
	s.names[b2.ID] = "b2"
	def, err := greeting("Willkommen bei Pizza Planet Berlin! Jetzt mit Nachtlieferung.")
	if err != nil {
		return lifecycle.Bot{}, err
	}
	only := []lifecycle.Sender{s.main}
	if b2, err = s.m.Update(s.ctx, dan, lifecycle.Update{Bot: b2.ID, Definition: &def, Senders: &only}); err != nil {
		return lifecycle.Bot{}, err
	}
	var on []string
	for _, sn := range b2.Senders {
		on = append(on, s.num(sn))
	}
	s.say("dan duplicates b1 as b2 %q, a %v with a new greeting, for the %s number only",
		b2.Name, b2.State, strings.Join(on, ", "))
	zone, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		return lifecycle.Bot{}, err
	}
	day := s.clk.Now().In(zone).AddDate(0, 0, 1)
	at := time.Date(day.Year(), day.Month(), day.Day(), 2, 0, 0, 0, zone) // 02:00 tomorrow, Berlin time
	sc, err := s.m.Schedule(s.ctx, mia, at, lifecycle.Activate{Bot: b2.ID, Decision: lifecycle.Immediate()})
	if err != nil {
		return lifecycle.Bot{}, err
	}
	s.schedules[sc.ID] = sc
	s.say("mia schedules b2's activation (Immediate) for 02:00 %s (%s) on %s, that is %s UTC: schedule #%d, %s",
		at.Format("MST"), sc.Zone, at.Format("2006-01-02"), sc.At.Format("15:04:05"), sc.Seq, sc.Status)

	s.clk.Set(sc.At.Add(-time.Minute))
	s.say("(next day, UTC) a minute before: b2 is still %v, b1 %v", s.state(b2.ID), s.state(b1.ID))
	s.clk.Set(sc.At.Add(2 * time.Minute))
	exp, err := s.m.ExpireDue(s.ctx)
	if err != nil {
		return lifecycle.Bot{}, err
	}
	if s.recorded, err = s.recordedClosed(s.recorded, "ExpireDue at "+s.clk.Now().Format("15:04:05")); err != nil {
		return lifecycle.Bot{}, err
	}
	if len(exp.Schedules) != 1 || exp.Schedules[0] != sc.ID {
		return lifecycle.Bot{}, fmt.Errorf("ExpireDue ran schedules %v, want %s", exp.Schedules, sc.ID)
	}
	ran, err := s.m.GetSchedule(s.ctx, mia, sc.ID)
	if err != nil {
		return lifecycle.Bot{}, err
	}
	s.say("ExpireDue (%s in Berlin) ran schedule #%d as %s: %s at %s UTC%s", s.clk.Now().In(zone).Format("15:04 MST"),
		ran.Seq, ran.CreatedBy, ran.Status, ran.RanAt.Format("15:04:05"), outcome(ran))
	return b2, s.scheduledEntry(sc.ID)
}

func outcome(sc lifecycle.Schedule) string {
	if sc.Outcome == "" {
		return ""
	}
	return " (" + sc.Outcome + ")"
}

// scheduledEntry prints the audit entry of the operation a schedule ran.
func (s *berlin) scheduledEntry(id lifecycle.ScheduleID) error {
	log, err := s.m.AuditLog(s.ctx, lifecycle.User("ada"), 0, 1000)
	if err != nil {
		return err
	}
	for _, e := range log {
		if e.Schedule != id || e.Action == lifecycle.OpSchedule {
			continue
		}
		var ts []string
		for _, t := range e.Transitions {
			ts = append(ts, fmt.Sprintf("%s %v->%v", s.names[t.Bot], t.From, t.To))
		}
		s.say("audit #%d: %s (%v) %s %s; sender moves: %s", e.Seq, e.Actor, e.Roles, e.Action, strings.Join(ts, ", "), s.moves(e.Senders))
		return nil
	}
	return fmt.Errorf("no audit entry ran schedule %s", id)
}

// state is a bot's state as seen now.
func (s *berlin) state(id lifecycle.BotID) lifecycle.State {
	_, st := s.botState(id)
	return st
}

// changes describes what an audit entry changed: each bot's move, each
// move on a sender of a bot whose own state stayed (R22), a role granted,
// the schedule it made or ran (R23).
func (s *berlin) changes(e lifecycle.AuditEntry) string {
	var out []string
	moved := map[lifecycle.BotID]bool{}
	for _, t := range e.Transitions {
		from := t.From.String()
		if t.From == 0 {
			from = "new"
		}
		out = append(out, fmt.Sprintf("%s %s->%v", s.names[t.Bot], from, t.To))
		moved[t.Bot] = true
	}
	for _, m := range e.Senders {
		if !moved[m.Bot] {
			out = append(out, fmt.Sprintf("%s on %s %v->%v", s.names[m.Bot], s.num(m.Sender), m.From, m.To))
		}
	}
	if e.Test != nil {
		out = append(out, "test session on "+s.names[e.Test.Bot])
	}
	if e.User != "" {
		out = append(out, fmt.Sprintf("%s %v", e.User, e.Role))
	}
	if e.Action == lifecycle.OpExpireGrace {
		out = append(out, "as of the deadline "+e.GraceDeadline.Format("15:04:05"))
	} else if !e.GraceDeadline.IsZero() {
		out = append(out, "grace until "+e.GraceDeadline.Format("15:04:05"))
	}
	if sc, ok := s.schedules[e.Schedule]; ok {
		if e.Action == lifecycle.OpSchedule {
			out = append(out, fmt.Sprintf("schedule #%d: %s %s at %s", sc.Seq, sc.Action.Op, s.names[sc.Action.Bot], sc.At.Format("15:04:05")))
		} else {
			out = append(out, fmt.Sprintf("run by schedule #%d", sc.Seq))
		}
	}
	if e.Reason != "" && !e.System {
		out = append(out, e.Reason)
	}
	return strings.Join(out, ", ")
}
