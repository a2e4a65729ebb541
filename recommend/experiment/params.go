package experiment

import (
	"sort"
	"strings"

	"github.com/affinity-rec/affinity/features"
)

// Params are the variant params a server understands. The services that
// read them supply them when the server is wired (ranking's
// recommend.ParamChecks and recommend.CheckVariantParams, the offer
// service's nbo_policy), so that this package knows none of them and no
// file edits a shared table.
type Params struct {
	// Checks validates each known param: "" when its value is fine, else
	// the problem. A param without a checker is rejected: a typo must fail
	// loudly, or two arms serve the same thing and measure nothing.
	Checks map[string]func(v any) string
	// Variant holds rules across one variant's params, run once every
	// param passed its own check: each returns the param at fault and the
	// problem, or "" and "".
	Variant []func(params map[string]any) (field, msg string)
}

// check validates the params of the variant at prefix (variants[1].).
func (p Params) check(prefix string, params map[string]any) error {
	keys := make([]string, 0, len(params))
	for k := range params {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		check, ok := p.Checks[k]
		if !ok {
			return &features.FieldError{Field: prefix + "params." + k, Msg: "is not a known parameter (" + p.known() + ")"}
		}
		if msg := check(params[k]); msg != "" {
			return &features.FieldError{Field: prefix + "params." + k, Msg: msg}
		}
	}
	for _, rule := range p.Variant {
		if field, msg := rule(params); msg != "" {
			return &features.FieldError{Field: prefix + "params." + field, Msg: msg}
		}
	}
	return nil
}

func (p Params) known() string {
	ks := make([]string, 0, len(p.Checks))
	for k := range p.Checks {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return strings.Join(ks, ", ")
}
