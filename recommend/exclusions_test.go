package recommend

import (
	"context"
	"fmt"
	"reflect"
	"testing"

	"github.com/affinity-rec/affinity/features"
)

// TestExclusionCacheIsExact checks that a customer whose history is long
// enough for the exclusion cache gets, as the history grows (new products,
// purchases, a product newer than the model, a merge that gives them a new
// history), the very lists of an engine that walks the whole history.
func TestExclusionCacheIsExact(t *testing.T) {
	var evs []features.Event
	for c := range 40 {
		for i := range 5 {
			evs = append(evs, at(fmt.Sprintf("bg%d", c), fmt.Sprintf("p%d", (c*7+i*3)%60), "purchase", 1+i))
		}
	}
	for i := range exclMinHistory + 20 {
		evs = append(evs, at("long", fmt.Sprintf("p%d", i%30), "view", 1+i%20))
	}
	evs = append(evs, at("other", "p55", "purchase", 3), at("other", "p56", "view", 3))
	e, st := openEngine(t, evs)
	o := DefaultOptions()
	o.CacheEntries = 0 // every request scores, and so marks
	cached, err := New(StoreDeps(st, nil), o)
	if err != nil {
		t.Fatal(err)
	}
	_ = e
	check := func(step string) {
		t.Helper()
		fresh, err := New(StoreDeps(st, nil), o)
		if err != nil {
			t.Fatal(err)
		}
		for _, seen := range []bool{false, true} {
			for range 2 { // the second request reads the entry the first left
				r := Request{CustomerID: "long", Limit: 20, IncludeSeen: seen}
				got, err1 := cached.Personal(context.Background(), r)
				want, err2 := fresh.Personal(context.Background(), r)
				if err1 != nil || err2 != nil {
					t.Fatal(err1, err2)
				}
				if !reflect.DeepEqual(got.Items, want.Items) {
					t.Fatalf("%s, include seen %v: cached %v, want %v", step, seen, got.Items, want.Items)
				}
			}
		}
	}
	ingest := func(evs ...features.Event) {
		t.Helper()
		if _, err := st.Ingest(context.Background(), evs, features.IngestOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	check("start")
	ingest(at("long", "p40", "view", 21), at("long", "p41", "purchase", 21), at("long", "p3", "purchase", 21))
	check("new products and purchases")
	st.Refresh()
	check("refreshed")
	ingest(at("long", "brand-new", "purchase", 22), at("long", "p42", "view", 22))
	check("a product newer than the model")
	if _, err := st.MergeCustomers("other", "long"); err != nil {
		t.Fatal(err)
	}
	check("merged")
	ingest(at("long", "p50", "view", 23))
	check("after the merge")
}
