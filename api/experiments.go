package api

import (
	"errors"
	"fmt"

	"github.com/gofiber/fiber/v2"

	"github.com/affinity-rec/affinity/features"
	"github.com/affinity-rec/affinity/features/jsonbody"
	"github.com/affinity-rec/affinity/recommend"
	"github.com/affinity-rec/affinity/recommend/experiment"
)

// The enrolment the list and next-best-offer handlers use is the
// experiments service's own Enrol and Expose.
var _ recommend.Experimenter = (*experiment.Service)(nil)

// experiments is the experiments service; a server wired without one
// answers 501 on the experiment endpoints.
func (s *Server) experiments() (*experiment.Service, error) {
	if s.deps.Experiments != nil {
		return s.deps.Experiments, nil
	}
	return nil, &HTTPError{Status: fiber.StatusNotImplemented, Detail: "experiments are not enabled on this server"}
}

// experimentByPath is the service and the experiment id of a
// /v1/experiments/{id}... request.
func (s *Server) experimentByPath(c *fiber.Ctx) (*experiment.Service, string, error) {
	x, err := s.experiments()
	if err != nil {
		return nil, "", err
	}
	id, err := pathID(c, "id", "id")
	return x, id, err
}

func (s *Server) listExperiments(c *fiber.Ctx) error {
	x, err := s.experiments()
	if err != nil {
		return err
	}
	return c.JSON(experimentList{Experiments: x.List()})
}

func (s *Server) putExperiment(c *fiber.Ctx) error {
	x, id, err := s.experimentByPath(c)
	if err != nil {
		return err
	}
	var body experimentBody
	if err := decodeBody(c, &body); err != nil {
		return err
	}
	e, err := body.experiment()
	if err != nil {
		return err
	}
	e.ID = id
	if err := s.checkVariantRules(e); err != nil {
		return err
	}
	out, err := x.Put(c.UserContext(), e)
	if err != nil {
		return err
	}
	return c.JSON(out)
}

func (s *Server) getExperiment(c *fiber.Ctx) error {
	x, id, err := s.experimentByPath(c)
	if err != nil {
		return err
	}
	e, err := x.Get(id)
	if err != nil {
		return err
	}
	return c.JSON(e)
}

func (s *Server) deleteExperiment(c *fiber.Ctx) error {
	x, id, err := s.experimentByPath(c)
	if err != nil {
		return err
	}
	if err := x.Delete(c.UserContext(), id); err != nil {
		return err
	}
	return c.SendStatus(fiber.StatusNoContent)
}

func (s *Server) experimentResults(c *fiber.Ctx) error {
	x, id, err := s.experimentByPath(c)
	if err != nil {
		return err
	}
	r, err := x.Results(c.UserContext(), id)
	if err != nil {
		return err
	}
	return c.JSON(r)
}

// experiment reads a decoded experiment body; every error is a 400 naming
// the field, its variants decoded under the same convention as the body.
// A variant without a weight gets 1 (equal split by default); the service
// fills the other defaults and validates the values.
func (b experimentBody) experiment() (experiment.Experiment, error) {
	var e experiment.Experiment
	if b.Status != nil {
		e.Status = *b.Status
		if e.Status == "" {
			return e, badRequest("status", "status must be draft, running or stopped")
		}
	}
	if b.Salt != nil {
		e.Salt = *b.Salt
		if e.Salt == "" {
			return e, badRequest("salt", "salt must not be empty; leave it out to use the id")
		}
	}
	if b.Variants == nil {
		return e, badRequest("variants", "variants is required: a list of {name, weight, params}")
	}
	for i, raw := range b.Variants {
		prefix := fmt.Sprintf("variants[%d]", i)
		var vb variantBody
		if err := jsonbody.DecodeAt(raw, &vb, prefix); err != nil {
			return e, err
		}
		if vb.Name == nil {
			return e, badRequest(prefix+".name", prefix+".name is required")
		}
		v := experiment.VariantConfig{Name: *vb.Name, Weight: 1, Params: vb.Params}
		if vb.Weight != nil {
			v.Weight = *vb.Weight
		}
		e.Variants = append(e.Variants, v)
	}
	return e, nil
}

// checkVariantRules refuses a variant whose rules param names a
// merchandising rule that does not exist, as rules= on a list does: a typo
// would otherwise be skipped at serve time and the two arms measure the
// same thing. The rule is defined first, then the experiment; one deleted
// later is still skipped when serving. A param of the wrong shape is left
// to the service's own checks.
func (s *Server) checkVariantRules(e experiment.Experiment) error {
	rules := s.deps.Engine.Rules()
	for i, v := range e.Variants {
		names, _ := v.Params["rules"].([]any)
		for j, n := range names {
			name, ok := n.(string)
			if !ok {
				continue
			}
			if rules != nil {
				if _, err := rules.Get(name); !errors.Is(err, features.ErrNotFound) {
					continue
				}
			}
			field := fmt.Sprintf("variants[%d].params.rules[%d]", i, j)
			return badRequest(field, fmt.Sprintf("%s names %q, which is not a merchandising rule (PUT /v1/rules/{name} first)", field, name))
		}
	}
	return nil
}
