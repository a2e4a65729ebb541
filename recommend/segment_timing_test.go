//go:build unix

package recommend

import (
	"context"
	"errors"
	"io"
	"os"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/affinity-rec/affinity/features"
	"github.com/affinity-rec/affinity/features/eventio"
)

// segCPU returns the process's CPU time: on this shared 2-core machine
// wall-clock ns/op also counts other people's work, so the benchmarks also
// report cpu-ns/op.
func segCPU() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func reportCPU(b *testing.B, start time.Duration) {
	b.ReportMetric(float64(segCPU()-start)/float64(b.N), "cpu-ns/op")
}

// The full UCI Online Retail set is not shipped: these benchmarks skip
// without it.
const segRetailFile = "../../shared/data/uci-online-retail/online_retail.csv.gz"

var (
	segRetailOnce sync.Once
	segRetail     *crmStore
	segRetailErr  error
)

// segRetailStore loads the full set once per test binary, with customer
// countries, product prices and three segments.
func segRetailStore(b *testing.B) *crmStore {
	b.Helper()
	if _, err := os.Stat(segRetailFile); err != nil {
		b.Skip("full Online Retail set not found at " + segRetailFile)
	}
	segRetailOnce.Do(func() { segRetail, segRetailErr = loadSegRetail() })
	if segRetailErr != nil {
		b.Fatal(segRetailErr)
	}
	return segRetail
}

func loadSegRetail() (*crmStore, error) {
	dir, err := os.MkdirTemp("", "affinity-seg-bench-")
	if err != nil {
		return nil, err
	}
	o := features.DefaultOptions(dir)
	o.SyncWrites = false
	o.RefreshInterval = time.Hour
	o.Clock = func() time.Time { return time.Date(2011, 12, 10, 0, 0, 0, 0, time.UTC) }
	fs, err := features.Open(o)
	if err != nil {
		return nil, err
	}
	st, err := withCRM(fs)
	if err != nil {
		return nil, err
	}
	r, err := eventio.Open(segRetailFile, "online-retail")
	if err != nil {
		return nil, err
	}
	defer r.Close()
	var batch []features.Event
	flush := func() error {
		_, err := st.Ingest(context.Background(), batch, features.IngestOptions{NoSync: true})
		batch = batch[:0]
		return err
	}
	for {
		e, err := r.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			continue
		}
		if batch = append(batch, e); len(batch) == 10000 {
			if err := flush(); err != nil {
				return nil, err
			}
		}
	}
	if err := flush(); err != nil {
		return nil, err
	}
	if err := st.PutProducts(r.Products()); err != nil {
		return nil, err
	}
	cs := map[string]features.Customer{}
	for id, a := range r.CustomerAttributes() {
		cs[id] = features.Customer{Attributes: a}
	}
	if err := st.PutCustomers(cs); err != nil {
		return nil, err
	}
	st.Refresh()
	for name, rule := range map[string]string{
		"germany": `attributes.country == "Germany"`,
		"big":     "monetary > 1000 && frequency >= 5",
		"at_risk": `tier == "at_risk"`,
	} {
		if _, err := st.PutSegment(name, rule); err != nil {
			return nil, err
		}
	}
	return st, st.RefreshCustomerValue()
}

// BenchmarkSegmentProductsList is GET /v1/segments/{name}/products without
// HTTP: the cached lift list, a category filter, a customer's purchases
// left out.
func BenchmarkSegmentProductsList(b *testing.B) {
	st := segRetailStore(b)
	e, err := New(st.deps(), DefaultOptions())
	if err != nil {
		b.Fatal(err)
	}
	custs := st.SampleCustomers(500)
	for _, tc := range []struct {
		name string
		r    func(i int) Request
	}{
		{"plain", func(int) Request { return Request{Limit: 10} }},
		{"customer", func(i int) Request { return Request{Limit: 10, CustomerID: custs[i%len(custs)]} }},
		{"in_stock+price", func(int) Request {
			return Request{Limit: 10, Filter: features.Filter{InStock: true, PriceMax: 5, HasPriceMax: true}}
		}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			start := segCPU()
			for i := 0; i < b.N; i++ {
				if _, err := e.SegmentProducts(context.Background(), tc.r(i), "germany"); err != nil {
					b.Fatal(err)
				}
			}
			reportCPU(b, start)
		})
	}
}

// BenchmarkPotentialValue is the recommend side of a profile: the top 10
// personal recommendations and their co-purchase probabilities.
func BenchmarkPotentialValue(b *testing.B) {
	st := segRetailStore(b)
	e, err := New(st.deps(), DefaultOptions())
	if err != nil {
		b.Fatal(err)
	}
	custs := st.SampleCustomers(500)
	b.ReportAllocs()
	b.ResetTimer()
	start := segCPU()
	for i := 0; i < b.N; i++ {
		if _, err := e.PotentialValue(context.Background(), custs[i%len(custs)]); err != nil {
			b.Fatal(err)
		}
	}
	reportCPU(b, start)
}

// BenchmarkProfile is everything a profile computes beyond the HTTP
// layer: value, segments and potential value.
func BenchmarkProfile(b *testing.B) {
	st := segRetailStore(b)
	e, err := New(st.deps(), DefaultOptions())
	if err != nil {
		b.Fatal(err)
	}
	custs := st.SampleCustomers(500)
	b.ReportAllocs()
	b.ResetTimer()
	start := segCPU()
	defer reportCPU(b, start)
	for i := 0; i < b.N; i++ {
		id := custs[i%len(custs)]
		c, _ := st.CustomerID(id)
		st.CustomerValue(c)
		st.SegmentsOf(c)
		if _, err := e.PotentialValue(context.Background(), id); err != nil {
			b.Fatal(err)
		}
	}
}
