package recommend

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/affinity-rec/affinity/features"
)

// driftWorld: 8 groups of 5 products; every customer bought 4 of one
// group in their first 75 days, then 3 of the next group from day 300.
func driftWorld() []features.Event {
	r := rand.New(rand.NewPCG(4, 4))
	t0 := time.Date(2023, 1, 1, 0, 0, 0, 0, time.UTC)
	var evs []features.Event
	buy := func(c string, g, k, day int) {
		evs = append(evs, features.Event{CustomerID: c, ProductID: fmt.Sprintf("g%d-%d", g, k), Type: "purchase",
			Timestamp: t0.Add(time.Duration(day) * 24 * time.Hour)})
	}
	for c := range 300 {
		old := r.IntN(8)
		for i, k := range r.Perm(5)[:4] {
			buy(fmt.Sprintf("c%d", c), old, k, i*25)
		}
		for i, k := range r.Perm(5)[:3] {
			buy(fmt.Sprintf("c%d", c), (old+1)%8, k, 300+i*30)
		}
	}
	// probe: four of group 0 long ago, one of group 1 lately.
	for k := range 4 {
		buy("probe", 0, k, k*25)
	}
	buy("probe", 1, 0, 360)
	return evs
}

// TestPersonalUsesTuning: the engine ranks with the half-life the model
// chose (the store's default of a year would rank the old taste first),
// and a purchase still changes the next answer at once.
func TestPersonalUsesTuning(t *testing.T) {
	o := features.DefaultOptions(t.TempDir())
	o.SyncWrites, o.RefreshInterval = false, time.Hour
	o.TuneDefaults.HalfLifeDays = 365
	st, err := features.Open(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	ctx := context.Background()
	if _, err := st.Ingest(ctx, driftWorld(), features.IngestOptions{}); err != nil {
		t.Fatal(err)
	}
	st.Refresh()
	tn := st.Model().Tuned
	if tn == nil || tn.HalfLifeDays == 0 || tn.HalfLifeDays >= 365 {
		t.Fatalf("tuning %+v, want a half-life under a year", tn)
	}
	untunedOpts := DefaultOptions()
	untunedOpts.HalfLife, untunedOpts.UseTuning = 365*24*time.Hour, false
	untuned, _ := New(StoreDeps(st, nil), untunedOpts)
	tuned, _ := New(StoreDeps(st, nil), DefaultOptions())
	top := func(e *Engine) string {
		l, err := e.Personal(ctx, Request{CustomerID: "probe", Limit: 3})
		if err != nil || len(l.Items) == 0 {
			t.Fatalf("personal: %v %v", l, err)
		}
		return l.Items[0].ProductID
	}
	if got := top(untuned); !strings.HasPrefix(got, "g0-") {
		t.Fatalf("a year's half-life ranks %s first, want the old taste (g0)", got)
	}
	first := top(tuned)
	if !strings.HasPrefix(first, "g1-") {
		t.Errorf("tuned engine ranks %s first, want the new taste (g1)", first)
	}
	if _, err := st.Ingest(ctx, []features.Event{{CustomerID: "probe", ProductID: first, Type: "purchase",
		Timestamp: time.Date(2024, 1, 2, 0, 0, 0, 0, time.UTC)}}, features.IngestOptions{}); err != nil {
		t.Fatal(err)
	}
	l, _ := tuned.Personal(ctx, Request{CustomerID: "probe", Limit: 3})
	if slices.Contains(ids(l), first) {
		t.Errorf("after buying %s it is still recommended: %v", first, ids(l))
	}
}

// TestPersonalBlendsPopularity: when customers buy three products each,
// at random but with a steep popularity, the associations are noise and
// the tuner blends in popularity; the engine then ranks the best sellers
// the customer does not have first, with blended scores.
func TestPersonalBlendsPopularity(t *testing.T) {
	r := rand.New(rand.NewPCG(8, 8))
	t0 := time.Date(2023, 1, 1, 0, 0, 0, 0, time.UTC)
	var evs []features.Event
	for c := range 400 {
		seen := map[int]bool{}
		for len(seen) < 3 {
			p := int(60 * r.Float64() * r.Float64() * r.Float64()) // steeply skewed to low ids
			if !seen[p] {
				seen[p] = true
				evs = append(evs, features.Event{CustomerID: fmt.Sprintf("c%d", c), ProductID: fmt.Sprintf("p%02d", p),
					Type: "purchase", Timestamp: t0.Add(time.Duration(len(seen)) * time.Hour)})
			}
		}
	}
	e, st := openEngine(t, evs)
	tn := st.Model().Tuned
	if tn == nil || tn.PopWeight == 0 {
		t.Fatalf("tuning %+v, want a popularity blend", tn)
	}
	l, err := e.Personal(context.Background(), Request{CustomerID: "c0", Limit: 3})
	if err != nil {
		t.Fatal(err)
	}
	// The scores are the blended ones: at least the popularity term of a
	// product with a positive association score, where the plain scores
	// (EASE sums) are far below it.
	plainOpts := DefaultOptions()
	plainOpts.UseTuning = false
	plain, _ := New(StoreDeps(st, nil), plainOpts)
	pl, _ := plain.Personal(context.Background(), Request{CustomerID: "c0", Limit: 3})
	top, _ := st.ProductID(l.Items[0].ProductID)
	m := st.Model()
	prior := tn.PopWeight * float64(m.SupportOf(features.BasisAny, top)) / float64(m.Popular[features.BasisAny][0].Score)
	if l.Items[0].Score < prior-1e-5 || pl.Items[0].Score >= prior {
		t.Errorf("top score %v (plain %v), want the blend's, at least the prior %v", l.Items[0].Score, pl.Items[0].Score, prior)
	}
	var want []string
	own := map[string]bool{}
	for _, in := range st.HistoryView(mustID(t, st, "c0")) {
		own[st.ProductName(in.Product)] = true
	}
	for _, n := range st.Model().Popular[features.BasisAny] {
		if name := st.ProductName(n.Product); !own[name] && len(want) < 3 {
			want = append(want, name)
		}
	}
	// The associations still tell close best sellers apart: the first two
	// are the two best sellers.
	if got := ids(l); len(got) != 3 || !slices.Equal(got[:2], want[:2]) {
		t.Errorf("c0 (owns %v) gets %v, want the best sellers %v first (popularity weight %v)", own, got, want, tn.PopWeight)
	}
}

func mustID(t *testing.T, st *features.Store, c string) uint32 {
	t.Helper()
	id, ok := st.CustomerID(c)
	if !ok {
		t.Fatalf("no customer %s", c)
	}
	return id
}
