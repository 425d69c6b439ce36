package lifecycle

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// R21: checkRoute's one-pass check of printable ASCII gives the answer
// the full checks give, for every byte and the edges of an id's length.
func TestR21CheckRouteFastPath(t *testing.T) {
	ids := []string{"", " ", "  ", " a", "a ", "+15550100", "sms", strings.Repeat("a", MaxIDBytes), strings.Repeat("a", MaxIDBytes+1),
		strings.Repeat(" ", MaxIDBytes) + "a", "é", "a\u00a0", "\u00a0", "a\x00", "\xff"}
	for c := 0; c < 256; c++ {
		ids = append(ids, string([]byte{byte(c)}), "a"+string([]byte{byte(c)}))
	}
	full := func(sender Sender, user string) error {
		if err := checkID("end user", user); err != nil {
			return err
		}
		if err := checkID("sender address", sender.Address); err != nil {
			return err
		}
		return checkID("sender channel", sender.Channel)
	}
	errText := func(err error) string {
		if err == nil {
			return ""
		}
		return err.Error()
	}
	for _, id := range ids {
		for _, tc := range []struct {
			sender Sender
			user   string
		}{{Sender{"sms", "100"}, id}, {Sender{"sms", id}, "u"}, {Sender{id, "100"}, "u"}} {
			if diff := cmp.Diff(errText(full(tc.sender, tc.user)), errText(checkRoute(tc.sender, tc.user))); diff != "" {
				t.Errorf("checkRoute(%q, %q) (-full +fast):\n%s", tc.sender, tc.user, diff)
			}
		}
	}
}

// R21: plainID, which reads eight bytes at a time, answers as a byte at a
// time does: every byte value at every place of a word and of the tail.
func TestR21PlainIDReadsWordsAsBytes(t *testing.T) {
	byByte := func(s string) bool {
		var seen byte
		for i := 0; i < len(s); i++ {
			if s[i]-' ' > '~'-' ' {
				return false
			}
			seen |= s[i] ^ ' '
		}
		return seen != 0 && len(s) <= MaxIDBytes
	}
	ids := []string{"", " ", strings.Repeat(" ", 8), strings.Repeat(" ", 17), strings.Repeat(" ", 16) + "a", "a" + strings.Repeat(" ", 16),
		strings.Repeat("~", 24), strings.Repeat("a", MaxIDBytes), strings.Repeat("a", MaxIDBytes+1)}
	for c := 0; c < 256; c++ {
		for at := 0; at < 19; at++ {
			for _, fill := range []byte{'a', ' ', '~'} {
				b := []byte(strings.Repeat(string(fill), 19))
				b[at] = byte(c)
				ids = append(ids, string(b), string(b[:at+1]))
			}
		}
	}
	for _, id := range ids {
		if got, want := plainID(id), byByte(id); got != want {
			t.Errorf("plainID(%q) = %v, a byte at a time %v", id, got, want)
		}
	}
}
