package api

import (
	"fmt"
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
	forced = queryString(c, "variant")
	if forced == "" {
		forced = strings.Clone(c.Get("X-Affinity-Variant"))
	}
	// The flags are checked whether or not an experiment is named, so a
	// request is valid or not by itself, not by its neighbours.
	if len(forced) > maxVariantFlag {
		return "", "", "", badRequest("variant", fmt.Sprintf("variant is %d bytes; at most %d allowed", len(forced), maxVariantFlag))
	}
	anon, err := queryID(c, "unit_id")
	if err != nil {
		return "", "", "", err
	}
	if exp == "" {
		return "", "", unit, nil
	}
	if err := features.ValidateID("experiment", exp); err != nil {
		return "", "", "", err
	}
	if unit == "" {
		unit = anon
	}
	return exp, forced, unit, nil
}

// maxVariantFlag bounds variant= and X-Affinity-Variant (the spec's
// maxLength); a variant's own name is shorter still.
const maxVariantFlag = 256
