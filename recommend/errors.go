package recommend

import "errors"

var (
	// ErrUnknownProduct is returned for a product id the store has never seen.
	ErrUnknownProduct = errors.New("unknown product")
	// ErrBadRequest marks a request the engine cannot serve as asked.
	ErrBadRequest = errors.New("bad request")
)
