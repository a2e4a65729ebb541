package eval

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/affinity-rec/affinity/features"
)

func TestNextPurchases(t *testing.T) {
	train := []features.Event{at("u1", "a", 0), at("u3", "a", 0)}
	test := []features.Event{
		at("u1", "c", 6), at("u1", "b", 5), at("u1", "a", 5), // a is a rebuy; c a later order
		at("u2", "b", 5), // cold: not in train
		at("u3", "a", 5), // only a rebuy
	}
	got := nextPurchases(train, test, []string{"purchase"})
	if !slices.Equal(got, []audienceQuery{{"u1", "b"}}) {
		t.Fatalf("queries %v", got)
	}
}

// TestEvaluateAudienceHandWorked: ab0-ab5 bought a and b, t1 and t2 only
// a and buy b next; heavy0-heavy11 bought x, y and z, so they are the
// most active customers. b's audience is t1 and t2 (the customers of its
// neighbour a who have not bought it); the activity baseline ranks them
// 13th and 14th, after every heavy customer.
func TestEvaluateAudienceHandWorked(t *testing.T) {
	var train []features.Event
	for i := range 6 {
		c := fmt.Sprintf("ab%d", i)
		train = append(train, at(c, "a", 0), at(c, "b", 1))
	}
	for i := range 12 {
		c := fmt.Sprintf("heavy%02d", i)
		train = append(train, at(c, "x", 0), at(c, "y", 1), at(c, "z", 2))
	}
	train = append(train, at("t1", "a", 2), at("t2", "a", 3))
	test := []features.Event{at("t1", "b", 5), at("t2", "b", 6)}
	algo, _ := LookupAlgorithm("affinity")
	res, err := EvaluateAudience(context.Background(), train, test, algo, []string{"purchase"}, 1)
	if err != nil {
		t.Fatal(err)
	}
	if res.Queries != 2 || res.Products != 1 || res.Customers != 2 || len(res.Rows) != 2 {
		t.Fatalf("result %+v", res)
	}
	if got := res.Rows[0].Recall; !slices.Equal(got, []float64{1, 1, 1}) {
		t.Fatalf("affinity recall %v", got)
	}
	if got := res.Rows[1].Recall; res.Rows[1].Algo != "activity" || !slices.Equal(got, []float64{0, 1, 1}) {
		t.Fatalf("activity recall %v", got)
	}
	// 14 candidates (20 customers but b's 6 buyers): k/14, capped at 1.
	if got := res.Chance; got[0] != 10.0/14 || got[1] != 1 {
		t.Fatalf("chance %v", got)
	}
}
