package main

import (
	"fmt"
	"strings"

	"github.com/botlife/botlife/lifecycle"
)

// tryCopy is step 2b (R26): the Designer talks to the copy v2 in a test
// session while it is still a Draft - no sender, no live figure - and
// closes it before the Manager activates v2.
func (s *story) tryCopy(v2 lifecycle.BotID, names map[lifecycle.BotID]string) error {
	fmt.Fprintln(s.w, "\n== Step 2b: dan tries v2 in a test session before anyone activates it (R26)")
	dan := lifecycle.User("dan")
	ts, err := s.m.OpenTestSession(s.ctx, dan, v2)
	if err != nil {
		return err
	}
	s.say("dan opens a test session on the Draft v2: no number, pinned to v2's content")
	for range 2 {
		if ts, err = s.m.SendTest(s.ctx, dan, ts.ID); err != nil {
			return err
		}
		s.say("%-6s writes to no number -> test session on %s (message %d)", "dan", names[ts.Bot], ts.Messages)
	}
	a, err := s.m.Analytics(s.ctx, lifecycle.User("mia"))
	if err != nil {
		return err
	}
	b, err := s.m.Get(s.ctx, dan, v2)
	if err != nil {
		return err
	}
	var counted []string
	for _, st := range a.ByBot {
		counted = append(counted, fmt.Sprintf("%s %d", names[st.Bot], st.Opened))
	}
	s.say("v2 is still %v, live nowhere; sessions opened per bot: %s", b.State, strings.Join(counted, ", "))
	if ts, err = s.m.CloseTestSession(s.ctx, dan, ts.ID); err != nil {
		return err
	}
	s.say("dan closes it (%s); an edit of v2 would have ended it (%s)",
		ts.CloseReason, lifecycle.CloseContentChanged)
	return nil
}
