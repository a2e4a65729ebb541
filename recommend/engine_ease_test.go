package recommend

import (
	"context"
	"fmt"
	"testing"

	"github.com/affinity-rec/affinity/features"
)

// substituteWorld: tea buyers take either green or black tea, rarely both,
// and cups go with both; EASE gives green -> black a negative weight.
func substituteWorld() []features.Event {
	var evs []features.Event
	for i := range 30 {
		c := fmt.Sprintf("t%d", i)
		tea := "green"
		if i%2 == 1 {
			tea = "black"
		}
		evs = append(evs, at(c, tea, "purchase", 1), at(c, "cup", "purchase", 2))
	}
	for i := range 30 {
		evs = append(evs, at(fmt.Sprintf("o%d", i), "black", "purchase", 1), at(fmt.Sprintf("o%d", i), "cup", "purchase", 2))
	}
	return append(evs, at("g1", "green", "purchase", 3))
}

func TestNegativeWeightsAreNeverShown(t *testing.T) {
	e, st := openEngine(t, substituteWorld())
	ctx := context.Background()
	green, _ := st.ProductID("green")
	black, _ := st.ProductID("black")
	neg := false
	for _, n := range st.Model().NeighboursOf(features.BasisBought, green) {
		if n.Product == black && n.Score < 0 {
			neg = true
		}
	}
	if !neg {
		t.Fatalf("green -> black should be a negative EASE weight: %v", st.Model().NeighboursOf(features.BasisBought, green))
	}
	l, err := e.Related(ctx, Request{ProductID: "green", Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	for _, it := range l.Items {
		if it.Score <= 0 || it.ProductID == "black" {
			t.Errorf("related(green) shows %s with score %v", it.ProductID, it.Score)
		}
	}
	// A customer who bought only green tea: black tea sums to a negative
	// score, so it is no personal pick; cup is, and only the popular
	// top-up may bring black tea, below it.
	l, err = e.Personal(ctx, Request{CustomerID: "g1", Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	if len(l.Items) == 0 || l.Items[0].ProductID != "cup" {
		t.Fatalf("green-tea buyer: %v, want cup first", l.Items)
	}
	for _, it := range l.Items[1:] {
		if it.Score <= 0 || it.Score > l.Items[0].Score/2 {
			t.Errorf("%s (%v) is not a popular top-up below cup (%v): %v", it.ProductID, it.Score, l.Items[0].Score, l.Items)
		}
	}
}

func TestRebuyKnob(t *testing.T) {
	evs := append(basketWorld(),
		at("me", "a", "purchase", 5), at("me", "a", "purchase", 6), at("me", "a", "purchase", 7),
		at("me", "c", "purchase", 7))
	e, _ := openEngine(t, evs)
	ctx := context.Background()
	plain, err := e.Personal(ctx, Request{CustomerID: "me", Limit: 4})
	if err != nil {
		t.Fatal(err)
	}
	if contains(ids(plain), "a") || contains(ids(plain), "c") {
		t.Fatalf("bought products without rebuy: %v", ids(plain))
	}
	re, err := e.Personal(ctx, Request{CustomerID: "me", Limit: 4, Params: map[string]any{"rebuy": 0.3}})
	if err != nil {
		t.Fatal(err)
	}
	got := ids(re)
	if len(got) == 0 || got[0] != "a" {
		t.Fatalf("with rebuy, the product bought three times should lead: %v", re.Items)
	}
	if !contains(got, "b") {
		t.Errorf("with rebuy the associations stay: %v", got)
	}
	// The product being looked at is still left out.
	re, _ = e.Personal(ctx, Request{CustomerID: "me", ContextProduct: "a", Limit: 4, Params: map[string]any{"rebuy": 0.3}})
	if contains(ids(re), "a") {
		t.Errorf("context product recommended with rebuy: %v", ids(re))
	}
	// Bad values are ignored, not errors: an experiment variant's knob.
	for _, v := range []any{-1.0, "x", 0.0} {
		l, err := e.Personal(ctx, Request{CustomerID: "me", Limit: 4, Params: map[string]any{"rebuy": v}})
		if err != nil || contains(ids(l), "a") {
			t.Errorf("rebuy %v: %v, %v", v, ids(l), err)
		}
	}
}
