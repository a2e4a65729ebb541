package api

import (
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/affinity-rec/affinity/features"
)

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
