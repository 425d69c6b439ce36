package lifecycle

import (
	"reflect"
	"time"
)

var timeType = reflect.TypeFor[time.Time]()

// shiftedBy reports whether plan q is plan p taking effect delay later
// (R17): equal in everything, except that any instant of p may read delay
// later in q - the times the decision took from its now (audit times,
// grace deadlines, session ends), while what was stored before and what
// the caller gave (a schedule's instant) stay equal.
func shiftedBy(p, q Plan, delay time.Duration) bool {
	return sameShifted(reflect.ValueOf(p), reflect.ValueOf(q), delay)
}

// sameShifted is reflect.DeepEqual with the time rule of shiftedBy. Plans
// hold no cycles, so it needs no visited set.
func sameShifted(a, b reflect.Value, delay time.Duration) bool {
	if a.IsValid() != b.IsValid() {
		return false
	}
	if !a.IsValid() {
		return true
	}
	if a.Type() != b.Type() {
		return false
	}
	if a.Type() == timeType && a.CanInterface() {
		ta, tb := a.Interface().(time.Time), b.Interface().(time.Time)
		return ta.Equal(tb) && ta.Location() == tb.Location() ||
			!ta.IsZero() && ta.Add(delay).Equal(tb) && ta.Location() == tb.Location()
	}
	switch a.Kind() {
	case reflect.Pointer, reflect.Interface:
		if a.IsNil() || b.IsNil() {
			return a.IsNil() == b.IsNil()
		}
		return sameShifted(a.Elem(), b.Elem(), delay)
	case reflect.Struct:
		for i := range a.NumField() {
			if !sameShifted(a.Field(i), b.Field(i), delay) {
				return false
			}
		}
		return true
	case reflect.Slice, reflect.Array:
		if a.Kind() == reflect.Slice && a.IsNil() != b.IsNil() {
			return false
		}
		if a.Len() != b.Len() {
			return false
		}
		for i := range a.Len() {
			if !sameShifted(a.Index(i), b.Index(i), delay) {
				return false
			}
		}
		return true
	case reflect.Map:
		if a.IsNil() != b.IsNil() || a.Len() != b.Len() {
			return false
		}
		for _, k := range a.MapKeys() {
			if !sameShifted(a.MapIndex(k), b.MapIndex(k), delay) {
				return false
			}
		}
		return true
	case reflect.Func, reflect.Chan, reflect.UnsafePointer:
		return a.IsNil() && b.IsNil()
	}
	return sameValue(a, b)
}

// sameValue compares values of a basic kind, exported or not.
func sameValue(a, b reflect.Value) bool {
	switch a.Kind() {
	case reflect.Bool:
		return a.Bool() == b.Bool()
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return a.Int() == b.Int()
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return a.Uint() == b.Uint()
	case reflect.Float32, reflect.Float64:
		return a.Float() == b.Float()
	case reflect.Complex64, reflect.Complex128:
		return a.Complex() == b.Complex()
	case reflect.String:
		return a.String() == b.String()
	}
	return false
}
