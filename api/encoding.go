package api

import (
	"bytes"
	"compress/flate"
	"compress/gzip"
	"compress/zlib"
	"errors"
	"io"
	"strings"

	"github.com/gofiber/fiber/v2"
)

// acceptedEncodings is what a request body may be compressed with, for the
// Accept-Encoding header of a 415 (RFC 7694).
const acceptedEncodings = "gzip, deflate"

// localBodyStream holds the decompressed reader of an NDJSON stream that
// was sent compressed (postEventStream reads it instead of the raw stream).
const localBodyStream = "body_stream"

// errBodyTooLarge is what boundedReader returns past its limit.
var errBodyTooLarge = errors.New("the body is over the limit")

// boundedReader reads r and fails with errBodyTooLarge once more than n
// bytes came out of it, rather than ending quietly as io.LimitReader does:
// the reader cannot tell a body cut at the limit from a complete one.
type boundedReader struct {
	r    io.Reader
	n    int64 // bytes still allowed
	over bool
}

func (b *boundedReader) Read(p []byte) (int, error) {
	if b.over {
		return 0, errBodyTooLarge
	}
	if int64(len(p)) > b.n+1 {
		p = p[:b.n+1]
	}
	n, err := b.r.Read(p)
	b.n -= int64(n)
	if b.n < 0 {
		b.over = true
		return n + int(b.n), errBodyTooLarge
	}
	return n, err
}

// decodeContentEncoding undoes a request's Content-Encoding with readers
// that stop at the body limit, so that the decompressed size counts against
// the same limit as a plain body. fiber's c.Body() would otherwise inflate
// the body whole (fasthttp's BodyGunzip and friends), once per encoding
// listed, whatever its size: a 2.6 KB "gzip, gzip" body became 1 GB. Only
// one encoding, gzip or deflate, is accepted; see docs/operations.md for
// why not brotli. The header is removed afterwards so c.Body() returns the
// decoded bytes as they are.
func (s *Server) decodeContentEncoding(c *fiber.Ctx, limit int, stream bool) error {
	if c.Request().Header.ContentLength() == 0 {
		// No body (a GET): nothing to decode, whatever the header says.
		c.Request().Header.Del(fiber.HeaderContentEncoding)
		return nil
	}
	var codings []string
	c.Request().Header.VisitAll(func(k, v []byte) {
		if strings.EqualFold(string(k), fiber.HeaderContentEncoding) {
			for _, f := range strings.Split(string(v), ",") {
				if f = strings.ToLower(strings.TrimSpace(f)); f != "" && f != "identity" {
					codings = append(codings, f)
				}
			}
		}
	})
	if len(codings) == 0 {
		c.Request().Header.Del(fiber.HeaderContentEncoding)
		return nil
	}
	if len(codings) > 1 {
		return unsupportedEncoding(c, "Content-Encoding "+quote(strings.Join(codings, ", "))+" lists more than one encoding; compress the body once, with "+acceptedEncodings)
	}
	coding := codings[0]
	if coding != "gzip" && coding != "x-gzip" && coding != "deflate" {
		return unsupportedEncoding(c, "Content-Encoding "+quote(coding)+" is not supported; use "+acceptedEncodings+" or none")
	}
	var raw io.Reader
	if r := c.Context().RequestBodyStream(); r != nil {
		raw = r
	} else {
		raw = bytes.NewReader(c.Request().Body())
	}
	// The compressed bytes count too: deflate can spend input without
	// output (empty blocks), and a chunked stream has no declared length.
	raw = &boundedReader{r: raw, n: int64(limit)}
	zr, err := decompressor(coding, raw)
	if err != nil {
		return badEncoding(c, coding, err)
	}
	c.Request().Header.Del(fiber.HeaderContentEncoding)
	dec := &boundedReader{r: zr, n: int64(limit)}
	if stream {
		c.Locals(localBodyStream, io.Reader(dec))
		return nil
	}
	b, err := io.ReadAll(dec)
	if errors.Is(err, errBodyTooLarge) {
		return tooLarge(c, limit)
	}
	if err != nil {
		return badEncoding(c, coding, err)
	}
	c.Request().SetBodyRaw(b)
	return nil
}

// decompressor returns the reader that undoes coding over r. "deflate" in
// HTTP is the zlib format (RFC 9110 8.4.1.2); a raw deflate stream, which
// some clients send instead, is accepted too.
func decompressor(coding string, r io.Reader) (io.Reader, error) {
	if coding != "deflate" {
		return gzip.NewReader(r)
	}
	br := newPeekReader(r, 2)
	if h := br.head; len(h) == 2 && h[0]&0x0f == 8 && (uint16(h[0])<<8|uint16(h[1]))%31 == 0 {
		return zlib.NewReader(br)
	}
	return flate.NewReader(br), nil
}

// peekReader reads the first bytes of r ahead and gives them back first.
type peekReader struct {
	head []byte
	rest io.Reader
}

func newPeekReader(r io.Reader, n int) *peekReader {
	head := make([]byte, n)
	k, _ := io.ReadFull(r, head)
	return &peekReader{head: head[:k], rest: io.MultiReader(bytes.NewReader(head[:k]), r)}
}

func (p *peekReader) Read(b []byte) (int, error) { return p.rest.Read(b) }

func unsupportedEncoding(c *fiber.Ctx, detail string) error {
	c.Context().SetConnectionClose() // the body was not read
	c.Set(fiber.HeaderAcceptEncoding, acceptedEncodings)
	return &HTTPError{Status: fiber.StatusUnsupportedMediaType, Field: "Content-Encoding", Detail: detail}
}

func badEncoding(c *fiber.Ctx, coding string, err error) error {
	c.Context().SetConnectionClose()
	msg := err.Error()
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		msg = "the compressed data ends early"
	}
	return &HTTPError{Status: fiber.StatusBadRequest, Field: "Content-Encoding",
		Detail: "the body is not valid " + coding + " data (Content-Encoding): " + msg}
}
