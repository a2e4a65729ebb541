package offer

import (
	"context"
	"errors"
)

// Limits are caps and budgets shared with other nodes (cluster mode): the
// node's own state (reserve.go) sees only the showings it made itself, so
// with several nodes serving next-best-offer an offer's max_per_customer
// and budget hold only if every showing also takes a unit from one shared,
// exact counter. nil (Options.Limits) is a single node: its local state is
// the whole truth and no counter is asked.
//
// The units keep the local meaning: a cap counts showings of an offer to a
// customer (never given back but by erasure); a budget counts acceptances
// plus open showings, so a showing takes a unit and gives it back when it
// is declined, ignored or expires (Free), and keeps it when accepted.
type Limits interface {
	// Reserve takes one showing: a cap unit (u.MaxPerCustomer > 0) and a
	// budget unit (u.Budget > 0), both or neither. false: no room, the
	// offer is skipped. An error means the counters could not be asked;
	// the caller shows nothing (fail closed).
	Reserve(ctx context.Context, u LimitUnit) (bool, error)
	// Release gives back what Reserve took for a showing that was not made
	// after all (its exposure could not be logged).
	Release(ctx context.Context, u LimitUnit) error
	// Free gives back the budget units of an offer incarnation's showings
	// (their recommendation ids) closed without an acceptance: one unit per
	// showing, once across all nodes. Every node learns of every showing
	// (they travel through the stream), so more than one may close the same
	// one (an answer on one node, an expiry sweep or an erasure on another);
	// only the first give-back counts, or the budget would be passed.
	Free(ctx context.Context, offer, incarnation string, showings []string) error
	// Forget drops an erased customer's cap counts, as the local state does.
	Forget(ctx context.Context, customer string) error
}

// LimitUnit is one showing of an offer incarnation to a customer, with the
// offer's limits (0: none) at the time of the request.
type LimitUnit struct {
	Offer, Incarnation, Customer string
	MaxPerCustomer, Budget       int64
}

// ErrLimitsUnavailable is returned by Choose when the shared limits could
// not be asked (cluster mode, the counters unreachable): nothing is shown
// rather than risk passing a cap or budget. The API answers 503.
var ErrLimitsUnavailable = errors.New("offer caps and budgets cannot be checked now (cluster counters unreachable); no offer is shown")
