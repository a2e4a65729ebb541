package recommend

import (
	"context"
	"testing"

	"github.com/affinity-rec/affinity/features"
)

// TestPopularFromCatalogueBeforeEvents: a store with products but no events
// yet answers popular (and a new customer's list) from the catalogue instead
// of an empty list, and still applies filters.
func TestPopularFromCatalogueBeforeEvents(t *testing.T) {
	e, st := openEngine(t, nil)
	for _, p := range []struct {
		id, cat string
	}{{"a", "cups"}, {"b", "plates"}, {"c", "cups"}} {
		if err := st.PutProduct(p.id, features.Product{Category: p.cat, Price: 1, Available: true}); err != nil {
			t.Fatal(err)
		}
	}
	ctx := context.Background()
	l, err := e.Popular(ctx, Request{Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	if got := ids(l); len(got) != 3 {
		t.Fatalf("popular with an event-less catalogue: %v, want 3 products", got)
	}
	l, err = e.Popular(ctx, Request{Limit: 10, Filter: features.Filter{Category: "cups"}})
	if err != nil {
		t.Fatal(err)
	}
	if got := ids(l); len(got) != 2 || contains(got, "b") {
		t.Fatalf("filtered popular: %v, want a and c", got)
	}
	l, err = e.Personal(ctx, Request{CustomerID: "nobody", Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	if len(l.Items) == 0 {
		t.Fatal("a new customer's list is empty while the catalogue has products")
	}
}
