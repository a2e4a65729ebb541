package node_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/affinity-rec/affinity/cluster"
	"github.com/affinity-rec/affinity/cluster/natstest"
	"github.com/affinity-rec/affinity/cluster/node"
	"github.com/affinity-rec/affinity/features"
	"github.com/affinity-rec/affinity/features/crm"
	"github.com/affinity-rec/affinity/recommend"
	"github.com/affinity-rec/affinity/recommend/offer"
)

// BenchmarkNextBestOfferLimits is one next-best-offer call (the Go use
// case, no HTTP) choosing 3 offers: one capped per customer, one with a
// budget, one with neither, for customers taken in turn from 1,000.
// "local" is a single node's own limits; "shared_R1"/"shared_R3" take the
// units from the cluster's counters by compare-and-set (a cap key per
// offer and customer, a budget key per offer: 2 keys, each a read and a
// write), on the in-process 3-server cluster with the bucket at R=1 and
// R=3. p50/p99 are per call, serial; the parallel variant runs 4 x GOMAXPROCS callers
// at once on the same hot budget key (its conflicts are retried).
func BenchmarkNextBestOfferLimits(b *testing.B) {
	nc := natstest.StartT(b, 3)
	for _, mode := range []struct {
		name     string
		replicas int
		shared   bool
	}{{"local", 1, false}, {"shared_R1", 1, true}, {"shared_R3", 3, true}} {
		b.Run(mode.name, func(b *testing.B) {
			offers := benchOffers(b, nc.URLs(), "BNBO"+mode.name, mode.replicas, mode.shared)
			lat := make([]time.Duration, 0, b.N)
			b.ResetTimer()
			for i := range b.N {
				t0 := time.Now()
				res, err := offers.Choose(context.Background(), offer.Request{CustomerID: fmt.Sprint("c", i%1000), Limit: 3})
				if err != nil || len(res.Offers) != 3 {
					b.Fatal(res.Offers, err)
				}
				lat = append(lat, time.Since(t0))
			}
			b.StopTimer()
			slices.Sort(lat)
			q := func(p float64) float64 { return float64(lat[int(p*float64(len(lat)-1))].Microseconds()) / 1000 }
			b.ReportMetric(q(0.5), "p50_ms")
			b.ReportMetric(q(0.99), "p99_ms")
		})
		b.Run(mode.name+"_parallel8", func(b *testing.B) {
			offers := benchOffers(b, nc.URLs(), "BNBOP"+mode.name, mode.replicas, mode.shared)
			b.SetParallelism(4) // x GOMAXPROCS (2 here): 8 callers
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				i := 0
				for pb.Next() {
					i++
					if _, err := offers.Choose(context.Background(), offer.Request{CustomerID: fmt.Sprint("c", i%1000), Limit: 3}); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}

// benchOffers is an offer service on a node of stream name (replicas),
// with 1,000 customers' history and three offers whose limits are never
// reached in a run.
func benchOffers(b *testing.B, urls, name string, replicas int, shared bool) *offer.Service {
	o := features.DefaultOptions(b.TempDir())
	o.SyncWrites = false
	o.RefreshInterval = time.Hour
	o.Clock = func() time.Time { return testNow }
	st, err := features.Open(o)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	n, err := node.Start(context.Background(), st, node.Config{URLs: urls, MinSeq: time.Minute,
		Stream: cluster.StreamConfig{Name: name, Prefix: "p" + name, Replicas: replicas}})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(n.Close)
	evs := make([]features.Event, 0, 3000)
	for c := range 1000 {
		for p := range 3 {
			evs = append(evs, features.Event{CustomerID: fmt.Sprint("c", c), ProductID: fmt.Sprint("p", (c+p)%50), Type: "purchase", Timestamp: testNow.Add(-time.Hour)})
		}
	}
	res, err := st.Ingest(context.Background(), evs, features.IngestOptions{})
	if err != nil {
		b.Fatal(err)
	}
	if err := n.WaitFor(context.Background(), res.Seq); err != nil {
		b.Fatal(err)
	}
	cs, err := crm.New(st, st.Records(), nil)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { cs.Close() })
	eng, err := recommend.New(recommend.StoreDeps(st, cs), recommend.DefaultOptions())
	if err != nil {
		b.Fatal(err)
	}
	oo := offer.DefaultOptions()
	if shared {
		lim, err := n.OfferLimits(context.Background())
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(lim.Close)
		oo.Limits = lim
	}
	svc, err := offer.New(st.Records(), st, cs, eng, oo)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { svc.Close() })
	for id, of := range map[string]offer.Offer{
		"capped":   {Products: []string{"p1"}, MaxPerCustomer: 1 << 40, Priority: 1, Value: 1},
		"budgeted": {Products: []string{"p2"}, Budget: 1 << 40, Priority: 1, Value: 1},
		"free":     {Products: []string{"p3"}, Priority: 1, Value: 1},
	} {
		if _, err := svc.Put(id, of); err != nil {
			b.Fatal(err)
		}
	}
	return svc
}
