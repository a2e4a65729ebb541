package eval

import "errors"

// ErrUnknownAlgorithm is returned (wrapped) by LookupAlgorithm for a name it
// does not know. ErrInvalidEval is returned (wrapped) by Options.Validate.
// ErrNoTestUsers is returned (wrapped) by Evaluate when the ground truth has
// no customer to score, so there is no average to print.
//
// ErrInvalidSplit is returned (wrapped) by SplitOptions.Validate and Split for
// options that cannot describe a split. ErrEmptySplit is returned (wrapped)
// by Split when train or test would be empty: the metrics of an empty side
// mean nothing, so the caller should change the ratio or the data rather
// than print zeros.
var (
	ErrUnknownAlgorithm = errors.New("unknown algorithm")
	ErrInvalidEval      = errors.New("invalid evaluation options")
	ErrNoTestUsers      = errors.New("no test customer to evaluate")
	ErrInvalidSplit     = errors.New("invalid split options")
	ErrEmptySplit       = errors.New("split leaves train or test empty")
)
