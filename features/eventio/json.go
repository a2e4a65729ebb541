package eventio

import (
	"strconv"
	"sync"
	"time"

	"github.com/affinity-rec/affinity/features"
)

// DecodeEventJSON decodes one event JSON object, as sent to POST /v1/events:
//
//	{"event_id","customer_id","product_id","type","value","quantity",
//	 "timestamp","order_id","recommendation_id"}
//
// and checks it with features.ValidateEvent. Ids and type are strings;
// value and quantity numbers; timestamp unix seconds (a number) or an RFC
// 3339 string. A null is the same as an absent field and keys match
// exactly. An unknown key or a key given twice is a *features.FieldError
// naming it: a misspelt "customer_Id" or a second "type" would otherwise
// be dropped or win silently.
//
// Input that is not one well-formed JSON object gives an error matching
// ErrBadJSON (and features.ErrInvalid). A field of the wrong type or a bad
// value gives a *features.FieldError naming the field; syntax errors are
// reported first. Unlike encoding/json, invalid UTF-8 in a string is kept as
// it is (and then rejected by validation) rather than silently replaced.
//
// The decoder is written by hand for the API's ingest rate: it reads the
// bytes once, without reflection, allocating only the strings it returns.
// It is safe for concurrent use.
func DecodeEventJSON(b []byte) (features.Event, error) {
	ev, err := decodeEventJSON(b)
	if err != nil {
		return features.Event{}, err
	}
	if err := features.ValidateEvent(&ev); err != nil {
		return features.Event{}, err
	}
	if err := checkSign(&ev); err != nil {
		return features.Event{}, err
	}
	return ev, nil
}

// maxJSONDepth is encoding/json's limit on nested arrays and objects.
const maxJSONDepth = 10000

// jsonDecoder is a cursor over one JSON text.
type jsonDecoder struct {
	b       []byte
	i       int
	typeErr error  // the first field error; syntax errors take precedence
	seen    uint16 // the known keys read so far, one bit per eventKey
	scratch []byte // unescaped keys

	// The string fields are gathered in strs and become one string at the
	// end: one allocation per event instead of one per field.
	strs    []byte
	pending []pendingString
}

// decoderPool recycles the decoders' buffers, which would otherwise be two
// allocations per event.
var decoderPool = sync.Pool{New: func() any { return new(jsonDecoder) }}

// release returns d to the pool, without the input and without a buffer an
// unusual event made large.
func (d *jsonDecoder) release() {
	d.b, d.typeErr = nil, nil
	if cap(d.strs) > 64<<10 || cap(d.scratch) > 64<<10 {
		return
	}
	decoderPool.Put(d)
}

// pendingString is a string field waiting for the event's one allocation.
// It names the field rather than pointing at it, so that neither the event
// nor the decoder escapes to the heap.
type pendingString struct {
	field      stringField
	start, end int
}

type stringField uint8

const (
	fEventID stringField = iota
	fCustomerID
	fProductID
	fType
	fOrderID
	fRecommendationID
)

var stringFieldNames = [...]string{
	fEventID:          "event_id",
	fCustomerID:       "customer_id",
	fProductID:        "product_id",
	fType:             "type",
	fOrderID:          "order_id",
	fRecommendationID: "recommendation_id",
}

func (f stringField) in(ev *features.Event) *string {
	switch f {
	case fEventID:
		return &ev.EventID
	case fCustomerID:
		return &ev.CustomerID
	case fProductID:
		return &ev.ProductID
	case fType:
		return &ev.Type
	case fOrderID:
		return &ev.OrderID
	}
	return &ev.RecommendationID
}

// decodeEventJSON decodes without validating, for the Reader, which
// validates every format in one place.
func decodeEventJSON(b []byte) (features.Event, error) {
	var ev features.Event
	d := decoderPool.Get().(*jsonDecoder)
	defer d.release()
	*d = jsonDecoder{b: b, strs: d.strs[:0], pending: d.pending[:0], scratch: d.scratch[:0]}
	d.skipSpace()
	if d.i >= len(d.b) {
		return ev, d.syntax("unexpected end of JSON input")
	}
	if d.b[d.i] != '{' {
		if err := d.skipValue(0); err != nil {
			return ev, err
		}
		if err := d.end(); err != nil {
			return ev, err
		}
		return ev, &jsonError{off: 0, msg: "an event must be a JSON object"}
	}
	d.i++
	d.skipSpace()
	if d.i < len(d.b) && d.b[d.i] == '}' {
		d.i++
	} else {
		for {
			d.skipSpace()
			if d.i >= len(d.b) || d.b[d.i] != '"' {
				return ev, d.syntaxAt("looking for the beginning of an object key string")
			}
			key, err := d.readKey()
			if err != nil {
				return ev, err
			}
			d.skipSpace()
			if d.i >= len(d.b) || d.b[d.i] != ':' {
				return ev, d.syntaxAt("after object key")
			}
			d.i++
			d.skipSpace()
			if err := d.field(&ev, key); err != nil {
				return ev, err
			}
			d.skipSpace()
			if d.i >= len(d.b) {
				return ev, d.syntax("unexpected end of JSON input")
			}
			c := d.b[d.i]
			d.i++
			if c == '}' {
				break
			}
			if c != ',' {
				d.i--
				return ev, d.syntaxAt("after object key:value pair")
			}
		}
	}
	if err := d.end(); err != nil {
		return ev, err
	}
	if d.typeErr != nil {
		return features.Event{}, d.typeErr
	}
	if len(d.strs) > 0 {
		all := string(d.strs)
		for _, p := range d.pending {
			*p.field.in(&ev) = all[p.start:p.end]
		}
	}
	return ev, nil
}

// field decodes the value of key into ev. Only syntax errors are returned;
// type errors are kept in d.typeErr.
func (d *jsonDecoder) field(ev *features.Event, key []byte) error {
	if d.i >= len(d.b) {
		return d.syntax("unexpected end of JSON input")
	}
	k, ok := eventKey(key)
	if !ok {
		d.fieldError(keyName(key), msgUnknownField)
		return d.skipValue(1)
	}
	if d.seen&(1<<k) != 0 {
		d.fieldError(keyName(key), msgDuplicateKey)
		return d.skipValue(1)
	}
	d.seen |= 1 << k
	switch string(key) {
	case "event_id":
		return d.stringField(fEventID)
	case "customer_id":
		return d.stringField(fCustomerID)
	case "product_id":
		return d.stringField(fProductID)
	case "type":
		return d.stringField(fType)
	case "order_id":
		return d.stringField(fOrderID)
	case "recommendation_id":
		return d.stringField(fRecommendationID)
	case "value":
		return d.numberField(&ev.Value, "value")
	case "quantity":
		return d.numberField(&ev.Quantity, "quantity")
	case "timestamp":
		return d.timestampField(&ev.Timestamp)
	}
	return d.skipValue(1)
}

func (d *jsonDecoder) fieldError(field, msg string) {
	if d.typeErr == nil {
		d.typeErr = &features.FieldError{Field: field, Msg: msg}
	}
}

func (d *jsonDecoder) stringField(f stringField) error {
	switch d.b[d.i] {
	case '"':
		body, escaped, err := d.scanString()
		if err != nil {
			return err
		}
		start := len(d.strs)
		if escaped {
			d.strs = unescape(d.strs, body)
		} else {
			d.strs = append(d.strs, body...)
		}
		// A later null leaves the value alone, a later string replaces it:
		// applying the pending fields in order does both.
		d.pending = append(d.pending, pendingString{field: f, start: start, end: len(d.strs)})
		return nil
	case 'n':
		return d.literal("null")
	}
	d.fieldError(stringFieldNames[f], "must be a string")
	return d.skipValue(1)
}

func (d *jsonDecoder) numberField(dst *float64, name string) error {
	c := d.b[d.i]
	if c == 'n' {
		return d.literal("null")
	}
	if c != '-' && (c < '0' || c > '9') {
		d.fieldError(name, "must be a number")
		return d.skipValue(1)
	}
	lit, err := d.readNumber()
	if err != nil {
		return err
	}
	if f, ok := smallDecimal(lit); ok {
		*dst = f
		return nil
	}
	f, err := strconv.ParseFloat(string(lit), 64)
	if err != nil {
		d.fieldError(name, "is out of range")
		return nil
	}
	*dst = f
	return nil
}

func (d *jsonDecoder) timestampField(dst *time.Time) error {
	const name = "timestamp"
	var (
		t   time.Time
		err error
	)
	switch c := d.b[d.i]; {
	case c == 'n':
		return d.literal("null")
	case c == '"':
		s, serr := d.readString()
		if serr != nil {
			return serr
		}
		t, err = parseTimeString(s)
	case c == '-' || c >= '0' && c <= '9':
		lit, serr := d.readNumber()
		if serr != nil {
			return serr
		}
		// Whole seconds in range are the common case; ParseTimestamp
		// decides everything else (fractions, exponents, range errors).
		if n, ok := smallInt(lit); ok && n >= 0 && n <= 7258118400 {
			t = time.Unix(n, 0).UTC()
		} else {
			t, err = features.ParseTimestamp(string(lit))
		}
	default:
		d.fieldError(name, "must be unix seconds or an RFC 3339 string")
		return d.skipValue(1)
	}
	if err != nil {
		d.fieldError(name, err.Error())
		return nil
	}
	// Here, and not in ValidateEvent, because only here is an explicit
	// "0001-01-01T00:00:00Z" told apart from an absent timestamp: refused,
	// not taken for "arrival time" (ParseTimestamp refuses it; the zero
	// time without an error comes from a blank string, which is absent as
	// in CSV). The fast paths above skip ParseTimestamp's range check.
	if err := features.CheckTimestamp(t); err != nil && !t.IsZero() {
		d.fieldError(name, err.(*features.FieldError).Msg)
		return nil
	}
	*dst = t
	return nil
}
