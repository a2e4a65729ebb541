package eval

import (
	"cmp"
	"fmt"
	"math"
	"slices"

	"github.com/affinity-rec/affinity/features"
)

// Split methods accepted by SplitOptions.Method (the values of
// `affinity eval --split`).
const (
	SplitItemStratified = "item-stratified"
	SplitUserStratified = "user-stratified"
	SplitTemporal       = "temporal"
)

// SplitOptions says how Split divides events into train and test.
type SplitOptions struct {
	// Method is SplitItemStratified, SplitUserStratified or SplitTemporal.
	Method string
	// TestRatio is the share of each group (stratified) or of all events
	// (temporal) that goes to test, in (0, 1).
	TestRatio float64
	// Seed drives the stratified shuffles. It must fit in 32 bits unsigned
	// because it seeds the same generator as numpy's np.random.seed, so that
	// a MovieLens split is the very split Microsoft Recommenders draws.
	// Temporal splits ignore it.
	Seed int64
	// MinGroupSize drops, before splitting, every group (product or
	// customer, by Method) with fewer distinct (customer, product) pairs:
	// Microsoft Recommenders' min_rating. 0 and 1 keep everything (their
	// default and the benchmark's setting). Temporal splits ignore it.
	MinGroupSize int
}

// DefaultSplitOptions returns the DESIGN section 5 benchmark protocol: each
// item's interactions split 75/25 with seed 42.
func DefaultSplitOptions() SplitOptions {
	return SplitOptions{Method: SplitItemStratified, TestRatio: 0.25, Seed: 42}
}

// Validate reports whether o describes a split.
func (o SplitOptions) Validate() error {
	switch o.Method {
	case SplitItemStratified, SplitUserStratified, SplitTemporal:
	default:
		return fmt.Errorf("%w: unknown method %q (want %s, %s or %s)", ErrInvalidSplit,
			o.Method, SplitItemStratified, SplitUserStratified, SplitTemporal)
	}
	// The negated form also rejects NaN.
	if !(o.TestRatio > 0 && o.TestRatio < 1) {
		return fmt.Errorf("%w: test ratio %v is not in (0, 1)", ErrInvalidSplit, o.TestRatio)
	}
	if o.Seed < 0 || o.Seed > math.MaxUint32 {
		return fmt.Errorf("%w: seed %d is not in [0, %d]", ErrInvalidSplit, o.Seed, uint32(math.MaxUint32))
	}
	if o.MinGroupSize < 0 {
		return fmt.Errorf("%w: minimum group size %d is negative", ErrInvalidSplit, o.MinGroupSize)
	}
	return nil
}

// side says where Split puts one event.
type side int8

const (
	sideTrain side = iota
	sideTest
	sideDropped // in a group smaller than MinGroupSize
)

// Split divides events into train and test as o says. Both keep the input
// order, and the same events and options always give the same split. Events
// are copied into new slices; nothing is shared with the input.
//
// Stratified splits follow Microsoft Recommenders' python_stratified_split:
//
//   - The unit that is shuffled and assigned is a distinct (customer, product)
//     pair, with all its events. On MovieLens (one rating per pair) that is
//     exactly their row-level split; on retail data, where a customer buys the
//     same product in several orders, it keeps a pair from being both in train
//     (so excluded from recommendations as seen) and in test (so relevant),
//     which would make some hits impossible by construction.
//   - Each group (the pairs of one product, or of one customer) is ordered by
//     one uniform draw per pair, drawn in input order of the pairs' first
//     events from MT19937 seeded like np.random.seed(Seed): the numbers
//     np.random.rand gives them, so MovieLens rows read in file order get
//     their exact split.
//   - The pair at 1-based position j of a group of n goes to train when
//     j/n <= 1-TestRatio, as their rank/count test does. That is a floor, not
//     a rounding: a group of one pair goes to test, a group of three keeps
//     two in train at 0.25.
//
// The temporal split puts in test every event at or after a cut time: the
// timestamp of the event at position n-round(TestRatio*n) in time order.
// Events that share the cut timestamp all go to test, so an order whose lines
// share a timestamp is never split, and test can be slightly larger than
// TestRatio. Every event needs a timestamp.
func Split(events []features.Event, o SplitOptions) (train, test []features.Event, err error) {
	if err := o.Validate(); err != nil {
		return nil, nil, fmt.Errorf("cannot split: %w", err)
	}
	var sides []side
	switch o.Method {
	case SplitTemporal:
		if sides, err = temporalSides(events, o.TestRatio); err != nil {
			return nil, nil, err
		}
	case SplitItemStratified:
		sides = stratifiedSides(events, o, func(e *features.Event) string { return e.ProductID })
	case SplitUserStratified:
		sides = stratifiedSides(events, o, func(e *features.Event) string { return e.CustomerID })
	}
	var nTrain, nTest int
	for _, s := range sides {
		switch s {
		case sideTrain:
			nTrain++
		case sideTest:
			nTest++
		}
	}
	if nTrain == 0 || nTest == 0 {
		return nil, nil, fmt.Errorf("cannot split %d events %s at test ratio %v: %w (train %d, test %d)",
			len(events), o.Method, o.TestRatio, ErrEmptySplit, nTrain, nTest)
	}
	train = make([]features.Event, 0, nTrain)
	test = make([]features.Event, 0, nTest)
	for i, s := range sides {
		switch s {
		case sideTrain:
			train = append(train, events[i])
		case sideTest:
			test = append(test, events[i])
		}
	}
	return train, test, nil
}

// pairKey identifies a (customer, product) pair, the unit of a stratified split.
type pairKey struct{ customer, product string }

func stratifiedSides(events []features.Event, o SplitOptions, groupOf func(*features.Event) string) []side {
	// Number the pairs in order of first appearance; that order decides
	// which random draw each pair gets.
	pairOf := make([]int32, len(events))
	pairIndex := make(map[pairKey]int32)
	var pairGroup []string
	for i := range events {
		e := &events[i]
		k := pairKey{e.CustomerID, e.ProductID}
		p, ok := pairIndex[k]
		if !ok {
			p = int32(len(pairGroup))
			pairIndex[k] = p
			pairGroup = append(pairGroup, groupOf(e))
		}
		pairOf[i] = p
	}

	groups := make(map[string][]int32)
	for p, g := range pairGroup {
		groups[g] = append(groups[g], int32(p))
	}

	pairSide := make([]side, len(pairGroup))
	if o.MinGroupSize > 1 {
		for _, ps := range groups {
			if len(ps) < o.MinGroupSize {
				for _, p := range ps {
					pairSide[p] = sideDropped
				}
			}
		}
	}

	// Microsoft Recommenders filters first and then draws one number per
	// surviving row, so dropped pairs must not consume a draw.
	rng := newMT19937(uint32(o.Seed))
	draw := make([]float64, len(pairGroup))
	for p := range draw {
		if pairSide[p] != sideDropped {
			draw[p] = rng.float64()
		}
	}

	trainRatio := 1 - o.TestRatio
	for _, ps := range groups {
		if pairSide[ps[0]] == sideDropped {
			continue
		}
		// Ties in 53-bit draws are next to impossible; the pair number
		// settles them so the order is total.
		slices.SortFunc(ps, func(a, b int32) int {
			if c := cmp.Compare(draw[a], draw[b]); c != 0 {
				return c
			}
			return cmp.Compare(a, b)
		})
		nTrain := trainCount(len(ps), trainRatio)
		for j, p := range ps {
			if j >= nTrain {
				pairSide[p] = sideTest
			}
		}
	}

	sides := make([]side, len(events))
	for i, p := range pairOf {
		sides[i] = pairSide[p]
	}
	return sides
}

// trainCount is how many of n ranked units go to train: the number of
// 1-based ranks j with j/n <= ratio, computed with the same float64 division
// and comparison as Microsoft Recommenders so that borderline groups (ratio*n
// an integer, or nearly) fall the same way.
func trainCount(n int, ratio float64) int {
	c := int(math.Floor(ratio * float64(n)))
	c = min(max(c, 0), n)
	for c < n && float64(c+1)/float64(n) <= ratio {
		c++
	}
	for c > 0 && float64(c)/float64(n) > ratio {
		c--
	}
	return c
}

func temporalSides(events []features.Event, testRatio float64) ([]side, error) {
	order := make([]int, len(events))
	for i := range events {
		if events[i].Timestamp.IsZero() {
			return nil, fmt.Errorf("cannot split temporally: event %d (customer %q, product %q) has no timestamp",
				i, events[i].CustomerID, events[i].ProductID)
		}
		order[i] = i
	}
	// Stable, so equal timestamps stay in input order.
	slices.SortStableFunc(order, func(a, b int) int {
		return events[a].Timestamp.Compare(events[b].Timestamp)
	})
	sides := make([]side, len(events))
	n := len(events)
	cut := n - int(math.Round(testRatio*float64(n)))
	if cut >= n {
		// Too few events for one to be test: leave all in train and let
		// Split report the empty side.
		return sides, nil
	}
	cutTime := events[order[cut]].Timestamp
	for i := range events {
		if !events[i].Timestamp.Before(cutTime) {
			sides[i] = sideTest
		}
	}
	return sides, nil
}
