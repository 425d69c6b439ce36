package binarydoc

import (
	"testing"
	"time"

	"github.com/botlife/botlife/lifecycle"
	"github.com/botlife/botlife/roles"
	"github.com/botlife/botlife/validate"
	"github.com/google/go-cmp/cmp"
)

// storedBot is a bot as the stores kept it before content fingerprints
// (R20): Edited, and no ActiveContent.
type storedBot struct {
	ID               lifecycle.BotID
	Name             string
	Channel          string
	Senders          []lifecycle.Sender
	Definition       lifecycle.Definition
	State            lifecycle.State
	Revision         uint64
	Activations      uint64
	FirstActivatedAt time.Time
	DeactivatedAt    time.Time
	EndedAt          time.Time
	EndReason        lifecycle.CloseReason
	Edited           []string
}

// R20 after an upgrade: an Inactive bot stored before content
// fingerprints reads back without one, and a rollback to it is decided by
// what that version recorded: allowed without edits, refused with them.
func TestR20BotStoredBeforeContentFingerprints(t *testing.T) {
	at := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	sms := lifecycle.Sender{Channel: "sms", Address: "100"}
	def := lifecycle.Definition{Format: "acme.flow/v1", Text: "start: hi"}
	cur := lifecycle.Bot{ID: "cur", Name: "cur", Channel: "sms", Senders: []lifecycle.Sender{sms}, Definition: def,
		State: lifecycle.Active, Revision: 1, Activations: 1, FirstActivatedAt: at, ActivatedAt: at,
		Live: []lifecycle.SenderState{{Sender: sms, State: lifecycle.Active, Activation: 1}}}
	for _, edited := range [][]string{nil, {"senders"}} {
		doc, err := Encode(storedBot{ID: "old", Name: "old", Channel: "sms", Senders: []lifecycle.Sender{sms}, Definition: def,
			State: lifecycle.Inactive, Revision: 3, Activations: 1, FirstActivatedAt: at.Add(-time.Hour),
			DeactivatedAt: at, EndedAt: at, EndReason: lifecycle.CloseReplaced, Edited: edited})
		if err != nil {
			t.Fatal(err)
		}
		var old lifecycle.Bot
		if err := Decode(doc, &old); err != nil {
			t.Fatal(err)
		}
		if old.ActiveContent != "" || !cmp.Equal(old.ChangedSinceActive(), edited) {
			t.Fatalf("edited %v: read back with ActiveContent %q, ChangedSinceActive %v", edited, old.ActiveContent, old.ChangedSinceActive())
		}
		s := lifecycle.Snapshot{Actor: lifecycle.User("mia"), ActorRoles: roles.MustSet(roles.Manager), Bots: []lifecycle.Bot{cur, old}, LastActive: "old",
			Policy: lifecycle.Policy{Checker: flowChecker{}}}
		_, err = lifecycle.Decide(s, lifecycle.Rollback{Bot: "cur", Decision: lifecycle.Immediate()}, at.Add(time.Minute))
		if (err == nil) != (edited == nil) {
			t.Fatalf("edited %v: rollback = %v", edited, err)
		}
	}
}

// flowChecker reads any text of its one format and finds nothing.
type flowChecker struct{}

func (flowChecker) Formats() []string                       { return []string{"acme.flow/v1"} }
func (flowChecker) Check(validate.Document) validate.Report { return validate.NewReport(nil) }
