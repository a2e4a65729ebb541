package api

import (
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/affinity-rec/affinity/features"
	"github.com/affinity-rec/affinity/features/crm"
	"github.com/affinity-rec/affinity/recommend"
)

// negServer is a real store in dir behind the real fiber app, with ratings
// below 3 counting as dislikes; close closes it (for a restart).
type negServer struct {
	st  *features.Store
	cs  *crm.Service
	srv *Server
}

func openNegServer(t *testing.T, dir string) *negServer {
	t.Helper()
	o := features.DefaultOptions(dir)
	o.SyncWrites = false
	o.RefreshInterval = time.Hour
	o.Clock = func() time.Time { return segClock }
	o.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	// The lists' makeup is not under test here, their filtering is: the
	// tuner's search took half of the test's 23 s under the race detector.
	o.Neighbours.Tune = false
	types := features.DefaultEventTypes()
	r := types["rating"]
	r.NegativeBelow = 3
	types["rating"] = r
	o.EventTypes = types
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
		t.Fatal(err)
	}
	srv := serverOver(t, Deps{Store: st, Engine: eng, CRM: cs}, o.Logger)
	return &negServer{st: st, cs: cs, srv: srv}
}

func (s *negServer) close() {
	s.cs.Close()
	s.st.Close()
}

func (s *negServer) post(t *testing.T, body string) {
	t.Helper()
	var er struct{ Accepted, Rejected int }
	send(t, s.srv, "POST", "/v1/events", body).want(t, 200).decode(t, &er)
	if er.Accepted < 1 || er.Rejected != 0 {
		t.Fatalf("%s: %+v", body, er)
	}
}

func (s *negServer) monetary(t *testing.T, cust string) float64 {
	t.Helper()
	var p profileReply
	send(t, s.srv, "GET", "/v1/customers/"+cust+"/profile", "").want(t, 200).decode(t, &p)
	return p.Value.Monetary
}

func (s *negServer) list(t *testing.T, path string) (ids []string, algo string) {
	t.Helper()
	var l listJSON
	send(t, s.srv, "GET", path, "").want(t, 200).decode(t, &l)
	for _, it := range l.Items {
		ids = append(ids, it.ProductID)
	}
	return ids, l.Algorithm
}

// negEvent is an event's JSON, dated after the demo data.
func negEvent(cust, prod, typ, extra string) string {
	return fmt.Sprintf(`{"customer_id":%q,"product_id":%q,"type":%q,"timestamp":"2011-12-15T10:00:00Z"%s}`, cust, prod, typ, extra)
}

// TestNegativeSignalsHTTP: on the demo data, a return takes its value off
// the profile and the purchase out of the customer's affinity; a dislike
// and a low rating take the product out of that customer's lists; all of
// it survives a restart from a snapshot plus the log after it.
func TestNegativeSignalsHTTP(t *testing.T) {
	dir := t.TempDir()
	s := openNegServer(t, dir)
	evs, _ := demoEvents(t, 1<<30)
	if _, err := s.st.Ingest(t.Context(), evs, features.IngestOptions{}); err != nil {
		t.Fatal(err)
	}
	s.st.Refresh()

	// A negative value is a return's only; a return's value is not positive.
	checkNegValueRules(t, s)

	// A new customer buys the most popular product: a personal list; the
	// whole order line is returned (no value: the purchase's): the profile
	// is back to nothing and nothing personal is left to rank from.
	pop, _ := s.list(t, "/v1/popular?limit=5")
	top := pop[0]
	checkNegFullReturn(t, s, top)

	// A demo customer with a personal list: a partial refund takes 30 off.
	cust := personalDemoCustomer(t, s)
	m0 := s.monetary(t, cust)
	s.post(t, negEvent(cust, pop[1], "purchase", `,"value":100,"order_id":"N2"`))
	s.post(t, negEvent(cust, pop[1], "return", `,"value":-30,"order_id":"N2"`))
	if m := s.monetary(t, cust); !nearlyEqual(m, m0+70) {
		t.Fatalf("monetary %v, want %v + 100 - 30", m, m0)
	}

	// A dislike and a low rating take their products out of the lists.
	ids, _ := s.list(t, "/v1/customers/"+cust+"/recommendations")
	disliked, rated := ids[0], ids[1]
	if !s.inAudience(t, disliked, cust) {
		t.Fatalf("%s is not in the audience of its top product %s", cust, disliked)
	}
	s.post(t, negEvent(cust, disliked, "dislike", ""))
	s.post(t, negEvent(cust, rated, "rating", `,"value":1`))
	popular := pop[2]
	s.post(t, negEvent(cust, popular, "dislike", ""))
	anchor := relatedListing(t, s, disliked)
	d := negDislikes{cust: cust, disliked: disliked, rated: rated, popular: popular, anchor: anchor, m0: m0}
	checkNegDislikesGone(t, s, d)

	// Restart from a snapshot and the log written after it.
	if err := s.st.Snapshot(); err != nil {
		t.Fatal(err)
	}
	third := ids[2]
	s.post(t, negEvent(cust, third, "dislike", ""))
	s.close()
	s = openNegServer(t, dir)
	defer s.close()
	checkNegDislikesGone(t, s, d)
	if ids, _ := s.list(t, "/v1/customers/"+cust+"/recommendations"); slices.Contains(ids, third) {
		t.Fatalf("the dislike after the snapshot was lost: %v lists %s", ids, third)
	}
}

// checkNegValueRules checks that a negative value is a return's only and
// a return's value is not positive: anything else is a 400 naming value.
func checkNegValueRules(t *testing.T, s *negServer) {
	t.Helper()
	for _, c := range []string{
		negEvent("nv", "p", "purchase", `,"value":-5`),
		negEvent("nv", "p", "dislike", `,"value":-1`),
		negEvent("nv", "p", "return", `,"value":5`),
	} {
		r := send(t, s.srv, "POST", "/v1/events", c).want(t, 400)
		if !strings.Contains(string(r.body), `"field":"value"`) {
			t.Fatalf("%s: the rejection does not name value: %s", c, r.body)
		}
	}
}

// checkNegFullReturn checks that a new customer's purchase of top, then
// its return, takes the profile back to nothing and the list to popular.
func checkNegFullReturn(t *testing.T, s *negServer, top string) {
	t.Helper()
	s.post(t, negEvent("ret1", top, "purchase", `,"value":40,"order_id":"N1"`))
	if m := s.monetary(t, "ret1"); m != 40 {
		t.Fatalf("monetary after the purchase %v, want 40", m)
	}
	if _, algo := s.list(t, "/v1/customers/ret1/recommendations"); algo != "personal" {
		t.Fatalf("after one purchase the list is %q, want personal", algo)
	}
	s.post(t, negEvent("ret1", top, "return", `,"order_id":"N1"`))
	if m := s.monetary(t, "ret1"); m != 0 {
		t.Fatalf("monetary after the return %v, want 0", m)
	}
	if _, algo := s.list(t, "/v1/customers/ret1/recommendations"); algo != "popular" {
		t.Fatalf("after the return the list is %q, want popular (the purchase counts no more)", algo)
	}
}

// negDislikes is what TestNegativeSignalsHTTP's customer disliked (and the
// related anchor that listed it), and their monetary value before.
type negDislikes struct {
	cust, disliked, rated, popular, anchor string
	m0                                     float64
}

// checkNegDislikesGone checks the disliked products are out of the
// customer's lists and audience (not everyone's), and the returns' values
// still hold.
func checkNegDislikesGone(t *testing.T, s *negServer, d negDislikes) {
	t.Helper()
	cust, disliked, rated, popular, anchor, m0 := d.cust, d.disliked, d.rated, d.popular, d.anchor, d.m0
	for _, q := range []string{"", "?exclude_seen=false"} {
		ids, _ := s.list(t, "/v1/customers/"+cust+"/recommendations"+q)
		if slices.Contains(ids, disliked) || slices.Contains(ids, rated) || slices.Contains(ids, popular) {
			t.Fatalf("personal%s %v still lists %s, %s or %s", q, ids, disliked, rated, popular)
		}
	}
	if ids, _ := s.list(t, "/v1/popular?limit=10&customer_id="+cust); slices.Contains(ids, popular) {
		t.Fatalf("popular for %s %v lists the disliked %s", cust, ids, popular)
	}
	if ids, _ := s.list(t, "/v1/popular?limit=10"); !slices.Contains(ids, popular) {
		t.Fatalf("popular for everyone %v lost %s", ids, popular)
	}
	if ids, _ := s.list(t, "/v1/products/"+anchor+"/related?limit=50&customer_id="+cust); slices.Contains(ids, disliked) {
		t.Fatalf("related to %s for %s %v lists the disliked %s", anchor, cust, ids, disliked)
	}
	if s.inAudience(t, disliked, cust) {
		t.Fatalf("%s is still in the audience of %s, which they disliked", cust, disliked)
	}
	if m := s.monetary(t, "ret1"); m != 0 {
		t.Fatalf("ret1's monetary %v, want 0", m)
	}
	if m := s.monetary(t, cust); !nearlyEqual(m, m0+70) {
		t.Fatalf("monetary %v, want %v", m, m0+70)
	}
	if _, algo := s.list(t, "/v1/customers/ret1/recommendations"); algo != "popular" {
		t.Fatalf("ret1's list is %q, want popular", algo)
	}
}

func nearlyEqual(a, b float64) bool { return a-b < 1e-6 && b-a < 1e-6 }

// personalDemoCustomer is a demo customer whose list is personal and has
// at least three products.
func personalDemoCustomer(t *testing.T, s *negServer) string {
	t.Helper()
	var l struct {
		Customers []string `json:"customers"`
	}
	send(t, s.srv, "GET", "/v1/customers?limit=50", "").want(t, 200).decode(t, &l)
	for _, c := range l.Customers {
		if ids, algo := s.list(t, "/v1/customers/"+c+"/recommendations"); algo == "personal" && len(ids) >= 3 {
			return c
		}
	}
	t.Fatalf("no demo customer with a personal list among %v", l.Customers)
	return ""
}

// relatedListing is a popular product whose related list (for anyone)
// shows p.
func relatedListing(t *testing.T, s *negServer, p string) string {
	t.Helper()
	pop, _ := s.list(t, "/v1/popular?limit=100")
	for _, a := range pop {
		if ids, _ := s.list(t, "/v1/products/"+a+"/related?limit=50"); slices.Contains(ids, p) {
			return a
		}
	}
	t.Fatalf("no popular product lists %s as related", p)
	return ""
}

// inAudience reports whether cust is in product p's audience (the first
// 1000).
func (s *negServer) inAudience(t *testing.T, p, cust string) bool {
	t.Helper()
	var a struct {
		Items []struct {
			CustomerID string `json:"customer_id"`
		} `json:"items"`
	}
	send(t, s.srv, "GET", "/v1/products/"+p+"/customers?limit=1000", "").want(t, 200).decode(t, &a)
	return slices.ContainsFunc(a.Items, func(m struct {
		CustomerID string `json:"customer_id"`
	}) bool {
		return m.CustomerID == cust
	})
}
