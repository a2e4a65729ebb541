package api

import (
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/affinity-rec/affinity/features"
	"github.com/affinity-rec/affinity/recommend"
)

// enrolment is a next-best-offer request's experiment assignment (lists
// enrol through recommend.Service).
type enrolment struct {
	Experiment, Variant string
	Params              map[string]any
	Forced              bool   // the request named the variant
	Unit                string // who was assigned: the customer, else unit_id
}

// experimentFlags reads the experiment flags (experiment=, variant= or the
// X-Affinity-Experiment / X-Affinity-Variant headers); exp is "" when the
// request names no experiment. The unit is the given one (the customer),
// else, for an anonymous request naming an experiment, unit_id.
func experimentFlags(c *fiber.Ctx, unit string) (exp, forced, u string, err error) {
	exp = queryString(c, "experiment")
	if exp == "" {
		exp = strings.Clone(c.Get("X-Affinity-Experiment"))
	}
	if exp == "" {
		return "", "", unit, nil
	}
	forced = queryString(c, "variant")
	if forced == "" {
		forced = strings.Clone(c.Get("X-Affinity-Variant"))
	}
	if err := features.ValidateID("experiment", exp); err != nil {
		return "", "", "", err
	}
	if unit == "" {
		if unit, err = queryID(c, "unit_id"); err != nil {
			return "", "", "", err
		}
	}
	return exp, forced, unit, nil
}

// enrol assigns a next-best-offer request to a variant; nil when the
// request names no experiment.
func (s *Server) enrol(c *fiber.Ctx, unit string) (*enrolment, error) {
	exp, forced, unit, err := experimentFlags(c, unit)
	if err != nil || exp == "" {
		return nil, err
	}
	if s.deps.Experiments == nil {
		return nil, notFound("unknown experiment " + quote(exp))
	}
	v, params, err := s.deps.Experiments.Enrol(c.UserContext(), exp, forced, unit)
	if err != nil {
		return nil, err
	}
	return &enrolment{Experiment: exp, Variant: v, Params: params, Forced: forced != "", Unit: unit}, nil
}

func (s *Server) expose(c *fiber.Ctx, e *enrolment, recID string, l recommend.List) {
	if s.deps.Experiments == nil {
		return
	}
	items := make([]string, len(l.Items))
	for i, it := range l.Items {
		items[i] = it.ProductID
	}
	s.deps.Experiments.Expose(e.Experiment, e.Variant, recID, e.Unit, e.Forced, items)
}
