package lifecycle

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"hash"
	"strings"
)

// A bot's content is what it does for end users: its definition (format
// and text, byte for byte) and the senders it runs on. Its name,
// description and idle timeout are not content. A rollback returns only to
// a bot whose content is what it was when it was last Active (R20), and a
// schedule runs only on the content it was made for (R23). Both compare
// the fingerprint contentFingerprint computes.

// contentVersion starts every content fingerprint, so that fingerprints of
// another making (an earlier version's schedule editions) are told apart.
const contentVersion = "c1"

// contentFingerprint fingerprints b's content: "c1:", 16 hex digits of a
// hash of the definition, ":", 16 of a hash of the senders. Keeping the
// two apart lets a refusal name what changed (contentChanges).
func contentFingerprint(b *Bot) string {
	def := sha256.New()
	field(def, b.Definition.Format)
	field(def, b.Definition.Text)
	snd := sha256.New()
	for _, s := range b.Senders { // normalised, sorted and distinct
		field(snd, s.Channel)
		field(snd, s.Address)
	}
	return contentVersion + ":" + hex.EncodeToString(def.Sum(nil)[:8]) + ":" + hex.EncodeToString(snd.Sum(nil)[:8])
}

// field writes s to h with its length first, so that no two sequences of
// strings hash alike by running into each other.
func field(h hash.Hash, s string) {
	h.Write(binary.AppendUvarint(nil, uint64(len(s))))
	h.Write([]byte(s))
}

// contentChanges names what differs between two content fingerprints:
// "definition", "senders", both, or nothing. ok is false when either is
// not a content fingerprint (an earlier version's schedule edition).
func contentChanges(was, now string) (changed []string, ok bool) {
	w, okW := contentParts(was)
	n, okN := contentParts(now)
	if !okW || !okN {
		return nil, false
	}
	if w[0] != n[0] {
		changed = append(changed, "definition")
	}
	if w[1] != n[1] {
		changed = append(changed, "senders")
	}
	return changed, true
}

func contentParts(fp string) ([2]string, bool) {
	parts := strings.Split(fp, ":")
	if len(parts) != 3 || parts[0] != contentVersion || len(parts[1]) != 16 || len(parts[2]) != 16 {
		return [2]string{}, false
	}
	return [2]string{parts[1], parts[2]}, true
}

// ChangedSinceActive names what of the bot's content changed since it was
// last Active (R20): "definition", "senders", both, or nothing. Content
// edited back byte for byte is unchanged; a new name, description or idle
// timeout is no change. A bot never activated has nothing to compare.
//
// A bot stored by a version before content fingerprints (ActiveContent
// empty) reports what that version recorded in Edited.
func (b Bot) ChangedSinceActive() []string {
	if b.FirstActivatedAt.IsZero() {
		return nil
	}
	if b.ActiveContent == "" {
		return append([]string(nil), b.Edited...)
	}
	changed, ok := contentChanges(b.ActiveContent, contentFingerprint(&b))
	if !ok {
		return []string{"definition", "senders"} // not a fingerprint this version makes: assume the worst
	}
	return changed
}

// pinActiveContent is what an edit does first: a bot stored before content
// fingerprints, once Active and unedited since (Edited empty), has now the
// content it had then, so its fingerprint is taken now, before the edit.
func (b *Bot) pinActiveContent() {
	if b.ActiveContent == "" && !b.FirstActivatedAt.IsZero() && len(b.Edited) == 0 {
		b.ActiveContent = contentFingerprint(b)
	}
}

// checkContent reports whether b, the bot the schedule acts on, still has
// the content the schedule pinned when it was made (R23): nil, or a
// *ContentChangedError. RunSchedule refuses a run with that error; a
// service may call it to warn about a schedule that would be refused.
//
// A schedule made by a version before content fingerprints pinned the
// bot's name, description and idle timeout too; one whose bot differs in
// any of them is taken as changed, since what changed cannot be told.
func (sc Schedule) checkContent(b Bot) error {
	changed, ok := contentChanges(sc.Edition, contentFingerprint(&b))
	switch {
	case ok && len(changed) == 0:
		return nil
	case !ok && sc.Edition == legacyEdition(&b):
		return nil
	}
	return &ContentChangedError{Bot: b.ID, Schedule: sc.ID, Changed: changed}
}
