package recommend

import (
	"context"
	"errors"
	"io"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/affinity-rec/affinity/features"
	"github.com/affinity-rec/affinity/features/eventio"
)

const retailFile = "../../shared/data/uci-online-retail/online_retail.csv.gz"

var (
	retailOnce  sync.Once
	retailStore *features.Store
	retailErr   error
)

// retailEngine loads the full Online Retail set once per test binary (it is
// not shipped: benchmarks skip without it).
func retailEngine(b *testing.B) (*Engine, *features.Store) {
	b.Helper()
	if _, err := os.Stat(retailFile); err != nil {
		b.Skip("full Online Retail set not found at " + retailFile)
	}
	retailOnce.Do(func() {
		dir, err := os.MkdirTemp("", "affinity-bench-")
		if err != nil {
			retailErr = err
			return
		}
		o := features.DefaultOptions(dir)
		o.SyncWrites = false
		o.RefreshInterval = time.Hour
		st, err := features.Open(o)
		if err != nil {
			retailErr = err
			return
		}
		r, err := eventio.Open(retailFile, "online-retail")
		if err != nil {
			retailErr = err
			return
		}
		var batch []features.Event
		for {
			e, err := r.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				continue
			}
			batch = append(batch, e)
			if len(batch) == 10000 {
				st.Ingest(context.Background(), batch, features.IngestOptions{NoSync: true})
				batch = batch[:0]
			}
		}
		st.Ingest(context.Background(), batch, features.IngestOptions{NoSync: true})
		st.PutProducts(r.Products())
		st.Refresh()
		retailStore = st
	})
	if retailErr != nil {
		b.Fatal(retailErr)
	}
	e, err := New(StoreDeps(retailStore, nil), DefaultOptions())
	if err != nil {
		b.Fatal(err)
	}
	return e, retailStore
}

func BenchmarkRelated(b *testing.B) {
	e, st := retailEngine(b)
	pop := st.Model().Popular[features.BasisAny]
	ids := make([]string, 0, 200)
	for _, n := range pop[:200] {
		ids = append(ids, st.ProductName(n.Product))
	}
	for _, bc := range []struct {
		name string
		f    features.Filter
	}{{"nofilter", features.Filter{}}, {"instock+price", features.Filter{InStock: true, HasPriceMax: true, PriceMax: 5}}} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				i := 0
				for pb.Next() {
					if _, err := e.Related(context.Background(), Request{ProductID: ids[i%len(ids)], Limit: 10, Filter: bc.f}); err != nil {
						b.Fatal(err)
					}
					i++
				}
			})
		})
	}
}

// BenchmarkPersonal measures scoring (cache off) and the steady state of a
// storefront asking again for the same customers (cache on).
func BenchmarkPersonal(b *testing.B) {
	cached, st := retailEngine(b)
	o := DefaultOptions()
	o.CacheEntries = 0
	uncached, err := New(StoreDeps(st, nil), o)
	if err != nil {
		b.Fatal(err)
	}
	custs := st.SampleCustomers(1000)
	for _, eng := range []struct {
		name string
		e    *Engine
	}{{"scoring", uncached}, {"cached", cached}} {
		for _, bc := range []struct {
			name string
			f    features.Filter
		}{{"nofilter", features.Filter{}}, {"instock+price", features.Filter{InStock: true, HasPriceMax: true, PriceMax: 5}}, {"category", features.Filter{Category: "holder"}}} {
			b.Run(eng.name+"/"+bc.name, func(b *testing.B) {
				b.ReportAllocs()
				b.RunParallel(func(pb *testing.PB) {
					i := 0
					for pb.Next() {
						if _, err := eng.e.Personal(context.Background(), Request{CustomerID: custs[i%len(custs)], Limit: 10, Filter: bc.f}); err != nil {
							b.Fatal(err)
						}
						i++
					}
				})
			})
		}
	}
}

func BenchmarkPopular(b *testing.B) {
	e, _ := retailEngine(b)
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if _, err := e.Popular(context.Background(), Request{Limit: 10, Filter: features.Filter{Category: "holder"}}); err != nil {
			b.Fatal(err)
		}
	}
}
