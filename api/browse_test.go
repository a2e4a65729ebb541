package api

import (
	"fmt"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/affinity-rec/affinity/features"
)

// The browse endpoints answer what the store holds, computed here
// independently from the loaded demo events and product records.
func TestBrowseEndpoints(t *testing.T) {
	ts := newTestServer(t, "", Options{})
	evs, prods := demoEvents(t, 3000)
	ts.load(evs, prods)
	srv := ts.srv

	// Products: q matches id or description, case-insensitively; total counts every match.
	checkBrowseProducts(t, srv, prods)

	// Events: newest first, total is the customer's history length.
	checkBrowseEvents(t, srv, evs)

	// Members: pages that tile the segment in id order.
	var seg struct{ Members int }
	send(t, srv, "PUT", "/v1/segments/buyers", `{"rule":"frequency >= 1"}`).want(t, 200).decode(t, &seg)
	checkBrowseMemberPages(t, srv, seg.Members)
	// The same by cursor: the pages tile the segment, and the last one
	// has no next_cursor.
	checkBrowseMemberCursor(t, srv, seg.Members)
	send(t, srv, "GET", "/v1/segments/buyers/members?cursor=-1", "").want(t, 400)
	send(t, srv, "GET", "/v1/segments/nope/members", "").want(t, 404)
}

// checkBrowseProducts checks the product search of TestBrowseEndpoints:
// the total counts every product whose id or description holds "mug",
// offset pages on, and out-of-range paging or query is a 400.
func checkBrowseProducts(t *testing.T, srv *Server, prods map[string]features.Product) {
	t.Helper()
	want := 0
	for id, p := range prods {
		d, _ := p.Attributes["description"].(string)
		if strings.Contains(strings.ToLower(id), "mug") || strings.Contains(strings.ToLower(d), "mug") {
			want++
		}
	}
	if want == 0 {
		t.Fatal("demo sample has no mug: pick another word")
	}
	var pp productPage
	send(t, srv, "GET", "/v1/products?q=MUG&limit=3", "").want(t, 200).decode(t, &pp)
	if pp.Total != want || len(pp.Products) != 3 {
		t.Fatalf("q=MUG: total %d (want %d), %d products", pp.Total, want, len(pp.Products))
	}
	var pp2 productPage
	send(t, srv, "GET", "/v1/products?q=mug&limit=3&offset=3", "").want(t, 200).decode(t, &pp2)
	if len(pp2.Products) == 0 || pp2.Products[0].ProductID == pp.Products[0].ProductID {
		t.Fatalf("offset 3 gave %v after %v", pp2.Products, pp.Products)
	}
	send(t, srv, "GET", "/v1/products?offset=-1", "").want(t, 400)
	send(t, srv, "GET", "/v1/products?limit=501", "").want(t, 400)
	send(t, srv, "GET", "/v1/products?q="+strings.Repeat("x", 201), "").want(t, 400)
}

// checkBrowseEvents checks the event history of TestBrowseEndpoints on the
// customer with the longest history: the total, the newest event first,
// and a 404 for an unknown customer.
func checkBrowseEvents(t *testing.T, srv *Server, evs []features.Event) {
	t.Helper()
	perCust := map[string][]int64{}
	for _, e := range evs {
		perCust[e.CustomerID] = append(perCust[e.CustomerID], e.Timestamp.Unix())
	}
	cust, n := "", 0
	for c, ts := range perCust {
		if len(ts) > n || (len(ts) == n && c < cust) {
			cust, n = c, len(ts)
		}
	}
	var hp historyPage
	send(t, srv, "GET", "/v1/customers/"+cust+"/events?limit=5", "").want(t, 200).decode(t, &hp)
	if hp.Total != n || len(hp.Events) != min(5, n) {
		t.Fatalf("customer %s: total %d want %d, %d events", cust, hp.Total, n, len(hp.Events))
	}
	times := perCust[cust]
	sort.Slice(times, func(i, j int) bool { return times[i] > times[j] })
	if hp.Events[0].Timestamp.Unix() != times[0] {
		t.Fatalf("newest event at %v, want %d", hp.Events[0].Timestamp, times[0])
	}
	send(t, srv, "GET", "/v1/customers/nobody-here/events", "").want(t, 404)
}

// checkBrowseMemberPages checks that TestBrowseEndpoints' buyers segment,
// read 40 at a time by offset, comes out with each member once and all
// of them.
func checkBrowseMemberPages(t *testing.T, srv *Server, members int) {
	t.Helper()
	seen := map[string]bool{}
	for off := 0; off < members; off += 40 {
		var mp memberPage
		send(t, srv, "GET", fmt.Sprintf("/v1/segments/buyers/members?limit=40&offset=%d", off), "").want(t, 200).decode(t, &mp)
		if mp.Total != members {
			t.Fatalf("total %d, segment says %d", mp.Total, members)
		}
		for _, m := range mp.Members {
			if seen[m.CustomerID] {
				t.Fatalf("member %s on two pages", m.CustomerID)
			}
			seen[m.CustomerID] = true
		}
	}
	if len(seen) != members || members == 0 {
		t.Fatalf("pages gave %d members, segment has %d", len(seen), members)
	}
}

// checkBrowseMemberCursor checks the same by cursor: each member once, all
// of them, and the pages end.
func checkBrowseMemberCursor(t *testing.T, srv *Server, members int) {
	t.Helper()
	byCursor := map[string]bool{}
	for cursor, pages := "", 0; ; pages++ {
		var mp memberPage
		send(t, srv, "GET", "/v1/segments/buyers/members?limit=40&cursor="+cursor, "").want(t, 200).decode(t, &mp)
		for _, m := range mp.Members {
			if byCursor[m.CustomerID] {
				t.Fatalf("member %s on two cursor pages", m.CustomerID)
			}
			byCursor[m.CustomerID] = true
		}
		if mp.NextCursor == "" {
			break
		}
		if pages > members {
			t.Fatal("cursor pages never end")
		}
		cursor = mp.NextCursor
	}
	if len(byCursor) != members {
		t.Fatalf("cursor pages gave %d members, segment has %d", len(byCursor), members)
	}
}

// The value insights' concentration curve agrees with the 80/20 figure and rises to 1.
func TestValueConcentration(t *testing.T) {
	ts := newTestServer(t, "", Options{})
	evs, prods := demoEvents(t, 3000)
	ts.load(evs, prods)
	var v struct {
		Top   float64   `json:"top20_revenue_share"`
		Curve []float64 `json:"concentration"`
	}
	send(t, ts.srv, "GET", "/v1/insights/value", "").want(t, 200).decode(t, &v)
	if len(v.Curve) != 21 || v.Curve[0] != 0 || v.Curve[20] != 1 || v.Curve[4] != v.Top {
		t.Fatalf("curve %v, top20 %v", v.Curve, v.Top)
	}
	for k := 1; k < 21; k++ {
		if v.Curve[k] < v.Curve[k-1] {
			t.Fatalf("curve falls at %d: %v", k, v.Curve)
		}
	}
}

// The console is served from the binary: / redirects, assets come with
// their types and a policy that keeps every request on this origin.
func TestConsoleServed(t *testing.T) {
	ts := newTestServer(t, "", Options{})
	r := send(t, ts.srv, "GET", "/", "").want(t, 302)
	if r.hdr.Get("Location") != "/console/" {
		t.Fatalf("/ redirects to %q", r.hdr.Get("Location"))
	}
	r = send(t, ts.srv, "GET", "/console", "").want(t, 301)
	if r.hdr.Get("Location") != "/console/" {
		t.Fatalf("/console redirects to %q", r.hdr.Get("Location"))
	}
	r = send(t, ts.srv, "GET", "/console/", "").want(t, 200)
	if !strings.HasPrefix(r.ctype, "text/html") || !strings.Contains(string(r.body), "<title>") {
		t.Fatalf("index: %s %.200s", r.ctype, r.body)
	}
	if !strings.Contains(r.hdr.Get("Content-Security-Policy"), "default-src 'self'") {
		t.Fatalf("no same-origin policy: %q", r.hdr.Get("Content-Security-Policy"))
	}
	r = send(t, ts.srv, "GET", "/console/app.js", "").want(t, 200)
	if !strings.HasPrefix(r.ctype, "text/javascript") {
		t.Fatalf("app.js served as %q", r.ctype)
	}
	send(t, ts.srv, "GET", "/console/nope.js", "").want(t, 404)
	send(t, ts.srv, "GET", "/console/../openapi.yaml", "").want(t, 404)
	// No asset names a host other than this one (no CDN).
	for _, name := range consoleAssetNames(t) {
		b := send(t, ts.srv, "GET", "/console/"+name, "").want(t, 200).body
		for _, u := range outsideURL.FindAllString(string(b), -1) {
			if u != "http://www.w3.org/2000/svg" {
				t.Fatalf("%s names an outside URL: %s", name, u)
			}
		}
	}
}

var outsideURL = regexp.MustCompile(`[a-z]+://[^\s"'` + "`" + `)]+`)

func consoleAssetNames(t *testing.T) []string {
	entries, err := consoleFiles.ReadDir("console")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

// A rule is checked without being stored: the wrong one gets the 400 a
// segment PUT would (line and column named), the right one 200, and no
// segment appears.
func TestRuleCheck(t *testing.T) {
	ts := newTestServer(t, "", Options{})
	r := send(t, ts.srv, "POST", "/v1/rules/check", `{"rule":"monetary > 10 &&\n   monetry < 5","segment":true}`).want(t, 400)
	var p struct{ Field, Detail string }
	r.decode(t, &p)
	if p.Field != "rule" || !strings.Contains(p.Detail, "line 2, column 4") {
		t.Fatalf("problem %+v", p)
	}
	put := send(t, ts.srv, "PUT", "/v1/segments/x", `{"rule":"monetary > 10 &&\n   monetry < 5"}`).want(t, 400)
	var pp struct{ Detail string }
	put.decode(t, &pp)
	if pp.Detail != p.Detail {
		t.Fatalf("check says %q, PUT says %q", p.Detail, pp.Detail)
	}
	send(t, ts.srv, "POST", "/v1/rules/check", `{"rule":"frequency >= 2","segment":true}`).want(t, 200)
	send(t, ts.srv, "POST", "/v1/rules/check", `{"rule":"\"vip\" in segments","segment":true}`).want(t, 400)
	send(t, ts.srv, "POST", "/v1/rules/check", `{"rule":"\"vip\" in segments"}`).want(t, 200)
	send(t, ts.srv, "POST", "/v1/rules/check", `{"segment":true}`).want(t, 400)
	var list struct{ Segments []any }
	send(t, ts.srv, "GET", "/v1/segments", "").want(t, 200).decode(t, &list)
	if len(list.Segments) != 0 {
		t.Fatalf("checking stored a segment: %v", list.Segments)
	}
}

// whoami reports the key's scope, so the console can disable what it may not do.
func TestWhoAmI(t *testing.T) {
	ao := DefaultOptions()
	ao.Keys = []Key{{Scope: ScopeRead, Key: "reader-key-1"}, {Scope: ScopeAdmin, Key: "admin-key-1"}}
	ts := newTestServer(t, "", ao)
	send(t, ts.srv, "GET", "/v1/whoami", "").want(t, 401)
	for key, want := range map[string]string{"reader-key-1": "read", "admin-key-1": "admin"} {
		var w struct {
			Scope        string `json:"scope"`
			KeysRequired bool   `json:"keys_required"`
		}
		send(t, ts.srv, "GET", "/v1/whoami", "", "X-API-Key", key).want(t, 200).decode(t, &w)
		if w.Scope != want || !w.KeysRequired {
			t.Fatalf("key %s: %+v", key, w)
		}
	}
}

// A previewed next-best-offer is ranked but not shown: no exposure is
// counted and the per-customer cap is not spent; without preview it is.
func TestNextBestOfferPreviewShowsNothing(t *testing.T) {
	s := newOfferServer(t)
	s.do(t, "PUT", "/v1/offers/o1", `{"products":["p1"],"value":5,"max_per_customer":1}`).want(t, 200)
	shown := func() int {
		var o struct {
			Performance struct{ Shown int } `json:"performance"`
		}
		s.do(t, "GET", "/v1/offers/o1", "").want(t, 200).decode(t, &o)
		return o.Performance.Shown
	}
	for range 3 {
		var r nboJSON
		s.do(t, "GET", "/v1/customers/c1/next-best-offer?preview=true", "").want(t, 200).decode(t, &r)
		if len(r.Offers) != 1 || r.Experiment != nil {
			t.Fatalf("preview: %+v", r)
		}
	}
	if n := shown(); n != 0 {
		t.Fatalf("previews counted %d shown", n)
	}
	s.do(t, "GET", "/v1/customers/c1/next-best-offer", "").want(t, 200)
	if n := shown(); n != 1 {
		t.Fatalf("a real request counted %d shown, want 1", n)
	}
	s.do(t, "GET", "/v1/customers/c1/next-best-offer?preview=maybe", "").want(t, 400)
}

// A previewed list under a forced variant is ranked as that variant ranks
// but logs no exposure: the experiment's results do not count it.
func TestPersonalPreviewLogsNoExposure(t *testing.T) {
	s := newOfferServer(t)
	s.do(t, "PUT", "/v1/experiments/x1", `{"status":"running","variants":[{"name":"control"},{"name":"pop","params":{"algorithm":"popular"}}]}`).want(t, 200)
	exposures := func() int {
		var r struct{ Variants []struct{ Exposures int } }
		s.do(t, "GET", "/v1/experiments/x1/results", "").want(t, 200).decode(t, &r)
		n := 0
		for _, v := range r.Variants {
			n += v.Exposures
		}
		return n
	}
	var l struct {
		Algorithm string
		Variant   *string
	}
	s.do(t, "GET", "/v1/customers/c1/recommendations?experiment=x1&variant=pop&preview=true", "").want(t, 200).decode(t, &l)
	if l.Variant == nil || *l.Variant != "pop" || l.Algorithm != "popular" {
		t.Fatalf("preview under pop: %+v", l)
	}
	s.srv.deps.Experiments.Flush(t.Context())
	if n := exposures(); n != 0 {
		t.Fatalf("a preview logged %d exposures", n)
	}
	s.do(t, "GET", "/v1/customers/c1/recommendations?experiment=x1&variant=pop", "").want(t, 200)
	s.srv.deps.Experiments.Flush(t.Context())
	if n := exposures(); n != 1 {
		t.Fatalf("a served list logged %d exposures, want 1", n)
	}
}
