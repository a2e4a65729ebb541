package jsonbody

import (
	"encoding"
	"encoding/json"
	"reflect"
	"strconv"

	"github.com/affinity-rec/affinity/features"
)

// leafType is the type of the value under key (objects) in a value of
// type t, pointers removed, scalars included; nil when unknown.
func leafType(t reflect.Type, key string) reflect.Type {
	if t == nil {
		return nil
	}
	var c reflect.Type
	switch t.Kind() {
	case reflect.Struct:
		c = fieldsOf(t)[key]
	case reflect.Map, reflect.Slice, reflect.Array:
		c = t.Elem()
	}
	for c != nil && c.Kind() == reflect.Pointer {
		c = c.Elem()
	}
	return c
}

// anyType is the type of a value decoded into any (free-form attributes,
// a variant's params): only its numbers' range is checked.
var anyType = reflect.TypeOf((*any)(nil)).Elem()

var (
	jsonUnmarshaler = reflect.TypeOf((*json.Unmarshaler)(nil)).Elem()
	textUnmarshaler = reflect.TypeOf((*encoding.TextUnmarshaler)(nil)).Elem()
)

// checkValue holds the token about to be read at path to the type it
// decodes into, so that a wrong value is named where it is (tags[1], not
// tags, which is all encoding/json tells) and a number out of range is
// said to be so. Null, and types that decode themselves, are left to the
// decoder.
func checkValue(tok json.Token, t reflect.Type, path string) error {
	if t == nil || tok == nil || t == rawMessage ||
		t.Implements(jsonUnmarshaler) || reflect.PointerTo(t).Implements(jsonUnmarshaler) ||
		t.Implements(textUnmarshaler) || reflect.PointerTo(t).Implements(textUnmarshaler) {
		return nil
	}
	k := t.Kind()
	ok := k == reflect.Interface
	switch v := tok.(type) {
	case string:
		ok = ok || k == reflect.String
	case bool:
		ok = ok || k == reflect.Bool
	case json.Delim:
		if v == json.Delim('{') {
			ok = ok || k == reflect.Struct || k == reflect.Map
		} else {
			ok = ok || k == reflect.Slice || k == reflect.Array
		}
	case json.Number:
		return checkNumber(string(v), t, path)
	}
	if !ok {
		return &features.FieldError{Field: path, Msg: "must be " + kindName(t) + ", not " + tokenName(tok)}
	}
	return nil
}

// checkNumber holds a number literal to t: in range, and whole where t is
// an integer.
func checkNumber(s string, t reflect.Type, path string) error {
	outOfRange := &features.FieldError{Field: path, Msg: "is out of range: " + shortNumber(s)}
	switch t.Kind() {
	case reflect.Interface, reflect.Float32, reflect.Float64:
		bits := 64
		if t.Kind() == reflect.Float32 {
			bits = 32
		}
		if _, err := strconv.ParseFloat(s, bits); err != nil {
			return outOfRange
		}
		return nil
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		if _, err := strconv.ParseInt(s, 10, t.Bits()); err != nil {
			return intError(s, err, outOfRange, path)
		}
		return nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		if len(s) > 0 && s[0] == '-' {
			return &features.FieldError{Field: path, Msg: "must be a whole number from 0, not " + shortNumber(s)}
		}
		if _, err := strconv.ParseUint(s, 10, t.Bits()); err != nil {
			return intError(s, err, outOfRange, path)
		}
		return nil
	}
	return &features.FieldError{Field: path, Msg: "must be " + kindName(t) + ", not a number"}
}

// intError words a number an integer field could not take: too large, or
// not written as a whole number (10.5, 1e3, 10.0).
func intError(s string, err error, outOfRange error, path string) error {
	if ne, ok := err.(*strconv.NumError); ok && ne.Err == strconv.ErrRange {
		return outOfRange
	}
	if _, err := strconv.ParseFloat(s, 64); err != nil {
		return outOfRange // 1e400
	}
	return &features.FieldError{Field: path, Msg: "must be a whole number, written without a fraction or exponent, not " + shortNumber(s)}
}

// shortNumber is a number literal fit for a message.
func shortNumber(s string) string {
	if len(s) > 32 {
		return s[:32] + "…"
	}
	return s
}
