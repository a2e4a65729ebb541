package api

import (
	"bytes"
	"io"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"
)

// limitBody enforces the body limits. Bodies are streamed (so NDJSON can be
// read incrementally), and fasthttp does not apply its own limit to a
// stream: a declared length over the limit is refused before anything is
// read; a body of unknown length (chunked) other than an NDJSON stream is
// read up to the limit here, and NDJSON streams count their bytes as they
// read them (postEventStream). A compressed body is decompressed here, and
// its decompressed size counts against the same limit.
func (s *Server) limitBody(c *fiber.Ctx) error {
	limit := s.opts.BodyLimit
	stream := false
	if c.Method() == fiber.MethodPost && c.Path() == "/v1/events" {
		ct := strings.ToLower(c.Get(fiber.HeaderContentType))
		stream = strings.HasPrefix(ct, "application/x-ndjson") || strings.HasPrefix(ct, "application/jsonl")
		if stream {
			limit = s.opts.StreamLimit
		}
	}
	n := c.Request().Header.ContentLength()
	if n > limit {
		return tooLarge(c, limit)
	}
	if n < 0 && !stream {
		if r := c.Context().RequestBodyStream(); r != nil {
			b, err := io.ReadAll(io.LimitReader(r, int64(limit)+1))
			if err != nil {
				return badRequest("body", "cannot read the body: "+err.Error())
			}
			if len(b) > limit {
				return tooLarge(c, limit)
			}
			c.Request().SetBodyStream(bytes.NewReader(b), len(b))
		}
	}
	if err := s.decodeContentEncoding(c, limit, stream); err != nil {
		return err
	}
	return c.Next()
}

// tooLarge refuses a body that was not read to its end, so the connection
// must close: what is left of the body would be read as the next request.
func tooLarge(c *fiber.Ctx, limit int) error {
	c.Context().SetConnectionClose()
	return &HTTPError{Status: fiber.StatusRequestEntityTooLarge,
		Detail: "the body is over the limit of " + strconv.Itoa(limit) + " bytes"}
}
