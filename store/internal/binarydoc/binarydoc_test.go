package binarydoc

import (
	"errors"
	"math"
	"testing"
	"time"

	"github.com/botlife/botlife/lifecycle"
	"github.com/google/go-cmp/cmp"
)

type docV1 struct {
	Name   string
	Tags   []string
	Inner  *struct{ N int }
	When   time.Time
	Gone   float64
	Nested []struct{ A, B string }
}

type docV2 struct {
	Name   string
	Tags   []string
	Inner  *struct{ N int }
	When   time.Time
	Nested []struct{ A string }
	Added  uint16
}

// The document format keeps bytes, nil against empty, and instants; a
// version of a struct with fields added or removed reads an older document
// (added fields zero, removed ones skipped).
func TestCodec(t *testing.T) {
	when := time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, in := range []docV1{
		{},
		{Name: "a\x00\xff", Tags: []string{}, Inner: &struct{ N int }{-7}, When: time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.UTC), Gone: math.Pi},
		{Tags: []string{"", "x"}, When: when, Nested: []struct{ A, B string }{{"1", "2"}}},
		{When: time.Date(2026, 1, 1, 12, 0, 0, 5, time.FixedZone("x", 3600))},
	} {
		doc, err := Encode(in)
		if err != nil {
			t.Fatal(err)
		}
		var out docV1
		if err := Decode(doc, &out); err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(in, out); diff != "" {
			t.Errorf("round trip (-in +out):\n%s", diff)
		}
		if (in.Tags == nil) != (out.Tags == nil) {
			t.Errorf("nil and empty mixed up: %#v -> %#v", in.Tags, out.Tags)
		}
		if out.When.Location() != time.UTC {
			t.Errorf("time not in UTC: %v", out.When)
		}
		var v2 docV2
		if err := Decode(doc, &v2); err != nil {
			t.Fatalf("a newer struct reading an older document: %v", err)
		}
		if v2.Name != in.Name || len(v2.Nested) != len(in.Nested) || v2.Added != 0 {
			t.Errorf("v2 = %+v", v2)
		}
	}
	var out docV1
	for _, bad := range [][]byte{nil, {9}, {formatVersion}, {formatVersion, tagStruct, 5}, {formatVersion, tagString, 200}} {
		if err := Decode(bad, &out); !errors.Is(err, ErrFormat) {
			t.Errorf("Decode(%v) = %v, want ErrFormat", bad, err)
		}
	}
	if _, err := Encode(struct{ M map[string]int }{}); !errors.Is(err, lifecycle.ErrInvalidInput) {
		t.Error("encoding a map: no error; the codec does not keep maps and must say so")
	}
}

// A field tagged json:"-", such as Bot.OpenActivations (what a store
// reads beside the bot, never stores), is not in the document.
func TestSkipsFieldsJSONLeavesOut(t *testing.T) {
	b := lifecycle.Bot{ID: "a", OpenActivations: []uint64{1, 2}}
	doc, err := Encode(b)
	if err != nil {
		t.Fatal(err)
	}
	var out lifecycle.Bot
	if err := Decode(doc, &out); err != nil {
		t.Fatal(err)
	}
	if out.ID != "a" || out.OpenActivations != nil {
		t.Errorf("decoded %q with OpenActivations %v; want a with none", out.ID, out.OpenActivations)
	}
}
