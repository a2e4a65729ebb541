package recommend

import (
	"context"
	"errors"
	"math"
	"slices"
	"testing"
	"time"

	"github.com/affinity-rec/affinity/features"
)

// openCountingEngine is openEngine with co-occurrence counts as the
// similarity and no self-tuning, so that scores can be worked out by hand.
func openCountingEngine(t *testing.T, evs []features.Event) (*Engine, *crmStore) {
	t.Helper()
	o := features.DefaultOptions(t.TempDir())
	o.SyncWrites = false
	o.RefreshInterval = time.Hour
	o.Neighbours.Similarity = features.SimCooccurrence
	o.Neighbours.Tune = false
	fs, err := features.Open(o)
	if err != nil {
		t.Fatal(err)
	}
	st, err := withCRM(fs)
	if err != nil {
		fs.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if _, err := st.Ingest(context.Background(), evs, features.IngestOptions{}); err != nil {
		t.Fatal(err)
	}
	st.Refresh()
	e, err := New(st.deps(), DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	return e, st
}

// audienceWorld is basketWorld (u0-u19 bought a then b on days 1-2, u0-u9
// also c and d on days 3-4) and four customers who never bought b: fa
// bought a on day 30 (the latest event), fa_old on day 1, fc bought c on
// day 30, lone bought z, which nobody else has.
func audienceWorld() []features.Event {
	return append(basketWorld(), at("fa", "a", "purchase", 30), at("fa_old", "a", "purchase", 1),
		at("fc", "c", "purchase", 30), at("lone", "z", "purchase", 30))
}

func audienceIDs(a Audience) []string {
	var out []string
	for _, it := range a.Items {
		out = append(out, it.CustomerID)
	}
	return out
}

// TestProductAudienceHandWorked checks the scores against the formula:
// co-occurrence S(a, b) = 20 and S(c, b) = 10, a purchase weighs 5, the
// half-life is 30 days.
func TestProductAudienceHandWorked(t *testing.T) {
	e, _ := openCountingEngine(t, audienceWorld())
	ctx := context.Background()
	a, err := e.ProductAudience(ctx, AudienceRequest{ProductID: "b", ExcludeBuyers: true})
	if err != nil {
		t.Fatal(err)
	}
	if got := audienceIDs(a); !slices.Equal(got, []string{"fa", "fa_old", "fc"}) {
		t.Fatalf("audience %v", got)
	}
	// Relative to fa's score: ages run from one time for everyone, so
	// where it lies (the store's confirmed latest event) only scales them.
	want := []float64{1, math.Exp2(-29.0 / 30), 0.5}
	for i, w := range want {
		if got := a.Items[i].Score / a.Items[0].Score; math.Abs(got-w) > 1e-5 {
			t.Fatalf("item %d relative score %v, want %v", i, got, w)
		}
	}
	if it := a.Items[0]; len(it.Because) != 1 || it.Because[0].ProductID != "a" || it.Reason == "" {
		t.Fatalf("reason of fa: %+v", it)
	}
	// The customers of b's neighbours a, c and d, minus b's buyers.
	if a.Candidates != 3 || a.Capped {
		t.Fatalf("candidates %d, capped %v", a.Candidates, a.Capped)
	}
}

// TestProductAudienceWithBuyers keeps b's buyers: u0-u9 have a, c and d;
// u10-u19 only a, on day 1, which ties them with fa_old, and ties are in
// id order.
func TestProductAudienceWithBuyers(t *testing.T) {
	e, _ := openCountingEngine(t, audienceWorld())
	a, err := e.ProductAudience(context.Background(), AudienceRequest{ProductID: "b", Limit: 16})
	if err != nil {
		t.Fatal(err)
	}
	got := audienceIDs(a)
	want := []string{"u0", "u1", "u2", "u3", "u4", "u5", "u6", "u7", "u8", "u9", "fa", "fa_old", "u10", "u11", "u12", "u13"}
	if !slices.Equal(got, want) {
		t.Fatalf("audience %v, want %v", got, want)
	}
	if a.Items[11].Score != a.Items[12].Score {
		t.Fatalf("fa_old and u10 should tie: %v %v", a.Items[11].Score, a.Items[12].Score)
	}
	if len(a.Items[0].Because) != 3 {
		t.Fatalf("u0's reasons: %+v", a.Items[0].Because)
	}
}

func TestProductAudienceSegmentAndErrors(t *testing.T) {
	e, st := openCountingEngine(t, audienceWorld())
	ctx := context.Background()
	if err := st.PutCustomer("fa_old", features.Customer{Attributes: map[string]any{"country": "FR"}}); err != nil {
		t.Fatal(err)
	}
	if err := st.PutCustomer("fc", features.Customer{Attributes: map[string]any{"country": "FR"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.PutSegment("france", `attributes.country == "FR"`); err != nil {
		t.Fatal(err)
	}
	a, err := e.ProductAudience(ctx, AudienceRequest{ProductID: "b", ExcludeBuyers: true, Segment: "france"})
	if err != nil {
		t.Fatal(err)
	}
	if got := audienceIDs(a); !slices.Equal(got, []string{"fa_old", "fc"}) {
		t.Fatalf("segment audience %v", got)
	}
	if _, err := e.ProductAudience(ctx, AudienceRequest{ProductID: "b", Segment: "nope"}); !errors.Is(err, features.ErrNotFound) {
		t.Fatalf("unknown segment: %v", err)
	}
	if _, err := e.ProductAudience(ctx, AudienceRequest{ProductID: "nope"}); !errors.Is(err, ErrUnknownProduct) {
		t.Fatalf("unknown product: %v", err)
	}
	// z has no neighbours: nobody is associated with it.
	a, err = e.ProductAudience(ctx, AudienceRequest{ProductID: "z", ExcludeBuyers: true})
	if err != nil || len(a.Items) != 0 {
		t.Fatalf("z: %v %v", audienceIDs(a), err)
	}
	// Erased customers leave the audience with their history.
	if err := st.EraseCustomer("fa"); err != nil {
		t.Fatal(err)
	}
	a, _ = e.ProductAudience(ctx, AudienceRequest{ProductID: "b", ExcludeBuyers: true})
	if got := audienceIDs(a); !slices.Equal(got, []string{"fa_old", "fc"}) {
		t.Fatalf("after erasing fa: %v", got)
	}
}

// TestAudienceAllow: Allow filters who may be listed.
func TestAudienceAllow(t *testing.T) {
	e, st := openCountingEngine(t, audienceWorld())
	b, _ := st.ProductID("b")
	a, err := e.Audience(AudienceQuery{Targets: []uint32{b}, Bought: []uint32{b},
		Allow: func(_ uint32, id string) bool { return id != "fa" }})
	if err != nil {
		t.Fatal(err)
	}
	if got := audienceIDs(a); !slices.Equal(got, []string{"fa_old", "fc"}) {
		t.Fatalf("allow: %v", got)
	}
}

// TestCapCandidates: over the cap, the customers with the most neighbour
// weight (undecayed) are the ones kept for the exact score.
func TestCapCandidates(t *testing.T) {
	e, st := openCountingEngine(t, audienceWorld())
	m := e.src.Model()
	sc := e.getScratch(len(m.Support[0]) + 1)
	defer e.putScratch(sc)
	b, _ := st.ProductID("b")
	hs := e.audienceWeights(sc, m, []uint32{b}, nil)
	cands, parts := e.audienceCandidates(hs, nil, nil)
	all, capped := capCandidates(sc, cands, parts, hs, 100)
	if capped || len(all) != 23 {
		t.Fatalf("uncapped: %d %v", len(all), capped)
	}
	// u0-u9 have a, c and d (20+10+10), everyone else one of them.
	kept, capped := capCandidates(sc, cands, parts, hs, 10)
	var names []string
	for _, c := range kept {
		names = append(names, st.CustomerName(c))
	}
	slices.Sort(names)
	if !capped || !slices.Equal(names, []string{"u0", "u1", "u2", "u3", "u4", "u5", "u6", "u7", "u8", "u9"}) {
		t.Fatalf("capped to 10: %v %v", names, capped)
	}
}
