package recommend

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"testing"
	"time"

	"github.com/affinity-rec/affinity/features"
	"github.com/affinity-rec/affinity/features/crm"
)

var segClock = time.Date(2024, 6, 1, 0, 0, 0, 0, time.UTC)

// crmStore is a feature store with the customer-value service following
// it, as the server wires them: the store's methods and the service's
// (PutSegment, CustomerValue, ...) on one value.
type crmStore struct {
	*features.Store
	*crm.Service
}

// Close stops the service, then closes the store.
func (s *crmStore) Close() error {
	s.Service.Close()
	return s.Store.Close()
}

// CoBought is the store's (the service passes it on).
func (s *crmStore) CoBought(a, b uint32) (int, int) { return s.Store.CoBought(a, b) }

// deps are the engine's Deps over s.
func (s *crmStore) deps() Deps { return StoreDeps(s.Store, s.Service) }

func withCRM(st *features.Store) (*crmStore, error) {
	cs, err := crm.New(st, st.Records(), nil)
	if err != nil {
		return nil, err
	}
	return &crmStore{Store: st, Service: cs}, nil
}

func segTestStore(t testing.TB) *crmStore {
	t.Helper()
	o := features.DefaultOptions(t.TempDir())
	o.SyncWrites = false
	o.RefreshInterval = time.Hour
	o.Clock = func() time.Time { return segClock }
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
	return st
}

// segWorld: 40 customers all buy "bread"; the 10 "gardeners" (attribute
// hobby=garden) also buy "seeds" and "gloves" (category garden), which
// only 2 others buy; everyone else buys "milk". Customers p1..p3 are
// regulars with long histories in the bread/milk cluster.
func segWorld(t testing.TB) (*Engine, *crmStore) {
	t.Helper()
	st := segTestStore(t)
	ts := segClock.Add(-48 * time.Hour)
	var evs []features.Event
	// Order-line values: 2 packs of seeds at 4, one pair of gloves at 12;
	// butter is bought without a value (its catalogue price stands in).
	lineValue := map[string]float64{"seeds": 8, "gloves": 12, "bread": 2, "milk": 1, "butter": 0}
	buy := func(c, p string) {
		evs = append(evs, features.Event{CustomerID: c, ProductID: p, Type: "purchase", Value: lineValue[p], Timestamp: ts})
	}
	attrs := map[string]features.Customer{}
	for i := 0; i < 40; i++ {
		c := fmt.Sprintf("c%d", i)
		buy(c, "bread")
		switch {
		case i < 10:
			buy(c, "seeds")
			buy(c, "gloves")
			attrs[c] = features.Customer{Attributes: map[string]any{"hobby": "garden"}}
		case i < 12:
			buy(c, "seeds")
			buy(c, "gloves")
			buy(c, "milk")
		default:
			buy(c, "milk")
			buy(c, "butter")
		}
	}
	// A gardener with a thin history: one product only.
	buy("newbie", "bread")
	attrs["newbie"] = features.Customer{Attributes: map[string]any{"hobby": "garden"}}
	if _, err := st.Ingest(context.Background(), evs, features.IngestOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := st.PutCustomers(attrs); err != nil {
		t.Fatal(err)
	}
	if err := st.PutProducts(map[string]features.Product{
		"seeds":  {Category: "garden", Price: 4, Available: true},
		"gloves": {Category: "garden", Price: 12, Available: true},
		"bread":  {Category: "food", Price: 2, Available: true},
		"milk":   {Category: "food", Price: 1, Available: true},
		"butter": {Category: "food", Price: 3, Available: true},
	}); err != nil {
		t.Fatal(err)
	}
	st.Refresh()
	e, err := New(st.deps(), DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	return e, st
}

func segIDs(l List) []string {
	out := make([]string, len(l.Items))
	for i, it := range l.Items {
		out[i] = it.ProductID
	}
	return out
}

func TestSegmentProductsRanksByLift(t *testing.T) {
	e, st := segWorld(t)
	ctx := context.Background()
	if _, err := st.PutSegment("gardeners", `attributes.hobby == "garden"`); err != nil {
		t.Fatal(err)
	}
	l, err := e.SegmentProducts(ctx, Request{}, "gardeners")
	if err != nil {
		t.Fatal(err)
	}
	// 11 gardeners (10 + newbie), 10 of them bought seeds and gloves where
	// 11·12/41 ≈ 3.2 were expected; bread is bought by everyone (lift 1).
	// Equal lifts rank by product id: seeds was seen first.
	if got := segIDs(l); !slices.Equal(got, []string{"seeds", "gloves"}) || l.Algorithm != "segment-lift" {
		t.Fatalf("got %v (%s)", got, l.Algorithm)
	}
	want := (10 + 5) / (11*12/41.0 + 5)
	if math.Abs(l.Items[0].Score-want) > 1e-5 {
		t.Fatalf("score %v, want %v", l.Items[0].Score, want)
	}
	// Filters and the customer's purchases apply.
	l, _ = e.SegmentProducts(ctx, Request{CustomerID: "c0"}, "gardeners")
	if len(l.Items) != 0 {
		t.Fatalf("c0 bought both: %v", segIDs(l))
	}
	l, _ = e.SegmentProducts(ctx, Request{Filter: features.Filter{PriceMax: 5, HasPriceMax: true}}, "gardeners")
	if !slices.Equal(segIDs(l), []string{"seeds"}) {
		t.Fatalf("price_max 5: %v", segIDs(l))
	}
	l, _ = e.SegmentPopular(ctx, Request{Limit: 1}, "gardeners")
	if !slices.Equal(segIDs(l), []string{"bread"}) || l.Algorithm != "segment-popular" {
		t.Fatalf("segment popular: %v", segIDs(l))
	}
	if _, err := e.SegmentProducts(ctx, Request{}, "nope"); !errors.Is(err, features.ErrNotFound) {
		t.Fatalf("unknown segment: %v", err)
	}
	var fe *features.FieldError
	if _, err := e.SegmentPopular(ctx, Request{Window: time.Hour}, "gardeners"); !errors.As(err, &fe) || fe.Field != "window" {
		t.Fatalf("window with segment: %v", err)
	}
}

// TestThinHistoryBlendsSegments: the newbie (one product) gets the
// gardeners' products once the segment exists; a regular does not change.
func TestThinHistoryBlendsSegments(t *testing.T) {
	e, st := segWorld(t)
	ctx := context.Background()
	before, err := e.Personal(ctx, Request{CustomerID: "newbie", Limit: 3})
	if err != nil {
		t.Fatal(err)
	}
	reg, _ := e.Personal(ctx, Request{CustomerID: "c20", Limit: 3})
	if _, err := st.PutSegment("gardeners", `attributes.hobby == "garden"`); err != nil {
		t.Fatal(err)
	}
	after, _ := e.Personal(ctx, Request{CustomerID: "newbie", Limit: 3})
	// Before: bread's neighbours ranked by co-occurrence (milk and butter
	// with 28 customers each outweigh seeds and gloves with 12). After: the
	// segment's products lead.
	if segIDs(before)[0] == "gloves" || segIDs(before)[0] == "seeds" {
		t.Fatalf("before the segment: %v", segIDs(before))
	}
	if got := segIDs(after); len(got) != 3 || !slices.Contains(got[:2], "gloves") || !slices.Contains(got[:2], "seeds") {
		t.Fatalf("after the segment: %v (before %v)", got, segIDs(before))
	}
	if got := segIDs(after); slices.Contains(got, "bread") {
		t.Fatalf("bought product recommended: %v", got)
	}
	reg2, _ := e.Personal(ctx, Request{CustomerID: "c20", Limit: 3})
	if !slices.Equal(segIDs(reg), segIDs(reg2)) {
		t.Fatalf("a non-member changed: %v -> %v", segIDs(reg), segIDs(reg2))
	}
	// A filter still holds for blended products.
	food, _ := e.Personal(ctx, Request{CustomerID: "newbie", Limit: 3, Filter: features.Filter{Category: "food"}})
	for _, p := range segIDs(food) {
		if p == "seeds" || p == "gloves" {
			t.Fatalf("category filter broken by blending: %v", segIDs(food))
		}
	}
}

// TestPotentialValue: c20 bought bread, milk and butter; their
// recommendations are seeds and gloves. P(gloves | bread) = 12/(41+5),
// and milk and butter give 2/(30+5) and 0/(28+5): the best is bread's.
// Expected value: 12·12/46 + 8·12/46 (mean purchase values, not unit
// prices).
func TestPotentialValue(t *testing.T) {
	e, st := segWorld(t)
	ctx := context.Background()
	l, _ := e.Personal(ctx, Request{CustomerID: "c20", Limit: potentialTopN})
	if got := segIDs(l); !slices.Equal(got, []string{"gloves", "seeds"}) && !slices.Equal(got, []string{"seeds", "gloves"}) {
		t.Fatalf("recommendations %v", got)
	}
	pv, err := e.PotentialValue(ctx, "c20")
	if err != nil {
		t.Fatal(err)
	}
	if want := (12*12 + 8*12) / 46.0; math.Abs(pv-want) > 1e-6 {
		t.Fatalf("potential %v, want %v", pv, want)
	}
	// A customer who never bought: each product's share of buyers.
	if err := st.PutCustomer("stranger", features.Customer{}); err != nil {
		t.Fatal(err)
	}
	pv, _ = e.PotentialValue(ctx, "stranger")
	l, _ = e.Personal(ctx, Request{CustomerID: "stranger", Limit: potentialTopN})
	want := 0.0
	price := map[string]float64{"seeds": 8, "gloves": 12, "bread": 2, "milk": 1, "butter": 3}
	buyers := map[string]float64{"seeds": 12, "gloves": 12, "bread": 41, "milk": 30, "butter": 28}
	for _, p := range segIDs(l) {
		want += price[p] * buyers[p] / 41
	}
	if math.Abs(pv-want) > 1e-6 || len(l.Items) != 5 {
		t.Fatalf("stranger potential %v, want %v (%v)", pv, want, segIDs(l))
	}
}

// TestNoHistoryStillGetsSegments: a customer known only by attributes (no
// event yet) gets their segment's products first, not just popular ones.
func TestNoHistoryStillGetsSegments(t *testing.T) {
	e, st := segWorld(t)
	ctx := context.Background()
	if err := st.PutCustomer("prospect", features.Customer{Attributes: map[string]any{"hobby": "garden"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.PutSegment("gardeners", `attributes.hobby == "garden"`); err != nil {
		t.Fatal(err)
	}
	l, err := e.Personal(ctx, Request{CustomerID: "prospect", Limit: 3})
	if err != nil {
		t.Fatal(err)
	}
	// Bread and milk are the most popular; the gardeners' products lead.
	if got := segIDs(l); len(got) != 3 || !slices.Contains(got[:2], "gloves") || !slices.Contains(got[:2], "seeds") {
		t.Fatalf("a segment member without events got %v (%s)", got, l.Algorithm)
	}
	// A customer in no segment still gets the popular list.
	if err := st.PutCustomer("chess", features.Customer{Attributes: map[string]any{"hobby": "chess"}}); err != nil {
		t.Fatal(err)
	}
	l, err = e.Personal(ctx, Request{CustomerID: "chess", Limit: 3})
	if err != nil || l.Algorithm != "popular" || segIDs(l)[0] != "bread" {
		t.Fatalf("a customer in no segment got %v (%s, %v)", segIDs(l), l.Algorithm, err)
	}
}

// TestThinLongHistoryIsNotCached: a history long enough for the personal
// cache but of one product is thin, so its list follows a new segment at
// once, while a varied history of the same length is cached.
func TestThinLongHistoryIsNotCached(t *testing.T) {
	e, st := segWorld(t)
	ctx := context.Background()
	var evs []features.Event
	for range cacheMinHistory + 2 {
		evs = append(evs, features.Event{CustomerID: "newbie", ProductID: "bread", Type: "view"})
	}
	if _, err := st.Ingest(ctx, evs, features.IngestOptions{}); err != nil {
		t.Fatal(err)
	}
	id, _ := st.CustomerID("newbie")
	if h := st.HistoryView(id); len(h) < cacheMinHistory || thinCount(h) > thinHistory {
		t.Fatalf("newbie's history: %d events, %d distinct", len(h), thinCount(h))
	}
	before, _ := e.Personal(ctx, Request{CustomerID: "newbie", Limit: 3})
	if _, err := st.PutSegment("gardeners", `attributes.hobby == "garden"`); err != nil {
		t.Fatal(err)
	}
	after, _ := e.Personal(ctx, Request{CustomerID: "newbie", Limit: 3})
	if got := segIDs(after); len(got) < 2 || !slices.Contains(got[:2], "gloves") || !slices.Contains(got[:2], "seeds") {
		t.Fatalf("after the segment: %v (before %v): a cached list was served", got, segIDs(before))
	}
	if thinCount([]features.Interaction{{Product: 1}, {Product: 2}, {Product: 1}}) != 2 {
		t.Fatal("thinCount counts repeats")
	}
	varied := make([]features.Interaction, 0, cacheMinHistory)
	for p := range uint32(cacheMinHistory) {
		varied = append(varied, features.Interaction{Product: p})
	}
	if thinCount(varied) != thinHistory+1 {
		t.Fatalf("thinCount of %d products: %d", len(varied), thinCount(varied))
	}
}
