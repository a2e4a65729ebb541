package recommend

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"testing"
	"time"

	"github.com/affinity-rec/affinity/features"
)

func openEngine(t *testing.T, evs []features.Event) (*Engine, *features.Store) {
	t.Helper()
	o := features.DefaultOptions(t.TempDir())
	o.SyncWrites = false
	o.RefreshInterval = time.Hour
	st, err := features.Open(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if len(evs) > 0 {
		if _, err := st.Ingest(context.Background(), evs, features.IngestOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	st.Refresh()
	e, err := New(StoreDeps(st, nil), DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	return e, st
}

func at(c, p, typ string, day int) features.Event {
	return features.Event{CustomerID: c, ProductID: p, Type: typ, Timestamp: time.Date(2024, 1, day, 0, 0, 0, 0, time.UTC)}
}

func ids(l List) []string {
	var out []string
	for _, it := range l.Items {
		out = append(out, it.ProductID)
	}
	return out
}

func contains(l []string, s string) bool {
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
}

// basket world: many customers buy (a, b) together, (c, d) together.
func basketWorld() []features.Event {
	var evs []features.Event
	for i := 0; i < 20; i++ {
		c := fmt.Sprintf("u%d", i)
		evs = append(evs, at(c, "a", "purchase", 1), at(c, "b", "purchase", 2))
		if i < 10 {
			evs = append(evs, at(c, "c", "purchase", 3), at(c, "d", "purchase", 4))
		}
	}
	return evs
}

func TestPersonalExcludesWhatWasBoughtAndSeen(t *testing.T) {
	evs := append(basketWorld(), at("me", "a", "purchase", 5), at("me", "c", "view", 6))
	e, _ := openEngine(t, evs)
	ctx := context.Background()
	l, err := e.Personal(ctx, Request{CustomerID: "me", Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	got := ids(l)
	if contains(got, "a") || contains(got, "c") {
		t.Fatalf("bought or seen product recommended: %v", got)
	}
	if len(got) == 0 || got[0] != "b" && got[0] != "d" {
		t.Fatalf("associated products first: %v", got)
	}
	// With IncludeSeen the viewed product may come back, the bought one not.
	l, _ = e.Personal(ctx, Request{CustomerID: "me", Limit: 10, IncludeSeen: true})
	if contains(ids(l), "a") {
		t.Fatalf("bought product with IncludeSeen: %v", ids(l))
	}
}

func TestPersonalContextProductAndParams(t *testing.T) {
	e, _ := openEngine(t, basketWorld())
	ctx := context.Background()
	l, err := e.Personal(ctx, Request{CustomerID: "stranger", ContextProduct: "c", Limit: 1})
	if err != nil {
		t.Fatal(err)
	}
	if got := ids(l); len(got) != 1 || got[0] != "d" {
		t.Fatalf("context product c should bring d first, got %v", got)
	}
	// An unknown context product is ignored, as context_products are.
	if l, err := e.Personal(ctx, Request{CustomerID: "stranger", ContextProduct: "nope", Limit: 1}); err != nil || len(l.Items) != 1 {
		t.Fatalf("unknown context product: %v %v", ids(l), err)
	}
	l, _ = e.Personal(ctx, Request{CustomerID: "u1", Params: map[string]any{"algorithm": "popular"}})
	if l.Algorithm != "popular" {
		t.Fatalf("algorithm param ignored: %v", l.Algorithm)
	}
	l, _ = e.Personal(ctx, Request{CustomerID: "stranger", Params: map[string]any{"limit": 2.0}})
	if len(l.Items) != 2 {
		t.Fatalf("limit param: %v", ids(l))
	}
}

func TestLimitsAreCapped(t *testing.T) {
	var evs []features.Event
	for i := 0; i < 150; i++ {
		evs = append(evs, at("u", fmt.Sprintf("p%d", i), "view", 1))
	}
	e, _ := openEngine(t, evs)
	l, _ := e.Popular(context.Background(), Request{Limit: 1000})
	if len(l.Items) != e.Options().MaxLimit {
		t.Fatalf("popular returned %d items", len(l.Items))
	}
	l, _ = e.Popular(context.Background(), Request{})
	if len(l.Items) != e.Options().DefaultLimit {
		t.Fatalf("default limit: %d", len(l.Items))
	}
}

func TestRelatedLeavesOutTheCustomersPurchases(t *testing.T) {
	evs := append(basketWorld(), at("me", "b", "purchase", 5))
	e, _ := openEngine(t, evs)
	l, err := e.Related(context.Background(), Request{ProductID: "a", Basis: features.BasisBought, Limit: 5, CustomerID: "me"})
	if err != nil {
		t.Fatal(err)
	}
	if contains(ids(l), "b") || contains(ids(l), "a") {
		t.Fatalf("related for a customer who bought b: %v", ids(l))
	}
}

func TestRecommendationIDsAreUnique(t *testing.T) {
	e, _ := openEngine(t, nil)
	seen := map[string]bool{}
	for i := 0; i < 10000; i++ {
		id := e.NewRecommendationID()
		if seen[id] || len(id) > features.MaxIDLen {
			t.Fatalf("duplicate or too long id %q", id)
		}
		seen[id] = true
	}
}

func TestPopularWindow(t *testing.T) {
	now := time.Now().UTC()
	evs := []features.Event{
		{CustomerID: "u1", ProductID: "old", Type: "purchase", Timestamp: now.Add(-40 * 24 * time.Hour)},
		{CustomerID: "u2", ProductID: "old", Type: "purchase", Timestamp: now.Add(-40 * 24 * time.Hour)},
		{CustomerID: "u3", ProductID: "new", Type: "purchase", Timestamp: now.Add(-time.Hour)},
	}
	e, _ := openEngine(t, evs)
	l, _ := e.Popular(context.Background(), Request{Window: 7 * 24 * time.Hour})
	if got := ids(l); len(got) != 1 || got[0] != "new" {
		t.Fatalf("7-day window: %v", got)
	}
	l, _ = e.Popular(context.Background(), Request{})
	if got := ids(l); len(got) != 2 || got[0] != "old" {
		t.Fatalf("all time: %v", got)
	}
}

func TestPersonalCacheNeverServesStaleLists(t *testing.T) {
	evs := basketWorld()
	for i := 0; i < 40; i++ { // a long history, so the list is cached
		evs = append(evs, at("heavy", "a", "view", 1+i%20))
	}
	e, st := openEngine(t, evs)
	ctx := context.Background()
	req := Request{CustomerID: "heavy", Limit: 3, Filter: features.Filter{InStock: true}}
	first, _ := e.Personal(ctx, req)
	again, _ := e.Personal(ctx, req)
	if len(first.Items) == 0 || ids(first)[0] != ids(again)[0] {
		t.Fatalf("lists differ without a change: %v vs %v", ids(first), ids(again))
	}
	top := ids(first)[0]
	// A purchase changes the history: the bought product must go at once.
	if _, err := st.Ingest(ctx, []features.Event{{CustomerID: "heavy", ProductID: top, Type: "purchase"}}, features.IngestOptions{}); err != nil {
		t.Fatal(err)
	}
	l, _ := e.Personal(ctx, req)
	if contains(ids(l), top) {
		t.Fatalf("bought %s still served from the cache: %v", top, ids(l))
	}
	// A catalogue change (out of stock) must show too.
	next := ids(l)[0]
	if err := st.PutProduct(next, features.Product{Available: false}); err != nil {
		t.Fatal(err)
	}
	l, _ = e.Personal(ctx, req)
	if contains(ids(l), next) {
		t.Fatalf("out-of-stock %s still served from the cache: %v", next, ids(l))
	}
}

// TestPersonalScoringBothWays checks personal lists against a brute-force
// sum of affinity x neighbour weight, with scatter forced to add blindly
// over the catalogue and forced to track what it touched.
func TestPersonalScoringBothWays(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 5))
	var evs []features.Event
	for c := range 150 {
		for range 3 + r.IntN(10) {
			p := int(float64(60) * r.Float64() * r.Float64()) // skewed popularity
			evs = append(evs, at(fmt.Sprintf("c%d", c), fmt.Sprintf("p%02d", p), "purchase", 1+r.IntN(28)))
		}
	}
	o := DefaultOptions()
	o.CacheEntries = 0
	_, st := openEngine(t, evs)
	e, err := New(StoreDeps(st, nil), o)
	if err != nil {
		t.Fatal(err)
	}
	m := st.Model()
	for c := range 150 {
		cust := fmt.Sprintf("c%d", c)
		id, _ := st.CustomerID(cust)
		hist := st.HistoryView(id)
		want := map[uint32]float64{}
		for _, a := range e.affinity(hist, o.HalfLife, features.RepeatLinear) {
			for _, n := range m.NeighboursOf(o.Basis, a.Product) {
				want[n.Product] += float64(a.Score) * float64(n.Score)
			}
		}
		for _, in := range hist {
			delete(want, in.Product)
		}
		var ref []string
		for p, v := range want {
			if v > 1e-6 {
				ref = append(ref, st.ProductName(p))
			}
		}
		sort.Slice(ref, func(i, j int) bool {
			pi, _ := st.ProductID(ref[i])
			pj, _ := st.ProductID(ref[j])
			if math.Abs(want[pi]-want[pj]) > 1e-5 {
				return want[pi] > want[pj]
			}
			return ref[i] < ref[j]
		})
		var lists [2][]string
		for i, ds := range []int{1 << 20, 0} {
			e.denseScatter = ds
			l, err := e.Personal(context.Background(), Request{CustomerID: cust, Limit: 5})
			if err != nil {
				t.Fatal(err)
			}
			lists[i] = ids(l)
			for j, p := range ref[:min(len(ref), 5)] {
				if j >= len(lists[i]) || lists[i][j] != p {
					pid, _ := st.ProductID(p)
					t.Fatalf("%s (denseScatter %d): got %v, want %v first (score %v)", cust, ds, lists[i], ref[:min(len(ref), 5)], want[pid])
				}
			}
		}
		if !slices.Equal(lists[0], lists[1]) {
			t.Fatalf("%s: the two ways disagree: %v and %v", cust, lists[0], lists[1])
		}
	}
}
