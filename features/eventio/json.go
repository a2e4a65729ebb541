package eventio

import (
	"strconv"
	"sync"
	"time"
	"unicode/utf16"
	"unicode/utf8"

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
	if t.IsZero() {
		t = time.Time{}
	}
	*dst = t
	return nil
}

// parseTimeString is features.ParseTimestamp for a JSON string. It goes
// straight to RFC 3339 when the text starts with a year and a dash, which
// cannot be a number: ParseTimestamp tries a number first, and the error it
// then discards costs two allocations per event.
func parseTimeString(s string) (time.Time, error) {
	if len(s) >= 20 && s[4] == '-' && isDigits(s[:4]) {
		if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
			return t.UTC(), nil
		}
	}
	return features.ParseTimestamp(s)
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// pow10 holds the powers of ten a float64 represents exactly.
var pow10 = [...]float64{1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15}

// smallDecimal reads a literal "-?digits(.digits)?" of at most 15 digits
// without converting it to a string. The mantissa and the power of ten are
// both exact in a float64, so one division rounds correctly and the result
// equals strconv.ParseFloat's (the fast path of Clinger's algorithm).
func smallDecimal(lit []byte) (float64, bool) {
	neg := len(lit) > 0 && lit[0] == '-'
	if neg {
		lit = lit[1:]
	}
	var m uint64
	digits, frac := 0, -1
	for _, c := range lit {
		switch {
		case c == '.' && frac < 0:
			frac = 0
		case c >= '0' && c <= '9':
			m = m*10 + uint64(c-'0')
			digits++
			if frac >= 0 {
				frac++
			}
		default:
			return 0, false
		}
	}
	if digits == 0 || digits > 15 {
		return 0, false
	}
	f := float64(m)
	if frac > 0 {
		f /= pow10[frac]
	}
	if neg {
		f = -f
	}
	return f, true
}

// smallInt reads an integer literal of at most 15 digits, which a float64
// holds exactly, without the allocation of converting it to a string.
func smallInt(lit []byte) (int64, bool) {
	neg := false
	if len(lit) > 0 && lit[0] == '-' {
		neg = true
		lit = lit[1:]
	}
	if len(lit) == 0 || len(lit) > 15 {
		return 0, false
	}
	var n int64
	for _, c := range lit {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	if neg {
		n = -n
	}
	return n, true
}

func (d *jsonDecoder) skipSpace() {
	for d.i < len(d.b) {
		switch d.b[d.i] {
		case ' ', '\t', '\n', '\r':
			d.i++
		default:
			return
		}
	}
}

// end checks that only white space follows the top-level value.
func (d *jsonDecoder) end() error {
	d.skipSpace()
	if d.i < len(d.b) {
		return d.syntaxAt("after top-level value")
	}
	return nil
}

func (d *jsonDecoder) syntax(msg string) error {
	return &jsonError{off: d.i, msg: msg}
}

// syntaxAt reports the byte at the cursor as unexpected, or the end of input.
func (d *jsonDecoder) syntaxAt(context string) error {
	if d.i >= len(d.b) {
		return d.syntax("unexpected end of JSON input")
	}
	return d.syntax("invalid character " + strconv.QuoteRune(rune(d.b[d.i])) + " " + context)
}

func (d *jsonDecoder) literal(lit string) error {
	if len(d.b)-d.i >= len(lit) && string(d.b[d.i:d.i+len(lit)]) == lit {
		d.i += len(lit)
		return nil
	}
	for k := 0; k < len(lit); k++ {
		if d.i >= len(d.b) || d.b[d.i] != lit[k] {
			return d.syntaxAt("in literal " + lit)
		}
		d.i++
	}
	return nil
}

// skipValue checks and passes over one value; depth counts the arrays and
// objects already open around it.
func (d *jsonDecoder) skipValue(depth int) error {
	if d.i >= len(d.b) {
		return d.syntax("unexpected end of JSON input")
	}
	switch c := d.b[d.i]; {
	case c == '"':
		return d.skipString()
	case c == '{' || c == '[':
		if depth+1 > maxJSONDepth {
			return d.syntax("exceeded max depth")
		}
		closer := byte('}')
		if c == '[' {
			closer = ']'
		}
		d.i++
		d.skipSpace()
		if d.i < len(d.b) && d.b[d.i] == closer {
			d.i++
			return nil
		}
		for {
			d.skipSpace()
			if c == '{' {
				if d.i >= len(d.b) || d.b[d.i] != '"' {
					return d.syntaxAt("looking for the beginning of an object key string")
				}
				if err := d.skipString(); err != nil {
					return err
				}
				d.skipSpace()
				if d.i >= len(d.b) || d.b[d.i] != ':' {
					return d.syntaxAt("after object key")
				}
				d.i++
				d.skipSpace()
			}
			if err := d.skipValue(depth + 1); err != nil {
				return err
			}
			d.skipSpace()
			if d.i >= len(d.b) {
				return d.syntax("unexpected end of JSON input")
			}
			switch d.b[d.i] {
			case ',':
				d.i++
			case closer:
				d.i++
				return nil
			default:
				return d.syntaxAt("after a value in an array or object")
			}
		}
	case c == 't':
		return d.literal("true")
	case c == 'f':
		return d.literal("false")
	case c == 'n':
		return d.literal("null")
	case c == '-' || c >= '0' && c <= '9':
		_, err := d.readNumber()
		return err
	}
	return d.syntaxAt("looking for beginning of value")
}

// readNumber checks the JSON number grammar and returns the literal.
func (d *jsonDecoder) readNumber() ([]byte, error) {
	start := d.i
	digits := func() bool {
		n := d.i
		for d.i < len(d.b) && d.b[d.i] >= '0' && d.b[d.i] <= '9' {
			d.i++
		}
		return d.i > n
	}
	if d.b[d.i] == '-' {
		d.i++
	}
	switch {
	case d.i < len(d.b) && d.b[d.i] == '0':
		d.i++
	case !digits():
		return nil, d.syntaxAt("in numeric literal")
	}
	if d.i < len(d.b) && d.b[d.i] == '.' {
		d.i++
		if !digits() {
			return nil, d.syntaxAt("after decimal point in numeric literal")
		}
	}
	if d.i < len(d.b) && (d.b[d.i] == 'e' || d.b[d.i] == 'E') {
		d.i++
		if d.i < len(d.b) && (d.b[d.i] == '+' || d.b[d.i] == '-') {
			d.i++
		}
		if !digits() {
			return nil, d.syntaxAt("in exponent of numeric literal")
		}
	}
	return d.b[start:d.i], nil
}

// scanString finds the end of the string starting at the cursor (a quote)
// and reports whether it holds escapes. The cursor ends after the closing
// quote.
func (d *jsonDecoder) scanString() (body []byte, escaped bool, err error) {
	d.i++
	start := d.i
	for d.i < len(d.b) {
		c := d.b[d.i]
		switch {
		case c == '"':
			body = d.b[start:d.i]
			d.i++
			return body, escaped, nil
		case c == '\\':
			escaped = true
			d.i++
			if d.i >= len(d.b) {
				return nil, false, d.syntax("unexpected end of JSON input")
			}
			switch d.b[d.i] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				d.i++
			case 'u':
				d.i++
				for k := 0; k < 4; k++ {
					if d.i >= len(d.b) || unhex(d.b[d.i]) < 0 {
						return nil, false, d.syntaxAt("in \\u hexadecimal character escape")
					}
					d.i++
				}
			default:
				return nil, false, d.syntaxAt("in string escape code")
			}
		case c < 0x20:
			return nil, false, d.syntaxAt("in string literal")
		default:
			d.i++
		}
	}
	return nil, false, d.syntax("unexpected end of JSON input")
}

func (d *jsonDecoder) skipString() error {
	_, _, err := d.scanString()
	return err
}

func (d *jsonDecoder) readString() (string, error) {
	body, escaped, err := d.scanString()
	if err != nil {
		return "", err
	}
	if !escaped {
		return string(body), nil
	}
	d.scratch = unescape(d.scratch[:0], body)
	return string(d.scratch), nil
}

// readKey returns the unescaped key, valid until the next read.
func (d *jsonDecoder) readKey() ([]byte, error) {
	body, escaped, err := d.scanString()
	if err != nil || !escaped {
		return body, err
	}
	d.scratch = unescape(d.scratch[:0], body)
	return d.scratch, nil
}

func unhex(c byte) rune {
	switch {
	case c >= '0' && c <= '9':
		return rune(c - '0')
	case c >= 'a' && c <= 'f':
		return rune(c - 'a' + 10)
	case c >= 'A' && c <= 'F':
		return rune(c - 'A' + 10)
	}
	return -1
}

// u4 reads the \uXXXX escape at the start of s, or returns -1.
func u4(s []byte) rune {
	if len(s) < 6 || s[0] != '\\' || s[1] != 'u' {
		return -1
	}
	var r rune
	for _, c := range s[2:6] {
		h := unhex(c)
		if h < 0 {
			return -1
		}
		r = r<<4 | h
	}
	return r
}

// unescape appends the string body s, already checked by scanString, to
// dst. Surrogates are handled as encoding/json does: a valid pair is one
// rune, anything else U+FFFD.
func unescape(dst, s []byte) []byte {
	for i := 0; i < len(s); {
		c := s[i]
		if c != '\\' {
			dst = append(dst, c)
			i++
			continue
		}
		switch s[i+1] {
		case 'b':
			dst = append(dst, '\b')
		case 'f':
			dst = append(dst, '\f')
		case 'n':
			dst = append(dst, '\n')
		case 'r':
			dst = append(dst, '\r')
		case 't':
			dst = append(dst, '\t')
		case 'u':
			r := u4(s[i:])
			i += 6
			if utf16.IsSurrogate(r) {
				if dec := utf16.DecodeRune(r, u4(s[i:])); dec != utf8.RuneError {
					dst = utf8.AppendRune(dst, dec)
					i += 6
					continue
				}
				r = utf8.RuneError
			}
			dst = utf8.AppendRune(dst, r)
			continue
		default: // '"', '\\', '/'
			dst = append(dst, s[i+1])
		}
		i += 2
	}
	return dst
}
