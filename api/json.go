package api

import (
	"encoding/json"
	"errors"
	"math"
	"strconv"
	"sync"
	"sync/atomic"
	"unicode/utf8"

	jsonv2 "github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
	jsonv1 "github.com/go-json-experiment/json/v1"
	"github.com/gofiber/fiber/v2"
)

// jsonMarshal is the encoder for every reply but lists. encoding/json
// fails a whole reply over one NaN or infinity ("json: unsupported value:
// +Inf"), and a 500 for every caller of a profile is worse than one field
// without its number. Values are bounded where they enter (event values,
// prices, the clamp on replay), so this is the last guard, not the rule:
// it encodes such a reply again with non-finite numbers as null, as
// JavaScript's JSON.stringify does.
func jsonMarshal(v any) ([]byte, error) {
	b, err := json.Marshal(v)
	var uv *json.UnsupportedValueError
	if err == nil || !errors.As(err, &uv) {
		return b, err
	}
	nonFiniteReplies.Add(1)
	return jsonv2.Marshal(v, jsonv1.DefaultOptionsV1(), finiteOrNull)
}

// nonFiniteReplies counts replies that needed the guard; /metrics shows it.
var nonFiniteReplies atomic.Int64

// finiteOrNull writes NaN and infinities as null and leaves every other
// number to the v1-compatible default. go-json-experiment/json is the
// mirror of encoding/json/v2 (standard from Go 1.27): its caller-supplied
// marshalers for float64 are what encoding/json lacks, without our own
// reflection walk over every reply type.
var finiteOrNull = jsonv2.WithMarshalers(jsonv2.JoinMarshalers(
	jsonv2.MarshalToFunc(func(enc *jsontext.Encoder, f float64) error {
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return enc.WriteToken(jsontext.Null)
		}
		return errors.ErrUnsupported
	}),
	jsonv2.MarshalToFunc(func(enc *jsontext.Encoder, f float32) error {
		if math.IsNaN(float64(f)) || math.IsInf(float64(f), 0) {
			return enc.WriteToken(jsontext.Null)
		}
		return errors.ErrUnsupported
	}),
))

// replyBufs holds the buffers list replies are encoded into before fasthttp
// copies them into its own pooled body.
var replyBufs = sync.Pool{New: func() any { b := make([]byte, 0, 1024); return &b }}

// sendList writes r as encoding/json would, byte for byte (a fuzz test
// holds it to that), without reflection or allocation: a list reply is
// every recommendation request's body, and json.Marshal was 6% of a
// personal request's CPU at 10M events.
func sendList(c *fiber.Ctx, r *listReply) error {
	for _, it := range r.Items {
		if math.IsNaN(it.Score) || math.IsInf(it.Score, 0) {
			return c.JSON(r) // through jsonMarshal's guard
		}
	}
	bp := replyBufs.Get().(*[]byte)
	b := r.appendJSON((*bp)[:0])
	c.Response().Header.SetContentType(fiber.MIMEApplicationJSON)
	c.Response().SetBody(b)
	if cap(b) <= 64<<10 {
		*bp = b
		replyBufs.Put(bp)
	}
	return nil
}

func (r *listReply) appendJSON(b []byte) []byte {
	b = append(b, `{"items":[`...)
	for i, it := range r.Items {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"product_id":`...)
		b = appendJSONString(b, it.ProductID)
		b = append(b, `,"score":`...)
		b = appendJSONFloat(b, it.Score)
		b = append(b, '}')
	}
	b = append(b, `],"recommendation_id":`...)
	b = appendJSONString(b, r.RecommendationID)
	b = append(b, `,"algorithm":`...)
	b = appendJSONString(b, r.Algorithm)
	b = append(b, `,"experiment":`...)
	b = appendOptString(b, r.Experiment)
	b = append(b, `,"variant":`...)
	b = appendOptString(b, r.Variant)
	return append(b, '}')
}

func appendOptString(b []byte, s *string) []byte {
	if s == nil {
		return append(b, "null"...)
	}
	return appendJSONString(b, *s)
}

// appendJSONFloat formats like encoding/json: shortest representation,
// exponent form only below 1e-6 or from 1e21, "e-07" written "e-7".
func appendJSONFloat(b []byte, f float64) []byte {
	format := byte('f')
	if abs := math.Abs(f); abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	b = strconv.AppendFloat(b, f, format, -1, 64)
	if format == 'e' {
		if n := len(b); n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
	}
	return b
}

// appendJSONString quotes s like encoding/json's default (HTML-safe)
// escaping: control characters, quote and backslash, <, > and &, U+2028
// and U+2029, and invalid UTF-8 as U+FFFD.
func appendJSONString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			default:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hex[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
