// Package binarydoc is the binary document format the SQLite and PostgreSQL
// stores keep bots and audit entries in: exact where JSON is not (see
// Encode). It is internal to the stores.
package binarydoc

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"reflect"
	"sync"
	"time"

	"github.com/botlife/botlife/lifecycle"
)

// The stores keep bots and audit entries as documents in this small binary
// format, not JSON, because JSON cannot keep what a store must return
// exactly as it was given (R21):
//
//   - strings are stored byte for byte: invalid UTF-8 and NUL survive, where
//     encoding/json would turn invalid bytes into U+FFFD;
//   - a nil slice and an empty one stay apart, as the memory store keeps them
//     (an export writes "senders": null for one and [] for the other);
//   - times keep their instant to the nanosecond, over the whole range of
//     time.Time, and come back in UTC, as from every store.
//
// The format is self-describing, and structs are encoded by field name, so
// a document written before a field was added reads with that field zero,
// and a field since removed is skipped. A field JSON leaves out (tagged
// json:"-") is left out of the document too, and reads zero. Each value starts with a tag byte.
const (
	tagNil    = 'n' // nil slice or pointer
	tagString = 's' // uvarint length, bytes
	tagInt    = 'i' // varint
	tagUint   = 'u' // uvarint
	tagFloat  = 'f' // 8 bytes, IEEE 754 bits
	tagBool   = 'b' // 1 byte
	tagList   = 'l' // uvarint count, values
	tagStruct = 'r' // uvarint count, (uvarint name length, name, value)...
	tagTime   = 't' // varint Unix seconds, uvarint nanoseconds
	// formatVersion is the first byte of every document.
	formatVersion = 1
)

var timeType = reflect.TypeOf(time.Time{})

// ErrFormat reports a document Decode cannot read.
var ErrFormat = errors.New("malformed document")

// Encode returns the document of v (a struct or pointer to one).
func Encode(v any) ([]byte, error) {
	buf := []byte{formatVersion}
	return encodeValue(buf, reflect.ValueOf(v))
}

func encodeValue(buf []byte, v reflect.Value) ([]byte, error) {
	if v.Type() == timeType {
		t := v.Interface().(time.Time)
		buf = append(buf, tagTime)
		buf = binary.AppendVarint(buf, t.Unix())
		return binary.AppendUvarint(buf, uint64(t.Nanosecond())), nil
	}
	switch v.Kind() {
	case reflect.String:
		s := v.String()
		buf = append(buf, tagString)
		buf = binary.AppendUvarint(buf, uint64(len(s)))
		return append(buf, s...), nil
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return binary.AppendVarint(append(buf, tagInt), v.Int()), nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return binary.AppendUvarint(append(buf, tagUint), v.Uint()), nil
	case reflect.Float32, reflect.Float64:
		return binary.LittleEndian.AppendUint64(append(buf, tagFloat), math.Float64bits(v.Float())), nil
	case reflect.Bool:
		b := byte(0)
		if v.Bool() {
			b = 1
		}
		return append(buf, tagBool, b), nil
	case reflect.Pointer:
		if v.IsNil() {
			return append(buf, tagNil), nil
		}
		return encodeValue(buf, v.Elem())
	case reflect.Slice:
		if v.IsNil() {
			return append(buf, tagNil), nil
		}
		fallthrough
	case reflect.Array:
		buf = binary.AppendUvarint(append(buf, tagList), uint64(v.Len()))
		var err error
		for i := 0; i < v.Len(); i++ {
			if buf, err = encodeValue(buf, v.Index(i)); err != nil {
				return nil, err
			}
		}
		return buf, nil
	case reflect.Struct:
		fields := structFields(v.Type())
		buf = binary.AppendUvarint(append(buf, tagStruct), uint64(len(fields.order)))
		var err error
		for _, f := range fields.order {
			buf = binary.AppendUvarint(buf, uint64(len(f.name)))
			buf = append(buf, f.name...)
			if buf, err = encodeValue(buf, v.Field(f.index)); err != nil {
				return nil, err
			}
		}
		return buf, nil
	}
	return nil, fmt.Errorf("cannot store a value of type %s; this version of the store's document format does not keep it, report it as a bug: %w", v.Type(), lifecycle.ErrInvalidInput)
}

type field struct {
	name  string
	index int
}

type fieldSet struct {
	order  []field
	byName map[string]int
}

var fieldCache sync.Map // reflect.Type -> *fieldSet

func structFields(t reflect.Type) *fieldSet {
	if fs, ok := fieldCache.Load(t); ok {
		return fs.(*fieldSet)
	}
	fs := &fieldSet{byName: map[string]int{}}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if !f.IsExported() || f.Tag.Get("json") == "-" {
			continue // json:"-": not part of the value kept (Bot.OpenActivations)
		}
		fs.order = append(fs.order, field{name: f.Name, index: i})
		fs.byName[f.Name] = i
	}
	fieldCache.Store(t, fs)
	return fs
}

// Decode reads a document written by Encode into *v.
func Decode(doc []byte, v any) error {
	if len(doc) == 0 || doc[0] != formatVersion {
		return fmt.Errorf("stored document of format %v, this version reads format %d: %w", firstByte(doc), formatVersion, ErrFormat)
	}
	d := decoder{buf: doc[1:]}
	d.value(reflect.ValueOf(v).Elem())
	if d.err == nil && len(d.buf) != 0 {
		d.fail("trailing bytes")
	}
	return d.err
}

func firstByte(b []byte) any {
	if len(b) == 0 {
		return "empty"
	}
	return b[0]
}

type decoder struct {
	buf []byte
	err error
}

func (d *decoder) fail(what string) {
	if d.err == nil {
		d.err = fmt.Errorf("reading a stored document: %s: %w", what, ErrFormat)
	}
	d.buf = nil
}

func (d *decoder) byte() byte {
	if len(d.buf) == 0 {
		d.fail("unexpected end")
		return 0
	}
	b := d.buf[0]
	d.buf = d.buf[1:]
	return b
}

func (d *decoder) uvarint() uint64 {
	x, n := binary.Uvarint(d.buf)
	if n <= 0 {
		d.fail("bad number")
		return 0
	}
	d.buf = d.buf[n:]
	return x
}

func (d *decoder) varint() int64 {
	x, n := binary.Varint(d.buf)
	if n <= 0 {
		d.fail("bad number")
		return 0
	}
	d.buf = d.buf[n:]
	return x
}

func (d *decoder) bytes() []byte {
	n := d.uvarint()
	if n > uint64(len(d.buf)) {
		d.fail("length past the end")
		return nil
	}
	b := d.buf[:n]
	d.buf = d.buf[n:]
	return b
}

// value reads one value into v, which must be settable.
func (d *decoder) value(v reflect.Value) {
	if d.err != nil {
		return
	}
	d.tagged(d.byte(), v)
}

// tagged reads the rest of a value whose tag has been read.
func (d *decoder) tagged(tag byte, v reflect.Value) {
	if v.Type() == timeType {
		if tag != tagTime {
			d.fail("expected a time")
			return
		}
		sec, nsec := d.varint(), d.uvarint()
		if nsec >= 1e9 {
			d.fail("bad time")
			return
		}
		v.Set(reflect.ValueOf(time.Unix(sec, int64(nsec)).UTC()))
		return
	}
	if tag == tagNil {
		switch v.Kind() {
		case reflect.Pointer, reflect.Slice:
			v.SetZero()
		default:
			d.fail("nil for a " + v.Kind().String())
		}
		return
	}
	if v.Kind() == reflect.Pointer {
		p := reflect.New(v.Type().Elem())
		d.tagged(tag, p.Elem())
		v.Set(p)
		return
	}
	switch tag {
	case tagList:
		d.list(v)
	case tagStruct:
		d.record(v)
	default:
		d.scalar(tag, v)
	}
}

// scalar reads a string, number or bool into v.
func (d *decoder) scalar(tag byte, v reflect.Value) {
	switch tag {
	case tagString:
		if v.Kind() != reflect.String {
			d.fail("string for a " + v.Kind().String())
			return
		}
		v.SetString(string(d.bytes()))
	case tagInt:
		x := d.varint()
		switch v.Kind() {
		case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
			if v.OverflowInt(x) {
				d.fail("integer out of range")
				return
			}
			v.SetInt(x)
		default:
			d.fail("integer for a " + v.Kind().String())
		}
	case tagUint:
		x := d.uvarint()
		switch v.Kind() {
		case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
			if v.OverflowUint(x) {
				d.fail("integer out of range")
				return
			}
			v.SetUint(x)
		default:
			d.fail("unsigned integer for a " + v.Kind().String())
		}
	case tagFloat:
		if len(d.buf) < 8 || (v.Kind() != reflect.Float32 && v.Kind() != reflect.Float64) {
			d.fail("bad float")
			return
		}
		v.SetFloat(math.Float64frombits(binary.LittleEndian.Uint64(d.buf)))
		d.buf = d.buf[8:]
	case tagBool:
		if v.Kind() != reflect.Bool {
			d.fail("bool for a " + v.Kind().String())
			return
		}
		v.SetBool(d.byte() != 0)
	default:
		d.fail(fmt.Sprintf("unknown tag %q", tag))
	}
}

// list reads the rest of a list into a slice or array v.
func (d *decoder) list(v reflect.Value) {
	n := d.uvarint()
	if n > uint64(len(d.buf)) { // every element takes at least one byte
		d.fail("list longer than the document")
		return
	}
	switch v.Kind() {
	case reflect.Slice:
		s := reflect.MakeSlice(v.Type(), int(n), int(n))
		for i := 0; i < int(n); i++ {
			d.value(s.Index(i))
		}
		v.Set(s)
	case reflect.Array:
		if int(n) != v.Len() {
			d.fail("array of another length")
			return
		}
		for i := 0; i < int(n); i++ {
			d.value(v.Index(i))
		}
	default:
		d.fail("list for a " + v.Kind().String())
	}
}

// record reads the rest of a struct by field name; fields this version
// does not have are skipped.
func (d *decoder) record(v reflect.Value) {
	if v.Kind() != reflect.Struct {
		d.fail("record for a " + v.Kind().String())
		return
	}
	fs := structFields(v.Type())
	n := d.uvarint()
	for i := uint64(0); i < n && d.err == nil; i++ {
		name := d.bytes()
		if idx, ok := fs.byName[string(name)]; ok {
			d.value(v.Field(idx))
		} else {
			d.skip()
		}
	}
}

// skip reads past one value.
func (d *decoder) skip() {
	switch d.byte() {
	case tagNil:
	case tagString:
		d.bytes()
	case tagInt:
		d.varint()
	case tagUint:
		d.uvarint()
	case tagFloat:
		if len(d.buf) < 8 {
			d.fail("bad float")
			return
		}
		d.buf = d.buf[8:]
	case tagBool:
		d.byte()
	case tagTime:
		d.varint()
		d.uvarint()
	case tagList:
		n := d.uvarint()
		for i := uint64(0); i < n && d.err == nil; i++ {
			d.skip()
		}
	case tagStruct:
		n := d.uvarint()
		for i := uint64(0); i < n && d.err == nil; i++ {
			d.bytes()
			d.skip()
		}
	default:
		d.fail("unknown tag")
	}
}
