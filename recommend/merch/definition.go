// Package merch holds merchandising rules: named definitions over product
// fields (an expr rule, as segments use) with an action a list applies,
// boost, bury, pin or filter. It stores them as records and compiles them;
// how a list applies them is recommend/merch.go. It depends on features
// only, so that recommend may use it.
package merch

import (
	"errors"
	"fmt"
	"github.com/affinity-rec/affinity/features/crm"
	"math"

	"github.com/affinity-rec/affinity/features"
)

// The actions a rule may take on the products its When matches.
const (
	Boost  = "boost"  // score x (1 + weight)
	Bury   = "bury"   // score / (1 + weight)
	Pin    = "pin"    // the best-ranked match goes to Position
	Filter = "filter" // matches are left out
)

// MaxWeight bounds a boost or bury weight; MaxPosition a pin's position
// (list lengths are at most 100 by default, and a pin beyond a list's
// end lands at its end).
const (
	MaxWeight   = 1000
	MaxPosition = 1000
)

// Rule is a merchandising rule's definition, as stored and as the API
// reads and writes it.
type Rule struct {
	// When is a boolean expr over the product's fields
	// (crm.ProductRuleVariables).
	When   string `json:"when"`
	Action string `json:"action"`
	// Weight is how strongly boost and bury move a product (default 1:
	// boost doubles the score, bury halves it).
	Weight float64 `json:"weight,omitempty"`
	// Position is where pin puts its product, from 1.
	Position int `json:"position,omitempty"`
}

// Compile checks d and compiles its When. Errors are *features.FieldError
// naming the field ("when" with a line and column, "action", "weight",
// "position"). It fills the default weight.
func (d *Rule) Compile() (*crm.Rule, error) {
	switch d.Action {
	case Boost, Bury:
		if d.Weight == 0 {
			d.Weight = 1
		}
		if math.IsNaN(d.Weight) || d.Weight <= 0 || d.Weight > MaxWeight {
			return nil, &features.FieldError{Field: "weight", Msg: fmt.Sprintf("must be a number above 0 and at most %d", MaxWeight)}
		}
		if d.Position != 0 {
			return nil, &features.FieldError{Field: "position", Msg: "is only for action pin"}
		}
	case Pin:
		if d.Position < 1 || d.Position > MaxPosition {
			return nil, &features.FieldError{Field: "position", Msg: fmt.Sprintf("is required for pin: a position from 1 to %d", MaxPosition)}
		}
		if d.Weight != 0 {
			return nil, &features.FieldError{Field: "weight", Msg: "is only for actions boost and bury"}
		}
	case Filter:
		if d.Weight != 0 || d.Position != 0 {
			field := "weight"
			if d.Weight == 0 {
				field = "position"
			}
			return nil, &features.FieldError{Field: field, Msg: "is not used by action filter"}
		}
	default:
		return nil, &features.FieldError{Field: "action", Msg: fmt.Sprintf("must be one of boost, bury, pin, filter, not %q", d.Action)}
	}
	r, err := crm.CompileProductRule(d.When)
	var fe *features.FieldError
	if errors.As(err, &fe) && fe.Field == "rule" {
		return nil, &features.FieldError{Field: "when", Msg: fe.Msg}
	}
	return r, err
}
