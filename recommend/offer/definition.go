package offer

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/affinity-rec/affinity/features"
	"github.com/affinity-rec/affinity/features/jsonbody"
)

// Offers as marketers define them (DESIGN 3.2): decoding and validation.
// Persisting them is in admin.go, the published set in set.go; choosing
// among them for a customer is in choose.go, propensity.go and reserve.go,
// learning from the answers in respond.go and background.go.

// Record and log kinds in the feature store.
const (
	offerKind        = "offer"
	offerShownLog    = "offer_shown"
	offerResponseLog = "offer_response"
)

// Limits on one offer definition: they keep a single PUT from making every
// next-best-offer call slow.
const (
	maxOfferProducts = 1000
	maxOfferChannels = 32
	maxChannelLen    = 32
	maxEligibility   = 4096
	maxOfferBody     = 1 << 20
)

// notFoundError is an error that is also a features.ErrNotFound.
type notFoundError string

func (e notFoundError) Error() string        { return string(e) }
func (e notFoundError) Is(target error) bool { return target == features.ErrNotFound }

// The offer service's errors. They sit here rather than in errors.go
// because this file is the offer feature's own (see the report to the lead).
var (
	// ErrUnknownOffer is returned, followed by the id, for an offer id
	// with no definition; it is a features.ErrNotFound, so the API answers
	// 404 with the message as it stands.
	ErrUnknownOffer error = notFoundError("unknown offer")
	// ErrNoOpenExposure is returned for a response that matches no open
	// exposure: the offer was never shown to that customer under that
	// recommendation id, was already answered, or its response window
	// passed. The API answers 409.
	ErrNoOpenExposure = errors.New("no open exposure")
	// ErrTooManyOffers is returned when a new offer would exceed
	// Options.MaxOffers.
	ErrTooManyOffers = fmt.Errorf("too many offers: %w", features.ErrInvalid)
)

// Offer is one offer's definition, as PUT and returned by the API. The zero
// value of an optional field means "no limit": no start or end, no cap per
// customer, no budget, every channel, everyone eligible. It is a plain value;
// copies are safe for concurrent use.
type Offer struct {
	// Name is for people; it defaults to the offer id.
	Name string `json:"name"`
	// Products and Category are what the offer promotes: they seed the
	// association prior, and a purchase of one of them carrying the offer's
	// recommendation id counts as an acceptance (an offer with neither is
	// answered through the responses endpoint only).
	Products []string `json:"products"`
	Category string   `json:"category"`
	// Eligibility is a rule over the customer's profile (crm.CompileRule).
	Eligibility string `json:"eligibility"`
	// Value is what one acceptance is worth; Priority is the marketer's
	// weight. Both multiply the propensity in the score.
	Value    float64 `json:"value"`
	Priority float64 `json:"priority"`
	// StartsAt and EndsAt bound when the offer may be shown (store clock).
	StartsAt *time.Time `json:"starts_at"`
	EndsAt   *time.Time `json:"ends_at"`
	// MaxPerCustomer caps how often one customer is shown the offer (0: no cap).
	MaxPerCustomer int64 `json:"max_per_customer"`
	// Budget caps the acceptances the offer may ever get (0: no budget).
	Budget int64 `json:"budget"`
	// Channels lists where it may be shown (empty: everywhere).
	Channels []string `json:"channels"`
}

// offerBody is the JSON read from outside. Pointers tell absent from zero,
// raw times accept RFC 3339 or unix seconds, and the read-only fields of a
// GET reply are accepted (and ignored) so that read-modify-write works.
type offerBody struct {
	Name           *string         `json:"name"`
	Products       []string        `json:"products"`
	Category       string          `json:"category"`
	Eligibility    string          `json:"eligibility"`
	Value          *float64        `json:"value"`
	Priority       *float64        `json:"priority"`
	StartsAt       json.RawMessage `json:"starts_at"`
	EndsAt         json.RawMessage `json:"ends_at"`
	MaxPerCustomer *int64          `json:"max_per_customer"`
	Budget         *int64          `json:"budget"`
	Channels       []string        `json:"channels"`
	OfferID        json.RawMessage `json:"offer_id"`
	Performance    json.RawMessage `json:"performance"`
	Active         json.RawMessage `json:"active"`
}

// Decode reads an offer definition from JSON and checks everything that
// does not need the store (Validate). Unknown fields are refused, so a
// misspelt "max_per_custmer" is a 400 rather than a silently uncapped offer.
// Errors are *features.FieldError naming the field.
func Decode(b []byte) (Offer, error) {
	var ob offerBody
	if err := decodeOfferJSON(b, &ob); err != nil {
		return Offer{}, err
	}
	o := Offer{Products: ob.Products, Category: ob.Category, Eligibility: ob.Eligibility,
		Value: 1, Priority: 1, Channels: ob.Channels}
	if ob.Name != nil {
		o.Name = *ob.Name
	}
	if ob.Value != nil {
		o.Value = *ob.Value
	}
	if ob.Priority != nil {
		o.Priority = *ob.Priority
	}
	if ob.MaxPerCustomer != nil {
		o.MaxPerCustomer = *ob.MaxPerCustomer
	}
	if ob.Budget != nil {
		o.Budget = *ob.Budget
	}
	var err error
	if o.StartsAt, err = decodeOfferTime("starts_at", ob.StartsAt); err != nil {
		return Offer{}, err
	}
	if o.EndsAt, err = decodeOfferTime("ends_at", ob.EndsAt); err != nil {
		return Offer{}, err
	}
	if err := Validate(&o); err != nil {
		return Offer{}, err
	}
	return o, nil
}

// decodeOfferJSON decodes one JSON object into v under the convention of
// features/jsonbody (unknown fields, duplicate keys, wrong types and
// trailing data refused, naming the field).
func decodeOfferJSON(b []byte, v any) error {
	if len(b) > maxOfferBody {
		return &features.FieldError{Field: "body", Msg: "is larger than 1 MiB"}
	}
	return jsonbody.Decode(b, v)
}

// decodeOfferTime reads null, an RFC 3339 string or unix seconds.
func decodeOfferTime(field string, raw json.RawMessage) (*time.Time, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	s := string(raw)
	if raw[0] == '"' {
		if err := json.Unmarshal(raw, &s); err != nil {
			return nil, &features.FieldError{Field: field, Msg: "is not a valid string"}
		}
		if s == "" {
			return nil, nil
		}
	}
	t, err := features.ParseTimestamp(s)
	if err != nil {
		return nil, &features.FieldError{Field: field, Msg: "must be RFC 3339 or unix seconds: " + err.Error()}
	}
	if y := t.Year(); y < 1970 || y > 2200 {
		return nil, &features.FieldError{Field: field, Msg: "must be between 1970 and 2200"}
	}
	return &t, nil
}

// Validate checks the fields of o that do not depend on the store, and
// normalises channels (lower case, duplicates removed) and products
// (duplicates removed). Whether the products exist and the eligibility rule
// compiles is checked by Service.Put.
func Validate(o *Offer) error {
	if len(o.Name) > features.MaxIDLen || !utf8.ValidString(o.Name) {
		return &features.FieldError{Field: "name", Msg: "must be valid UTF-8 of at most 256 bytes"}
	}
	if len(o.Products) > maxOfferProducts {
		return &features.FieldError{Field: "products", Msg: fmt.Sprintf("lists %d products; at most %d allowed", len(o.Products), maxOfferProducts)}
	}
	seen := make(map[string]bool, len(o.Products))
	prods := make([]string, 0, len(o.Products))
	for _, p := range o.Products {
		if err := features.ValidateID("products", p); err != nil {
			return err
		}
		if !seen[p] {
			seen[p] = true
			prods = append(prods, p)
		}
	}
	o.Products = prods
	if len(o.Category) > features.MaxIDLen || !utf8.ValidString(o.Category) {
		return &features.FieldError{Field: "category", Msg: "must be valid UTF-8 of at most 256 bytes"}
	}
	if len(o.Eligibility) > maxEligibility {
		return &features.FieldError{Field: "eligibility", Msg: fmt.Sprintf("is longer than %d bytes", maxEligibility)}
	}
	if !offerFinite(o.Value) || o.Value < 0 || o.Value > 1e12 {
		return &features.FieldError{Field: "value", Msg: "must be a number from 0 to 1e12"}
	}
	if !offerFinite(o.Priority) || o.Priority <= 0 || o.Priority > 1e6 {
		return &features.FieldError{Field: "priority", Msg: "must be a number above 0 and at most 1e6 (end the offer to stop it)"}
	}
	if o.MaxPerCustomer < 0 {
		return &features.FieldError{Field: "max_per_customer", Msg: "must be >= 0 (0: no cap)"}
	}
	if o.Budget < 0 {
		return &features.FieldError{Field: "budget", Msg: "must be >= 0 (0: no budget)"}
	}
	if o.StartsAt != nil && o.EndsAt != nil && !o.EndsAt.After(*o.StartsAt) {
		return &features.FieldError{Field: "ends_at", Msg: "must be after starts_at"}
	}
	if len(o.Channels) > maxOfferChannels {
		return &features.FieldError{Field: "channels", Msg: fmt.Sprintf("at most %d channels", maxOfferChannels)}
	}
	chans := make([]string, 0, len(o.Channels))
	for _, ch := range o.Channels {
		norm, err := NormalizeChannel("channels", ch)
		if err != nil {
			return err
		}
		if !offerHasString(chans, norm) {
			chans = append(chans, norm)
		}
	}
	o.Channels = chans
	return nil
}

// NormalizeChannel lower-cases a channel name and checks it: 1 to 32 ASCII
// letters, digits, '_' or '-', starting with a letter or digit. The error
// names field.
func NormalizeChannel(field, ch string) (string, error) {
	s := strings.ToLower(ch)
	if s == "" || len(s) > maxChannelLen {
		return "", &features.FieldError{Field: field, Msg: fmt.Sprintf("has %q: a channel is 1 to %d characters", ch, maxChannelLen)}
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		alnum := (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')
		if !alnum && (i == 0 || (c != '_' && c != '-')) {
			return "", &features.FieldError{Field: field, Msg: fmt.Sprintf("has %q: a channel is letters, digits, '_' or '-', starting with a letter or digit", ch)}
		}
	}
	return s, nil
}

func offerHasString(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func offerFinite(f float64) bool { return !math.IsNaN(f) && !math.IsInf(f, 0) }
