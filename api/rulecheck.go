package api

import (
	"github.com/gofiber/fiber/v2"

	"github.com/affinity-rec/affinity/features/crm"
)

// POST /v1/rules/check compiles a segment or eligibility rule without
// storing anything, so an editor can show the error (with its line and
// column) as the rule is typed; GET /v1/whoami tells a client which scope
// its key has, so it can disable what the key may not do and say why.
// ruleCheckRoutes lists this file's routes; server.go registers them.
func (s *Server) ruleCheckRoutes() []route {
	return []route{
		{"POST", "/v1/rules/check", ScopeRead, "Check a segment or eligibility rule without storing it", s.checkRule, nil},
		{"GET", "/v1/whoami", ScopeRead, "The scope of the key this request carries", s.whoami, nil},
	}
}

type ruleCheckBody struct {
	Rule *string `json:"rule"`
	// Segment says the rule defines a segment, which may not refer to
	// segments (an offer's eligibility may).
	Segment bool `json:"segment"`
}

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
	return c.JSON(fiber.Map{"rule": *b.Rule, "valid": true})
}

func (s *Server) whoami(c *fiber.Ctx) error {
	sc, _ := c.Locals(localScope).(Scope)
	return c.JSON(fiber.Map{"scope": scopeName(sc), "keys_required": len(s.opts.Keys) > 0})
}
