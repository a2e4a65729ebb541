package features

import (
	"context"
	"fmt"
	"testing"
	"time"
)

// BenchmarkMergeCustomers measures one merge of an anonymous visitor with
// 10 events into a customer, on a store of 1M events (6k customers, 3.7k
// products: MovieLens-1M's shape), the log read whole as erasure reads it.
// go test -run '^$' -bench MergeCustomers -benchtime 20x ./features/
func BenchmarkMergeCustomers(b *testing.B) {
	s := openTestStore(b, "", quiet)
	evs := syntheticEvents(1_000_000, 6000, 3700, 1, true)
	ctx := context.Background()
	for j := 0; j < len(evs); j += 10000 {
		if _, err := s.Ingest(ctx, evs[j:j+10000], IngestOptions{NoSync: true, Bulk: true}); err != nil {
			b.Fatal(err)
		}
	}
	at := time.Date(2024, 2, 1, 0, 0, 0, 0, time.UTC)
	b.ResetTimer()
	for i := range b.N {
		b.StopTimer()
		anon := fmt.Sprint("anon-", i)
		var visit []Event
		for k := range 10 {
			visit = append(visit, Event{CustomerID: anon, ProductID: fmt.Sprint("p", k*7), Type: "view", Timestamp: at})
		}
		if _, err := s.Ingest(ctx, visit, IngestOptions{}); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		res, err := s.MergeCustomers(anon, fmt.Sprint("c", i))
		if err != nil || res.Moved != 10 {
			b.Fatalf("%+v %v", res, err)
		}
	}
}
