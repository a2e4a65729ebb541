package features

import (
	"fmt"
	"math"
)

// Negative signals: dislikes, returns and low ratings.
//
// An event of a negative class (ClassDisliked, ClassReturned), and a rating
// below its type's NegativeBelow, counts against its product:
//   - in a customer's affinity (personal scoring) its weight is negative, so
//     a purchase followed by its return nets to nothing or less, and a
//     disliked product pulls its neighbours down;
//   - it feeds no positive association bitmap: co-occurrence, popularity and
//     support count only viewed, carted and bought. A return does not take
//     the purchase out of co-occurrence: the basket was bought together,
//     which is what co-occurrence measures; the return says this customer
//     did not keep it, which is personal (docs/customer-value.md);
//   - a dislike (or low rating) keeps the product out of every list asked
//     for that customer (recommend/negative.go);
//   - a return's value is the refunded amount as a negative number (0 or
//     absent: the value of the purchase it returns); customer value
//     subtracts it (crm).

// Negative reports whether c is a negative class.
func (c Class) Negative() bool { return c == ClassDisliked || c == ClassReturned }

// positive reports whether c feeds the association bitmaps and counts.
func (c Class) positive() bool { return c < ClassDisliked }

// ClassOf is the class of an event of type code c and value v: the type's
// class, or ClassDisliked for a rating below its NegativeBelow. A value of
// 0 is no rating (the field was absent) and keeps the type's class.
func (t *TypeTable) ClassOf(c uint8, v float64) Class {
	e := &t.conf[c]
	if e.NegativeBelow > 0 && v > 0 && v < e.NegativeBelow {
		return ClassDisliked
	}
	return e.Class
}

// IsReturn reports whether code c is a configured return type: its events
// take revenue back.
func (t *TypeTable) IsReturn(c uint8) bool {
	return t.known[c] && t.conf[c].Class == ClassReturned
}

// weightOf is Weight's rule: positive types as configured; negative ones
// count their weight against the product; a low rating counts
// weight x (threshold - value) against it, so one star counts more than two.
func weightOf(e *EventType, v float64) float64 {
	switch {
	case e.Class.Negative():
		return -e.Weight
	case e.NegativeBelow > 0 && v > 0 && v < e.NegativeBelow:
		return -e.Weight * (e.NegativeBelow - v)
	case e.UseValue && v > 0:
		return e.Weight * v
	}
	return e.Weight
}

// checkValue is the store's check of an event's value against its type: a
// negative value is the refund of a return and is refused on anything
// else; a return refuses a positive one (the sign says which way money
// went, so there is one reading only).
func (t *TypeTable) checkValue(c uint8, v float64) error {
	if t.conf[c].Class == ClassReturned {
		if v > 0 {
			return &FieldError{Field: "value", Msg: fmt.Sprintf("is %g; a %s's value is the amount refunded as a negative number (or 0 or absent: the value of the purchase it returns)",
				v, t.names[c])}
		}
		return nil
	}
	if v < 0 {
		return &FieldError{Field: "value", Msg: fmt.Sprintf("is %g; only a return may carry a negative value (a %s's is between 0 and %g)",
			v, t.names[c], float64(MaxEventValue))}
	}
	return nil
}

// validateNegative checks a type's negative settings.
func (t EventType) validateNegative(name string) error {
	nb := t.NegativeBelow
	if math.IsNaN(nb) || math.IsInf(nb, 0) || nb < 0 || nb > MaxEventValue {
		return fmt.Errorf("%w: event type %q: negative_below must be between 0 (off) and %g", ErrInvalid, name, float64(MaxEventValue))
	}
	if nb > 0 && (!t.Class.positive() || !t.UseValue) {
		return fmt.Errorf("%w: event type %q: negative_below applies to a positive type with use_value (a rating)", ErrInvalid, name)
	}
	return nil
}
