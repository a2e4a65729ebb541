package features

import (
	"encoding/json"
	"fmt"
	"strconv"
	"unicode/utf8"
)

// Limits on the free attributes of products and customers. Customer
// attributes are held in memory for segment rules (attributes.NAME), so
// they are bounded per record; values may nest (attributes.address.city)
// but not deeply.
const (
	// MaxAttributes is how many keys an attributes object may have.
	MaxAttributes = 100
	// MaxAttributeKey is the longest key, in bytes.
	MaxAttributeKey = 64
	// MaxAttributeValue is the longest value, in bytes of its JSON
	// encoding (a string of 1 KiB, or a small array or object).
	MaxAttributeValue = 1 << 10
	// MaxAttributeDepth is how deep arrays and objects may nest, the
	// attributes object counting as one: {"a":{"b":[1]}} is 3 deep.
	MaxAttributeDepth = 4
)

// ValidateAttributes checks attrs against the limits above: a
// *FieldError names the attribute (attributes.NAME) and the limit.
func ValidateAttributes(attrs map[string]any) error {
	if len(attrs) > MaxAttributes {
		return &FieldError{Field: "attributes", Msg: fmt.Sprintf("has %d keys; at most %d are allowed", len(attrs), MaxAttributes)}
	}
	for k, v := range attrs {
		if k == "" || len(k) > MaxAttributeKey || !utf8.ValidString(k) {
			return &FieldError{Field: "attributes", Msg: fmt.Sprintf("key %s must be 1 to %d bytes of UTF-8", shortQuote(k), MaxAttributeKey)}
		}
		if hasControl(k) {
			// A rule cannot name it (attributes.NAME); such a key is a
			// client's encoding bug far more often than a wish.
			return &FieldError{Field: "attributes", Msg: fmt.Sprintf("key %s has a control character", shortQuote(k))}
		}
		field := "attributes." + k
		if !nestsWithin(v, MaxAttributeDepth-1) {
			return &FieldError{Field: field, Msg: fmt.Sprintf("nests arrays and objects more than %d deep (attributes counting as 1)", MaxAttributeDepth)}
		}
		b, err := json.Marshal(v)
		if err != nil {
			return &FieldError{Field: field, Msg: "cannot be encoded as JSON"}
		}
		if len(b) > MaxAttributeValue {
			return &FieldError{Field: field, Msg: fmt.Sprintf("is %d bytes as JSON; at most %d are allowed", len(b), MaxAttributeValue)}
		}
	}
	return nil
}

// nestsWithin reports whether v holds arrays and objects at most depth
// levels deep (a scalar is 0 deep).
func nestsWithin(v any, depth int) bool {
	switch x := v.(type) {
	case map[string]any:
		if depth < 1 {
			return false
		}
		for _, e := range x {
			if !nestsWithin(e, depth-1) {
				return false
			}
		}
	case []any:
		if depth < 1 {
			return false
		}
		for _, e := range x {
			if !nestsWithin(e, depth-1) {
				return false
			}
		}
	}
	return true
}

func shortQuote(s string) string {
	if len(s) > MaxAttributeKey {
		return strconv.Quote(s[:MaxAttributeKey]) + "…"
	}
	return strconv.Quote(s)
}

// hasControl reports whether s holds an ASCII control character (U+0000
// to U+001F, U+007F).
func hasControl(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] == 0x7f {
			return true
		}
	}
	return false
}
