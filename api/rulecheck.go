package api

import (
	"github.com/gofiber/fiber/v2"

	"github.com/affinity-rec/affinity/features/crm"
)

// POST /v1/rules/check compiles a segment or eligibility rule without
// storing anything, so an editor can show the error (with its line and
// column) as the rule is typed; GET /v1/whoami tells a client which scope
// its key has, so it can disable what the key may not do and say why.

func (s *Server) checkRule(c *fiber.Ctx) error {
	var b ruleCheckBody
	if err := decodeBody(c, &b); err != nil {
		return err
	}
	if b.Rule == nil {
		return badRequest("rule", "rule is required")
	}
	compile := crm.CompileRule
	if b.Segment {
		compile = crm.CompileSegmentRule
	}
	if *b.Rule != "" {
		if _, err := compile(*b.Rule); err != nil {
			return err
		}
	}
	return c.JSON(ruleCheckReply{Rule: *b.Rule, Valid: true})
}

func (s *Server) whoami(c *fiber.Ctx) error {
	sc, _ := c.Locals(localScope).(Scope)
	return c.JSON(whoamiReply{Scope: scopeName(sc), KeysRequired: len(s.opts.Keys) > 0})
}
