package api

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/gofiber/fiber/v2"
	"github.com/valyala/fasthttp"
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

// answerUnknownMethods wraps fiber's request handler so that a method
// fiber does not know gets a problem document. fiber answers those itself,
// before any middleware, with a plain-text 400 "Invalid http method"; a
// method the server does not recognise is a 501 (RFC 9110, 15.6.2). The
// check is a few string comparisons of the method fasthttp parsed. Such a
// reply passes no middleware, as fiber's own did not: no X-Request-ID, and
// the request metrics do not count it.
func answerUnknownMethods(app *fiber.App) {
	srv := app.Server()
	next := srv.Handler
	known := app.Config().RequestMethods
	srv.Handler = func(ctx *fasthttp.RequestCtx) {
		m := ctx.Method()
		for _, k := range known {
			if string(m) == k {
				next(ctx)
				return
			}
		}
		name := string(m)
		if len(name) > 32 {
			name = name[:32] + "..."
		}
		p := problemFor(&HTTPError{Status: http.StatusNotImplemented,
			Detail: fmt.Sprintf("method %q is not implemented; the API uses GET, HEAD, POST, PUT, PATCH and DELETE", name)})
		body, err := jsonMarshal(p)
		if err != nil { // a Problem of strings always encodes
			body = []byte(`{"status":501}`)
		}
		ctx.SetStatusCode(p.Status)
		ctx.SetContentType("application/problem+json")
		ctx.SetBody(body)
	}
}
