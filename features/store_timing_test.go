package features

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math/rand"
	"runtime"
	"sync"
	"sync/atomic"
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

// quiet keeps the store's log lines out of benchmark output, and counts
// neighbours with cosine: these benchmarks measure the write path and its
// locking, and the default model's dense solve would swamp them (its cost
// is the model's, measured with it).
func quiet(o *Options) {
	o.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	o.Neighbours.Similarity = SimCosine
}

// BenchmarkIngestBulk is BenchmarkIngest as `affinity import` calls it now:
// Bulk, so no stale-list tracking, and one full Refresh at the end, which
// is included.
func BenchmarkIngestBulk(b *testing.B) {
	evs := syntheticEvents(200000, 20000, 5000, 1, true)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		s := openTestStore(b, "", quiet)
		b.StartTimer()
		for j := 0; j < len(evs); j += 10000 {
			if _, err := s.Ingest(context.Background(), evs[j:j+10000], IngestOptions{NoSync: true, Bulk: true}); err != nil {
				b.Fatal(err)
			}
		}
		s.Refresh()
		b.StopTimer()
		s.Close()
		b.StartTimer()
	}
	b.ReportMetric(float64(len(evs)*b.N)/b.Elapsed().Seconds(), "events/s")
}

// BenchmarkIngestOnline measures the POST /v1/events path: many clients
// each sending a short session (1 to 5 events) and waiting for it to be
// durable (fsync), so group commit is what makes the rate. Sizes are the
// numbers of concurrent clients.
func BenchmarkIngestOnline(b *testing.B) {
	evs := syntheticEvents(100000, 20000, 5000, 2, true)
	for _, clients := range []int{1, 16, 64} {
		b.Run(fmt.Sprintf("clients=%d", clients), func(b *testing.B) {
			s := openTestStore(b, "", func(o *Options) { quiet(o); o.SyncWrites = true; o.RefreshInterval = time.Second })
			var next atomic.Int64
			var sent atomic.Int64
			b.SetParallelism(max(1, clients/runtime.GOMAXPROCS(0)))
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					i := int(next.Add(1))
					n := 1 + i%5
					lo := (i * 5) % (len(evs) - 5)
					batch := append([]Event(nil), evs[lo:lo+n]...)
					for k := range batch {
						// Fresh ids: a re-sent id would be a cheap duplicate.
						batch[k].EventID = fmt.Sprintf("b%d-%d", i, k)
					}
					if _, err := s.Ingest(context.Background(), batch, IngestOptions{}); err != nil {
						b.Fatal(err)
					}
					sent.Add(int64(n))
				}
			})
			b.ReportMetric(float64(sent.Load())/b.Elapsed().Seconds(), "events/s")
		})
	}
}

// BenchmarkHistoryDuringRefresh measures a reader's History call while the
// writer ingests and the model is rebuilt in a loop: the read lock is now
// taken per product by the builder, so a reader waits for at most one
// product's copy and one 512-event apply, not for whole chunks of lists.
// max-us is the slowest call seen.
func BenchmarkHistoryDuringRefresh(b *testing.B) {
	s := openTestStore(b, "", quiet)
	evs := syntheticEvents(200000, 5000, 2000, 3, false)
	if _, err := s.Ingest(context.Background(), evs, IngestOptions{NoSync: true}); err != nil {
		b.Fatal(err)
	}
	s.Refresh()
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			lo := (i * 1000) % (len(evs) - 1000)
			s.Ingest(context.Background(), evs[lo:lo+1000], IngestOptions{NoSync: true})
		}
	}()
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			s.Refresh()
		}
	}()
	var worst time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		t0 := time.Now()
		_ = s.HistoryView(uint32(i % 5000))
		worst = max(worst, time.Since(t0))
	}
	b.StopTimer()
	close(stop)
	wg.Wait()
	b.ReportMetric(float64(worst.Microseconds()), "max-us")
}

// BenchmarkAppendLog appends one small entry at a time to a log that
// already holds 100k, as the offer and experiment services do.
func BenchmarkAppendLog(b *testing.B) {
	s := openTestStore(b, "", func(o *Options) { o.SyncWrites = false })
	entry := make([]byte, 64)
	batch := make([][]byte, 1000)
	for i := range batch {
		batch[i] = entry
	}
	for range 100 {
		if _, err := s.Records().Append("bench", batch); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	for range b.N {
		if _, err := s.Records().Append("bench", [][]byte{entry}); err != nil {
			b.Fatal(err)
		}
	}
}
