package eventio

import (
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
)

// The event decoder's scanner: whitespace, literals, numbers, strings and
// skipping values it does not keep, over the request body in place.

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
