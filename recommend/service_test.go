package recommend

import (
	"context"
	"errors"
	"testing"

	"github.com/affinity-rec/affinity/features"
)

// TestServiceList: a list without experiment flags is ranked and given an
// id; one naming an experiment where there are none is a not-found; an
// unknown kind is a bad request, not a panic. (The enrolled path runs
// against the real experiment service in api's tests.)
func TestServiceList(t *testing.T) {
	e, _ := openEngine(t, []features.Event{at("c1", "p1", "purchase", 1), at("c2", "p1", "purchase", 2), at("c2", "p2", "purchase", 2)})
	svc := NewService(e, nil)
	ctx := context.Background()
	res, err := svc.List(ctx, ListRequest{Kind: ListPopular})
	if err != nil || res.RecommendationID == "" || res.Enrolled || res.Algorithm != "popular" || len(res.Items) != 2 {
		t.Fatalf("popular: %+v %v", res, err)
	}
	again, _ := svc.List(ctx, ListRequest{Kind: ListPopular})
	if again.RecommendationID == res.RecommendationID {
		t.Fatalf("two lists share recommendation id %s", res.RecommendationID)
	}
	_, err = svc.List(ctx, ListRequest{Kind: ListPersonal, Request: Request{CustomerID: "c1"}, Experiment: "exp1"})
	if !errors.Is(err, features.ErrNotFound) || err.Error() != `unknown experiment "exp1"` {
		t.Fatalf("experiment without an experiment service: %v", err)
	}
	if _, err := svc.List(ctx, ListRequest{}); !errors.Is(err, ErrBadRequest) {
		t.Fatalf("no kind: %v", err)
	}
}

// TestDepsWithoutSegments: an engine not given segments answers segment
// lists with a bad request and ranks personal lists without them, as a
// source without segments always did.
func TestDepsWithoutSegments(t *testing.T) {
	_, st := openEngine(t, []features.Event{at("c1", "p1", "purchase", 1), at("c2", "p1", "purchase", 2), at("c2", "p2", "purchase", 2)})
	if _, err := New(Deps{}, DefaultOptions()); !errors.Is(err, ErrBadRequest) {
		t.Fatalf("no source: %v", err)
	}
	e, err := New(Deps{Source: st}, DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := e.SegmentProducts(ctx, Request{}, "vips"); !errors.Is(err, ErrBadRequest) {
		t.Fatalf("segment products without segments: %v", err)
	}
	l, err := e.Personal(ctx, Request{CustomerID: "c1"})
	if err != nil || len(l.Items) != 1 || l.Items[0].ProductID != "p2" {
		t.Fatalf("personal without segments: %+v %v", l, err)
	}
	if _, err := e.PotentialValue(ctx, "c1"); err != nil {
		t.Fatalf("potential value without values: %v", err)
	}
}
