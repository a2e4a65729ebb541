package api

import (
	"fmt"
	"io"
	"log/slog"
	"slices"
	"testing"
	"time"

	"github.com/affinity-rec/affinity/features"
	"github.com/affinity-rec/affinity/features/crm"
	"github.com/affinity-rec/affinity/recommend"
)

// delServer is a real store in dir behind the real fiber app; close closes
// it, so that a test can open the same dir again (a restart).
type delServer struct {
	st  *features.Store
	cs  *crm.Service
	srv *Server
}

func openDelServer(t *testing.T, dir string) *delServer {
	t.Helper()
	o := features.DefaultOptions(dir)
	o.SyncWrites = false
	o.RefreshInterval = time.Hour
	o.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	st, err := features.Open(o)
	if err != nil {
		t.Fatal(err)
	}
	cs, err := crm.New(st, st.Records(), nil)
	if err != nil {
		st.Close()
		t.Fatal(err)
	}
	eng, err := recommend.New(recommend.StoreDeps(st, cs), recommend.DefaultOptions())
	if err != nil {
		cs.Close()
		st.Close()
		t.Fatal(err)
	}
	return &delServer{st: st, cs: cs, srv: serverOver(t, Deps{Store: st, Engine: eng, CRM: cs}, o.Logger)}
}

func (s *delServer) close() {
	s.cs.Close()
	s.st.Close()
}

// deletionEvents: everyone buys p0, most buy the event-only g1 and g2,
// and p1..p3 split the customers, so that p0, g1 and g2 top the popular
// list and every related and personal list. "fresh" bought p1 only.
func deletionEvents() []features.Event {
	evs := purchases(12, 4, 10, func(c, p int) bool { return p == 0 || (c+p)%3 == 0 })
	for c := range 10 {
		for _, g := range []string{"g1", "g2"} {
			evs = append(evs, features.Event{CustomerID: fmt.Sprint("c", c), ProductID: g, Type: "purchase", Value: 10})
		}
	}
	return append(evs, features.Event{CustomerID: "fresh", ProductID: "p1", Type: "purchase", Value: 10})
}

// productLists are the lists a deleted product must leave, with and
// without in_stock.
var productLists = []string{
	"/v1/popular?limit=50",
	"/v1/popular?limit=50&in_stock=true",
	"/v1/popular?limit=50&include_unavailable=true",
	"/v1/products/p1/related?limit=50",
	"/v1/products/p1/related?limit=50&in_stock=true",
	"/v1/customers/fresh/recommendations?limit=50",
	"/v1/customers/fresh/recommendations?limit=50&in_stock=true",
	"/v1/segments/buyers/products?limit=50",
}

// listed returns the product ids of every list, keyed by path.
func (s *delServer) listed(t *testing.T) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	for _, path := range productLists {
		var l listReply
		send(t, s.srv, "GET", path, "").want(t, 200).decode(t, &l)
		for _, it := range l.Items {
			out[path] = append(out[path], it.ProductID)
		}
	}
	for _, path := range []string{"/v1/products?limit=500", "/v1/products?limit=500&in_stock=true", "/v1/products?limit=500&q=p0"} {
		var pg productPage
		send(t, s.srv, "GET", path, "").want(t, 200).decode(t, &pg)
		for _, p := range pg.Products {
			out[path] = append(out[path], p.ProductID)
		}
	}
	return out
}

// wantGone checks that the deleted products are in no list and read as
// gone, and that g2 (known from events only) reads alike everywhere.
func (s *delServer) wantGone(t *testing.T, when string, gone ...string) {
	t.Helper()
	for path, ids := range s.listed(t) {
		for _, id := range gone {
			if slices.Contains(ids, id) {
				t.Errorf("%s: %s lists deleted %s: %v", when, path, id, ids)
			}
		}
	}
	for _, id := range gone {
		send(t, s.srv, "GET", "/v1/products/"+id, "").want(t, 404)
		send(t, s.srv, "DELETE", "/v1/products/"+id, "").want(t, 404)
		send(t, s.srv, "PATCH", "/v1/products/"+id, `{"price":3}`).want(t, 404)
	}
	s.wantEventOnlyAvailable(t, when, "g2")
}

// wantEventOnlyAvailable: a product without a record reads as available
// both alone and in the listing, and in_stock keeps it, as lists do.
func (s *delServer) wantEventOnlyAvailable(t *testing.T, when, id string) {
	t.Helper()
	var one productReply
	send(t, s.srv, "GET", "/v1/products/"+id, "").want(t, 200).decode(t, &one)
	for _, path := range []string{"/v1/products?q=" + id, "/v1/products?in_stock=true&q=" + id} {
		var pg productPage
		send(t, s.srv, "GET", path, "").want(t, 200).decode(t, &pg)
		if len(pg.Products) != 1 || pg.Products[0].Available != one.Available || !one.Available {
			t.Errorf("%s: GET %s says available %v; %s: %+v", when, id, one.Available, path, pg.Products)
		}
	}
}

func TestDeletedProductLeavesEveryListAndStaysGone(t *testing.T) {
	dir := t.TempDir()
	s := openDelServer(t, dir)
	if _, err := s.st.Ingest(t.Context(), deletionEvents(), features.IngestOptions{}); err != nil {
		t.Fatal(err)
	}
	recs := map[string]features.Product{}
	for i := range 4 {
		recs[fmt.Sprint("p", i)] = features.Product{Category: "mugs", Price: 5, Available: true}
	}
	if err := s.st.PutProducts(recs); err != nil {
		t.Fatal(err)
	}
	send(t, s.srv, "PUT", "/v1/segments/buyers", `{"rule":"frequency >= 1"}`).want(t, 200)
	s.st.Refresh()
	// Before: both are in every list, so their absence below is the DELETE's.
	for path, ids := range s.listed(t) {
		want := []string{"p0", "g1"}
		if path == "/v1/products?limit=500&q=p0" || path == "/v1/segments/buyers/products?limit=50" {
			want = want[:1] // the segment's own ranking leaves g1 out anyway
		}
		for _, id := range want {
			if !slices.Contains(ids, id) {
				t.Fatalf("before the deletion %s does not list %s: %v (the test shows nothing)", path, id, ids)
			}
		}
	}
	// p0 has a record; g1 is known only from its events (GET shows it, so
	// DELETE takes it).
	send(t, s.srv, "DELETE", "/v1/products/p0", "").want(t, 204)
	s.wantGone(t, "after DELETE of p0", "p0")
	send(t, s.srv, "DELETE", "/v1/products/g1", "").want(t, 204)
	s.wantGone(t, "after DELETE", "p0", "g1")
	s.st.Refresh()
	s.wantGone(t, "after a refresh", "p0", "g1")

	s.close()
	s = openDelServer(t, dir)
	defer func() { s.close() }()
	s.wantGone(t, "after a restart", "p0", "g1")
	s.st.Refresh()
	s.wantGone(t, "after a restart and a refresh", "p0", "g1")

	// A PUT brings a deleted product back, into the lists as well.
	send(t, s.srv, "PUT", "/v1/products/p0", `{"category":"mugs","price":5}`).want(t, 200)
	send(t, s.srv, "GET", "/v1/products/p0", "").want(t, 200)
	for _, path := range []string{"/v1/popular?limit=50&in_stock=true", "/v1/products/p1/related?limit=50", "/v1/products?limit=500&q=p0"} {
		if ids := s.listed(t)[path]; !slices.Contains(ids, "p0") {
			t.Errorf("%s does not list p0 put again: %v", path, ids)
		}
	}
	if ids := s.listed(t)["/v1/popular?limit=50"]; slices.Contains(ids, "g1") {
		t.Errorf("putting p0 back brought g1 back too: %v", ids)
	}
	s.close()
	s = openDelServer(t, dir)
	send(t, s.srv, "GET", "/v1/products/p0", "").want(t, 200)
	send(t, s.srv, "GET", "/v1/products/g1", "").want(t, 404)
}

// TestEventOnlyProductReadsAvailableEverywhere: a product known only from
// its events is listed by every list, so GET, the listing and its in_stock
// filter all say available.
func TestEventOnlyProductReadsAvailableEverywhere(t *testing.T) {
	s := openDelServer(t, t.TempDir())
	defer s.close()
	if _, err := s.st.Ingest(t.Context(), deletionEvents(), features.IngestOptions{}); err != nil {
		t.Fatal(err)
	}
	s.st.Refresh()
	s.wantEventOnlyAvailable(t, "event-only", "g2")
}
