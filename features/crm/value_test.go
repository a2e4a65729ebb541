package crm_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"path/filepath"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/affinity-rec/affinity/features"
	"github.com/affinity-rec/affinity/features/crm"
	"github.com/affinity-rec/affinity/features/eventio"
)

// demoClock pins "now" a few days after the demo data's last invoice.
var demoClock = time.Date(2011, 12, 20, 0, 0, 0, 0, time.UTC)

// openStore opens a test store (crm.OpenTestStore) with the
// demo's clock and the default neighbour options: these tests read the
// demo data, whose catalogue is too large for the tiny-catalogue options
// of the package's other tests.
func openStore(t testing.TB, dir string) *crm.TestStore {
	t.Helper()
	return crm.OpenTestStore(t, dir, func(o *features.Options) {
		o.Clock = func() time.Time { return demoClock }
		o.Neighbours = features.DefaultOptions("").Neighbours
	})
}

// demoData reads every step-th event of an online-retail file (a slice
// spread over its whole time span; step 1: all) with the catalogue and
// customer attributes.
func demoData(t testing.TB, path string, step int) ([]features.Event, map[string]features.Product, map[string]map[string]any) {
	t.Helper()
	key := fmt.Sprintf("%s/%d", path, step)
	demoCacheMu.Lock()
	defer demoCacheMu.Unlock()
	if d, ok := demoCache[key]; ok {
		// Tests only read the events; callers that ingest them do not change them.
		return d.evs, d.prods, d.attrs
	}
	r, err := eventio.Open(path, "online-retail")
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var evs []features.Event
	for i := 0; ; i++ {
		e, err := r.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		var le *eventio.LineError
		if errors.As(err, &le) {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		if i%step == 0 {
			evs = append(evs, e)
		}
	}
	d := demoSet{evs, r.Products(), r.CustomerAttributes()}
	demoCache[key] = d
	return d.evs, d.prods, d.attrs
}

// demoCache keeps each file read once per test binary.
var (
	demoCacheMu sync.Mutex
	demoCache   = map[string]demoSet{}
)

type demoSet struct {
	evs   []features.Event
	prods map[string]features.Product
	attrs map[string]map[string]any
}

var demoPath = filepath.Join("..", "..", "testdata", "demo", "online_retail_sample.csv.gz")

func ingest(t testing.TB, s *crm.TestStore, evs []features.Event, batch int) {
	t.Helper()
	for i := 0; i < len(evs); i += batch {
		res, err := s.Ingest(context.Background(), evs[i:min(i+batch, len(evs))], features.IngestOptions{NoSync: true})
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Rejected) > 0 {
			t.Fatalf("rejected: %+v", res.Rejected[0])
		}
	}
}

// rfm is the independent reference: distinct order strings, the sum of
// values in input order, the latest purchase.
type rfm struct {
	orders   map[string]bool
	monetary float64
	last     time.Time
}

func referenceRFM(evs []features.Event) map[string]*rfm {
	out := map[string]*rfm{}
	for _, e := range evs {
		if e.Type != "purchase" {
			continue
		}
		r := out[e.CustomerID]
		if r == nil {
			r = &rfm{orders: map[string]bool{}}
			out[e.CustomerID] = r
		}
		r.orders[e.OrderID] = true
		r.monetary += e.Value
		if e.Timestamp.After(r.last) {
			r.last = e.Timestamp
		}
	}
	return out
}

func micro(v float64) float64 { return math.Round(v*1e6) / 1e6 }

func checkRFM(t *testing.T, s *crm.TestStore, ref map[string]*rfm) {
	t.Helper()
	for id, want := range ref {
		c, ok := s.CustomerID(id)
		if !ok {
			t.Fatalf("customer %s unknown", id)
		}
		v, ok := s.CustomerValue(c)
		if !ok {
			t.Fatalf("no value for %s", id)
		}
		rec := demoClock.Sub(want.last).Seconds() / 86400
		if v.Frequency != len(want.orders) || v.Monetary != micro(want.monetary) || v.RecencyDays != rec {
			t.Fatalf("customer %s: got F=%d M=%v R=%v, want F=%d M=%v R=%v", id, v.Frequency, v.Monetary, v.RecencyDays,
				len(want.orders), micro(want.monetary), rec)
		}
		if v.HistoricalValue != v.Monetary {
			t.Fatalf("customer %s: historical %v != monetary %v", id, v.HistoricalValue, v.Monetary)
		}
		if v.RScore < 1 || v.RScore > 5 || v.FScore < 1 || v.FScore > 5 || v.MScore < 1 || v.MScore > 5 {
			t.Fatalf("customer %s: scores %+v", id, v)
		}
	}
}

// TestValueMatchesIndependentRFM ingests a slice of the demo data in
// batches (the incremental path), compares every customer's frequency,
// monetary and recency with a direct computation, then again after a
// restart (the path that rebuilds from the log).
func TestValueMatchesIndependentRFM(t *testing.T) {
	evs, _, _ := demoData(t, demoPath, 3)
	dir := t.TempDir()
	s := openStore(t, dir)
	ingest(t, s, evs, 700)
	if err := s.RefreshCustomerValue(); err != nil {
		t.Fatal(err)
	}
	ref := referenceRFM(evs)
	if len(ref) < 100 {
		t.Fatalf("only %d customers in the slice", len(ref))
	}
	checkRFM(t, s, ref)
	checkPurchaseValues(t, s, evs)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s2 := openStore(t, dir)
	checkRFM(t, s2, ref)
	checkPurchaseValues(t, s2, evs)
}

// checkPurchaseValues compares each product's mean purchase value with a
// direct computation.
func checkPurchaseValues(t *testing.T, s *crm.TestStore, evs []features.Event) {
	t.Helper()
	sum, n := map[string]float64{}, map[string]float64{}
	for _, e := range evs {
		sum[e.ProductID] += e.Value
		n[e.ProductID]++
	}
	for id, total := range sum {
		p, _ := s.ProductID(id)
		got, ok := s.PurchaseValue(p)
		want := total / n[id]
		if want <= 0 {
			if ok {
				t.Fatalf("product %s: mean %v, want none", id, got)
			}
			continue
		}
		if !ok || math.Abs(got-want) > 1e-9*math.Max(1, want) {
			t.Fatalf("product %s: mean purchase %v %v, want %v", id, got, ok, want)
		}
	}
}

// TestRFMScoresAreQuintiles checks the M score splits buyers into fifths
// (monetary values are nearly all distinct) and that tiers follow the
// documented table.
func TestRFMScoresAreQuintiles(t *testing.T) {
	evs, _, _ := demoData(t, demoPath, 3)
	s := openStore(t, "")
	ingest(t, s, evs, 5000)
	if err := s.RefreshCustomerValue(); err != nil {
		t.Fatal(err)
	}
	ref := referenceRFM(evs)
	count := [6]int{}
	tiers := map[string]int{}
	for id := range ref {
		c, _ := s.CustomerID(id)
		v, _ := s.CustomerValue(c)
		count[v.MScore]++
		tiers[v.Tier]++
		fm := float64(v.FScore+v.MScore) / 2
		want := ""
		switch {
		case v.RScore >= 4 && fm >= 4:
			want = crm.TierChampions
		case v.RScore >= 3 && fm >= 3:
			want = crm.TierLoyal
		case v.RScore >= 4:
			want = crm.TierPromising
		case v.RScore == 3:
			want = crm.TierNeedsAttention
		case fm >= 3:
			want = crm.TierAtRisk
		case v.RScore == 2:
			want = crm.TierHibernating
		default:
			want = crm.TierLost
		}
		if v.Tier != want {
			t.Fatalf("customer %s: %+v, want tier %s", id, v, want)
		}
	}
	n := len(ref)
	for sc := 1; sc <= 5; sc++ {
		if d := math.Abs(float64(count[sc]) - float64(n)/5); d > float64(n)/50+2 {
			t.Errorf("M score %d: %d of %d customers, want about a fifth", sc, count[sc], n)
		}
	}
	if len(tiers) < 5 {
		t.Errorf("only tiers %v in use", tiers)
	}
}

func TestValueOfProspectAndUnknown(t *testing.T) {
	s := openStore(t, "")
	ingest(t, s, []features.Event{{CustomerID: "v", ProductID: "p", Type: "view", Timestamp: demoClock.Add(-time.Hour)}}, 10)
	c, _ := s.CustomerID("v")
	v, ok := s.CustomerValue(c)
	if !ok || v.Tier != crm.TierProspect || v.RecencyDays != -1 || v.Frequency != 0 || v.CurrentValue != 0 {
		t.Fatalf("prospect: %+v %v", v, ok)
	}
	if env := s.RuleEnv(c); !math.IsInf(env["recency_days"].(float64), 1) || env["events"] != 1 {
		t.Fatalf("prospect env: %v", env)
	}
	if _, ok := s.CustomerValue(12345); ok {
		t.Fatal("unknown customer has a value")
	}
}

// TestCurrentValue checks the estimator on a steady buyer: one purchase of
// 10 every 7 days for two years is a rate of 10/7 a day, so about 128.6
// over 90 days; the same buyer silent for a year is worth much less.
func TestCurrentValue(t *testing.T) {
	s := openStore(t, "")
	var evs []features.Event
	for d := 0; d < 730; d += 7 {
		ts := demoClock.Add(-time.Duration(730-d) * 24 * time.Hour)
		evs = append(evs, features.Event{CustomerID: "steady", ProductID: "p", Type: "purchase", Value: 10, Timestamp: ts},
			features.Event{CustomerID: "gone", ProductID: "p", Type: "purchase", Value: 10, Timestamp: ts.Add(-365 * 24 * time.Hour)})
	}
	ingest(t, s, evs, 50)
	c, _ := s.CustomerID("steady")
	v, _ := s.CustomerValue(c)
	if want := 90 * 10 / 7.0; math.Abs(v.CurrentValue-want)/want > 0.05 {
		t.Errorf("steady buyer current value %v, want about %v", v.CurrentValue, want)
	}
	g, _ := s.CustomerID("gone")
	gv, _ := s.CustomerValue(g)
	if gv.CurrentValue > v.CurrentValue/5 || gv.Monetary != v.Monetary {
		t.Errorf("lapsed buyer %+v vs steady %+v", gv, v)
	}
}

func TestValueInsights(t *testing.T) {
	evs, _, _ := demoData(t, demoPath, 3)
	s := openStore(t, "")
	ingest(t, s, evs, 5000)
	if err := s.RefreshCustomerValue(); err != nil {
		t.Fatal(err)
	}
	ref := referenceRFM(evs)
	spend := make([]float64, 0, len(ref))
	total := 0.0
	for _, r := range ref {
		spend = append(spend, r.monetary)
		total += r.monetary
	}
	sort.Sort(sort.Reverse(sort.Float64Slice(spend)))
	top := 0.0
	k := (len(spend) + 4) / 5
	for _, m := range spend[:k] {
		top += m
	}
	sum := s.ValueInsights()
	if sum.Buyers != len(ref) || sum.Customers != len(ref) || sum.TopCustomers != k {
		t.Fatalf("summary %+v, want %d buyers, top %d", sum, len(ref), k)
	}
	if math.Abs(sum.TopShare-top/total) > 1e-6 || math.Abs(sum.Revenue-total) > 1e-3 {
		t.Fatalf("top share %v revenue %v, want %v %v", sum.TopShare, sum.Revenue, top/total, total)
	}
	n, rev := 0, 0.0
	for _, tr := range sum.Tiers {
		n += tr.Customers
		rev += tr.Revenue
	}
	if n != sum.Customers || math.Abs(rev-total) > 1e-3 {
		t.Fatalf("tiers add up to %d customers, %v revenue", n, rev)
	}
}
