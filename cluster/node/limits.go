package node

import (
	"context"
	"errors"
	"log/slog"
	"sync"

	"github.com/affinity-rec/affinity/cluster"
	"github.com/affinity-rec/affinity/recommend/offer"
)

// OfferLimits are the offer caps and budgets every node shares
// (offer.Limits), kept in the stream's counters bucket: a unit is taken by
// compare-and-set (cluster.Counters), so concurrent next-best-offer calls
// on any nodes never pass a limit. Keys carry the offer's incarnation, so a
// deleted and re-created offer starts afresh, as on a single node:
//
//	cap.<offer>.<incarnation>.<customer>   showings of the offer to the customer
//	budget.<offer>.<incarnation>           acceptances + open showings
//
// (each part base64url, cluster.CounterKey). Budget units are taken in
// blocks (limits_lease.go); caps a unit per call.
type OfferLimits struct {
	c      *cluster.Counters
	claims *cluster.Claims // a showing's budget unit is given back once
	log    *slog.Logger

	mu        sync.Mutex
	leases    map[string]*budgetLease // by budget key
	stop      chan struct{}
	done      chan struct{}
	closeOnce sync.Once
}

var _ offer.Limits = (*OfferLimits)(nil)

// OfferLimits opens (or creates) the counters bucket of the node's stream.
// Close it after the offer service, before the node.
func (n *Node) OfferLimits(ctx context.Context) (*OfferLimits, error) {
	c, err := cluster.OpenCounters(ctx, n.st)
	if err != nil {
		return nil, err
	}
	claims, err := cluster.OpenClaims(ctx, n.st)
	if err != nil {
		return nil, err
	}
	l := &OfferLimits{c: c, claims: claims, log: n.cfg.Log, leases: map[string]*budgetLease{}, stop: make(chan struct{}), done: make(chan struct{})}
	go l.sweepLoop()
	return l, nil
}

func capKey(u offer.LimitUnit) string {
	return cluster.CounterKey("cap", u.Offer, u.Incarnation, u.Customer)
}

func budgetKey(id, inc string) string { return cluster.CounterKey("budget", id, inc) }

// Reserve takes the cap unit first (a key per customer: rarely contended),
// then the budget unit (one key per offer, shared by every customer), and
// gives the cap unit back when the budget has no room.
func (l *OfferLimits) Reserve(ctx context.Context, u offer.LimitUnit) (bool, error) {
	if u.MaxPerCustomer > 0 {
		ok, err := l.c.TryIncrement(ctx, capKey(u), u.MaxPerCustomer)
		if err != nil || !ok {
			return false, err
		}
	}
	if u.Budget > 0 {
		ok, err := l.takeBudget(ctx, budgetKey(u.Offer, u.Incarnation), u.Budget)
		if err != nil || !ok {
			if u.MaxPerCustomer > 0 {
				// A failure here leaves the cap unit taken: the customer
				// may see the offer once less, never once more.
				_, rerr := l.c.Sub(context.WithoutCancel(ctx), capKey(u), 1)
				err = errors.Join(err, rerr)
			}
			return false, err
		}
	}
	return true, nil
}

// Release gives back both units of a showing that was not made: the
// budget unit to the node's block, the cap unit to its key.
func (l *OfferLimits) Release(ctx context.Context, u offer.LimitUnit) error {
	if u.Budget > 0 {
		l.giveBudget(budgetKey(u.Offer, u.Incarnation), 1)
	}
	if u.MaxPerCustomer > 0 {
		_, err := l.c.Sub(ctx, capKey(u), 1)
		return err
	}
	return nil
}

// Free gives back the budget units of closed, unaccepted showings, to the
// node's block (the next showings here use them; the sweep returns them to
// the key if they stay unused). Each showing is claimed first
// (freed.<offer>.<incarnation>.<recommendation id>): every node closes
// every showing it learns of from the stream, by an answer, an expiry or an
// erasure, and only the first close may give its unit back. A showing
// without an id (an answer posted without recommendation_id) is logged by
// the node that took it only, so it needs no claim. A claim that cannot be
// asked leaves its unit taken: the budget under-used, never passed.
func (l *OfferLimits) Free(ctx context.Context, id, inc string, showings []string) error {
	var n int64
	var errs []error
	for _, rec := range showings {
		won := true
		if rec != "" {
			var err error
			won, err = l.claims.Claim(ctx, cluster.CounterKey("freed", id, inc, rec))
			if err != nil {
				errs = append(errs, err)
				continue
			}
		}
		if won {
			n++
		}
	}
	if n > 0 {
		l.giveBudget(budgetKey(id, inc), n)
	}
	return errors.Join(errs...)
}

// Forget purges every cap counter of the customer (any offer, any
// incarnation), markers included: nothing in the bucket names them after.
func (l *OfferLimits) Forget(ctx context.Context, customer string) error {
	return l.c.Purge(ctx, cluster.CounterKey("cap")+".*.*."+cluster.CounterKey(customer))
}
