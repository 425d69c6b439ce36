package validate

import (
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strings"
)

// exactKeys checks what encoding/json lets through when it reads text into
// a Definition (R13, R21): every key of an object is the JSON name of a
// field of the type read there, in exactly its letter case (encoding/json
// would match "ID" to "id"), and no object gives a key twice (the last
// would win). It runs on text that has decoded into a Definition, so the
// text is one JSON object whose shape fits the type.
func exactKeys(text string) error {
	dec := json.NewDecoder(strings.NewReader(text))
	dec.UseNumber()
	return walkKeys(dec, reflect.TypeFor[Definition](), "")
}

func walkKeys(dec *json.Decoder, t reflect.Type, path string) error {
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	switch tok {
	case json.Delim('{'):
		var fields map[string]reflect.Type
		if t != nil && t.Kind() == reflect.Struct {
			fields = jsonFields(t)
		}
		seen := map[string]bool{}
		for dec.More() {
			kt, err := dec.Token()
			if err != nil {
				return err
			}
			key, _ := kt.(string)
			if seen[key] {
				return fmt.Errorf("the key %q is given twice in %s; give each key once", shorten(key), where(path))
			}
			seen[key] = true
			ft, ok := fields[key]
			if !ok {
				return unknownKey(key, path, fields)
			}
			if err := walkKeys(dec, ft, join(path, key)); err != nil {
				return err
			}
		}
		_, err = dec.Token()
		return err
	case json.Delim('['):
		var elem reflect.Type
		if t != nil && (t.Kind() == reflect.Slice || t.Kind() == reflect.Array) {
			elem = t.Elem()
		}
		for i := 0; dec.More(); i++ {
			if err := walkKeys(dec, elem, fmt.Sprintf("%s[%d]", path, i)); err != nil {
				return err
			}
		}
		_, err = dec.Token()
		return err
	}
	return nil
}

// unknownKey says that key is no field of the object at path, and which
// field it would be in its exact letter case, or else which keys the object
// takes.
func unknownKey(key, path string, fields map[string]reflect.Type) error {
	names := make([]string, 0, len(fields))
	for name := range fields {
		if strings.EqualFold(name, key) {
			return fmt.Errorf("the key %q in %s is not a field; keys are case-sensitive: write %q", shorten(key), where(path), name)
		}
		names = append(names, name)
	}
	if len(names) == 0 { // not an object in a Definition
		return fmt.Errorf("unknown field %q in %s; send it as validate.Definition encodes it", shorten(key), where(path))
	}
	slices.Sort(names)
	return fmt.Errorf("unknown field %q in %s; use one of %s", shorten(key), where(path), strings.Join(names, ", "))
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func where(path string) string {
	if path == "" {
		return "the definition"
	}
	return path
}

// jsonFields maps the JSON names of struct type t's fields to their types.
func jsonFields(t reflect.Type) map[string]reflect.Type {
	out := map[string]reflect.Type{}
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if !f.IsExported() || name == "-" {
			continue
		}
		if name == "" {
			name = f.Name
		}
		out[name] = f.Type
	}
	return out
}
