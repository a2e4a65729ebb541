package offer

import (
	"fmt"
	"log/slog"
	"math"
	"time"

	"github.com/affinity-rec/affinity/recommend"
)

// Options configure the offer Service.
type Options struct {
	// PriorBase is the prior acceptance probability of an offer with no
	// association to the customer (and of every offer for a customer with
	// no history); PriorMax that of the customer's best-associated product.
	PriorBase, PriorMax float64
	// PriorStrength is how many answers the prior is worth.
	PriorStrength float64
	// MinSegmentResponses is how many answers a segment needs before its
	// own posterior replaces the offer's for its members.
	MinSegmentResponses uint64
	// ResponseWindow is how long an exposure waits for an answer (holding a
	// unit of budget) before it counts as ignored.
	ResponseWindow time.Duration
	// MaxOpen bounds the open exposures kept per offer (memory); beyond it
	// the oldest counts as ignored.
	MaxOpen int
	// MaxOffers bounds how many offers may be defined.
	MaxOffers int
	// DefaultLimit and MaxLimit are the number of offers per answer.
	DefaultLimit, MaxLimit int
	// CategoryTargets is how many best sellers stand for a category offer
	// in the association prior.
	CategoryTargets int
	// PriorHistory and PriorNeighbours bound the prior's work for long
	// histories: the customer's strongest items, and each one's best
	// neighbours (a prior is a seed, not a ranking: the tail changes little).
	PriorHistory, PriorNeighbours int
	// SweepInterval is how often expired exposures are closed.
	SweepInterval time.Duration
	// Seed makes the Thompson draws reproducible (0: random).
	Seed uint64
	// Logger receives background errors; nil means slog.Default().
	Logger *slog.Logger
	// Limits are the caps and budgets shared with other nodes (cluster
	// mode); nil: a single node, whose own state is exact (limits.go).
	Limits Limits
}

// DefaultOptions returns the defaults documented in docs/next-best-offer.md.
func DefaultOptions() Options {
	return Options{
		PriorBase:           0.05,
		PriorMax:            0.30,
		PriorStrength:       10,
		MinSegmentResponses: 50,
		ResponseWindow:      7 * 24 * time.Hour,
		MaxOpen:             50000,
		MaxOffers:           10000,
		DefaultLimit:        1,
		MaxLimit:            20,
		CategoryTargets:     32,
		PriorHistory:        100,
		PriorNeighbours:     50,
		SweepInterval:       time.Minute,
	}
}

// Validate reports whether o is usable.
func (o Options) Validate() error {
	switch {
	case !(o.PriorBase > 0 && o.PriorBase <= o.PriorMax && o.PriorMax < 1):
		return fmt.Errorf("%w: offer priors must satisfy 0 < PriorBase <= PriorMax < 1", recommend.ErrBadRequest)
	case !(o.PriorStrength > 0) || math.IsInf(o.PriorStrength, 0):
		return fmt.Errorf("%w: PriorStrength must be > 0", recommend.ErrBadRequest)
	case o.ResponseWindow <= 0:
		return fmt.Errorf("%w: ResponseWindow must be > 0", recommend.ErrBadRequest)
	case o.MaxOpen < 1 || o.MaxOffers < 1 || o.CategoryTargets < 0 || o.PriorHistory < 1 || o.PriorNeighbours < 1:
		return fmt.Errorf("%w: MaxOpen, MaxOffers, PriorHistory and PriorNeighbours must be >= 1", recommend.ErrBadRequest)
	case o.DefaultLimit < 1 || o.DefaultLimit > o.MaxLimit:
		return fmt.Errorf("%w: offer limits must satisfy 1 <= default <= max", recommend.ErrBadRequest)
	case o.SweepInterval <= 0:
		return fmt.Errorf("%w: SweepInterval must be > 0", recommend.ErrBadRequest)
	}
	return nil
}
