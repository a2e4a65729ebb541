package eval

import (
	"slices"

	"github.com/affinity-rec/affinity/features"
)

// GroundTruth maps a customer id to the set of product ids that count as
// relevant for that customer in the test data. A customer with no relevant
// product is absent, never present with an empty set.
type GroundTruth map[string]map[string]struct{}

// Customers returns the customers in g sorted, so an evaluation visits them
// in the same order on every run.
func (g GroundTruth) Customers() []string {
	out := make([]string, 0, len(g))
	for c := range g {
		out = append(out, c)
	}
	slices.Sort(out)
	return out
}

// Pairs returns the number of (customer, product) pairs in g.
func (g GroundTruth) Pairs() int {
	n := 0
	for _, ps := range g {
		n += len(ps)
	}
	return n
}

// GroundTruthOptions says which test events make a product relevant.
type GroundTruthOptions struct {
	// Types lists the event types that make a product relevant; empty means
	// every type (the MovieLens protocol: every rating is an interaction).
	Types []string
	// WarmOnly drops test customers with no event in train. A model that
	// ranks from the customer's history cannot serve them, and Microsoft
	// Recommenders only averages over users that are both in test and in the
	// recommendations (SAR refuses users it was not trained on).
	WarmOnly bool
	// ExcludeSeen drops products the customer already has an event for in
	// train. Stratified splits never put a pair on both sides, so it only
	// matters for the temporal split, where a repeat purchase is relevant
	// unless this is set. Microsoft Recommenders keeps them (relevant = every
	// test row) while models remove seen items, so the default leaves it off
	// and GroundTruthStats.SeenPairs reports how many such pairs there are.
	ExcludeSeen bool
}

// StratifiedGroundTruthOptions is the MovieLens benchmark protocol (DESIGN
// section 5): every test interaction is relevant; only customers known in
// train are evaluated.
func StratifiedGroundTruthOptions() GroundTruthOptions {
	return GroundTruthOptions{WarmOnly: true}
}

// RetailGroundTruthOptions is the temporal retail protocol (DESIGN section
// 5): the products a customer bought in the test period, for customers who
// also appear in train. Cold customers are dropped because history-based
// models cannot rank for them; GroundTruthStats.ColdCustomers says how many.
func RetailGroundTruthOptions() GroundTruthOptions {
	return GroundTruthOptions{Types: []string{"purchase"}, WarmOnly: true}
}

// GroundTruthStats reports what BuildGroundTruth kept and dropped, for the
// evaluation report.
type GroundTruthStats struct {
	// TestCustomers have at least one test event of a relevant type.
	TestCustomers int
	// ColdCustomers were dropped by WarmOnly: no event at all in train.
	ColdCustomers int
	// SeenPairs are relevant (customer, product) pairs that also have an
	// event in train; dropped when ExcludeSeen is set, kept otherwise.
	SeenPairs int
	// AllSeenCustomers were dropped because ExcludeSeen removed every
	// product they had.
	AllSeenCustomers int
	// Customers and Pairs are the size of the ground truth returned.
	Customers int
	Pairs     int
}

// BuildGroundTruth collects, from test events, the products relevant to each
// test customer as o says; train is consulted for WarmOnly and ExcludeSeen
// (and SeenPairs) only.
func BuildGroundTruth(train, test []features.Event, o GroundTruthOptions) (GroundTruth, GroundTruthStats) {
	var st GroundTruthStats
	gt := make(GroundTruth)
	for i := range test {
		e := &test[i]
		if len(o.Types) > 0 && !slices.Contains(o.Types, e.Type) {
			continue
		}
		ps := gt[e.CustomerID]
		if ps == nil {
			ps = make(map[string]struct{})
			gt[e.CustomerID] = ps
		}
		ps[e.ProductID] = struct{}{}
	}
	st.TestCustomers = len(gt)

	// Only the history of test customers matters.
	history := make(map[string]map[string]struct{}, len(gt))
	for i := range train {
		e := &train[i]
		if _, ok := gt[e.CustomerID]; !ok {
			continue
		}
		h := history[e.CustomerID]
		if h == nil {
			h = make(map[string]struct{})
			history[e.CustomerID] = h
		}
		h[e.ProductID] = struct{}{}
	}

	for c, ps := range gt {
		h, warm := history[c]
		if !warm && o.WarmOnly {
			st.ColdCustomers++
			delete(gt, c)
			continue
		}
		for p := range ps {
			if _, seen := h[p]; seen {
				st.SeenPairs++
				if o.ExcludeSeen {
					delete(ps, p)
				}
			}
		}
		if len(ps) == 0 {
			st.AllSeenCustomers++
			delete(gt, c)
		}
	}
	st.Customers = len(gt)
	st.Pairs = gt.Pairs()
	return gt, st
}

// DistinctProducts returns the number of distinct products in events: the
// denominator of catalogue coverage when given the train events.
func DistinctProducts(events []features.Event) int {
	seen := make(map[string]struct{})
	for i := range events {
		seen[events[i].ProductID] = struct{}{}
	}
	return len(seen)
}
