package api

import (
	"github.com/gofiber/fiber/v2"
)

// writeSeq puts X-Affinity-Seq on every successful write's reply in
// cluster mode. A write other than events returns only once this node has
// applied it (features/clusterops.go), so the sequence this node has
// applied when the handler returns is at or past the write's own: sent
// back as X-Affinity-Min-Seq it reads the write on any node. Events set
// their exact sequence themselves (events.go), which this leaves alone.
func (s *Server) writeSeq(c *fiber.Ctx) error {
	err := c.Next()
	switch c.Method() {
	case fiber.MethodGet, fiber.MethodHead, fiber.MethodOptions:
		return err
	}
	if c.Route().Path == "/v1/events" {
		return err // its own exact sequence, or none when nothing was accepted
	}
	if err == nil && c.Response().StatusCode() < 300 && len(c.Response().Header.Peek(HeaderSeq)) == 0 {
		setSeqHeader(c, s.deps.Store.AppliedStreamSeq())
	}
	return err
}
