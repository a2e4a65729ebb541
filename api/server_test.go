package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/affinity-rec/affinity/features"
	"github.com/affinity-rec/affinity/features/eventio"
	"github.com/affinity-rec/affinity/recommend"
)

const demoFile = "../testdata/demo/online_retail_sample.csv.gz"

// testServer is a real store in a temp dir behind the real fiber app.
type testServer struct {
	t     *testing.T
	dir   string
	store *features.Store
	srv   *Server
}

func testStoreOptions(dir string) features.Options {
	o := features.DefaultOptions(dir)
	o.SyncWrites = false
	o.RefreshInterval = time.Hour // tests refresh explicitly
	o.Neighbours = features.NeighbourOptions{Similarity: features.SimJaccard, K: 1000, MaxHistory: 100000, MinSupport: 1, Alpha: 0.5}
	o.Clock = func() time.Time { return time.Date(2011, 12, 10, 0, 0, 0, 0, time.UTC) }
	return o
}

func newTestServer(t *testing.T, dir string, ao Options) *testServer {
	t.Helper()
	if dir == "" {
		dir = t.TempDir()
	}
	st, srv := openServer(t, dir, ao)
	return &testServer{t: t, dir: dir, store: st, srv: srv}
}

// openServer opens a real store in dir behind a real server; the store is
// closed at the end of the test.
func openServer(t testing.TB, dir string, ao Options) (*features.Store, *Server) {
	t.Helper()
	st, err := features.Open(testStoreOptions(dir))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	// Every pair scattered: TestPersonalMatchesIndependentScores checks the
	// served scores against SAR's sum over all of them (the scatter budget
	// is recommend's to test).
	eo := recommend.DefaultOptions()
	eo.ScatterBudget = 0
	eng, err := recommend.New(storeDeps(t, st), eo)
	if err != nil {
		t.Fatal(err)
	}
	if ao.BodyLimit == 0 {
		ao = DefaultOptions()
	}
	srv, err := New(Deps{Store: st, Engine: eng, CRM: crmOf(t, st)}, ao)
	if err != nil {
		t.Fatal(err)
	}
	return st, srv
}

// demoEvents reads the first n purchase events of the shipped demo sample.
func demoEvents(t testing.TB, n int) ([]features.Event, map[string]features.Product) {
	t.Helper()
	r, err := eventio.Open(demoFile, "online-retail")
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var evs []features.Event
	for len(evs) < n {
		e, err := r.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			continue
		}
		evs = append(evs, e)
	}
	return evs, r.Products()
}

func (ts *testServer) load(evs []features.Event, prods map[string]features.Product) {
	ts.t.Helper()
	if _, err := ts.store.Ingest(ts.t.Context(), evs, features.IngestOptions{}); err != nil {
		ts.t.Fatal(err)
	}
	if prods != nil {
		if err := ts.store.PutProducts(prods); err != nil {
			ts.t.Fatal(err)
		}
	}
	ts.store.Refresh()
}

func (ts *testServer) do(method, path, ctype, body string) (int, map[string]any, http.Header) {
	ts.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req := httptest.NewRequest(method, path, rd)
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	resp, err := ts.srv.App().Test(req, 10000)
	if err != nil {
		ts.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var m map[string]any
	if len(bytes.TrimSpace(b)) > 0 && (strings.Contains(resp.Header.Get("Content-Type"), "json")) {
		if err := json.Unmarshal(b, &m); err != nil {
			ts.t.Fatalf("%s %s: reply is not JSON: %s", method, path, b)
		}
	}
	return resp.StatusCode, m, resp.Header
}

func (ts *testServer) get(path string) map[string]any {
	ts.t.Helper()
	code, m, _ := ts.do("GET", path, "", "")
	if code != 200 {
		ts.t.Fatalf("GET %s: %d %v", path, code, m)
	}
	return m
}

func itemIDs(m map[string]any) []string {
	var ids []string
	items, _ := m["items"].([]any)
	for _, it := range items {
		ids = append(ids, it.(map[string]any)["product_id"].(string))
	}
	return ids
}

func itemScores(m map[string]any) []float64 {
	var s []float64
	items, _ := m["items"].([]any)
	for _, it := range items {
		s = append(s, it.(map[string]any)["score"].(float64))
	}
	return s
}

// jaccardRelated computes, independently of the store, the Jaccard
// neighbours of product p from raw purchase events.
func jaccardRelated(evs []features.Event, p string) map[string]float64 {
	buyers := map[string]map[string]bool{}
	for _, e := range evs {
		if buyers[e.ProductID] == nil {
			buyers[e.ProductID] = map[string]bool{}
		}
		buyers[e.ProductID][e.CustomerID] = true
	}
	out := map[string]float64{}
	for q, bq := range buyers {
		if q == p {
			continue
		}
		inter := 0
		for c := range buyers[p] {
			if bq[c] {
				inter++
			}
		}
		if inter > 0 {
			out[q] = float64(inter) / float64(len(buyers[p])+len(bq)-inter)
		}
	}
	return out
}

func TestRelatedMatchesIndependentJaccard(t *testing.T) {
	ts := newTestServer(t, "", Options{})
	evs, prods := demoEvents(t, 4000)
	ts.load(evs, prods)
	pop := itemIDs(ts.get("/v1/popular?limit=3"))
	if len(pop) != 3 {
		t.Fatalf("popular: %v", pop)
	}
	for _, p := range pop {
		want := listableOnly(jaccardRelated(evs, p), prods)
		m := ts.get("/v1/products/" + p + "/related?limit=10&basis=bought")
		ids, scores := itemIDs(m), itemScores(m)
		if len(ids) == 0 {
			t.Fatalf("no related products for %s", p)
		}
		for i, id := range ids {
			if math.Abs(want[id]-scores[i]) > 1e-5 {
				t.Errorf("related(%s)[%d] = %s score %v, independent Jaccard %v", p, i, id, scores[i], want[id])
			}
		}
		// The best independent score is the first served one.
		best := 0.0
		for _, v := range want {
			best = math.Max(best, v)
		}
		if math.Abs(best-scores[0]) > 1e-5 {
			t.Errorf("related(%s): top served score %v, best possible %v", p, scores[0], best)
		}
		if m["recommendation_id"] == "" || m["algorithm"] == "" {
			t.Errorf("reply lacks recommendation_id or algorithm: %v", m)
		}
	}
}

// listableOnly drops the products no list may show (not recommendable, or
// unavailable: left out by default) from independently computed scores.
func listableOnly(scores map[string]float64, prods map[string]features.Product) map[string]float64 {
	for id := range scores {
		if p, ok := prods[id]; ok && (!p.IsRecommendable() || !p.Available) {
			delete(scores, id)
		}
	}
	return scores
}

// personalScores computes SAR's A·S independently: affinity with a 30-day
// half-life from the customer's latest event, times Jaccard similarity.
func personalScores(evs []features.Event, cust string) map[string]float64 {
	var latest time.Time
	aff := map[string]float64{}
	for _, e := range evs {
		if e.CustomerID == cust && e.Timestamp.After(latest) {
			latest = e.Timestamp
		}
	}
	for _, e := range evs {
		if e.CustomerID == cust {
			age := latest.Sub(e.Timestamp).Hours() / 24
			aff[e.ProductID] += 5 * math.Exp2(-age/30)
		}
	}
	out := map[string]float64{}
	for i, a := range aff {
		for j, s := range jaccardRelated(evs, i) {
			if _, seen := aff[j]; !seen {
				out[j] += a * s
			}
		}
	}
	return out
}

func TestPersonalMatchesIndependentScores(t *testing.T) {
	ts := newTestServer(t, "", Options{})
	evs, prods := demoEvents(t, 4000)
	ts.load(evs, prods)
	custs := map[string]int{}
	for _, e := range evs {
		custs[e.CustomerID]++
	}
	checked := 0
	for c, n := range custs {
		if n < 5 || checked == 5 {
			continue
		}
		checked++
		want := listableOnly(personalScores(evs, c), prods)
		m := ts.get("/v1/customers/" + c + "/recommendations?limit=10")
		ids, scores := itemIDs(m), itemScores(m)
		if m["algorithm"] != "personal" {
			t.Fatalf("customer %s: algorithm %v", c, m["algorithm"])
		}
		var best []float64
		for _, v := range want {
			best = append(best, v)
		}
		sort.Sort(sort.Reverse(sort.Float64Slice(best)))
		for i, id := range ids {
			if i >= len(best) {
				break
			}
			// float32 accumulation in the engine: compare relatively.
			if math.Abs(want[id]-scores[i]) > 1e-3*math.Max(1, want[id]) || math.Abs(best[i]-scores[i]) > 1e-3*math.Max(1, best[i]) {
				t.Errorf("customer %s item %d: %s served %v, independent %v (rank-%d best %v)", c, i, id, scores[i], want[id], i, best[i])
			}
		}
	}
	if checked == 0 {
		t.Fatal("no customer with 5 events in the slice")
	}
}

func TestFreshPurchaseIsExcludedAtOnce(t *testing.T) {
	ts := newTestServer(t, "", Options{})
	evs, prods := demoEvents(t, 3000)
	ts.load(evs, prods)
	c := evs[0].CustomerID
	before := itemIDs(ts.get("/v1/customers/" + c + "/recommendations?limit=5"))
	if len(before) == 0 {
		t.Fatal("no recommendations")
	}
	code, m, _ := ts.do("POST", "/v1/events", "application/json",
		`{"customer_id":"`+c+`","product_id":"`+before[0]+`","type":"purchase","value":3}`)
	if code != 200 || m["accepted"].(float64) != 1 {
		t.Fatalf("post: %d %v", code, m)
	}
	after := itemIDs(ts.get("/v1/customers/" + c + "/recommendations?limit=5"))
	for _, id := range after {
		if id == before[0] {
			t.Fatalf("just-bought %s still recommended: %v", id, after)
		}
	}
}

func TestColdStartAndFallbacks(t *testing.T) {
	ts := newTestServer(t, "", Options{})
	evs, prods := demoEvents(t, 3000)
	ts.load(evs, prods)
	m := ts.get("/v1/customers/nobody-knows-me/recommendations?limit=5")
	if m["algorithm"] != "popular" || len(itemIDs(m)) != 5 {
		t.Fatalf("unknown customer: %v", m)
	}
	// Filters apply to the fallback too.
	cat := ""
	for _, p := range prods {
		if p.Category != "" {
			cat = p.Category
			break
		}
	}
	m = ts.get("/v1/customers/nobody-knows-me/recommendations?limit=5&category=" + cat)
	for _, id := range itemIDs(m) {
		if prods[id].Category != cat {
			t.Errorf("filtered cold start returned %s of category %q, want %q", id, prods[id].Category, cat)
		}
	}
	// A catalogue product with no events falls back to its category.
	code, _, _ := ts.do("PUT", "/v1/products/brand-new", "application/json", `{"category":"`+cat+`","price":3}`)
	if code != 200 {
		t.Fatalf("put product: %d", code)
	}
	m = ts.get("/v1/products/brand-new/related?limit=5")
	if m["algorithm"] != "category-popular" || len(itemIDs(m)) == 0 {
		t.Fatalf("product without associations: %v", m)
	}
	for _, id := range itemIDs(m) {
		if prods[id].Category != cat {
			t.Errorf("category fallback returned %s (%q)", id, prods[id].Category)
		}
	}
	code, p, _ := ts.do("GET", "/v1/products/never-seen/related", "", "")
	if code != 404 || p["status"].(float64) != 404 {
		t.Fatalf("unknown product: %d %v", code, p)
	}
}

func TestFiltersAreApplied(t *testing.T) {
	ts := newTestServer(t, "", Options{})
	evs, prods := demoEvents(t, 3000)
	ts.load(evs, prods)
	pop := itemIDs(ts.get("/v1/popular?limit=20"))
	// Mark the most popular product out of stock and tag another.
	if code, _, _ := ts.do("PUT", "/v1/products/"+pop[0], "application/json", `{"category":"x","price":10,"available":false}`); code != 200 {
		t.Fatal("put")
	}
	if code, _, _ := ts.do("PUT", "/v1/products/"+pop[1], "application/json", `{"category":"x","brand":"acme","price":20,"tags":["red"]}`); code != 200 {
		t.Fatal("put")
	}
	for _, q := range []struct {
		query string
		want  []string
	}{
		// Unavailable products are left out unless asked for;
		// in_stock=true drops them even then.
		{"category=x", []string{pop[1]}},
		{"category=x&include_unavailable=true", []string{pop[0], pop[1]}},
		{"category=x&in_stock=true", []string{pop[1]}},
		{"category=x&in_stock=true&include_unavailable=true", []string{pop[1]}},
		{"brand=acme", []string{pop[1]}},
		{"tag=red", []string{pop[1]}},
		{"category=x&price_max=15&include_unavailable=true", []string{pop[0]}},
		{"category=x&price_min=15&price_max=25", []string{pop[1]}},
		{"category=nope", nil},
	} {
		got := itemIDs(ts.get("/v1/popular?limit=10&" + q.query))
		if strings.Join(got, ",") != strings.Join(q.want, ",") {
			t.Errorf("popular?%s = %v, want %v", q.query, got, q.want)
		}
	}
	for _, q := range []string{"in_stock=true", "", "include_unavailable=false"} {
		for _, id := range itemIDs(ts.get("/v1/popular?limit=50&" + q)) {
			if id == pop[0] {
				t.Errorf("out-of-stock %s listed with %s", id, q)
			}
		}
	}
}

func TestBadInputIsAProblem(t *testing.T) {
	ts := newTestServer(t, "", Options{})
	evs, prods := demoEvents(t, 500)
	ts.load(evs, prods)
	long := strings.Repeat("x", 300)
	for _, tc := range []struct {
		method, path, ctype, body string
		status                    int
		field                     string
	}{
		{"GET", "/v1/popular?limit=abc", "", "", 400, "limit"},
		{"GET", "/v1/popular?limit=101", "", "", 400, "limit"},
		{"GET", "/v1/popular?limit=0", "", "", 400, "limit"},
		{"GET", "/v1/popular?price_min=cheap", "", "", 400, "price_min"},
		{"GET", "/v1/popular?in_stock=maybe", "", "", 400, "in_stock"},
		{"GET", "/v1/popular?window=forever", "", "", 400, "window"},
		{"GET", "/v1/products/" + evs[0].ProductID + "/related?basis=smelled", "", "", 400, "basis"},
		{"GET", "/v1/customers/" + long + "/recommendations", "", "", 400, "customer_id"},
		{"GET", "/v1/customers/a%01b/recommendations", "", "", 400, "customer_id"},
		{"POST", "/v1/events", "application/json", `{"customer_id":"c","product_id":"p"`, 400, ""},
		{"POST", "/v1/events", "application/json", `{"customer_id":"c","product_id":"p","type":"view","timestamp":"yesterday"}`, 400, "timestamp"},
		{"POST", "/v1/events", "application/json", `{"product_id":"p","type":"view"}`, 400, "customer_id"},
		{"POST", "/v1/events", "application/json", `{"customer_id":"c","type":"view"}`, 400, "product_id"},
		{"POST", "/v1/events", "application/json", `{"customer_id":"c","product_id":"p","type":"view","value":"lots"}`, 400, "value"},
		{"POST", "/v1/events", "application/json", ``, 400, "body"},
		{"POST", "/v1/events", "application/json", `[1,2`, 400, "body"},
		{"PUT", "/v1/products/p1", "application/json", `{"price":"free"}`, 400, "price"},
		{"PUT", "/v1/products/p1", "application/json", `{"price":-1}`, 400, "price"},
		{"PUT", "/v1/customers/c1", "application/json", `{"attributes":[1]}`, 400, "attributes"},
		{"GET", "/v1/nothing-here", "", "", 404, ""},
	} {
		code, m, h := ts.do(tc.method, tc.path, tc.ctype, tc.body)
		if code != tc.status {
			t.Errorf("%s %s %q: status %d, want %d (%v)", tc.method, tc.path, tc.body, code, tc.status, m)
			continue
		}
		if ct := h.Get("Content-Type"); ct != "application/problem+json" {
			t.Errorf("%s %s: content type %q", tc.method, tc.path, ct)
		}
		if tc.field != "" && m["field"] != tc.field {
			t.Errorf("%s %s %q: field %v, want %q (%v)", tc.method, tc.path, tc.body, m["field"], tc.field, m["detail"])
		}
		for _, k := range []string{"type", "title", "status", "detail"} {
			if _, ok := m[k]; !ok {
				t.Errorf("%s %s: problem lacks %q: %v", tc.method, tc.path, k, m)
			}
		}
	}
}

func TestBatchRejectsOnlyBadLines(t *testing.T) {
	ts := newTestServer(t, "", Options{})
	body := `{"customer_id":"c1","product_id":"p1","type":"view"}
{"customer_id":"","product_id":"p1","type":"view"}
not json
{"customer_id":"c2","product_id":"p1","type":"purchase","timestamp":1700000000,"value":4.5,"order_id":"o1"}
`
	code, m, _ := ts.do("POST", "/v1/events", "application/x-ndjson", body)
	if code != 200 {
		t.Fatalf("%d %v", code, m)
	}
	if m["accepted"].(float64) != 2 || m["rejected"].(float64) != 2 {
		t.Fatalf("reply %v", m)
	}
	errs := m["errors"].([]any)
	if errs[0].(map[string]any)["index"].(float64) != 1 || errs[1].(map[string]any)["index"].(float64) != 2 {
		t.Fatalf("error indexes %v", errs)
	}
	if n := ts.store.Stats().Events; n != 2 {
		t.Fatalf("stored %d events", n)
	}
}

func TestRestartServesSameAnswers(t *testing.T) {
	dir := t.TempDir()
	ts := newTestServer(t, dir, Options{})
	evs, prods := demoEvents(t, 3000)
	ts.load(evs, prods)
	c := evs[0].CustomerID
	paths := []string{"/v1/popular?limit=10", "/v1/products/" + evs[0].ProductID + "/related?limit=10",
		"/v1/customers/" + c + "/recommendations?limit=10"}
	var before [][]string
	for _, p := range paths {
		before = append(before, itemIDs(ts.get(p)))
	}
	if err := ts.store.Close(); err != nil {
		t.Fatal(err)
	}
	ts2 := newTestServer(t, dir, Options{})
	for i, p := range paths {
		if got := itemIDs(ts2.get(p)); strings.Join(got, ",") != strings.Join(before[i], ",") {
			t.Errorf("%s after restart: %v, before %v", p, got, before[i])
		}
	}
}

func TestAuthScopes(t *testing.T) {
	keys, err := ParseKeys("read:readkey1,write:writekey1,admin:adminkey1")
	if err != nil {
		t.Fatal(err)
	}
	o := DefaultOptions()
	o.Keys = keys
	ts := newTestServer(t, "", o)
	call := func(method, path, key string) int {
		req := httptest.NewRequest(method, path, strings.NewReader(`{"customer_id":"c","product_id":"p","type":"view"}`))
		if key != "" {
			req.Header.Set("Authorization", "Bearer "+key)
		}
		// An erasure rewrites the snapshot: more than app.Test's default
		// second on a busy machine.
		resp, err := ts.srv.App().Test(req, 30_000)
		if err != nil {
			t.Fatal(err)
		}
		return resp.StatusCode
	}
	for _, tc := range []struct {
		method, path, key string
		want              int
	}{
		{"GET", "/v1/popular", "", 401},
		{"GET", "/v1/popular", "wrong-key-0", 401},
		{"GET", "/v1/popular", "readkey1", 200},
		{"POST", "/v1/events", "readkey1", 403},
		{"POST", "/v1/events", "writekey1", 200},
		// Erasure is write: storefront backends honour deletion requests
		// (docs/api-scopes.md); definitions are admin.
		{"DELETE", "/v1/customers/c", "readkey1", 403},
		{"DELETE", "/v1/customers/c", "writekey1", 204},
		{"PUT", "/v1/segments/s", "writekey1", 403},
		{"GET", "/healthz", "", 200},
	} {
		if got := call(tc.method, tc.path, tc.key); got != tc.want {
			t.Errorf("%s %s with %q: %d, want %d", tc.method, tc.path, tc.key, got, tc.want)
		}
	}
}
