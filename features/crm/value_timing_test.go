//go:build unix

package crm_test

import (
	"fmt"
	"os"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/affinity-rec/affinity/features"
	"github.com/affinity-rec/affinity/features/crm"
)

// cpuNow returns the process's CPU time: on the shared 2-core machine
// wall-clock figures also count other people's work, so the benchmarks
// report CPU time too.
func cpuNow() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// The full UCI Online Retail set is not shipped: these benchmarks skip
// without it.
const fullRetail = "../../../shared/data/uci-online-retail/online_retail.csv.gz"

var (
	fullOnce  sync.Once
	fullEvs   []features.Event
	fullAttrs map[string]map[string]any
)

func fullRetailEvents(b *testing.B) ([]features.Event, map[string]map[string]any) {
	b.Helper()
	if _, err := os.Stat(fullRetail); err != nil {
		b.Skip("full Online Retail set not found at " + fullRetail)
	}
	fullOnce.Do(func() { fullEvs, _, fullAttrs = demoData(b, fullRetail, 1) })
	return fullEvs, fullAttrs
}

// benchSegments are typical CRM rules: value, tier, attribute, recency.
var benchSegments = map[string]string{
	"big":        "monetary > 1000 && frequency >= 5",
	"at_risk":    `tier == "at_risk"`,
	"france":     `attributes.country == "France"`,
	"recent":     "recency_days <= 30",
	"champions":  `tier in ["champions", "loyal"] && current_value > 100`,
	"one_timers": "frequency == 1 && monetary < 100",
}

func fullStore(b *testing.B, segments bool) *crm.TestStore {
	b.Helper()
	evs, attrs := fullRetailEvents(b)
	s := openStore(b, "")
	if segments {
		for name, rule := range benchSegments {
			if _, err := s.PutSegment(name, rule); err != nil {
				b.Fatal(err)
			}
		}
	}
	ingest(b, s, evs, 10000)
	cs := make(map[string]features.Customer, len(attrs))
	for id, a := range attrs {
		cs[id] = features.Customer{Attributes: a}
	}
	if err := s.PutCustomers(cs); err != nil {
		b.Fatal(err)
	}
	s.Refresh()
	if err := s.RefreshCustomerValue(); err != nil {
		b.Fatal(err)
	}
	return s
}

// BenchmarkIngestWithSegments ingests the whole set (batches of 10k, the
// import path) with no segment and with six segments defined, which are
// kept current for every customer an event touches.
func BenchmarkIngestWithSegments(b *testing.B) {
	evs, _ := fullRetailEvents(b)
	for _, n := range []int{0, len(benchSegments)} {
		b.Run(fmt.Sprintf("segments=%d", n), func(b *testing.B) {
			b.ReportAllocs()
			var spent, cpu time.Duration
			for i := 0; i < b.N; i++ {
				s := openStore(b, "")
				if n > 0 {
					for name, rule := range benchSegments {
						if _, err := s.PutSegment(name, rule); err != nil {
							b.Fatal(err)
						}
					}
				}
				start, startCPU := time.Now(), cpuNow()
				ingest(b, s, evs, 10000)
				spent += time.Since(start)
				cpu += cpuNow() - startCPU
				s.Close()
			}
			b.ReportMetric(float64(len(evs)*b.N)/spent.Seconds(), "events/s")
			// Events per CPU-second: the rate if the process had one core
			// to itself (Badger's writers run beside the store's writer).
			b.ReportMetric(float64(len(evs)*b.N)/cpu.Seconds(), "events/cpu-s")
		})
	}
}

// BenchmarkCustomerValue is the store side of a profile: value, segments.
func BenchmarkCustomerValue(b *testing.B) {
	s := fullStore(b, true)
	n := uint32(s.NumCustomers())
	b.ReportAllocs()
	b.ResetTimer()
	start := cpuNow()
	for i := 0; i < b.N; i++ {
		c := uint32(i*7919) % n
		s.CustomerValue(c)
		s.SegmentsOf(c)
	}
	b.ReportMetric(float64(cpuNow()-start)/float64(b.N), "cpu-ns/op")
}

// BenchmarkRuleEnvMatch is one eligibility check as next-best-offer does it.
func BenchmarkRuleEnvMatch(b *testing.B) {
	s := fullStore(b, true)
	r, err := crm.CompileRule(`"at_risk" in segments && monetary > 200`)
	if err != nil {
		b.Fatal(err)
	}
	n := uint32(s.NumCustomers())
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := r.Match(s.RuleEnv(uint32(i*7919) % n)); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSegmentProducts: cached is the serving path (the lists are
// recomputed at most every 10 s while membership changes); cold is one
// recomputation over the members' histories.
func BenchmarkSegmentProducts(b *testing.B) {
	s := fullStore(b, true)
	for _, name := range []string{"france", "big", "one_timers"} {
		g, _ := s.GetSegment(name)
		b.Run(fmt.Sprintf("cached/%s/members=%d", name, g.Members), func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				if _, err := s.SegmentProducts(name); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(fmt.Sprintf("cold/%s/members=%d", name, g.Members), func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				if _, err := s.PutSegment(name, benchSegments[name]); err != nil { // a new definition drops the cache
					b.Fatal(err)
				}
				b.StartTimer()
				if _, err := s.SegmentProducts(name); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkFullPass is the background re-evaluation of every segment for
// every customer.
func BenchmarkFullPass(b *testing.B) {
	s := fullStore(b, true)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := s.RefreshCustomerValue(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(s.NumCustomers()), "customers")
}
