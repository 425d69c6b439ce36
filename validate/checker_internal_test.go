package validate

import (
	"fmt"
	"strings"
	"testing"
)

// The decode cache is bounded: at most cacheEntries documents and
// cacheBytes of text, and a document over cacheBytes/8 is never kept.
func TestDecodeCacheIsBounded(t *testing.T) {
	c := &decodeCache{}
	for i := range cacheEntries + 10 {
		if _, err := c.decode(fmt.Sprintf(`{"entry_dialog":"d%d"}`, i)); err != nil {
			t.Fatal(err)
		}
		if len(c.defs) > cacheEntries {
			t.Fatalf("the cache holds %d documents, more than %d", len(c.defs), cacheEntries)
		}
	}
	if len(c.defs) != 10 {
		t.Errorf("after %d documents the cache holds %d; want it started over at %d and kept the last 10", cacheEntries+10, len(c.defs), cacheEntries)
	}
	big := `{"entry_dialog":"` + strings.Repeat("x", cacheBytes/8) + `"}`
	if _, err := c.decode(big); err != nil {
		t.Fatal(err)
	}
	if _, ok := c.defs[big]; ok {
		t.Error("a document over cacheBytes/8 was cached")
	}
	c = &decodeCache{}
	mid := strings.Repeat("y", cacheBytes/8-40)
	for i := range 9 {
		if _, err := c.decode(fmt.Sprintf(`{"entry_dialog":"%d%s"}`, i, mid)); err != nil {
			t.Fatal(err)
		}
		if c.bytes > cacheBytes {
			t.Fatalf("the cache holds %d bytes, more than %d", c.bytes, cacheBytes)
		}
	}
	if len(c.defs) != 1 {
		t.Errorf("the ninth document of about cacheBytes/8 should have started the cache over; it holds %d", len(c.defs))
	}
}

// R21: a string that begins with NUL is refused like any other.
func TestDecodeRefusesNULAtTheStart(t *testing.T) {
	if _, err := Decode(`{"entry_dialog":"\u0000x"}`); err == nil {
		t.Fatal("Decode took a string starting with NUL")
	}
}

// Messages repeat at most 40 bytes of a bad value, whole when it fits.
func TestMessagesShortenLongValues(t *testing.T) {
	for _, tc := range []struct {
		format string
		shown  string
	}{
		{strings.Repeat("f", 40), strings.Repeat("f", 40) + `"`},
		{strings.Repeat("f", 41), strings.Repeat("f", 40) + `..."`},
	} {
		r := Default().Check(Document{Format: tc.format, Text: "{}"})
		if len(r.Findings) != 1 || !strings.Contains(r.Findings[0].Message, `"`+tc.shown) {
			t.Errorf("a %d-byte format: findings %v; want it shown as %q", len(tc.format), r.Findings, tc.shown)
		}
	}
}
