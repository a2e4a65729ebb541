package jsonbody

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"reflect"
	"strconv"
	"strings"
	"sync"

	"github.com/affinity-rec/affinity/features"
)

// MaxDepth bounds the nesting of arrays and objects in a body, the body's
// own object counting as one. encoding/json allows 10,000.
const MaxDepth = 32

// The messages of key errors; features/eventio words them alike.
const (
	msgUnknownField = "is not a known field"
	msgDuplicateKey = "is given twice (duplicate key)"
)

// Decode decodes b, one JSON object, into v, a pointer to a struct whose
// json tags name the accepted keys. See the package comment for what is
// refused; fields are named from the body's root.
func Decode(b []byte, v any) error { return DecodeAt(b, v, "") }

// DecodeAt is Decode for a body nested in another one at path prefix (such
// as "variants[2]"), which prefixes the fields its errors name; the whole
// is named prefix, or "body" at the root.
func DecodeAt(b []byte, v any, prefix string) error {
	whole := prefix
	if whole == "" {
		whole = "body"
	}
	if len(bytes.TrimSpace(b)) == 0 {
		return &features.FieldError{Field: whole, Msg: "is empty; a JSON object is required"}
	}
	if err := scan(b, reflect.TypeOf(v), prefix, whole); err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields() // scan checked already; kept as a backstop
	if err := dec.Decode(v); err != nil {
		return decodeError(err, prefix, whole)
	}
	return nil
}

// decodeError words an encoding/json error after scan found the syntax,
// keys and depth sound: what is left is a value of the wrong type.
func decodeError(err error, prefix, whole string) error {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		if te.Field == "" {
			return &features.FieldError{Field: whole, Msg: "must be " + kindName(te.Type) + ", not " + valueName(te.Value)}
		}
		f := join(prefix, te.Field)
		return &features.FieldError{Field: f, Msg: "must be " + kindName(te.Type) + ", not " + valueName(te.Value)}
	}
	if name, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		name, _ = strconv.Unquote(name)
		return &features.FieldError{Field: join(prefix, name), Msg: msgUnknownField}
	}
	// Nothing else is expected here; the message of a custom decoder could
	// speak Go, so it is not passed on.
	return &features.FieldError{Field: whole, Msg: "has a value that cannot be read"}
}

func join(prefix, name string) string {
	if prefix == "" {
		return name
	}
	return prefix + "." + name
}

// kindName is t in JSON's terms.
func kindName(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "a whole number"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Slice, reflect.Array:
		return "an array"
	case reflect.Map, reflect.Struct:
		return "an object"
	}
	return "another type"
}

// valueName is encoding/json's description of the value found ("number
// -1", "string", "bool", "array", "object") in JSON's terms.
func valueName(v string) string {
	kind, _, _ := strings.Cut(v, " ")
	switch kind {
	case "string", "number":
		return "a " + kind
	case "array", "object":
		return "an " + kind
	case "null":
		return "null"
	case "bool":
		return "true or false"
	}
	return "another value"
}

// fieldSets caches the json names of a struct type's fields, with their
// types.
var fieldSets sync.Map // reflect.Type -> map[string]reflect.Type

// fieldsOf returns the keys struct type t accepts (exactly, where
// encoding/json would also take another case), with their types.
func fieldsOf(t reflect.Type) map[string]reflect.Type {
	if m, ok := fieldSets.Load(t); ok {
		return m.(map[string]reflect.Type)
	}
	m := map[string]reflect.Type{}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		switch {
		case name == "-" || !f.IsExported():
			continue
		case name == "":
			name = f.Name
		}
		m[name] = f.Type
	}
	fieldSets.Store(t, m)
	return m
}

// shape is what scan knows of the Go type a JSON value decodes into: a
// struct's fields are checked by name; a map's or slice's elements have
// one type; anything else (any, json.RawMessage) is not checked.
func shape(t reflect.Type) reflect.Type {
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == nil || t == rawMessage {
		return nil
	}
	switch t.Kind() {
	case reflect.Struct, reflect.Map, reflect.Slice, reflect.Array:
		return t
	}
	return nil
}

var rawMessage = reflect.TypeOf(json.RawMessage{})

// childType is the type of the value under key (objects) in a value of
// type t, nil when unknown.
func childType(t reflect.Type, key string) reflect.Type {
	if t == nil {
		return nil
	}
	switch t.Kind() {
	case reflect.Struct:
		return shape(fieldsOf(t)[key])
	case reflect.Map, reflect.Slice, reflect.Array:
		return shape(t.Elem())
	}
	return nil
}

// frame is one open array or object during scan.
type frame struct {
	object bool
	typ    reflect.Type    // what it decodes into, nil when not checked
	ctyp   reflect.Type    // of an object's current key's value
	ltyp   reflect.Type    // the same, scalars included (leafType)
	free   bool            // decodes into any: every value inside too
	path   string          // of the array or object itself
	keys   map[string]bool // of an object so far
	cur    string          // path of an object's current key
	n      int             // tokens read inside: keys and values
}

// valuePath names the value about to be read in fr.
func (fr *frame) valuePath() string {
	if fr.object {
		return fr.cur
	}
	return fr.path + "[" + strconv.Itoa(fr.n) + "]"
}

// scan walks the tokens of b: one object, keys unique in each object, keys
// of structs among their fields (exactly, where encoding/json ignores
// case), depth at most MaxDepth, nothing after. t is what b decodes into.
func scan(b []byte, t reflect.Type, prefix, whole string) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var stack []frame
	for {
		tok, err := dec.Token()
		if err != nil {
			return syntaxError(err, whole)
		}
		var fr *frame
		if len(stack) > 0 {
			fr = &stack[len(stack)-1]
		}
		if key, ok := tok.(string); ok && fr != nil && fr.object && fr.n%2 == 0 {
			fr.n++
			fr.cur = join(fr.path, keyName(key))
			if fr.keys[key] {
				return &features.FieldError{Field: fr.cur, Msg: msgDuplicateKey}
			}
			fr.keys[key] = true
			if fr.typ != nil && fr.typ.Kind() == reflect.Struct {
				if _, known := fieldsOf(fr.typ)[key]; !known {
					return &features.FieldError{Field: fr.cur, Msg: msgUnknownField}
				}
			}
			fr.ctyp = childType(fr.typ, key)
			fr.ltyp = leafType(fr.typ, key)
			if fr.free {
				fr.ltyp = anyType
			}
			continue
		}
		switch tok {
		case json.Delim('}'), json.Delim(']'):
			stack = stack[:len(stack)-1]
			if len(stack) == 0 {
				if dec.More() {
					return &features.FieldError{Field: whole, Msg: "has data after the JSON object"}
				}
				if _, err := dec.Token(); err != io.EOF {
					return &features.FieldError{Field: whole, Msg: "has data after the JSON object"}
				}
				return nil
			}
			continue
		}
		if fr == nil {
			if tok != json.Delim('{') {
				return &features.FieldError{Field: whole, Msg: "must be a JSON object, not " + tokenName(tok)}
			}
			stack = append(stack, frame{object: true, typ: shape(t), path: prefix, keys: map[string]bool{}})
			continue
		}
		path := fr.valuePath()
		typ, ltyp := fr.ctyp, fr.ltyp
		if !fr.object {
			typ, ltyp = childType(fr.typ, ""), leafType(fr.typ, "")
			if fr.free {
				ltyp = anyType
			}
		}
		if err := checkValue(tok, ltyp, path); err != nil {
			return err
		}
		fr.n++
		if tok == json.Delim('{') || tok == json.Delim('[') {
			if len(stack) >= MaxDepth {
				return &features.FieldError{Field: path, Msg: "nests arrays and objects deeper than " + strconv.Itoa(MaxDepth) + " levels"}
			}
			next := frame{object: tok == json.Delim('{'), typ: typ, path: path, free: ltyp == anyType}
			if next.object {
				next.keys = map[string]bool{}
			}
			stack = append(stack, next)
		}
	}
}

// syntaxError words a malformed body.
func syntaxError(err error, whole string) error {
	var se *json.SyntaxError
	switch {
	case errors.As(err, &se):
		return &features.FieldError{Field: whole, Msg: "is not valid JSON: " + se.Error() + " (at byte " + strconv.FormatInt(se.Offset, 10) + ")"}
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return &features.FieldError{Field: whole, Msg: "is not valid JSON: it ends early"}
	}
	return &features.FieldError{Field: whole, Msg: "is not valid JSON"}
}

// tokenName is a token in JSON's terms.
func tokenName(tok json.Token) string {
	switch tok.(type) {
	case json.Delim:
		if tok == json.Delim('{') {
			return "an object"
		}
		return "an array"
	case string:
		return "a string"
	case json.Number:
		return "a number"
	case bool:
		return "true or false"
	}
	return "null"
}

// keyName is key fit for an error: at most 64 bytes of it, quoted when it
// holds anything but letters, digits, '_', '-' and '.'.
func keyName(key string) string {
	const max = 64
	cut := len(key) > max
	if cut {
		key = key[:max]
	}
	plain := key != ""
	for i := 0; i < len(key); i++ {
		c := key[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-' || c == '.') {
			plain = false
			break
		}
	}
	if !plain {
		key = strconv.Quote(key)
	}
	if cut {
		key += "…"
	}
	return key
}
