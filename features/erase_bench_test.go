//go:build unix

package features_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/affinity-rec/affinity/features"
	"github.com/affinity-rec/affinity/features/eventio"
)

// eraseBenchData is the demo store's data (the server's --demo); set
// AFFINITY_ERASE_BENCH_DATA to another Online Retail file (the full set in
// ../shared/data) to measure a larger store.
func eraseBenchData() string {
	if f := os.Getenv("AFFINITY_ERASE_BENCH_DATA"); f != "" {
		return f
	}
	return "../testdata/demo/online_retail_sample.csv.gz"
}

type benchSource struct{ files []string }

func (f *benchSource) Open() (string, features.ImportReader, error) {
	if len(f.files) == 0 {
		return "", nil, io.EOF
	}
	name := f.files[0]
	f.files = f.files[1:]
	r, err := eventio.Open(name, "online-retail")
	return name, r, err
}

// openEraseBenchStore opens a store with the server's default options
// (EASE, self-tuning, synced writes) holding the demo data.
func openEraseBenchStore(b *testing.B) *features.Store {
	b.Helper()
	o := features.DefaultOptions(b.TempDir())
	o.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	s, err := features.Open(o)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	if _, err := features.Import(context.Background(), s, &benchSource{files: []string{eraseBenchData()}}, features.ImportOptions{}); err != nil {
		b.Fatal(err)
	}
	s.Refresh() // the tuner's first run, so that it is not in the first erasure
	return s
}

// cpuTime is the process's user and system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkEraseCustomer erases customers with one event each from the demo
// store: "one" erases one at a time, "concurrent=N" N at once (an op is the
// batch). ns/op is the time the callers wait; cpu-ms/op is the process's
// CPU over the loop (the one-event ingests are a small part of it), the
// background work the erasures cause included (waited for at the end);
// rebuilds/op is how many model rebuilds the erasures caused, log-reads/op
// how many reads of the whole event log. Run it with a fixed count,
// erasures were seconds each before the background follow-up:
//
//	go test -run '^$' -bench EraseCustomer -benchtime 4x ./features/
func BenchmarkEraseCustomer(b *testing.B) {
	for _, n := range []int{1, 8} {
		name := "one"
		if n > 1 {
			name = fmt.Sprintf("concurrent=%d", n)
		}
		b.Run(name, func(b *testing.B) {
			s := openEraseBenchStore(b)
			ctx := context.Background()
			rebuilds0, batches0 := s.ErasureRebuilds(), s.ErasureBatches()
			cpu0 := cpuTime()
			b.ResetTimer()
			for i := range b.N {
				b.StopTimer()
				ids := make([]string, n)
				evs := make([]features.Event, n)
				for j := range ids {
					ids[j] = fmt.Sprintf("bench-erase-%d-%d", i, j)
					evs[j] = features.Event{CustomerID: ids[j], ProductID: "85123A", Type: "purchase", Value: 2.55}
				}
				if _, err := s.Ingest(ctx, evs, features.IngestOptions{}); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				var wg sync.WaitGroup
				errs := make([]error, n)
				for j, id := range ids {
					wg.Go(func() { errs[j] = s.EraseCustomer(id) })
				}
				wg.Wait()
				b.StopTimer()
				for _, err := range errs {
					if err != nil {
						b.Fatal(err)
					}
				}
			}
			s.SettleErasures()
			cpu := cpuTime() - cpu0
			b.ReportMetric(float64(cpu.Milliseconds())/float64(b.N), "cpu-ms/op")
			b.ReportMetric(float64(s.ErasureRebuilds()-rebuilds0)/float64(b.N), "rebuilds/op")
			b.ReportMetric(float64(s.ErasureBatches()-batches0)/float64(b.N), "log-reads/op")
		})
	}
}
