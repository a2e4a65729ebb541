package experiment

import (
	"context"
	"fmt"
	"runtime"
	"sync/atomic"
	"testing"

	"github.com/affinity-rec/affinity/features"
)

// BenchmarkEnrol is the per-request cost of assignment: a map lookup in the
// published experiments and one XXH64 + log per variant.
func BenchmarkEnrol(b *testing.B) {
	x := expTestService(b, expTestStore(b, ""), nil)
	mustPut(b, x, ab("two", StatusRunning, 1, 1))
	mustPut(b, x, ab("four", StatusRunning, 1, 1, 1, 1))
	units := make([]string, 4096)
	for i := range units {
		units[i] = fmt.Sprintf("customer-%d", i)
	}
	ctx := context.Background()
	for _, bc := range []struct{ name, exp, forced string }{
		{"hash-2-variants", "two", ""},
		{"hash-4-variants", "four", ""},
		{"forced", "two", "treatment"},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				if _, _, err := x.Enrol(ctx, bc.exp, bc.forced, units[i&4095]); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkEnrolExpose is what a list request pays for an experiment, with
// the flusher writing to a real Badger store at the same time. In parallel
// at full speed it measures the sustained rate of the exposure log rather
// than the request overhead: when the flusher falls behind, Expose blocks.
func BenchmarkEnrolExpose(b *testing.B) {
	st := expTestStore(b, "")
	prods := seedProducts(b, st, 10)
	x := expTestService(b, st, nil)
	mustPut(b, x, ab("e", StatusRunning, 1, 1))
	ctx := context.Background()
	for _, parallel := range []bool{false, true} {
		name := "serial"
		if parallel {
			name = "parallel"
		}
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			run := func(i int) {
				unit := fmt.Sprintf("%s-u%d", name, i&8191)
				v, _, err := x.Enrol(ctx, "e", "", unit)
				if err != nil {
					b.Fatal(err)
				}
				items := make([]string, 10)
				copy(items, prods)
				x.Expose("e", v, fmt.Sprintf("%s-r%d", name, i), unit, false, items)
			}
			if !parallel {
				for i := 0; i < b.N; i++ {
					run(i)
				}
			} else {
				var n atomic.Int64
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						run(int(n.Add(1)))
					}
				})
			}
			b.StopTimer()
			mustFlush(b, x)
			b.StartTimer()
		})
	}
	if d := x.Stats().Dropped; d > 0 {
		b.Logf("dropped %d exposures", d)
	}
}

// BenchmarkExposureMemory reports the heap the attribution index keeps per
// exposure (10 items each). Run with -benchtime=100000x.
func BenchmarkExposureMemory(b *testing.B) {
	st := expTestStore(b, "")
	prods := seedProducts(b, st, 10)
	x := expTestService(b, st, nil)
	mustPut(b, x, ab("e", StatusRunning, 1, 1))
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		unit := fmt.Sprintf("u%d", i)
		v, _, _ := x.Enrol(context.Background(), "e", "", unit)
		x.Expose("e", v, fmt.Sprintf("rec-%d", i), unit, false, append([]string(nil), prods...))
	}
	mustFlush(b, x)
	b.StopTimer()
	runtime.GC()
	runtime.ReadMemStats(&after)
	b.ReportMetric(float64(int64(after.HeapAlloc)-int64(before.HeapAlloc))/float64(b.N), "heap-B/exposure")
	runtime.KeepAlive(x)
}

// BenchmarkRestart measures rebuilding the index and counters from the
// logs (what New adds to a restart) for 100,000 exposures, a
// tenth of them clicked.
func BenchmarkRestart(b *testing.B) {
	dir := b.TempDir()
	st := expTestStore(b, dir)
	prods := seedProducts(b, st, 10)
	x := expTestService(b, st, nil)
	mustPut(b, x, ab("e", StatusRunning, 1, 1))
	const n = 100_000
	var evs []features.Event
	for i := range n {
		unit := fmt.Sprintf("u%d", i%20000)
		v, _, _ := x.Enrol(context.Background(), "e", "", unit)
		rec := fmt.Sprintf("rec-%d", i)
		x.Expose("e", v, rec, unit, false, append([]string(nil), prods...))
		if i%10 == 0 {
			evs = append(evs, features.Event{CustomerID: unit, ProductID: prods[0], Type: "click", RecommendationID: rec})
		}
	}
	mustFlush(b, x)
	if _, err := st.Ingest(context.Background(), evs, features.IngestOptions{}); err != nil {
		b.Fatal(err)
	}
	mustFlush(b, x)
	want := mustResults(b, x, "e")
	x.Close()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		o := DefaultOptions()
		o.Logger = quietLog
		y, err := New(st.Records(), st, testParams(), o)
		if err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		if got := mustResults(b, y, "e"); got.Variants[0].Clicks != want.Variants[0].Clicks || got.Variants[0].Exposures != want.Variants[0].Exposures {
			b.Fatalf("rebuilt results differ: %+v vs %+v", got.Variants[0], want.Variants[0])
		}
		y.Close()
		b.StartTimer()
	}
	b.ReportMetric(n, "exposures")
}

// BenchmarkResults is one results read of an experiment with 100,000
// exposures over 20,000 customers (the SRM count walks the customers).
func BenchmarkResults(b *testing.B) {
	st := expTestStore(b, "")
	prods := seedProducts(b, st, 10)
	x := expTestService(b, st, nil)
	mustPut(b, x, ab("e", StatusRunning, 1, 1, 1))
	for i := range 100_000 {
		unit := fmt.Sprintf("u%d", i%20000)
		v, _, _ := x.Enrol(context.Background(), "e", "", unit)
		x.Expose("e", v, fmt.Sprintf("rec-%d", i), unit, false, prods[:3])
	}
	mustFlush(b, x)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		mustResults(b, x, "e")
	}
}
