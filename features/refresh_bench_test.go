package features

import (
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
// every product of every customer with a new pair, "lag" leaves
// co-customer products pending (stale_lag.go). lists/op is how many lists
// a refresh counted.
func BenchmarkRefreshUnderWrites(b *testing.B) {
	for _, mode := range []string{"exact", "lag", "own"} {
		name := mode
		lag := mode != "exact"
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
				if lag {
					pol = &lagPolicy{now: now, support: modelSupport(m)}
					if mode == "own" {
						pol = &lagPolicy{now: time.Unix(1_700_000_000, 0), support: func(uint32) uint32 { return 1 << 30 }}
					}
				}
				d, _, _ := x.takeStale(pol)
				if d == nil {
					continue
				}
				lists += d.GetCardinality()
				m = buildModelIn(x, m, d, nprod, o, false, pool{n: 1})
			}
			b.ReportMetric(float64(lists)/float64(b.N), "lists/op")
		})
	}
}
