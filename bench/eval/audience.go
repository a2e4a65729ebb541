package eval

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"sync"
	"time"

	"github.com/affinity-rec/affinity/features"
	"github.com/affinity-rec/affinity/recommend"
)

// Audience evaluation (`affinity eval --audience`): how well
// GET /v1/products/{id}/customers finds the customers who buy a product
// next. Each test customer's next purchase is hidden (the train events
// are all they have); for every product of it that the customer had not
// bought before, the product's audience (exclude_buyers=true, as a
// campaign asks) is ranked from the train events, and the query is a hit
// at k when the customer is among its first k. Recall@k is the share of
// queries that hit. The baseline ranks the same candidates (everyone in
// train but the product's buyers) by their number of train events: the
// "most active customers" list a campaign sends without a model.

// AudienceKs are the cut-offs reported.
var AudienceKs = []int{10, 50, 100}

// AudienceRow is one ranking's recall@k over the queries.
type AudienceRow struct {
	Algo string `json:"algo"`
	// Recall[i] is recall at AudienceKs[i].
	Recall []float64 `json:"recall"`
	// Micros is the mean wall time of one audience, with Workers in flight.
	Micros float64 `json:"audience_us"`
}

// AudienceResult is what EvaluateAudience measured.
type AudienceResult struct {
	Ks []int `json:"k"`
	// Queries are the hidden (customer, product) pairs; Customers and
	// Products how many distinct of each they hold.
	Queries   int `json:"queries"`
	Customers int `json:"customers"`
	Products  int `json:"products"`
	// ColdQueries are queries of a product nobody had in train: misses
	// for any model of the train events (the baseline can still list them).
	ColdQueries int `json:"cold_queries"`
	// Chance[i] is the expected recall at AudienceKs[i] of a random
	// order: k over the number of candidates (train customers who had not
	// bought the product), averaged over the queries.
	Chance []float64     `json:"chance"`
	Rows   []AudienceRow `json:"rows"`
}

// audienceQuery is one hidden purchase.
type audienceQuery struct{ customer, product string }

// EvaluateAudience trains algo on train (Train), hides every warm test
// customer's next purchase and measures recall@k of the product audiences
// against the activity baseline. relevant lists the event types that make
// a purchase (empty: every type).
func EvaluateAudience(ctx context.Context, train, test []features.Event, algo Algorithm, relevant []string, workers int) (AudienceResult, error) {
	qs := nextPurchases(train, test, relevant)
	if len(qs) == 0 {
		return AudienceResult{}, fmt.Errorf("cannot evaluate audiences: %w (no warm test customer bought a new product)", ErrNoTestUsers)
	}
	eng, store, err := Train(ctx, train, algo, nil)
	if err != nil {
		return AudienceResult{}, err
	}
	defer store.Close()
	return audienceOn(ctx, eng, train, qs, algo.Name, workers)
}

// audienceOn measures eng's audiences and the baseline on the queries.
func audienceOn(ctx context.Context, eng *recommend.Engine, train []features.Event, qs []audienceQuery, name string, workers int) (AudienceResult, error) {
	byProduct := map[string][]string{}
	customers := map[string]bool{}
	for _, q := range qs {
		byProduct[q.product] = append(byProduct[q.product], q.customer)
		customers[q.customer] = true
	}
	products := make([]string, 0, len(byProduct))
	for p := range byProduct {
		products = append(products, p)
	}
	slices.Sort(products)
	maxK := slices.Max(AudienceKs)
	res := AudienceResult{Ks: AudienceKs, Queries: len(qs), Customers: len(customers), Products: len(products)}
	act := newActivityRanking(train)
	for p, cs := range byProduct {
		if len(act.buyers[p]) == 0 {
			res.ColdQueries += len(cs)
		}
	}
	res.Chance = act.chance(byProduct, AudienceKs)
	rank := func(p string) ([]string, error) {
		a, err := eng.ProductAudience(ctx, recommend.AudienceRequest{ProductID: p, Limit: maxK, ExcludeBuyers: true})
		if errors.Is(err, recommend.ErrUnknownProduct) {
			return nil, nil // new in test: no history to rank from, a miss
		}
		if err != nil {
			return nil, err
		}
		ids := make([]string, len(a.Items))
		for i, it := range a.Items {
			ids[i] = it.CustomerID
		}
		return ids, nil
	}
	for _, r := range []struct {
		name string
		fn   func(string) ([]string, error)
	}{{name, rank}, {"activity", func(p string) ([]string, error) { return act.top(p, maxK), nil }}} {
		row, err := recallOver(ctx, products, byProduct, r.fn, workers)
		if err != nil {
			return res, err
		}
		row.Algo = r.name
		res.Rows = append(res.Rows, row)
	}
	return res, nil
}

// recallOver ranks every product's audience with rank, workers at a time,
// and counts where its hidden buyers are.
func recallOver(ctx context.Context, products []string, byProduct map[string][]string, rank func(string) ([]string, error), workers int) (AudienceRow, error) {
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	hits := make([][]int, workers) // hits[w][i]: queries hit at AudienceKs[i]
	errs := make([]error, workers)
	var wg sync.WaitGroup
	start := time.Now()
	for w := range workers {
		hits[w] = make([]int, len(AudienceKs))
		wg.Go(func() {
			for i := w; i < len(products); i += workers {
				if err := ctx.Err(); err != nil {
					errs[w] = err
					return
				}
				ids, err := rank(products[i])
				if err != nil {
					errs[w] = fmt.Errorf("audience of %q: %w", products[i], err)
					return
				}
				countHits(hits[w], ids, byProduct[products[i]])
			}
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return AudienceRow{}, err
	}
	row := AudienceRow{Recall: make([]float64, len(AudienceKs)),
		Micros: float64(time.Since(start).Microseconds()) * float64(workers) / float64(len(products))}
	n := 0
	for _, cs := range byProduct {
		n += len(cs)
	}
	for _, h := range hits {
		for i := range h {
			row.Recall[i] += float64(h[i]) / float64(n)
		}
	}
	return row, nil
}

// countHits adds, for each cut-off, how many of buyers are in ids' head.
func countHits(hits []int, ids, buyers []string) {
	for _, b := range buyers {
		r := slices.Index(ids, b)
		if r < 0 {
			continue
		}
		for i, k := range AudienceKs {
			if r < k {
				hits[i]++
			}
		}
	}
}

// nextPurchases are the hidden queries: for every test customer with
// train events, the products of their first test order (the events of
// their earliest relevant test timestamp that brings a product new to
// them) that they had not had in train, in a fixed order.
func nextPurchases(train, test []features.Event, relevant []string) []audienceQuery {
	had := map[string]map[string]bool{}
	for i := range train {
		e := &train[i]
		if had[e.CustomerID] == nil {
			had[e.CustomerID] = map[string]bool{}
		}
		had[e.CustomerID][e.ProductID] = true
	}
	first := map[string]time.Time{}
	for i := range test {
		e := &test[i]
		h := had[e.CustomerID]
		if h == nil || h[e.ProductID] || len(relevant) > 0 && !slices.Contains(relevant, e.Type) {
			continue
		}
		if t, ok := first[e.CustomerID]; !ok || e.Timestamp.Before(t) {
			first[e.CustomerID] = e.Timestamp
		}
	}
	seen := map[audienceQuery]bool{}
	var qs []audienceQuery
	for i := range test {
		e := &test[i]
		t, ok := first[e.CustomerID]
		if !ok || !e.Timestamp.Equal(t) || had[e.CustomerID][e.ProductID] || len(relevant) > 0 && !slices.Contains(relevant, e.Type) {
			continue
		}
		q := audienceQuery{e.CustomerID, e.ProductID}
		if !seen[q] {
			seen[q] = true
			qs = append(qs, q)
		}
	}
	return qs
}

// activityRanking is the baseline: train customers by number of events,
// most first (ties by id), and each product's buyers, to leave out.
type activityRanking struct {
	order  []string
	buyers map[string]map[string]bool
}

func newActivityRanking(train []features.Event) *activityRanking {
	n := map[string]int{}
	a := &activityRanking{buyers: map[string]map[string]bool{}}
	for i := range train {
		e := &train[i]
		n[e.CustomerID]++
		if a.buyers[e.ProductID] == nil {
			a.buyers[e.ProductID] = map[string]bool{}
		}
		a.buyers[e.ProductID][e.CustomerID] = true
	}
	for c := range n {
		a.order = append(a.order, c)
	}
	slices.SortFunc(a.order, func(x, y string) int {
		if c := cmp.Compare(n[y], n[x]); c != 0 {
			return c
		}
		return cmp.Compare(x, y)
	})
	return a
}

// top is the k most active customers who have not had p in train.
func (a *activityRanking) top(p string, k int) []string {
	out := make([]string, 0, k)
	for _, c := range a.order {
		if len(out) == k {
			break
		}
		if !a.buyers[p][c] {
			out = append(out, c)
		}
	}
	return out
}

// chance is the recall at each k of a random order of the candidates.
func (a *activityRanking) chance(byProduct map[string][]string, ks []int) []float64 {
	out := make([]float64, len(ks))
	n := 0
	for p, cs := range byProduct {
		cands := len(a.order) - len(a.buyers[p])
		for i, k := range ks {
			out[i] += float64(len(cs)) * min(1, float64(k)/float64(max(cands, 1)))
		}
		n += len(cs)
	}
	for i := range out {
		out[i] /= float64(n)
	}
	return out
}
