package abtest

import (
	"fmt"
	"testing"
)

// Assign runs on every request that belongs to an experiment, so its cost is
// per request: it must stay well under a microsecond and allocate nothing.
func BenchmarkAssign(b *testing.B) {
	ids := unitIDs(1024)
	for _, n := range []int{2, 4} {
		vs := make([]Variant, n)
		for i := range vs {
			vs[i] = Variant{Name: fmt.Sprintf("variant-%d", i), Weight: 1}
		}
		b.Run(fmt.Sprintf("variants=%d", n), func(b *testing.B) {
			b.ReportAllocs()
			sink := 0
			i := 0
			for b.Loop() {
				sink += Assign("homepage-2026", ids[i&1023], vs)
				i++
			}
			_ = sink
		})
		b.Run(fmt.Sprintf("variants=%d/parallel", n), func(b *testing.B) {
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				sink, i := 0, 0
				for pb.Next() {
					sink += Assign("homepage-2026", ids[i&1023], vs)
					i++
				}
				_ = sink
			})
		})
	}
}

func BenchmarkStats(b *testing.B) {
	c, t := Proportion{Successes: 480, Trials: 10_000}, Proportion{Successes: 560, Trials: 10_000}
	sc, st := Sums{N: 10_000, Sum: 19_200, SumSq: 1.5e6}, Sums{N: 10_000, Sum: 22_400, SumSq: 1.8e6}
	b.ReportAllocs()
	for b.Loop() {
		_ = Wilson(c)
		_ = TwoProportionPValue(c, t)
		_ = RelativeLift(c, t)
		_ = MeanInterval(sc)
		_ = WelchPValue(sc, st)
		_ = SRMPValue([]int64{10_000, 10_000}, []float64{1, 1})
	}
}
