package api

import (
	"errors"

	"github.com/gofiber/fiber/v2"
)

// The methods a path answers beyond its routes (routes registers them):
// HEAD beside every GET, 405 with Allow for a method the path lacks.

// endHead ends a HEAD reply at its headers. fasthttp (v1.51) sends no body
// for HEAD, but after a streamed reply of unknown length (the backup) it
// still writes the empty chunked trailer, a CRLF the client reads as the
// start of the next reply on the connection (fixed upstream by fasthttp
// #1825). Dropping the stream here, after the handler set the headers,
// leaves nothing to end.
func endHead(c *fiber.Ctx) error {
	err := c.Next()
	if c.Response().IsBodyStream() {
		c.Response().ResetBody() // closes the stream: its writer stops
	}
	return err
}

// unrouted answers a request no route took: 405 with Allow when the path
// is a route's under other methods, else 404. The method is looked at only
// here, so routed requests pay nothing for it: c.Next past the last route
// is fiber's own end of chain, which scans the other methods' routes with
// the router's matching and sets Allow from them. OPTIONS is not served
// (no CORS: the console is same-origin), so it gets this 405 and its Allow.
func (s *Server) unrouted(c *fiber.Ctx) error {
	var fe *fiber.Error
	if err := c.Next(); errors.As(err, &fe) && fe.Code == fiber.StatusMethodNotAllowed {
		allow := c.GetRespHeader(fiber.HeaderAllow)
		return &HTTPError{Status: fiber.StatusMethodNotAllowed,
			Detail: "method " + c.Method() + " is not allowed on " + c.Path() + "; it allows " + allow}
	}
	return &HTTPError{Status: fiber.StatusNotFound, Detail: "no such endpoint: " + c.Method() + " " + c.Path()}
}
