//go:build unix

package offer

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/affinity-rec/affinity/features"
	"github.com/affinity-rec/affinity/features/crm"
	"github.com/affinity-rec/affinity/features/eventio"
	"github.com/affinity-rec/affinity/recommend"
)

const retailFile = "../../../shared/data/uci-online-retail/online_retail.csv.gz"

var (
	retailOnce  sync.Once
	retailStore *features.Store
	retailCRM   *crm.Service
	retailErr   error
)

// retailEngine (a copy of recommend's benchmark helper) loads the full Online Retail set once per test binary (it is
// not shipped: benchmarks skip without it).
func retailEngine(b *testing.B) (*recommend.Engine, *features.Store) {
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
		retailCRM, retailErr = crm.New(st, st.Records(), nil)
	})
	if retailErr != nil {
		b.Fatal(retailErr)
	}
	e, err := recommend.New(recommend.StoreDeps(retailStore, retailCRM), recommend.DefaultOptions())
	if err != nil {
		b.Fatal(err)
	}
	return e, retailStore
}

// nboBenchService defines 100 active offers over the full Online Retail set
// (retailEngine below): 60 promote one to three of the 300
// best sellers, 30 a best seller's category, 20 carry an eligibility rule,
// half are web-only, some have (non-binding) caps and budgets.
func nboBenchService(b *testing.B) (*Service, []string) {
	eng, st := retailEngine(b)
	oo := DefaultOptions()
	oo.Seed = 1
	oo.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	svc, err := New(st.Records(), st, retailCRM, eng, oo)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { svc.Close() })
	pop := st.Model().Popular[features.BasisAny]
	cat := st.Catalog()
	rules := []string{"monetary > 500", "frequency >= 3", `tier != "lost"`, "recency_days < 90", `"vip" in segments || monetary > 100`}
	cats := []string{}
	seen := map[string]bool{}
	for _, n := range pop {
		if p := cat.Product(n.Product); p != nil && p.Category != "" && !seen[p.Category] {
			seen[p.Category] = true
			cats = append(cats, p.Category)
		}
	}
	if len(cats) < 30 {
		b.Fatalf("only %d categories", len(cats))
	}
	for i := 0; i < 100; i++ {
		o := Offer{Value: float64(5 + i%17), Priority: 1 + float64(i%3)}
		switch {
		case i < 60:
			for k := 0; k <= i%3; k++ {
				o.Products = append(o.Products, st.ProductName(pop[(i*7+k*13)%300].Product))
			}
		case i < 90:
			o.Category = cats[i-60]
		}
		if i%5 == 0 {
			o.Eligibility = rules[(i/5)%len(rules)]
		}
		if i%2 == 0 {
			o.Channels = []string{"web"}
		}
		if i%10 == 3 {
			o.MaxPerCustomer = 1 << 30
		}
		if i%10 == 7 {
			o.Budget = 1 << 40
		}
		if _, err := svc.Put(fmt.Sprintf("bench-%03d", i), o); err != nil {
			b.Fatal(err)
		}
	}
	return svc, st.SampleCustomers(1000)
}

// BenchmarkNextBestOffer: rank is the choice alone (eligibility, prior,
// Thompson draws, ranking); serve also reserves and durably logs the
// exposure (group commit; the store runs without fsync, as in the tests).
func BenchmarkNextBestOffer(b *testing.B) {
	svc, custs := nboBenchService(b)
	ctx := context.Background()
	run := func(dry bool) func(b *testing.B) {
		return func(b *testing.B) {
			b.ReportAllocs()
			defer nboReportCPU(b)()
			n := 0
			for i := 0; i < b.N; i++ {
				res, err := svc.Choose(ctx, Request{CustomerID: custs[i%len(custs)], Limit: 1, Channel: "web", DryRun: dry})
				if err != nil {
					b.Fatal(err)
				}
				n += len(res.Offers)
			}
			if n == 0 {
				b.Fatal("no offer chosen")
			}
		}
	}
	b.Run("rank", run(true))
	b.Run("serve", run(false))
	b.Run("serve-parallel", func(b *testing.B) {
		b.ReportAllocs()
		defer nboReportCPU(b)()
		b.RunParallel(func(pb *testing.PB) {
			i := 0
			for pb.Next() {
				if _, err := svc.Choose(ctx, Request{CustomerID: custs[i%len(custs)], Limit: 1, Channel: "web"}); err != nil {
					b.Fatal(err)
				}
				i++
			}
		})
	})
}

// BenchmarkOfferRebuild measures the start-up replay: 100,000 exposures of
// 10 offers, 90% of them answered, rebuilt into counts, open
// exposures and caps. ns/op is one whole rebuild.
func BenchmarkOfferRebuild(b *testing.B) {
	e := openOfferTestEnv(b, nil)
	for i := 0; i < 10; i++ {
		e.put(fmt.Sprintf("o%d", i), Offer{Value: 1, Priority: 1, MaxPerCustomer: 100})
	}
	set := e.svc.set.Load()
	const n = 100000
	var shown, resp [][]byte
	for i := 0; i < n; i++ {
		o := set.offers[i%10]
		le := offerLogEntry{kind: offerEntryShown, offer: o.id, inc: o.st.inc, cust: fmt.Sprintf("c%d", i%20000),
			rec: fmt.Sprintf("r%d", i), channel: "web", ts: offerTestEpoch.Unix(), segs: []string{"vip"}}
		shown = append(shown, encodeOfferLog(nil, &le))
		if i%10 != 0 {
			le.kind, le.resp, le.src = offerEntryResponse, offerResp(1+i%3), offerByAPI
			resp = append(resp, encodeOfferLog(nil, &le))
		}
	}
	for _, l := range []struct {
		kind    string
		entries [][]byte
	}{{offerShownLog, shown}, {offerResponseLog, resp}} {
		for i := 0; i < len(l.entries); i += 10000 {
			if _, err := e.store.Records().Append(l.kind, l.entries[i:min(i+10000, len(l.entries))]); err != nil {
				b.Fatal(err)
			}
		}
	}
	e.svc.Close()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		svc, err := New(e.store.Records(), e.store, e.crm, e.eng, e.svc.opts)
		if err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		v0, _ := svc.Get("o0") // i%10 == 0: never answered
		v3, _ := svc.Get("o3")
		if v0.Performance.Open != n/10 || v3.Performance.Shown != n/10 || v3.Performance.Open != 0 {
			b.Fatalf("rebuilt %+v %+v", v0.Performance, v3.Performance)
		}
		svc.Close()
		b.StartTimer()
	}
}

// nboReportCPU adds cpu-ns/op: the process's CPU time per operation. On a
// machine shared with other work, wall-clock ns/op includes waiting for a
// core; CPU time does not.
func nboReportCPU(b *testing.B) func() {
	start := nboProcessCPU()
	return func() {
		b.ReportMetric(float64(nboProcessCPU()-start)/float64(b.N), "cpu-ns/op")
	}
}

func nboProcessCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
