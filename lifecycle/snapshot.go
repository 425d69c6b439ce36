package lifecycle

import (
	"context"
	"errors"
	"slices"
	"strings"
)

// reads is what a command's snapshot must hold, declared by the command.
type reads struct {
	// bots are the bots the command names; a missing one is left out, for
	// Decide to report.
	bots []BotID
	// group also reads the live bots on the senders of those bots, and on
	// the senders of every live bot found, until no new sender turns up:
	// everything an activation, deactivation or cascade can move (R5, R6,
	// R8). Only live bots are read: never every bot that used a sender.
	group bool
	// lastActive also reads, for the first bot, the bot Active last on its
	// senders (Store.SenderBots) and its group: a rollback's target (R20);
	// and the bot Active last on each of them, without its group.
	lastActive bool
	// user names the user whose roles a role command changes; the Admin
	// count is read with them.
	user *string
	// schedule names the schedule the command works on (R23); with
	// scheduled, its bot and that bot's group are read too, and its
	// creator's roles as UserRoles: what running it needs.
	schedule  ScheduleID
	scheduled bool
}

// ReadSnapshot reads from st what Decide needs to decide cmd for actor in
// workspace ws (R27): the actor's roles there, and the bots and roles the
// command declares. The Manager and the storetest suite both read through
// it; add the Policy before calling Decide.
func ReadSnapshot(ctx context.Context, st Store, ws Workspace, actor Actor, cmd Command) (Snapshot, error) {
	s := Snapshot{Workspace: ws, Actor: actor}
	var err error
	if !actor.System && checkID("actor", actor.ID) == nil {
		if s.ActorRoles, _, err = st.Roles(ctx, ws, actor.ID); err != nil {
			return s, err
		}
	}
	if cmd = commandOf(cmd); cmd == nil {
		return s, nil
	}
	r := cmd.reads()
	if r.schedule != "" && checkID("schedule id", string(r.schedule)) == nil {
		sc, err := st.Schedule(ctx, ws, r.schedule)
		switch {
		case err == nil:
			s.Schedule = &sc
			if r.scheduled {
				r.bots, r.group, r.user = append(r.bots, sc.Action.Bot), true, &sc.CreatedBy
			}
		case !errors.Is(err, ErrNotFound):
			return s, err
		}
	}
	if r.user != nil && checkID("user", *r.user) == nil {
		if s.UserRoles, s.Admins, err = st.Roles(ctx, ws, *r.user); err != nil {
			return s, err
		}
	}
	ids := r.bots
	var lastOn []Bot
	if r.lastActive && len(ids) > 0 {
		if s.LastActive, lastOn, err = lastActive(ctx, st, ws, ids[0]); err != nil {
			return s, err
		}
		if s.LastActive != "" {
			ids = append([]BotID{s.LastActive}, ids...)
		}
	}
	if s.Bots, err = readBots(ctx, st, ws, ids, r.group); err != nil {
		return s, err
	}
	for _, b := range lastOn {
		if !slices.ContainsFunc(s.Bots, func(x Bot) bool { return x.ID == b.ID }) {
			s.Bots = append(s.Bots, b)
		}
	}
	slices.SortFunc(s.Bots, func(a, b Bot) int { return strings.Compare(string(a.ID), string(b.ID)) })
	return s, nil
}

// lastActive returns the store's LastActive on the senders id is Active
// on, or "", and, when it is Active on more than one, the bot Active last
// on each of them, where that is another bot: a rollback puts its target
// back only where it was the bot Active last (R20, R22), and Decide tells
// where from their departures (Bot.leftAt). It costs one read per sender
// the bot is Active on, never the bots that once used them.
func lastActive(ctx context.Context, st Store, ws Workspace, id BotID) (BotID, []Bot, error) {
	if checkID("bot id", string(id)) != nil {
		return "", nil, nil // R21: a store never sees it; Decide refuses it, after the permission (P1)
	}
	cur, err := st.Bot(ctx, ws, id)
	if errors.Is(err, ErrNotFound) {
		return "", nil, nil
	}
	if err != nil {
		return "", nil, err
	}
	// Only the senders it is Active on: a rollback replaces it there (R22).
	// Their departure senders too: a bot edited since to drop one keeps
	// its departure from it there (departureRows), and is the target R20
	// refuses as changed.
	held := cur.sendersIn(Active)
	_, prev, err := st.SenderBots(ctx, ws, departureSenders(held), cur.ID)
	if err != nil || prev == nil {
		return "", nil, err
	}
	var lastOn []Bot
	for i := 0; len(held) > 1 && i < len(held); i++ {
		_, p, err := st.SenderBots(ctx, ws, departureSenders(held[i:i+1]), cur.ID)
		if err != nil {
			return "", nil, err
		}
		if p != nil && p.ID != prev.ID && !slices.ContainsFunc(lastOn, func(b Bot) bool { return b.ID == p.ID }) {
			lastOn = append(lastOn, *p)
		}
	}
	return prev.ID, lastOn, nil
}

// readBots reads the named bots and, with group, the live bots around them.
func readBots(ctx context.Context, st Store, ws Workspace, ids []BotID, group bool) ([]Bot, error) {
	seen := map[BotID]Bot{}
	var frontier []Sender
	senders := map[Sender]bool{}
	add := func(b Bot) {
		seen[b.ID] = b
		for _, s := range b.Senders {
			if group && !senders[s] {
				senders[s] = true
				frontier = append(frontier, s)
			}
		}
	}
	for _, id := range ids {
		if _, ok := seen[id]; ok || checkID("bot id", string(id)) != nil {
			continue
		}
		b, err := st.Bot(ctx, ws, id)
		if errors.Is(err, ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		add(b)
	}
	for len(frontier) > 0 {
		next := frontier
		frontier = nil
		bots, _, err := st.SenderBots(ctx, ws, next, "")
		if err != nil {
			return nil, err
		}
		for _, b := range bots {
			if _, ok := seen[b.ID]; !ok {
				add(b)
			}
		}
	}
	out := make([]Bot, 0, len(seen))
	for _, b := range seen {
		out = append(out, b)
	}
	slices.SortFunc(out, func(a, b Bot) int { return strings.Compare(string(a.ID), string(b.ID)) })
	return out, nil
}
