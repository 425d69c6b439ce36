package lifecycle_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/botlife/botlife/lifecycle"
	"github.com/google/go-cmp/cmp"
)

// R18, R21: sender addresses at and just past their limits.
func TestSenderLimits(t *testing.T) {
	tests := []struct {
		channel, address string
		ok               bool
	}{
		{"sms", "123", true},                         // shortest short code
		{"sms", "12", false},                         // too short
		{"sms", "+" + strings.Repeat("9", 15), true}, // longest E.164
		{"sms", strings.Repeat("9", 16), false},      // too long
		{"sms", "12a4", false},                       // not digits
		{"livechat", strings.Repeat("w", lifecycle.MaxIDBytes), true},
		{"livechat", strings.Repeat("w", lifecycle.MaxIDBytes+1), false},
		{"livechat", "a b", false},    // a space
		{"livechat", "a\tb", false},   // a control character
		{"livechat", "x\xffy", false}, // not UTF-8 (R21)
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("R18/%s/%d-bytes", tt.channel, len(tt.address)), func(t *testing.T) {
			_, err := lifecycle.NewSender(tt.channel, tt.address)
			if (err == nil) != tt.ok || (err != nil && !errors.Is(err, lifecycle.ErrInvalidInput)) {
				t.Fatalf("NewSender(%s, %q) = %v; want ok = %v", tt.channel, shorten(tt.address), err, tt.ok)
			}
		})
	}
}

func shorten(s string) string {
	if len(s) > 20 {
		return s[:20] + "..."
	}
	return s
}

// R18: a bot has at most MaxSenders senders.
func TestMaxSenders(t *testing.T) {
	for _, n := range []int{lifecycle.MaxSenders, lifecycle.MaxSenders + 1} {
		e := newEnv(t)
		var ss []lifecycle.Sender
		for i := range n {
			ss = append(ss, sms(fmt.Sprintf("%d", 1000+i)))
		}
		_, err := e.m.Create(e.ctx, designer, lifecycle.Create{Name: "many", Channel: "sms", Senders: ss})
		if (err == nil) != (n <= lifecycle.MaxSenders) {
			t.Errorf("R18: %d senders: %v", n, err)
		}
	}
}

// Clone is deep, and keeps nil as nil.
func TestBotClone(t *testing.T) {
	var zero lifecycle.Bot
	if c := zero.Clone(); c.Senders != nil || c.Edited != nil || c.Ends != nil {
		t.Errorf("Clone of a bot without slices made some: %+v", c)
	}
	b := lifecycle.Bot{Senders: []lifecycle.Sender{sms("100")}, Edited: []string{"senders"},
		Ends: []lifecycle.ActivationEnd{{Activation: 1, Reason: lifecycle.CloseDeactivated}}, Definition: cleanDef()}
	c := b.Clone()
	c.Senders[0].Address, c.Edited[0], c.Ends[0].Activation = "999", "x", 9
	c.Definition.Text = "changed"
	if b.Senders[0].Address != "100" || b.Edited[0] != "senders" || b.Ends[0].Activation != 1 || b.Definition != cleanDef() {
		t.Errorf("changing a clone changed the bot: %+v", b)
	}
	if diff := cmp.Diff(b, b.Clone()); diff != "" {
		t.Errorf("a clone differs:\n%s", diff)
	}
}

// R21: an error repeats at most a short, valid prefix of a bad value, cut
// at a rune boundary, even when the value is not UTF-8 at all.
func TestErrorsShowAShortValidPrefix(t *testing.T) {
	e := newEnv(t)
	for _, desc := range []string{
		"a" + strings.Repeat("é", 600),    // byte 40 falls inside a rune
		strings.Repeat("\x80", 600),       // no rune starts at all
		strings.Repeat("x", 600) + "\xff", // invalid, and long
	} {
		_, err := e.m.Create(e.ctx, designer, lifecycle.Create{Name: "n", Channel: "sms", Description: desc})
		var ie *lifecycle.InputError
		if !errors.As(err, &ie) {
			t.Fatalf("description of %d bytes: %v, want an *InputError", len(desc), err)
		}
		if v := strings.TrimSuffix(ie.Value, "..."); len(v) > 40 || !strings.HasPrefix(desc, v) || (utf8.ValidString(desc[:1]) && !utf8.ValidString(v)) {
			t.Errorf("the error shows %q of a %d-byte value; want a valid prefix of at most 40 bytes", ie.Value, len(desc))
		}
		if strings.HasPrefix(desc, "a") && len(strings.TrimSuffix(ie.Value, "...")) != 39 {
			t.Errorf("the error shows %d bytes, want 39: the prefix cut back to a rune boundary", len(ie.Value))
		}
	}
}
