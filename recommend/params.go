package recommend

// The params an experiment variant may set that ranking understands, and
// their checkers: whoever wires the experiments service hands them to it,
// so that it knows no ranking knob itself. What the params change in a
// list is variant.go.

import (
	"fmt"
	"github.com/affinity-rec/affinity/features/crm"
	"math"

	"github.com/affinity-rec/affinity/features"
)

// ParamChecks returns the checkers of the variant params ranking
// understands (variantList and Engine.Personal read them), for the
// experiments service's constructor: a typo must fail loudly, since an
// ignored "halflife_days" would make two arms serve the same thing and the
// experiment measure nothing. Whoever adds a knob to the engine adds its
// checker here. maxLimit is the engine's Options.MaxLimit.
func ParamChecks(maxLimit int) map[string]func(v any) string {
	return map[string]func(v any) string{
		"algorithm": func(v any) string {
			s, _ := v.(string)
			switch s {
			case "default", "personal", "related", "popular", "fixed":
				return ""
			}
			return "must be one of default, personal, related, popular, fixed"
		},
		"half_life_days": func(v any) string {
			f, ok := paramNumber(v)
			if !ok || f <= 0 || f > 36500 {
				return "must be a number of days above 0 and at most 36500"
			}
			return ""
		},
		"limit": func(v any) string {
			f, ok := paramNumber(v)
			if !ok || f != math.Trunc(f) || f < 1 || f > float64(maxLimit) {
				return fmt.Sprintf("must be a whole number from 1 to %d", maxLimit)
			}
			return ""
		},
		"rules": checkRulesParam,
		"products": func(v any) string {
			ids, ok := paramStrings(v)
			if !ok || len(ids) == 0 || len(ids) > maxLimit {
				return fmt.Sprintf("must be a list of 1 to %d product ids", maxLimit)
			}
			seen := make(map[string]bool, len(ids))
			for _, id := range ids {
				if err := features.ValidateID("product_id", id); err != nil {
					return "holds an invalid product id: " + err.Error()
				}
				if seen[id] {
					return fmt.Sprintf("lists %q twice", id)
				}
				seen[id] = true
			}
			return ""
		},
	}
}

func paramNumber(v any) (float64, bool) {
	switch x := v.(type) {
	case float64:
		return x, !math.IsNaN(x) && !math.IsInf(x, 0)
	case int:
		return float64(x), true
	}
	return 0, false
}

// paramStrings reads a list of strings as JSON decodes it ([]any) or as Go
// code writes it ([]string).
func paramStrings(v any) ([]string, bool) {
	switch x := v.(type) {
	case []string:
		return x, true
	case []any:
		out := make([]string, len(x))
		for i, e := range x {
			s, ok := e.(string)
			if !ok {
				return nil, false
			}
			out[i] = s
		}
		return out, true
	}
	return nil, false
}

// CheckVariantParams is the rule across ranking's params that no single
// param's checker can see: algorithm "fixed" needs "products". It returns
// the param at fault and the problem, or "" and "".
func CheckVariantParams(params map[string]any) (field, msg string) {
	if a, _ := params["algorithm"].(string); a == "fixed" {
		if _, ok := params["products"]; !ok {
			return "products", "is required when algorithm is fixed"
		}
	}
	return "", ""
}

// checkRulesParam checks a variant's "rules": merchandising rule names
// (recommend/merch) the variant's lists apply, so a rule's effect can be
// measured against an arm without it. Names are checked for shape here;
// that each exists when the experiment is put is the API's check (it has
// the rules), and one deleted later is skipped when serving.
func checkRulesParam(v any) string {
	names, ok := paramStrings(v)
	if !ok || len(names) == 0 || len(names) > MaxMerchIDs {
		return fmt.Sprintf("must be a list of 1 to %d rule names", MaxMerchIDs)
	}
	for _, n := range names {
		if err := crm.ValidateSegmentName(n); err != nil {
			return fmt.Sprintf("holds %q, whose %s", n, err.Error())
		}
	}
	return ""
}
