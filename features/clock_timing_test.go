package features

import (
	"math/rand"
	"testing"
)

// BenchmarkNewestTimes is the latest-event clock's cost per applied event:
// add for every event and a publish per slice of 512, as the writer does.
// Chronological input (an import of historical data) is the worst case:
// every event is newer than all kept times.
func BenchmarkNewestTimes(b *testing.B) {
	for _, order := range []string{"chronological", "random"} {
		b.Run(order, func(b *testing.B) {
			ts := make([]uint32, 1<<16)
			r := rand.New(rand.NewSource(1))
			for i := range ts {
				ts[i] = 1_300_000_000 + uint32(i)
				if order == "random" {
					ts[i] = 1_300_000_000 + uint32(r.Intn(1<<26))
				}
			}
			var x index
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				t := ts[i&(len(ts)-1)]
				if order == "chronological" {
					t = 1_300_000_000 + uint32(i)
				}
				x.newest.add(t)
				x.events++
				if i%512 == 511 {
					x.publishClockLocked()
				}
			}
		})
	}
}
