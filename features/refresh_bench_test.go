package features

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"
)

// BenchmarkRefreshUnderWrites measures one background refresh under a
// steady write load shaped like `affinity bench --scenario mixed` at 10k
// req/s (a fifth of the requests post 1-5 events: ~6000 events a second,
// by 1000 customers, over the 100 most popular products), on a skewed
// index of 100k customers over 20k products. Each op applies one second
// of those writes (not timed), then takes the marks and rebuilds the stale
// lists with one worker, as a background refresh does: "exact" recounts
// every product of every customer with a new pair; "eps=E,age=A" leaves
// co-customer products pending (stale_lag.go) with that policy. lists/op
// is how many lists a refresh counted; overlap10 is, after the last op,
// the mean share of the top 10 of every product's list (any basis) that a
// full build has too: what the pending lists cost in quality.
func BenchmarkRefreshUnderWrites(b *testing.B) {
	for _, c := range []struct {
		eps float64
		age time.Duration
	}{{-1, 0}, {lagEps, lagMaxAge}, {0.2, lagMaxAge}, {0.5, lagMaxAge}, {1, lagMaxAge}, {1e9, 1e6 * time.Hour}} {
		name := "exact"
		if c.eps >= 0 {
			name = fmt.Sprintf("eps=%g,age=%v", c.eps, c.age)
		}
		b.Run(name, func(b *testing.B) {
			const ncust, nprod = 100_000, 20_000
			x := skewedIndex(ncust, nprod, 3)
			o := DefaultNeighbourOptions()
			o.Similarity = SimRP3
			m := buildModel(x, nil, nil, nprod, o, false, 2)
			top := m.Popular[BasisAny][:100]
			r := rand.New(rand.NewPCG(9, 9))
			now := time.Unix(1_700_000_000, 0)
			var lists uint64
			b.ResetTimer()
			for range b.N {
				b.StopTimer()
				x.mu.Lock()
				for range 6000 {
					c := uint32(r.IntN(1000))
					p := top[r.IntN(len(top))].Product
					x.applyLocked(c, Interaction{Product: p, Class: Class(r.IntN(3)), TS: uint32(now.Unix())}, true)
				}
				x.mu.Unlock()
				now = now.Add(time.Second)
				b.StartTimer()
				var pol *lagPolicy
				if c.eps >= 0 {
					pol = &lagPolicy{now: now, support: modelSupport(m), eps: c.eps, maxAge: c.age}
				}
				d, _, _ := x.takeStale(pol)
				if d == nil {
					continue
				}
				lists += d.GetCardinality()
				m = buildModelIn(x, m, d, nprod, o, false, pool{n: 1})
			}
			b.StopTimer()
			b.ReportMetric(float64(lists)/float64(b.N), "lists/op")
			pending := x.lag.lagging()
			b.ReportMetric(float64(pending.GetCardinality()), "pending")
			b.ReportMetric(topOverlap(m, buildModel(x, nil, nil, nprod, o, false, 2), BasisAny, 10, pending.Contains), "overlap10")
		})
	}
}

// topOverlap is the mean share of the top k of the lists in want of the
// products in that got has in its top k too (1 when there are none).
func topOverlap(got, want *Model, b Basis, k int, in func(uint32) bool) float64 {
	var sum float64
	var n int
	for p, w := range want.Neighbours[b] {
		if len(w) == 0 || !in(uint32(p)) {
			continue
		}
		w = w[:min(k, len(w))]
		var g []uint32
		if p < len(got.Neighbours[b]) {
			for _, e := range got.Neighbours[b][p][:min(k, len(got.Neighbours[b][p]))] {
				g = append(g, e.Product)
			}
		}
		hit := 0
		for _, e := range w {
			for _, q := range g {
				if q == e.Product {
					hit++
					break
				}
			}
		}
		sum += float64(hit) / float64(len(w))
		n++
	}
	if n == 0 {
		return 1
	}
	return sum / float64(n)
}
