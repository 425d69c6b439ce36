package lifecycle

import (
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"
	"unicode"
)

// BotID identifies a bot. IDs are chosen by the Manager (see Config.NewID).
type BotID string

// Sender is a channel sender: the pair (channel, address), such as
// ("whatsapp", "+441234567890"). Use [NewSender] to get a normalised one.
type Sender struct {
	Channel string `json:"channel"`
	Address string `json:"address"`
}

// String returns "channel:address".
func (s Sender) String() string { return s.Channel + ":" + s.Address }

func (s Sender) less(t Sender) bool { return s.compare(t) < 0 }

func (s Sender) compare(t Sender) int {
	if c := strings.Compare(s.Channel, t.Channel); c != 0 {
		return c
	}
	return strings.Compare(s.Address, t.Address)
}

var channelRE = regexp.MustCompile(`^[a-z][a-z0-9_-]{0,31}$`)

// phoneChannels address senders by phone number or short code.
var phoneChannels = map[string]bool{"sms": true, "whatsapp": true, "viber": true, "voice": true}

// normalizeChannel lower-cases and trims a channel name and checks it: 1 to 32
// of a-z, 0-9, '_' and '-', starting with a letter.
func normalizeChannel(c string) (string, error) {
	n := strings.ToLower(strings.TrimSpace(c))
	if !channelRE.MatchString(n) {
		return "", &InputError{Field: "channel", Value: shown(c), Problem: "is not a channel name; use a short lower-case name such as sms, whatsapp, viber, messenger or livechat"}
	}
	return n, nil
}

// NewSender normalises and checks a sender. The channel is lower-cased and
// trimmed, and must be 1 to 32 of a-z, 0-9, '_' and '-', starting with a
// letter. On phone channels (sms, whatsapp, viber, voice) the
// address is a phone number or short code: spaces, dashes, dots and
// parentheses are removed and what remains must be an optional '+' and 3 to
// 15 digits. On other channels the address is trimmed and must be 1 to
// MaxIDBytes (256) bytes without spaces or control characters.
func NewSender(channel, address string) (Sender, error) {
	if err := checkText("sender", address); err != nil {
		return Sender{}, err
	}
	ch, err := normalizeChannel(channel)
	if err != nil {
		return Sender{}, err
	}
	if phoneChannels[ch] {
		n := strings.Map(func(r rune) rune {
			switch r {
			case ' ', '-', '.', '(', ')':
				return -1
			}
			return r
		}, address)
		digits := strings.TrimPrefix(n, "+")
		ok := len(digits) >= 3 && len(digits) <= 15
		for _, r := range digits {
			ok = ok && r >= '0' && r <= '9'
		}
		if !ok {
			return Sender{}, &InputError{Field: "sender", Value: shown(address), Problem: fmt.Sprintf("is not a phone number or short code for channel %s; use digits with an optional leading +, such as +441234567890", ch)}
		}
		return Sender{Channel: ch, Address: n}, nil
	}
	a := strings.TrimSpace(address)
	ok := a != "" && len(a) <= MaxIDBytes
	for _, r := range a {
		ok = ok && !unicode.IsSpace(r) && !unicode.IsControl(r)
	}
	if !ok {
		return Sender{}, &InputError{Field: "sender", Value: shown(address), Problem: fmt.Sprintf("is not a sender address for channel %s; use 1 to %d bytes without spaces", ch, MaxIDBytes)}
	}
	return Sender{Channel: ch, Address: a}, nil
}

// normalizeSenders normalises each sender, fills an empty channel with the
// bot's, refuses senders of another channel, and returns them sorted without
// duplicates.
func normalizeSenders(channel string, in []Sender) ([]Sender, error) {
	if len(in) > MaxSenders {
		return nil, &InputError{Field: "senders", Value: fmt.Sprint(len(in)), Problem: fmt.Sprintf("is too many senders; a bot has at most %d", MaxSenders)}
	}
	out := make([]Sender, 0, len(in))
	seen := make(map[Sender]bool, len(in))
	for _, s := range in {
		ch := s.Channel
		if strings.TrimSpace(ch) == "" {
			ch = channel
		}
		n, err := NewSender(ch, s.Address)
		if err != nil {
			return nil, err
		}
		if n.Channel != channel {
			return nil, &InputError{Field: "sender", Value: s.String(), Problem: fmt.Sprintf("is on channel %s but the bot runs on %s; a bot's senders share its channel", n.Channel, channel)}
		}
		if !seen[n] {
			seen[n] = true
			out = append(out, n)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].less(out[j]) })
	return out, nil
}

// Bot is a chatbot: its settings, its definition and where it is in its
// lifecycle. Bots are values: the Manager returns copies, and a change is a
// new value with a higher Revision.
type Bot struct {
	ID BotID `json:"id"`
	// Workspace is the workspace the bot belongs to (R27); Decide sets it
	// from the Snapshot. Ids are unique within a workspace.
	Workspace   Workspace `json:"workspace,omitempty"`
	Name        string    `json:"name"`
	Description string    `json:"description,omitempty"`
	// Channel is fixed when the bot is created (R18).
	Channel string `json:"channel"`
	// Senders are normalised, sorted and distinct. A Draft may have none;
	// activation needs at least one (R18).
	Senders []Sender `json:"senders"`
	// Definition is the service's document, kept byte for byte (R25).
	Definition Definition `json:"definition"`
	// IdleTimeout closes a session after this long without a message.
	IdleTimeout time.Duration `json:"idle_timeout"`

	// State is the bot's own state; while it is live it follows from its
	// senders' (R22): Active while Active on any sender, Deactivated while
	// it only drains.
	State State `json:"state"`
	// Live lists the senders the bot is live on, sorted by sender: Active
	// there, or draining (R22). It is empty while the bot is not live.
	Live []SenderState `json:"live,omitempty"`
	// Left lists, per sender, when the bot last left Active there (R20 with
	// R22: a bot may leave one sender and stay Active on another), sorted
	// by sender; a sender it is Active on again has none. An edit that
	// drops a sender keeps its entry: the bot is still the one most
	// recently Active there, which a rollback must not pass over. A bot
	// stored before it was kept has none: then DeactivatedAt stands for
	// every sender.
	Left []SenderLeft `json:"left,omitempty"`
	// Revision counts the bot's stored changes; a plan expects it unchanged
	// (optimistic concurrency).
	Revision uint64 `json:"revision"`
	// Activations numbers the bot's activations and the test sessions
	// opened on it (R26): each activation, on all of its senders or on
	// some (R22), and each test session draws the next number, so that a
	// session - which carries the number it joined - never meets another
	// life of its bot. A Draft that was tested has a number and was never
	// activated (FirstActivatedAt says whether it was).
	Activations uint64 `json:"activations"`
	// Incarnation tells the bot from an earlier bot with its id that was
	// deleted: the Manager draws it when it makes the bot (its clock's
	// nanoseconds, or one more than the last it drew), and a test session
	// is bound to it (R26). It is 0 for a bot stored by a
	// version before it, and for one Decide made from a command the
	// Manager did not draw for; CreatedAt stands for it then.
	Incarnation uint64 `json:"incarnation,omitempty"`

	CreatedAt        time.Time `json:"created_at"`
	UpdatedAt        time.Time `json:"updated_at"`
	FirstActivatedAt time.Time `json:"first_activated_at,omitzero"`
	ActivatedAt      time.Time `json:"activated_at,omitzero"`   // when it last went Active
	DeactivatedAt    time.Time `json:"deactivated_at,omitzero"` // when it last left Active
	EndedAt          time.Time `json:"ended_at,omitzero"`       // when it last went Inactive
	// GraceDeadline is the earliest deadline of the bot's drains on its
	// senders (R9, R22); zero while it drains nowhere. For a bot
	// Deactivated on all its senders at once it is when it stops serving.
	GraceDeadline time.Time `json:"grace_deadline,omitzero"`
	// EndReason says why the bot last went Inactive; sessions it still had
	// are closed with this reason.
	EndReason CloseReason `json:"end_reason,omitempty"`
	// Ends records how the bot's activations ended, oldest first, as long
	// as a session may need it: a session ends as its own activation did
	// (R9), however often the bot went live since, whether a sweep ran in
	// between or not. Decide drops the end of an activation once it is
	// over and no session of it is recorded open (OpenActivations), so Ends
	// follows the bot's open sessions, not its history.
	Ends []ActivationEnd `json:"ends,omitempty"`
	// ActiveContent is the fingerprint of the bot's content - its
	// definition and senders - when it was last Active; empty for a bot
	// never activated. A rollback returns only to a bot whose content is
	// unchanged since (R20); ChangedSinceActive says what changed.
	ActiveContent string `json:"active_content,omitempty"`
	// Edited is what versions before ActiveContent recorded as edited
	// since the bot was last Active ("definition", "senders").
	//
	// Deprecated: it is read only for a bot stored by such a version
	// (ActiveContent empty), and cleared when the bot is next Active. Use
	// ChangedSinceActive.
	Edited []string `json:"edited,omitempty"`
	// OpenActivations lists, in increasing order, the bot's activations
	// that have a session recorded open (over or not, see SessionAt), as
	// the store found them when it read the bot. It is not stored: every
	// Store fills it when it reads a bot, and ignores it in a Commit; a
	// plan's bots have none. Decide keeps the ends these sessions need
	// (Ends, R9); a Snapshot built by hand with none says that no session
	// is open.
	OpenActivations []uint64 `json:"-"`
	// Tests are the leases of the bot's open test sessions (R26), by
	// slot: at most Policy.MaxTestSessions. They are not senders: Senders,
	// Live and On never show them. Manager.Get leaves them out.
	Tests []TestLease `json:"tests,omitempty"`
}

// ActivationEnd is how one activation of a bot ended, on all the senders
// it still held or on the ones named (R22): when, and why.
type ActivationEnd struct {
	Activation uint64 `json:"activation"`
	// Senders are the senders the activation left then; nil when it left
	// every sender it still held, which ended it.
	Senders []Sender    `json:"senders,omitempty"`
	At      time.Time   `json:"at"`
	Reason  CloseReason `json:"reason"`
	// IdleTimeout is the bot's idle timeout while the activation ran
	// (endIdle): negative when it had none, zero for an end recorded by a
	// version before it, which reads the bot's own. An edit of the idle
	// timeout once the activation is over never rewrites how its sessions
	// ended (R9).
	IdleTimeout time.Duration `json:"idle_timeout,omitempty"`
}

// endIdle is b's idle timeout as an ActivationEnd records it: negative for
// none.
func (b *Bot) endIdle() time.Duration {
	if b.IdleTimeout > 0 {
		return b.IdleTimeout
	}
	return -1
}

// endOf returns how activation k ended on sender s, and the idle timeout
// it ran with (ActivationEnd.IdleTimeout; zero if not recorded). A sender
// leaves an activation once, so a record naming s wins over the one that
// ended the rest. For an activation older than the recorded ones - a bot
// stored while Ends kept only the last 16 - it returns the oldest record:
// k ended no later than that.
func (b *Bot) endOf(k uint64, s Sender) (CloseReason, time.Time, time.Duration) {
	var rest *ActivationEnd
	for i := range b.Ends {
		e := &b.Ends[i]
		if e.Activation != k {
			continue
		}
		if e.Senders == nil {
			rest = e
		} else if slices.Contains(e.Senders, s) {
			return e.Reason, e.At, e.IdleTimeout
		}
	}
	if rest != nil {
		return rest.Reason, rest.At, rest.IdleTimeout
	}
	if len(b.Ends) > 0 && k < b.Ends[0].Activation {
		return b.Ends[0].Reason, b.Ends[0].At, 0
	}
	return b.EndReason, b.EndedAt, 0
}

// asOf returns the bot as it reads at now: drains whose grace deadline has
// passed are over, ended at their deadline with reason grace_expired, and a
// bot left on no sender is Inactive - exactly what ExpireDue later stores
// (R9).
func (b Bot) asOf(now time.Time) Bot {
	due := b.dueDrains(now)
	if len(due) == 0 {
		return b
	}
	b = b.Clone()
	for _, group := range due {
		at := b.GraceDeadline
		b.leave(group, at, CloseGraceExpired)
		if b.liveState() == Inactive {
			b.State, b.EndedAt, b.EndReason = Inactive, at, CloseGraceExpired
		}
	}
	return b
}

// hasSender reports whether s is one of the bot's senders.
func (b *Bot) hasSender(s Sender) bool {
	i := sort.Search(len(b.Senders), func(i int) bool { return !b.Senders[i].less(s) })
	return i < len(b.Senders) && b.Senders[i] == s
}

// Clone returns a deep copy of b: changing the copy never changes b.
func (b Bot) Clone() Bot {
	if b.Senders != nil {
		b.Senders = append([]Sender{}, b.Senders...)
	}
	if b.Edited != nil {
		b.Edited = append([]string{}, b.Edited...)
	}
	if b.OpenActivations != nil {
		b.OpenActivations = append([]uint64{}, b.OpenActivations...)
	}
	if b.Ends != nil {
		b.Ends = append([]ActivationEnd{}, b.Ends...)
		for i := range b.Ends {
			if b.Ends[i].Senders != nil {
				b.Ends[i].Senders = append([]Sender{}, b.Ends[i].Senders...)
			}
		}
	}
	if b.Live != nil {
		b.Live = append([]SenderState{}, b.Live...)
	}
	if b.Left != nil {
		b.Left = append([]SenderLeft{}, b.Left...)
	}
	if b.Tests != nil {
		b.Tests = append([]TestLease{}, b.Tests...)
	}
	return b
}

// Summary is the dashboard view of a bot: everything but its definition.
type Summary struct {
	ID            BotID     `json:"id"`
	Name          string    `json:"name"`
	Description   string    `json:"description,omitempty"`
	Channel       string    `json:"channel"`
	Senders       []Sender  `json:"senders"`
	State         State     `json:"state"`
	GraceDeadline time.Time `json:"grace_deadline,omitzero"`
	UpdatedAt     time.Time `json:"updated_at"`
}

func summarize(b Bot, now time.Time) Summary {
	b = b.asOf(now)
	return Summary{ID: b.ID, Name: b.Name, Description: b.Description, Channel: b.Channel,
		Senders: b.Senders, State: b.State, GraceDeadline: b.GraceDeadline, UpdatedAt: b.UpdatedAt}
}

// Actor is who performs an operation: an authenticated user, whose roles
// decide what they may do, or the hosting service itself acting as the
// system (R19), which needs no role.
type Actor struct {
	ID     string `json:"id"`
	System bool   `json:"system,omitempty"`
	// Reason says why the system acts ("account out of credit"); it goes
	// into the audit log.
	Reason string `json:"reason,omitempty"`
}

// User returns the actor for an authenticated user.
func User(id string) Actor { return Actor{ID: id} }

// System returns the actor for the hosting service acting on its own (R19),
// with the reason that will be audited.
func System(reason string) Actor { return Actor{ID: "system", System: true, Reason: reason} }

// String implements fmt.Stringer.
func (a Actor) String() string {
	if a.System {
		return "the system"
	}
	return fmt.Sprintf("%q", a.ID)
}
