package crm_test

import (
	"fmt"
	"math"
	"math/rand"
	"testing"
	"time"

	"github.com/affinity-rec/affinity/features"
	"github.com/affinity-rec/affinity/features/clv"
	"github.com/affinity-rec/affinity/features/crm"
)

// referenceSummaries computes each buyer's BTYD summary at now directly
// from the events: orders merged per UTC day, times in days, the mean
// revenue of the days after the first.
func referenceSummaries(evs []features.Event, now time.Time) map[string]clv.Summary {
	days := map[string]map[int64]float64{}
	for _, e := range evs {
		if e.Type != "purchase" {
			continue
		}
		if days[e.CustomerID] == nil {
			days[e.CustomerID] = map[int64]float64{}
		}
		days[e.CustomerID][e.Timestamp.Unix()/86400] += e.Value
	}
	out := map[string]clv.Summary{}
	for id, ds := range days {
		first, last, total := int64(math.MaxInt64), int64(math.MinInt64), 0.0
		for d, v := range ds {
			first, last, total = min(first, d), max(last, d), total+v
		}
		s := clv.Summary{Frequency: len(ds) - 1, Recency: float64(last - first)}
		s.Age = math.Max(float64(now.Unix())/86400-float64(first), s.Recency)
		if s.Frequency > 0 {
			s.MeanValue = math.Max(0, (total-ds[first])/float64(s.Frequency))
		}
		out[id] = s
	}
	return out
}

// TestChurnModelOnDemoData ingests the demo data in shuffled batches (the
// out-of-order incremental path), refreshes, and compares the published
// model and every buyer's churn_risk, p_alive and expected_value with a
// fit of the same models on summaries computed directly from the events;
// then again after a restart (the path that rebuilds from the log).
func TestChurnModelOnDemoData(t *testing.T) {
	evs, _, _ := demoData(t, demoPath, 1)
	evs = append([]features.Event(nil), evs...)
	rand.New(rand.NewSource(7)).Shuffle(len(evs), func(i, j int) { evs[i], evs[j] = evs[j], evs[i] })
	dir := t.TempDir()
	s := openStore(t, dir)
	ingest(t, s, evs, 1000)
	ref := referenceSummaries(evs, demoClock)
	var sums []clv.Summary
	for _, sm := range ref {
		sums = append(sums, sm)
	}
	bg, err := clv.FitBGNBD(sums)
	if err != nil {
		t.Fatal(err)
	}
	gg, err := clv.FitGammaGamma(sums)
	if err != nil {
		t.Fatal(err)
	}
	for round := range 2 {
		if err := s.RefreshCustomerValue(); err != nil {
			t.Fatal(err)
		}
		m := s.ValueInsights().Model
		if m == nil || m.Customers != len(ref) || m.HorizonDays != 90 || !m.AsOf.Equal(demoClock) {
			t.Fatalf("round %d: model %+v, want one fitted on %d buyers at %v", round, m, len(ref), demoClock)
		}
		// Nelder-Mead from the same start on the same data (in another
		// order) lands on the same optimum, to far better than 0.1%.
		near := func(name string, got, want float64) {
			if math.Abs(got-want) > 1e-3*math.Abs(want)+1e-9 {
				t.Fatalf("round %d: %s = %v, the direct fit gives %v", round, name, got, want)
			}
		}
		near("r", m.BGNBD.R, bg.R)
		near("alpha_days", m.BGNBD.AlphaDays, bg.Alpha)
		near("p", m.GammaGamma.P, gg.P)
		near("q", m.GammaGamma.Q, gg.Q)
		near("gamma", m.GammaGamma.Gamma, gg.Gamma)
		checkScores(t, s, ref, bg, gg)
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		s = openStore(t, dir)
	}
}

// checkScores compares every buyer's model figures with the direct ones
// (to 1e-4: the fits agree to their tolerance, not to the last digit).
func checkScores(t *testing.T, s *crm.TestStore, ref map[string]clv.Summary, bg clv.BGNBD, gg clv.GammaGamma) {
	t.Helper()
	for id, sm := range ref {
		c, _ := s.CustomerID(id)
		v, ok := s.CustomerValue(c)
		if !ok || v.ChurnRisk == nil || v.PAlive == nil || v.ExpectedValue == nil {
			t.Fatalf("customer %s: no model figures in %+v", id, v)
		}
		want := []float64{bg.PNoPurchase(sm, 90), bg.PAlive(sm), clv.ExpectedRevenue(bg, gg, sm, 90)}
		got := []float64{*v.ChurnRisk, *v.PAlive, *v.ExpectedValue}
		for i, name := range []string{"churn_risk", "p_alive", "expected_value"} {
			if math.Abs(got[i]-want[i]) > 1e-4*math.Max(1, want[i]) {
				t.Fatalf("customer %s: %s = %v, want %v (summary %+v)", id, name, got[i], want[i], sm)
			}
		}
		env := s.RuleEnv(c)
		if env["churn_risk"] != *v.ChurnRisk || env["expected_value"] != *v.ExpectedValue || env["p_alive"] != *v.PAlive {
			t.Fatalf("customer %s: rule env %v, profile %+v", id, env, v)
		}
	}
}

// TestChurnFieldsWaitForAFit: with fewer buyers than a fit needs, the
// model figures are absent (nil, JSON null), insights show no model, and a
// rule over churn_risk matches nobody either way (NaN in the rule env);
// once there are enough buyers, a refresh fits and a segment over
// churn_risk and expected_value matches the profiles' figures.
func TestChurnFieldsWaitForAFit(t *testing.T) {
	s := openStore(t, "")
	at := demoClock.Add(-400 * 24 * time.Hour)
	buy := func(c string, n int, every time.Duration, value float64) {
		var evs []features.Event
		for i := range n {
			evs = append(evs, features.Event{CustomerID: c, ProductID: fmt.Sprint("p", i%7), Type: "purchase",
				Value: value, Timestamp: at.Add(time.Duration(i) * every)})
		}
		ingest(t, s, evs, len(evs))
	}
	for i := range 10 {
		buy(fmt.Sprint("early", i), 1+i%4, 20*24*time.Hour, 10)
	}
	if err := s.RefreshCustomerValue(); err != nil {
		t.Fatal(err)
	}
	c, _ := s.CustomerID("early3")
	if v, _ := s.CustomerValue(c); v.ChurnRisk != nil || v.PAlive != nil || v.ExpectedValue != nil {
		t.Fatalf("model figures before any fit: %+v", v)
	}
	if m := s.ValueInsights().Model; m != nil {
		t.Fatalf("a model from 10 buyers: %+v", m)
	}
	for _, rule := range []string{"churn_risk > 0.5", "churn_risk <= 0.5"} {
		if g, err := s.PutSegment("unfitted", rule); err != nil || g.Members != 0 {
			t.Fatalf("%s before a fit: %+v, %v", rule, g, err)
		}
	}
	for i := range 60 {
		// Regulars, some of whom stopped long ago.
		buy(fmt.Sprint("c", i), 2+i%9, time.Duration(3+i%20)*24*time.Hour, float64(5+i%13))
	}
	if err := s.RefreshCustomerValue(); err != nil {
		t.Fatal(err)
	}
	g, err := s.PutSegment("slipping", "churn_risk > 0.5 && expected_value > 1")
	if err != nil {
		t.Fatal(err)
	}
	want := 0
	for id := 0; id < s.NumCustomers(); id++ {
		v, ok := s.CustomerValue(uint32(id))
		if !ok || v.ChurnRisk == nil {
			t.Fatalf("customer %d: %+v after a fit", id, v)
		}
		if *v.ChurnRisk > 0.5 && *v.ExpectedValue > 1 {
			want++
		}
	}
	if g.Members != want || want == 0 || want == s.NumCustomers() {
		t.Fatalf("segment over the model: %d members, profiles say %d of %d", g.Members, want, s.NumCustomers())
	}
}
