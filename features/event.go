package features

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// MaxIDLen is the longest external id accepted, in bytes.
const MaxIDLen = 256

// Event is one thing a customer did to a product, as sent from outside.
// Timestamp zero means "now" (filled in on ingest).
type Event struct {
	EventID          string    `json:"event_id,omitempty"`
	CustomerID       string    `json:"customer_id"`
	ProductID        string    `json:"product_id"`
	Type             string    `json:"type"`
	Value            float64   `json:"value,omitempty"`
	Quantity         float64   `json:"quantity,omitempty"`
	Timestamp        time.Time `json:"timestamp"`
	OrderID          string    `json:"order_id,omitempty"`
	RecommendationID string    `json:"recommendation_id,omitempty"`
}

// Product is a catalogue record. Available defaults to true when absent.
type Product struct {
	Category   string         `json:"category"`
	Brand      string         `json:"brand"`
	Price      float64        `json:"price"`
	Tags       []string       `json:"tags"`
	Available  bool           `json:"available"`
	Attributes map[string]any `json:"attributes"`
}

// Customer is a customer record: free attributes set by the storefront.
type Customer struct {
	Attributes map[string]any `json:"attributes"`
}

// ValidateID reports whether s is an acceptable external id: 1 to MaxIDLen
// bytes of printable UTF-8. The returned error names field.
func ValidateID(field, s string) error {
	if s == "" {
		return &FieldError{Field: field, Msg: "is required"}
	}
	if len(s) > MaxIDLen {
		return &FieldError{Field: field, Msg: fmt.Sprintf("is %d bytes; at most %d allowed", len(s), MaxIDLen)}
	}
	if !utf8.ValidString(s) {
		return &FieldError{Field: field, Msg: "is not valid UTF-8"}
	}
	for _, r := range s {
		if !unicode.IsPrint(r) {
			return &FieldError{Field: field, Msg: fmt.Sprintf("contains a non-printable character %U", r)}
		}
	}
	return nil
}

// ValidateEvent checks the fields of e that do not depend on configuration
// (whether e.Type is a configured type is checked by the store).
func ValidateEvent(e *Event) error {
	if err := ValidateID("customer_id", e.CustomerID); err != nil {
		return err
	}
	if err := ValidateID("product_id", e.ProductID); err != nil {
		return err
	}
	if e.Type == "" {
		return &FieldError{Field: "type", Msg: "is required"}
	}
	if len(e.Type) > 64 || strings.IndexFunc(e.Type, func(r rune) bool {
		return !(r == '_' || r == '-' || unicode.IsLetter(r) || unicode.IsDigit(r))
	}) >= 0 {
		return &FieldError{Field: "type", Msg: "must be 1 to 64 letters, digits, '_' or '-'"}
	}
	if e.EventID != "" {
		if err := ValidateID("event_id", e.EventID); err != nil {
			return err
		}
	}
	if e.OrderID != "" {
		if err := ValidateID("order_id", e.OrderID); err != nil {
			return err
		}
	}
	if e.RecommendationID != "" {
		if err := ValidateID("recommendation_id", e.RecommendationID); err != nil {
			return err
		}
	}
	if math.IsNaN(e.Value) || math.IsInf(e.Value, 0) {
		return &FieldError{Field: "value", Msg: "must be a finite number"}
	}
	if math.IsNaN(e.Quantity) || math.IsInf(e.Quantity, 0) || e.Quantity < 0 {
		return &FieldError{Field: "quantity", Msg: "must be a finite number >= 0"}
	}
	if !e.Timestamp.IsZero() {
		if y := e.Timestamp.Year(); y < 1970 || y > 2105 {
			return &FieldError{Field: "timestamp", Msg: "must be between 1970 and 2105"}
		}
	}
	return nil
}

// ParseTimestamp reads unix seconds (integer or decimal) or RFC 3339.
func ParseTimestamp(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, nil
	}
	if len(s) > 4 && s[4] == '-' {
		// RFC 3339 is the common form: skip the number attempt and its
		// thrown-away error.
		if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
			return t.UTC(), nil
		}
	}
	if f, err := strconv.ParseFloat(s, 64); err == nil {
		if math.IsNaN(f) || math.IsInf(f, 0) || f < 0 || f > 7258118400 {
			return time.Time{}, fmt.Errorf("unix seconds %q out of range", s)
		}
		sec, frac := math.Modf(f)
		return time.Unix(int64(sec), int64(frac*1e9)).UTC(), nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q is neither unix seconds nor RFC 3339", s)
	}
	return t.UTC(), nil
}
