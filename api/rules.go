package api

import (
	"fmt"

	"github.com/gofiber/fiber/v2"

	"github.com/affinity-rec/affinity/recommend/merch"
)

func ruleReply(name string, d merch.Rule) merchRuleReply {
	return merchRuleReply{Name: name, When: d.When, Action: d.Action, Weight: d.Weight, Position: d.Position}
}

func (s *Server) merchRules() (*merch.Rules, error) {
	if r := s.deps.Engine.Rules(); r != nil {
		return r, nil
	}
	return nil, notFound("this server has no merchandising rules")
}

// namedMerchRule is the rules and the path's rule name every /v1/rules/{name}
// handler starts from.
func (s *Server) namedMerchRule(c *fiber.Ctx) (*merch.Rules, string, error) {
	rules, err := s.merchRules()
	if err != nil {
		return nil, "", err
	}
	name, err := segmentName(c)
	return rules, name, err
}

func (s *Server) putMerchRule(c *fiber.Ctx) error {
	rules, name, err := s.namedMerchRule(c)
	if err != nil {
		return err
	}
	var b merchRuleBody
	if err := decodeBody(c, &b); err != nil {
		return err
	}
	if b.When == nil {
		return badRequest("when", "when is required: an expression over product fields such as brand == \"acme\"")
	}
	if b.Action == nil {
		return badRequest("action", "action is required: boost, bury, pin or filter")
	}
	d := merch.Rule{When: *b.When, Action: *b.Action}
	if b.Weight != nil {
		// The stored rule reads a weight of 0 as "not given" (default 1),
		// so an explicit 0 is refused here, where the two still differ.
		if *b.Weight == 0 && (d.Action == merch.Boost || d.Action == merch.Bury) {
			return badRequest("weight", fmt.Sprintf("weight must be a number above 0 and at most %d (leave it out for 1)", merch.MaxWeight))
		}
		d.Weight = *b.Weight
	}
	if b.Position != nil {
		d.Position = *b.Position
	}
	if d, err = rules.Put(name, d); err != nil {
		return err
	}
	return c.JSON(ruleReply(name, d))
}

func (s *Server) getMerchRule(c *fiber.Ctx) error {
	rules, name, err := s.namedMerchRule(c)
	if err != nil {
		return err
	}
	d, err := rules.Get(name)
	if err != nil {
		return err
	}
	return c.JSON(ruleReply(name, d))
}

func (s *Server) deleteMerchRule(c *fiber.Ctx) error {
	rules, name, err := s.namedMerchRule(c)
	if err != nil {
		return err
	}
	if err := rules.Delete(name); err != nil {
		return err
	}
	return c.SendStatus(fiber.StatusNoContent)
}

func (s *Server) listMerchRules(c *fiber.Ctx) error {
	rules, err := s.merchRules()
	if err != nil {
		return err
	}
	all, err := rules.List()
	if err != nil {
		return err
	}
	out := make([]merchRuleReply, len(all))
	for i, r := range all {
		out[i] = ruleReply(r.Name, r.Rule)
	}
	return c.JSON(fiber.Map{"rules": out})
}
