package features

import (
	"context"
	"fmt"
	"math/rand"
	"testing"
	"time"
)

// syntheticEvents makes n purchase events over nc customers and np products
// with Zipf-like product popularity, deterministic for a seed.
func syntheticEvents(n, nc, np int, seed int64, withIDs bool) []Event {
	r := rand.New(rand.NewSource(seed))
	z := rand.NewZipf(r, 1.1, 4, uint64(np-1))
	base := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	evs := make([]Event, n)
	for i := range evs {
		evs[i] = Event{
			CustomerID: fmt.Sprintf("c%d", r.Intn(nc)),
			ProductID:  fmt.Sprintf("p%d", z.Uint64()),
			Type:       "purchase",
			Value:      float64(r.Intn(5000)) / 100,
			Timestamp:  base.Add(time.Duration(i) * time.Second),
		}
		if withIDs {
			evs[i].EventID = fmt.Sprintf("e%d", i)
		}
	}
	return evs
}

// BenchmarkIngest measures bulk ingest through the store (the import path:
// batches of 10k, no fsync per batch, event ids checked for idempotency).
func BenchmarkIngest(b *testing.B) {
	for _, ids := range []bool{false, true} {
		b.Run(fmt.Sprintf("event_ids=%v", ids), func(b *testing.B) {
			evs := syntheticEvents(200000, 20000, 5000, 1, ids)
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				s := openTestStore(b, "", nil)
				b.StartTimer()
				for j := 0; j < len(evs); j += 10000 {
					if _, err := s.Ingest(context.Background(), evs[j:j+10000], IngestOptions{NoSync: true}); err != nil {
						b.Fatal(err)
					}
				}
				b.StopTimer()
				s.Close()
				b.StartTimer()
			}
			b.ReportMetric(float64(len(evs)*b.N)/b.Elapsed().Seconds(), "events/s")
		})
	}
}
