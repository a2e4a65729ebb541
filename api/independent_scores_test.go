package api

import (
	"math"
	"sort"
	"testing"
	"time"

	"github.com/affinity-rec/affinity/features"
)

// jaccardRelated computes, independently of the store, the Jaccard
// neighbours of product p from raw purchase events.
func jaccardRelated(evs []features.Event, p string) map[string]float64 {
	buyers := map[string]map[string]bool{}
	for _, e := range evs {
		if buyers[e.ProductID] == nil {
			buyers[e.ProductID] = map[string]bool{}
		}
		buyers[e.ProductID][e.CustomerID] = true
	}
	out := map[string]float64{}
	for q, bq := range buyers {
		if q == p {
			continue
		}
		inter := 0
		for c := range buyers[p] {
			if bq[c] {
				inter++
			}
		}
		if inter > 0 {
			out[q] = float64(inter) / float64(len(buyers[p])+len(bq)-inter)
		}
	}
	return out
}

func TestRelatedMatchesIndependentJaccard(t *testing.T) {
	ts := newTestServer(t, "", Options{})
	evs, prods := demoEvents(t, 4000)
	ts.load(evs, prods)
	pop := itemIDs(ts.get("/v1/popular?limit=3"))
	if len(pop) != 3 {
		t.Fatalf("popular: %v", pop)
	}
	for _, p := range pop {
		want := listableOnly(jaccardRelated(evs, p), prods)
		m := ts.get("/v1/products/" + p + "/related?limit=10&basis=bought")
		ids, scores := itemIDs(m), itemScores(m)
		if len(ids) == 0 {
			t.Fatalf("no related products for %s", p)
		}
		for i, id := range ids {
			if math.Abs(want[id]-scores[i]) > 1e-5 {
				t.Errorf("related(%s)[%d] = %s score %v, independent Jaccard %v", p, i, id, scores[i], want[id])
			}
		}
		// The best independent score is the first served one.
		best := 0.0
		for _, v := range want {
			best = math.Max(best, v)
		}
		if math.Abs(best-scores[0]) > 1e-5 {
			t.Errorf("related(%s): top served score %v, best possible %v", p, scores[0], best)
		}
		if m["recommendation_id"] == "" || m["algorithm"] == "" {
			t.Errorf("reply lacks recommendation_id or algorithm: %v", m)
		}
	}
}

// listableOnly drops the products no list may show (not recommendable, or
// unavailable: left out by default) from independently computed scores.
func listableOnly(scores map[string]float64, prods map[string]features.Product) map[string]float64 {
	for id := range scores {
		if p, ok := prods[id]; ok && (!p.IsRecommendable() || !p.Available) {
			delete(scores, id)
		}
	}
	return scores
}

// personalScores computes SAR's A·S independently: affinity with a 30-day
// half-life from the customer's latest event, times Jaccard similarity.
func personalScores(evs []features.Event, cust string) map[string]float64 {
	var latest time.Time
	aff := map[string]float64{}
	for _, e := range evs {
		if e.CustomerID == cust && e.Timestamp.After(latest) {
			latest = e.Timestamp
		}
	}
	for _, e := range evs {
		if e.CustomerID == cust {
			age := latest.Sub(e.Timestamp).Hours() / 24
			aff[e.ProductID] += 5 * math.Exp2(-age/30)
		}
	}
	out := map[string]float64{}
	for i, a := range aff {
		for j, s := range jaccardRelated(evs, i) {
			if _, seen := aff[j]; !seen {
				out[j] += a * s
			}
		}
	}
	return out
}

func TestPersonalMatchesIndependentScores(t *testing.T) {
	ts := newTestServer(t, "", Options{})
	evs, prods := demoEvents(t, 4000)
	ts.load(evs, prods)
	custs := map[string]int{}
	for _, e := range evs {
		custs[e.CustomerID]++
	}
	checked := 0
	for c, n := range custs {
		if n < 5 || checked == 5 {
			continue
		}
		checked++
		want := listableOnly(personalScores(evs, c), prods)
		m := ts.get("/v1/customers/" + c + "/recommendations?limit=10")
		ids, scores := itemIDs(m), itemScores(m)
		if m["algorithm"] != "personal" {
			t.Fatalf("customer %s: algorithm %v", c, m["algorithm"])
		}
		var best []float64
		for _, v := range want {
			best = append(best, v)
		}
		sort.Sort(sort.Reverse(sort.Float64Slice(best)))
		for i, id := range ids {
			if i >= len(best) {
				break
			}
			// float32 accumulation in the engine: compare relatively.
			if math.Abs(want[id]-scores[i]) > 1e-3*math.Max(1, want[id]) || math.Abs(best[i]-scores[i]) > 1e-3*math.Max(1, best[i]) {
				t.Errorf("customer %s item %d: %s served %v, independent %v (rank-%d best %v)", c, i, id, scores[i], want[id], i, best[i])
			}
		}
	}
	if checked == 0 {
		t.Fatal("no customer with 5 events in the slice")
	}
}
