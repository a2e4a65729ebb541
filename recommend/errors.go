package recommend

import (
	"errors"

	"github.com/affinity-rec/affinity/features"
)

var (
	// ErrUnknownProduct is returned for a product id the store has never seen.
	ErrUnknownProduct = errors.New("unknown product")
	// ErrBadRequest marks a request the engine cannot serve as asked.
	ErrBadRequest = errors.New("bad request")
)

// noExperimentsError is a request naming an experiment to a Service that
// has no experiment service: a not-found, worded as the API always did.
type noExperimentsError struct{ id string }

func (e *noExperimentsError) Error() string { return "unknown experiment \"" + e.id + "\"" }

func (e *noExperimentsError) Is(target error) bool { return target == features.ErrNotFound }
