package features

import (
	"errors"
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
	Timestamp        time.Time `json:"timestamp,omitzero"` // absent, not the zero time, when unset
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
	// Recommendable false keeps the product out of every list (postage,
	// fees, vouchers: lines that are sold but are not merchandise). Absent
	// (nil) means true, so records stored before the field stay listed.
	Recommendable *bool `json:"recommendable,omitempty"`
}

// IsRecommendable reports whether lists may show p.
func (p Product) IsRecommendable() bool { return p.Recommendable == nil || *p.Recommendable }

// Customer is a customer record: free attributes set by the storefront.
type Customer struct {
	Attributes map[string]any `json:"attributes"`
}

// ValidateName is ValidateID for the id of something a client defines
// under a URL path (a segment, a rule, an offer, an experiment): it also
// refuses "." and "..", which every HTTP client and URL library resolves
// as dot segments, so such a resource could be written (curl --path-as-is)
// but never read, changed or deleted again by a normal client. Ids that
// arrive in data (customers, products) keep ValidateID's wider set.
func ValidateName(field, s string) error {
	if s == "." || s == ".." {
		return &FieldError{Field: field, Msg: fmt.Sprintf("may not be %q: URL paths resolve it as a dot segment", s)}
	}
	return ValidateID(field, s)
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

// validateEventID is ValidateID for an event's ids, which come from a
// decoded JSON body or file line: U+FFFD is refused too. JSON decoding
// turns a lone surrogate (\ud800) and invalid UTF-8 into it, so two ids a
// client told apart would be stored as one customer or product, two event
// ids as one (the second event dropped as a duplicate), two orders or
// recommendations as one. Ids in URL
// paths keep ValidateID: a path cannot make U+FFFD by accident (its bytes
// must be valid UTF-8), and a customer stored under such an id by an
// older version must stay readable and erasable.
func validateEventID(field, s string) error {
	if err := ValidateID(field, s); err != nil {
		return err
	}
	if strings.ContainsRune(s, utf8.RuneError) {
		return &FieldError{Field: field, Msg: "contains U+FFFD, the replacement character (what a lone surrogate such as \\ud800 or invalid UTF-8 decodes to): two different ids would become one"}
	}
	return nil
}

// ValidateEvent checks the fields of e that do not depend on configuration
// or the clock: ids, type, value and quantity in range (validateAmounts), a
// timestamp that is zero (unset) or CheckTimestamp accepts. Whether e.Type
// is a configured type and e.Timestamp not too far in the future are the
// store's checks (Ingest).
func ValidateEvent(e *Event) error {
	if err := validateEventID("customer_id", e.CustomerID); err != nil {
		return err
	}
	if err := validateEventID("product_id", e.ProductID); err != nil {
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
		if err := validateEventID("event_id", e.EventID); err != nil {
			return err
		}
	}
	if e.OrderID != "" {
		if err := validateEventID("order_id", e.OrderID); err != nil {
			return err
		}
	}
	if e.RecommendationID != "" {
		if err := validateEventID("recommendation_id", e.RecommendationID); err != nil {
			return err
		}
	}
	if err := validateAmounts(e); err != nil {
		return err
	}
	if !e.Timestamp.IsZero() {
		if err := CheckTimestamp(e.Timestamp); err != nil {
			return err
		}
	}
	return nil
}

// The ranges an event's numbers must lie in. Every sum of event values
// (monetary value, revenue per tier, an experiment's revenue, a product's
// purchase value) adds terms of at most MaxEventValue, so no count of events
// a store can hold brings a sum, or a sum of squares, near float64's limit:
// bounding the terms is what keeps every reply finite.
const (
	// MaxEventValue bounds an event's value (revenue of a purchase line, a
	// rating): a billion in the shop's currency is beyond any order line.
	MaxEventValue = 1e9
	// MaxEventQuantity bounds an event's quantity.
	MaxEventQuantity = 1e6
)

// validateAmounts checks value and quantity. A value may be negative down
// to -MaxEventValue here; which types may carry one (a return only) is the
// store's check, which knows the configured types (negative.go).
func validateAmounts(e *Event) error {
	if math.IsNaN(e.Value) || math.IsInf(e.Value, 0) {
		return &FieldError{Field: "value", Msg: "must be a finite number"}
	}
	if math.Abs(e.Value) > MaxEventValue {
		return &FieldError{Field: "value", Msg: fmt.Sprintf("is %g; it must be between %g (a return's refund) and %g", e.Value, -float64(MaxEventValue), float64(MaxEventValue))}
	}
	if math.IsNaN(e.Quantity) || math.IsInf(e.Quantity, 0) || e.Quantity < 0 || e.Quantity > MaxEventQuantity {
		return &FieldError{Field: "quantity", Msg: fmt.Sprintf("must be a finite number between 0 and %g", float64(MaxEventQuantity))}
	}
	return nil
}

// ClampValue brings a value read back from the event log into
// [-MaxEventValue, MaxEventValue] (NaN becomes 0). Logs written before
// values were bounded may hold anything, 1.7e308 included; clamping where
// they are replayed keeps the bound the sums rely on true for them too. The
// sign is kept: such a log may hold negative values, which meant something
// to whoever sent them.
func ClampValue(v float64) float64 {
	if v != v { // NaN
		return 0
	}
	return min(max(v, -MaxEventValue), MaxEventValue)
}

// MinEventTime is the earliest event time accepted: older than any web shop
// and the public data sets (MovieLens 1995-2018, Online Retail 2009-2011),
// and far enough from the Unix epoch and Go's zero time that a 0 sent by
// mistake is refused instead of being read as a real date.
var MinEventTime = time.Date(1990, 1, 1, 0, 0, 0, 0, time.UTC)

// maxEventTime is the hard ceiling: the in-memory history keeps unix
// seconds in 32 bits. The configured future skew is far tighter (see
// Options.MaxFutureSkew).
var maxEventTime = time.Date(2106, 1, 1, 0, 0, 0, 0, time.UTC)

// CheckTimestamp reports whether t is a possible event time: at or after
// MinEventTime and before 2106. The explicit zero time is refused like any
// other time before the floor; only an absent timestamp means "arrival
// time", and decoders keep the two apart. Whether t is too far in the
// future for the server's clock is the store's check (Ingest).
func CheckTimestamp(t time.Time) error {
	if t.Before(MinEventTime) {
		return &FieldError{Field: "timestamp", Msg: fmt.Sprintf("is %s, before %s, the earliest accepted; omit it to mean the time of arrival",
			t.UTC().Format(time.RFC3339), MinEventTime.Format(time.RFC3339))}
	}
	if !t.Before(maxEventTime) {
		return &FieldError{Field: "timestamp", Msg: fmt.Sprintf("is %s; it must be before %s", t.UTC().Format(time.RFC3339), maxEventTime.Format(time.RFC3339))}
	}
	return nil
}

// CheckFuture reports whether t lies no more than skew past wall, the
// server's wall clock (not a store clock pinned to historical data). The
// store applies it to every event with Options.MaxFutureSkew; eval to the
// events it reads.
func CheckFuture(t, wall time.Time, skew time.Duration) error {
	if t.After(wall.Add(skew)) {
		return &FieldError{Field: "timestamp", Msg: fmt.Sprintf("%s is more than %v ahead of the server's clock (%s)",
			t.UTC().Format(time.RFC3339), skew, wall.UTC().Format(time.RFC3339))}
	}
	return nil
}

// ParseTimestamp reads unix seconds (integer or decimal) or RFC 3339. An
// empty string is the zero time (no timestamp); any other text must give a
// time CheckTimestamp accepts, so "0" or "0001-01-01T00:00:00Z" is an error
// rather than a silent "now".
func ParseTimestamp(s string) (time.Time, error) {
	t, err := parseTimestamp(s)
	if err != nil || t.IsZero() && strings.TrimSpace(s) == "" {
		return t, err
	}
	if err := CheckTimestamp(t); err != nil {
		return time.Time{}, errors.New(err.(*FieldError).Msg)
	}
	return t, nil
}

func parseTimestamp(s string) (time.Time, error) {
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
