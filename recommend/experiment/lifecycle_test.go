package experiment

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/affinity-rec/affinity/features"
)

func TestResultsSurviveRestart(t *testing.T) {
	dir := t.TempDir()
	st := expTestStore(t, dir)
	prods := seedProducts(t, st, 10)
	x := expTestService(t, st, nil)
	mustPut(t, x, ab("persist", StatusRunning, 1, 1))
	variants := exposeAll(t, x, "persist", 300, prods, nil)
	var evs []features.Event
	for i := 0; i < 300; i += 3 {
		rec := fmt.Sprintf("persist-r%d", i)
		evs = append(evs, features.Event{CustomerID: fmt.Sprintf("u%d", i), ProductID: prods[0], Type: "click", RecommendationID: rec})
		if i%2 == 0 {
			evs = append(evs, features.Event{CustomerID: fmt.Sprintf("u%d", i), ProductID: prods[1], Type: "purchase", Value: 20, RecommendationID: rec})
		}
	}
	if _, err := st.Ingest(context.Background(), evs, features.IngestOptions{}); err != nil {
		t.Fatal(err)
	}
	before := mustResults(t, x, "persist")
	// Close without an explicit flush: Close must log what is queued.
	x.Expose("persist", variants[0], "late-rec", "u0", false, prods[:3])
	if err := x.Close(); err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	x2 := expTestService(t, expTestStore(t, dir), nil)
	after := mustResults(t, x2, "persist")
	var clicks, conv int64
	for i := range before.Variants {
		b, a := before.Variants[i], after.Variants[i]
		clicks += a.Clicks
		conv += a.Conversions
		want := b.Exposures
		if b.Name == variants[0] {
			want++ // the late exposure, queued when Close was called
		}
		if a.Name != b.Name || a.Exposures != want || a.Customers != b.Customers || a.Clicks != b.Clicks ||
			a.Conversions != b.Conversions || a.Revenue != b.Revenue || a.ConversionRate != b.ConversionRate || a.Lift != b.Lift {
			t.Errorf("after restart\n got %+v\nwant %+v (exposures %d)", a, b, want)
		}
	}
	if clicks != 100 || conv != 50 {
		t.Errorf("clicks %d conversions %d after restart, want 100 and 50", clicks, conv)
	}
}

func TestEraseCustomer(t *testing.T) {
	dir := t.TempDir()
	st := expTestStore(t, dir)
	prods := seedProducts(t, st, 5)
	x := expTestService(t, st, nil)
	mustPut(t, x, ab("gdpr", StatusRunning, 1, 1))
	ctx := context.Background()
	for _, u := range []string{"alice", "bob"} {
		v, _, _ := x.Enrol(ctx, "gdpr", "", u)
		for k := range 3 {
			x.Expose("gdpr", v, fmt.Sprintf("%s-%d", u, k), u, false, prods[:3])
		}
	}
	// Bob also buys from a list Alice was shown (a shared device).
	evs := []features.Event{
		{CustomerID: "alice", ProductID: prods[0], Type: "click", RecommendationID: "alice-0"},
		{CustomerID: "alice", ProductID: prods[1], Type: "purchase", Value: 30, RecommendationID: "alice-1"},
		{CustomerID: "bob", ProductID: prods[1], Type: "purchase", Value: 70, RecommendationID: "bob-0"},
		{CustomerID: "bob", ProductID: prods[2], Type: "purchase", Value: 5, RecommendationID: "alice-2"},
	}
	if _, err := st.Ingest(ctx, evs, features.IngestOptions{}); err != nil {
		t.Fatal(err)
	}
	mustFlush(t, x)
	if n := countLog(t, st, exposureLogKind); n != 6 {
		t.Fatalf("exposure log holds %d entries, want 6", n)
	}
	if err := st.EraseCustomer("bob"); err != nil {
		t.Fatal(err)
	}
	r := mustResults(t, x, "gdpr") // the flush inside orders it after the erasure
	var exps, custs, conv int64
	var rev float64
	for _, v := range r.Variants {
		exps += v.Exposures
		custs += v.Customers
		conv += v.Conversions
		rev += v.Revenue
	}
	if exps != 3 || custs != 1 || conv != 1 || rev != 30 {
		t.Fatalf("after erasing bob: exposures %d customers %d conversions %d revenue %g; want 3, 1, 1, 30", exps, custs, conv, rev)
	}
	if n := countLog(t, st, exposureLogKind); n != 3 {
		t.Errorf("exposure log holds %d entries after erasure, want 3", n)
	}
	if n := countLog(t, st, outcomeLogKind); n != 2 {
		t.Errorf("outcome log holds %d entries after erasure, want alice's 2", n)
	}
	x.Close()
	st.Close()
	x2 := expTestService(t, expTestStore(t, dir), nil)
	r2 := mustResults(t, x2, "gdpr")
	if fmt.Sprintf("%+v", r2) != fmt.Sprintf("%+v", r) {
		t.Errorf("erasure did not survive a restart:\n got %+v\nwant %+v", r2, r)
	}
}

func TestDeleteExperiment(t *testing.T) {
	st := expTestStore(t, "")
	prods := seedProducts(t, st, 5)
	x := expTestService(t, st, nil)
	mustPut(t, x, ab("gone", StatusRunning, 1, 1))
	mustPut(t, x, ab("kept", StatusRunning, 1, 1))
	exposeAll(t, x, "gone", 50, prods, nil)
	exposeAll(t, x, "kept", 20, prods, nil)
	mustFlush(t, x)
	if err := x.Delete(context.Background(), "gone"); err != nil {
		t.Fatal(err)
	}
	if _, err := x.Get("gone"); !errors.Is(err, features.ErrNotFound) {
		t.Fatalf("Get after Delete: %v", err)
	}
	if err := x.Delete(context.Background(), "gone"); !errors.Is(err, features.ErrNotFound) {
		t.Fatalf("second Delete: %v", err)
	}
	if n := countLog(t, st, exposureLogKind); n != 20 {
		t.Errorf("exposure log holds %d entries, want the other experiment's 20", n)
	}
	mustPut(t, x, ab("gone", StatusRunning, 1, 1))
	for _, v := range mustResults(t, x, "gone").Variants {
		if v.Exposures != 0 {
			t.Errorf("a recreated experiment inherited exposures: %+v", v)
		}
	}
	if got := len(x.List()); got != 2 {
		t.Errorf("List has %d experiments, want 2", got)
	}
}
