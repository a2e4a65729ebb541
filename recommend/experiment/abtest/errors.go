package abtest

import "errors"

// Errors returned (wrapped) by ValidateVariants. They describe a bad
// experiment definition, so api/ maps all of them to 400.
var (
	// ErrNoVariants: the list is empty or every weight is zero.
	ErrNoVariants = errors.New("no variant has a positive weight")
	// ErrInvalidWeight: a weight is negative, NaN or infinite.
	ErrInvalidWeight = errors.New("variant weight must be finite and not negative")
	// ErrEmptyName: a variant has no name; the name is what the hash keys on.
	ErrEmptyName = errors.New("variant name is empty")
	// ErrDuplicateName: two variants share a name, so they would draw the
	// same hash and could not be told apart in results.
	ErrDuplicateName = errors.New("variant name is used twice")
)
