package lifecycle

import (
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Limits on text that enters the library (R18, R21).
const (
	MaxNameLength        = 100 // characters
	MaxDescriptionLength = 500 // characters
	MaxReasonLength      = 500 // characters
	MaxIDBytes           = 256 // bytes: bot, user, actor and end-user ids, sender addresses
	MaxSenders           = 100 // senders per bot
)

// shown is how much of a bad value an error repeats: never the whole of an
// input that may be huge (R21).
func shown(s string) string {
	const max = 40
	if len(s) <= max {
		return s
	}
	cut := max
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "..."
}

// textProblem says what is wrong with s as text (R21), or "".
func textProblem(s string) string {
	switch {
	case !utf8.ValidString(s):
		return "is not valid UTF-8"
	case strings.IndexByte(s, 0) >= 0:
		return "contains a NUL character"
	}
	return ""
}

// checkText refuses invalid UTF-8 and NUL (R21).
func checkText(field, s string) error {
	if p := textProblem(s); p != "" {
		return &InputError{Field: field, Value: shown(s), Problem: p + "; send UTF-8 text without NUL characters"}
	}
	return nil
}

// checkID refuses an empty id, one over MaxIDBytes, and one that is not
// printable UTF-8 text (R21).
func checkID(field, s string) error {
	if err := checkText(field, s); err != nil {
		return err
	}
	if strings.TrimSpace(s) == "" || len(s) > MaxIDBytes || strings.IndexFunc(s, unicode.IsControl) >= 0 {
		return &InputError{Field: field, Value: shown(s), Problem: fmt.Sprintf("must be 1 to %d bytes of text without control characters", MaxIDBytes)}
	}
	return nil
}

// checkReason refuses a reason that is not text or longer than
// MaxReasonLength characters (R21).
func checkReason(s string) error {
	if err := checkText("reason", s); err != nil {
		return err
	}
	if n := utf8.RuneCountInString(s); n > MaxReasonLength {
		return &InputError{Field: "reason", Value: shown(s), Problem: fmt.Sprintf("is %d characters; at most %d are allowed", n, MaxReasonLength)}
	}
	return nil
}

func checkName(name string) (string, error) {
	if err := checkText("name", name); err != nil {
		return "", err
	}
	n := strings.TrimSpace(name)
	if n == "" {
		return "", &InputError{Field: "name", Value: shown(name), Problem: "is empty; give the bot a name"}
	}
	if utf8.RuneCountInString(n) > MaxNameLength || strings.IndexFunc(n, unicode.IsControl) >= 0 {
		return "", &InputError{Field: "name", Value: shown(name), Problem: fmt.Sprintf("must be at most %d characters without control characters", MaxNameLength)}
	}
	return n, nil
}

func checkDescription(desc string) error {
	if err := checkText("description", desc); err != nil {
		return err
	}
	if n := utf8.RuneCountInString(desc); n > MaxDescriptionLength {
		return &InputError{Field: "description", Value: shown(desc), Problem: fmt.Sprintf("is %d characters; at most %d are allowed", n, MaxDescriptionLength)}
	}
	return nil
}

func checkIdle(d time.Duration) error {
	if d < 0 || d > MaxIdleTimeout {
		return &InputError{Field: "idle timeout", Value: humanDuration(d), Problem: "must be between 0 (the default) and " + humanDuration(MaxIdleTimeout)}
	}
	return nil
}
