package features

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"unicode"
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

// CheckAttributeKeys refuses the keys a request brings that hold a control
// character (C0, DEL, C1): a rule cannot name such a key
// (attributes.NAME), and it is a client's encoding bug far more often than
// a wish. A key whose value is nil (a PATCH removing it) passes, so a key
// stored by an older version can still be removed. It is not part of
// ValidateAttributes, which also checks the merged attributes when a
// cluster op is applied: a rule added there would refuse on new nodes what
// old ones apply, and the replicas would diverge during an upgrade.
func CheckAttributeKeys(attrs map[string]any) error {
	for k, v := range attrs {
		if v != nil && strings.IndexFunc(k, unicode.IsControl) >= 0 {
			return &FieldError{Field: "attributes", Msg: fmt.Sprintf("key %s has a control character", shortQuote(k))}
		}
	}
	return nil
}
