package binarydoc

import (
	"encoding/binary"
	"errors"
	"math"
	"testing"
	"time"
)

// doc builds a document: the format version, then the bytes given.
func doc(parts ...[]byte) []byte {
	out := []byte{formatVersion}
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

func uv(x uint64) []byte { return binary.AppendUvarint(nil, x) }

func f64(x float64) []byte { return binary.LittleEndian.AppendUint64(nil, math.Float64bits(x)) }

// Decode refuses documents cut short, with trailing bytes or with a time's
// nanoseconds out of range, and reads values that end exactly at the end
// of the document (R21: what a store returns is exactly what it was given).
func TestDecodeBoundaries(t *testing.T) {
	type withInt struct{ A int }
	type onlyB struct{ B int }
	for _, tc := range []struct {
		name string
		doc  []byte
		into func() any
		ok   bool
	}{
		{"trailing byte", doc([]byte{tagInt}, binary.AppendVarint(nil, 7), []byte{0}), func() any { return new(int) }, false},
		{"int cut short", doc([]byte{tagInt}), func() any { return new(int) }, false},
		{"uint cut short", doc([]byte{tagUint}), func() any { return new(uint) }, false},
		{"struct count cut short", doc([]byte{tagStruct}), func() any { return new(withInt) }, false},
		{"nanoseconds 1e9", doc([]byte{tagTime}, binary.AppendVarint(nil, 0), uv(1e9)), func() any { return new(time.Time) }, false},
		{"nanoseconds 1e9-1", doc([]byte{tagTime}, binary.AppendVarint(nil, 0), uv(1e9-1)), func() any { return new(time.Time) }, true},
		{"float64 at the end", doc([]byte{tagFloat}, f64(1.5)), func() any { return new(float64) }, true},
		{"float32 at the end", doc([]byte{tagFloat}, f64(1.5)), func() any { return new(float32) }, true},
		{"float cut short", doc([]byte{tagFloat}, f64(1.5)[:7]), func() any { return new(float64) }, false},
		{"float for a string", doc([]byte{tagFloat}, f64(1.5)), func() any { return new(string) }, false},
		{"list as long as the rest", doc([]byte{tagList}, uv(2), []byte{tagNil, tagNil}), func() any { return new([]*int) }, true},
		{"list longer than the rest", doc([]byte{tagList}, uv(3), []byte{tagNil, tagNil}), func() any { return new([]*int) }, false},
		{"skipped float at the end", doc([]byte{tagStruct}, uv(1), uv(1), []byte("A"), []byte{tagFloat}, f64(2)), func() any { return new(onlyB) }, true},
		{"skipped float cut short", doc([]byte{tagStruct}, uv(1), uv(1), []byte("A"), []byte{tagFloat}, f64(2)[:7]), func() any { return new(onlyB) }, false},
	} {
		err := Decode(tc.doc, tc.into())
		if (err == nil) != tc.ok {
			t.Errorf("%s: Decode = %v, want ok %v", tc.name, err, tc.ok)
		}
		if err != nil && !errors.Is(err, ErrFormat) {
			t.Errorf("%s: Decode = %v, want ErrFormat", tc.name, err)
		}
	}
	var got float32
	if err := Decode(doc([]byte{tagFloat}, f64(1.5)), &got); err != nil || got != 1.5 {
		t.Errorf("float32: %v, %v; want 1.5", got, err)
	}
}
