package recommend

import (
	"context"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/affinity-rec/affinity/features"
	"github.com/affinity-rec/affinity/features/similarity"
)

func list(n int) []similarity.Neighbour {
	ns := make([]similarity.Neighbour, n)
	for i := range ns {
		ns[i] = similarity.Neighbour{Product: uint32(i), Score: float32(n - i)}
	}
	return ns
}

// TestTrimRows checks the budget's split: within budget (but for the
// one-neighbour floors), more of the list for a stronger affinity, whole
// short lists, and the budget a short list leaves to the others.
func TestTrimRows(t *testing.T) {
	rows := []scatterRow{{w: 16, ns: list(200)}, {w: 4, ns: list(200)}, {w: 1, ns: list(200)}, {w: 64, ns: list(10)}, {w: 0, ns: list(50)}, {w: -4, ns: list(200)}}
	kept := trimRows(rows, 300)
	sum := 0
	for _, r := range rows {
		sum += len(r.ns)
	}
	if kept != sum || kept > 300+len(rows) {
		t.Fatalf("kept %d, rows hold %d, budget 300", kept, sum)
	}
	if len(rows[3].ns) != 10 {
		t.Errorf("a short list of a strong product is cut to %d", len(rows[3].ns))
	}
	if !(len(rows[0].ns) > len(rows[1].ns) && len(rows[1].ns) > len(rows[2].ns)) {
		t.Errorf("prefixes %d, %d, %d do not follow the affinities 16, 4, 1", len(rows[0].ns), len(rows[1].ns), len(rows[2].ns))
	}
	if len(rows[1].ns) != len(rows[5].ns) {
		t.Errorf("affinity -4 got %d, 4 got %d: the share is by magnitude", len(rows[5].ns), len(rows[1].ns))
	}
	if len(rows[4].ns) != 1 {
		t.Errorf("a zero affinity keeps %d neighbours, want the floor of 1", len(rows[4].ns))
	}
	if kept < 290 {
		t.Errorf("kept %d of a 300 budget: the short list's share was not passed on", kept)
	}
	for i, r := range rows {
		if len(r.ns) > 0 && r.ns[0].Product != 0 {
			t.Errorf("row %d is not a prefix", i)
		}
	}
}

// TestScatterBudgetApplies checks where the budget applies: not under it
// (the lists are exact), never to EASE's lists, and to counted lists over
// it, which still exclude what the customer has.
func TestScatterBudgetApplies(t *testing.T) {
	var evs []features.Event
	for c := range 60 {
		for i := range 4 {
			evs = append(evs, at(fmt.Sprintf("c%d", c), fmt.Sprintf("p%d", (c*7+i*i*3+i)%25), "purchase", 1+i))
		}
	}
	evs = append(evs, at("u", "p0", "purchase", 5), at("u", "p0", "purchase", 6), at("u", "p0", "purchase", 7), at("u", "p1", "view", 7), at("u", "p2", "view", 7))
	for _, sim := range []features.Similarity{features.SimEASE, features.SimJaccard} {
		st := simStore(t, sim, evs)
		list := func(budget int) List {
			eo := DefaultOptions()
			eo.CacheEntries, eo.ScatterBudget = 0, budget
			e, err := New(StoreDeps(st, nil), eo)
			if err != nil {
				t.Fatal(err)
			}
			l, err := e.Personal(context.Background(), Request{CustomerID: "u", Limit: 8})
			if err != nil {
				t.Fatal(err)
			}
			return l
		}
		exact := list(0)
		if big := list(1 << 20); !reflect.DeepEqual(big, exact) {
			t.Errorf("%s: under the budget %v, exact %v", sim, big, exact)
		}
		tiny := list(3)
		if sim == features.SimEASE {
			if !reflect.DeepEqual(tiny, exact) {
				t.Errorf("EASE lists were cut: %v, exact %v", tiny, exact)
			}
			continue
		}
		if reflect.DeepEqual(tiny, exact) {
			t.Errorf("jaccard: a budget of 3 pairs changed nothing: %v", tiny)
		}
		for _, it := range tiny.Items {
			if it.ProductID == "p0" || it.ProductID == "p1" || it.ProductID == "p2" {
				t.Errorf("jaccard, budget 3: %s is the customer's", it.ProductID)
			}
		}
		if len(tiny.Items) != 8 {
			t.Errorf("jaccard, budget 3: %d items, want 8 (the popular top-up)", len(tiny.Items))
		}
	}
}

// simStore is a store in a temp dir holding evs, its lists built with sim
// (no tuner, no background refresh).
func simStore(t *testing.T, sim features.Similarity, evs []features.Event) *features.Store {
	t.Helper()
	o := features.DefaultOptions(t.TempDir())
	o.SyncWrites, o.RefreshInterval = false, time.Hour
	o.Neighbours.Similarity, o.Neighbours.Tune = sim, false
	st, err := features.Open(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if _, err := st.Ingest(context.Background(), evs, features.IngestOptions{}); err != nil {
		t.Fatal(err)
	}
	st.Refresh()
	return st
}
