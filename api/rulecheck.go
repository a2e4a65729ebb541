package api

import (
	"strconv"

	"github.com/gofiber/fiber/v2"

	"github.com/affinity-rec/affinity/features/crm"
)

// POST /v1/rules/check compiles a rule without storing anything, so an
// editor can show the error (with its line and column) as the rule is
// typed; GET /v1/whoami tells a client which scope its key has, so it can
// disable what the key may not do and say why.
//
// Three kinds of rule are checked, as the endpoint that stores each
// compiles it:
//   - eligibility (the default): an offer's eligibility, a profile rule
//     that may name segments (PUT /v1/offers/{id}); empty means everyone;
//   - segment (or the older `"segment": true`): a segment's rule, which may
//     not name segments (PUT /v1/segments/{name}); empty means everyone;
//   - product: a merchandising rule's `when` over product fields, with the
//     messages and the cost check of PUT /v1/rules/{name} (the field named
//     is `rule`, this body's field, where PUT names its `when`); it is
//     required, as `when` is.

// The kinds of rule /v1/rules/check compiles.
const (
	ruleKindEligibility = "eligibility"
	ruleKindSegment     = "segment"
	ruleKindProduct     = "product"
)

func (s *Server) checkRule(c *fiber.Ctx) error {
	var b ruleCheckBody
	if err := decodeBody(c, &b); err != nil {
		return err
	}
	kind, err := ruleCheckKind(b)
	if err != nil {
		return err
	}
	if b.Rule == nil {
		return badRequest("rule", "rule is required")
	}
	switch kind {
	case ruleKindProduct:
		r, err := crm.CompileProductRule(*b.Rule)
		if err != nil {
			return err
		}
		if err := crm.CheckProductRuleCost(s.deps.Store.Catalog(), "rule", r); err != nil {
			return err
		}
	case ruleKindSegment:
		err = compileProfileRule(crm.CompileSegmentRule, *b.Rule)
	default:
		err = compileProfileRule(crm.CompileRule, *b.Rule)
	}
	if err != nil {
		return err
	}
	return c.JSON(ruleCheckReply{Rule: *b.Rule, Valid: true})
}

// compileProfileRule compiles a segment or eligibility rule; empty is
// valid (it matches everyone).
func compileProfileRule(compile func(string) (*crm.Rule, error), src string) error {
	if src == "" {
		return nil
	}
	_, err := compile(src)
	return err
}

// ruleCheckKind is the kind of rule b asks to check: its kind, or segment
// when only the older `"segment": true` says so (eligibility when neither
// does). `"segment": true` with another kind is a 400 naming kind.
func ruleCheckKind(b ruleCheckBody) (string, error) {
	switch b.Kind {
	case "":
		if b.Segment {
			return ruleKindSegment, nil
		}
		return ruleKindEligibility, nil
	case ruleKindSegment:
		return b.Kind, nil
	case ruleKindEligibility, ruleKindProduct:
		if b.Segment {
			return "", badRequest("kind", "kind "+strconv.Quote(b.Kind)+` conflicts with "segment": true, which means kind segment; send one of them`)
		}
		return b.Kind, nil
	}
	return "", badRequest("kind", "kind must be eligibility, segment or product, not "+strconv.Quote(b.Kind))
}

func (s *Server) whoami(c *fiber.Ctx) error {
	sc, _ := c.Locals(localScope).(Scope)
	return c.JSON(whoamiReply{Scope: scopeName(sc), KeysRequired: len(s.opts.Keys) > 0})
}
