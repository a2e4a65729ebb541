package api

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/affinity-rec/affinity/features"
)

// merchServer is the demo sample (first n events, its catalogue with the
// importer's non-merchandise marks) behind the real app.
func merchServer(t *testing.T, n int) (*testServer, []features.Event) {
	t.Helper()
	ts := newTestServer(t, "", Options{})
	evs, prods := demoEvents(t, n)
	ts.load(evs, prods)
	return ts, evs
}

// buyerOf is a customer of evs who bought product p.
func buyerOf(evs []features.Event, p string) string {
	for _, e := range evs {
		if e.ProductID == p {
			return e.CustomerID
		}
	}
	return ""
}

func wantField(t *testing.T, ts *testServer, path, field string) map[string]any {
	t.Helper()
	code, m, _ := ts.do("GET", path, "", "")
	if code != 400 || m["field"] != field {
		t.Fatalf("GET %s: %d %v, want 400 naming %s", path, code, m, field)
	}
	return m
}

func TestNotRecommendableProductsAreNeverListed(t *testing.T) {
	ts, evs := merchServer(t, 10000)
	p := ts.get("/v1/products/POST")
	if p["recommendable"] != false {
		t.Fatalf("the importer left POST recommendable: %v", p)
	}
	if p := ts.get("/v1/products/22423"); p["recommendable"] != true {
		t.Fatalf("a real article is not recommendable: %v", p)
	}
	hidden := []string{"POST", "M", "DOT", "C2"}
	buyer := buyerOf(evs, "POST")
	lists := []string{
		"/v1/popular?limit=100",
		"/v1/popular?limit=100&include_unavailable=true",
		"/v1/products/22423/related?limit=100",
		"/v1/customers/" + buyer + "/recommendations?limit=100",
		"/v1/customers/" + buyer + "/recommendations?limit=100&context_product=POST",
		"/v1/customers/nobody/recommendations?limit=100&context_products=POST,22423",
	}
	for _, l := range lists {
		for _, id := range itemIDs(ts.get(l)) {
			if slices.Contains(hidden, id) {
				t.Errorf("%s lists non-merchandise %s", l, id)
			}
		}
	}
	// Without the mark, POST is among the most popular: the mark is what
	// keeps it out.
	if code, _, _ := ts.do("PUT", "/v1/products/POST", "application/json", `{"recommendable":true}`); code != 200 {
		t.Fatal("put")
	}
	if !slices.Contains(itemIDs(ts.get("/v1/popular?limit=100")), "POST") {
		t.Fatal("POST is not popular once recommendable: the test shows nothing")
	}
	if code, _, _ := ts.do("PUT", "/v1/products/POST", "application/json", `{"recommendable":false}`); code != 200 {
		t.Fatal("put")
	}
	if slices.Contains(itemIDs(ts.get("/v1/popular?limit=100")), "POST") {
		t.Fatal("POST listed after recommendable false")
	}
}

func TestNotRecommendableLeftOutOfSegmentLists(t *testing.T) {
	s := newSegServer(t, "")
	s.loadDemo(t)
	send(t, s.srv, "PUT", "/v1/segments/fr", `{"rule":"attributes.country == \"France\""}`).want(t, 200)
	s.st.Refresh()
	for _, path := range []string{"/v1/segments/fr/products?limit=100", "/v1/popular?segment=fr&limit=100"} {
		var l struct {
			Items []struct {
				ProductID string `json:"product_id"`
			}
		}
		send(t, s.srv, "GET", path, "").want(t, 200).decode(t, &l)
		if len(l.Items) == 0 {
			t.Fatalf("%s is empty", path)
		}
		for _, it := range l.Items {
			if it.ProductID == "POST" || it.ProductID == "M" {
				t.Errorf("%s lists %s", path, it.ProductID)
			}
		}
	}
}

func TestExcludeAndContextProducts(t *testing.T) {
	ts, _ := merchServer(t, 5000)
	pop := itemIDs(ts.get("/v1/popular?limit=10"))
	got := itemIDs(ts.get("/v1/popular?limit=10&exclude=" + pop[0] + "," + pop[2]))
	if len(got) != 10 || slices.Contains(got, pop[0]) || slices.Contains(got, pop[2]) || got[0] != pop[1] {
		t.Fatalf("exclude: %v from %v", got, pop)
	}
	// Context products leave every list too, and drive an anonymous
	// visitor's personal list (a cart page).
	rel := itemIDs(ts.get("/v1/products/" + pop[0] + "/related?limit=10"))
	got = itemIDs(ts.get("/v1/products/" + pop[0] + "/related?limit=10&context_products=" + rel[0]))
	if slices.Contains(got, rel[0]) || len(got) != len(rel) {
		t.Fatalf("related with context %s: %v", rel[0], got)
	}
	cart := pop[0] + "," + pop[1]
	m := ts.get("/v1/customers/visitor-1/recommendations?limit=10&context_products=" + cart + ",unknown-sku")
	got = itemIDs(m)
	if m["algorithm"] != "personal" || len(got) != 10 || slices.Contains(got, pop[0]) || slices.Contains(got, pop[1]) {
		t.Fatalf("cart list: %v %v", m["algorithm"], got)
	}
	one := itemIDs(ts.get("/v1/customers/visitor-1/recommendations?limit=10&context_product=" + pop[0]))
	if slices.Equal(one, got) {
		t.Errorf("a second context product changed nothing: %v", got)
	}
	// context_product keeps working, alone and with context_products.
	if got := itemIDs(ts.get("/v1/customers/visitor-1/recommendations?limit=10&context_product=" + pop[0] + "&context_products=" + pop[1])); slices.Contains(got, pop[1]) {
		t.Fatalf("context_product with context_products: %v", got)
	}
	many := strings.Repeat("a,", 100) + "a"
	wantField(t, ts, "/v1/popular?exclude="+many, "exclude")
	wantField(t, ts, "/v1/popular?context_products="+many, "context_products")
	wantField(t, ts, "/v1/popular?exclude=a,,b", "exclude")
	wantField(t, ts, "/v1/popular?include_unavailable=maybe", "include_unavailable")
}

func putRule(t *testing.T, ts *testServer, name, body string) (int, map[string]any) {
	t.Helper()
	code, m, _ := ts.do("PUT", "/v1/rules/"+name, "application/json", body)
	return code, m
}

func TestMerchRulesHTTP(t *testing.T) {
	ts, _ := merchServer(t, 5000)
	pop := itemIDs(ts.get("/v1/popular?limit=10"))
	// Bad definitions: the segment rules' 400s, with line and column.
	for _, c := range []struct{ body, field, says string }{
		{`{"when":"brand ==","action":"boost"}`, "when", "line 1, column"},
		{`{"when":"frequency > 2","action":"boost"}`, "when", "unknown name frequency"},
		{`{"when":"true","action":"shout"}`, "action", "boost, bury, pin, filter"},
		{`{"when":"true","action":"pin"}`, "position", "required"},
		{`{"when":"true","action":"boost","weight":-1}`, "weight", "above 0"},
		{`{"when":"true","action":"filter","position":2}`, "position", "not used"},
		{`{"action":"boost"}`, "when", "required"},
	} {
		code, m := putRule(t, ts, "r", c.body)
		if code != 400 || m["field"] != c.field || !strings.Contains(fmt.Sprint(m["detail"]), c.says) {
			t.Errorf("%s: %d %v, want 400 on %s saying %q", c.body, code, m, c.field, c.says)
		}
	}
	// boost: the 5th most popular product goes first.
	if code, m := putRule(t, ts, "lift-5", fmt.Sprintf(`{"when":"product_id == '%s'","action":"boost","weight":100}`, pop[4])); code != 200 || m["weight"] != 100.0 || m["position"] != 0.0 {
		t.Fatalf("put: %d %v", code, m)
	}
	if got := itemIDs(ts.get("/v1/popular?limit=10&rules=lift-5")); got[0] != pop[4] || len(got) != 10 {
		t.Fatalf("boosted: %v", got)
	}
	// bury: the first goes down; pin: a product from deeper down to 2nd.
	putRule(t, ts, "sink-1", fmt.Sprintf(`{"when":"product_id == '%s'","action":"bury","weight":1000}`, pop[0]))
	if got := itemIDs(ts.get("/v1/popular?limit=10&rules=sink-1")); got[0] != pop[1] || slices.Contains(got, pop[0]) || len(got) != 10 {
		t.Fatalf("buried: %v", got)
	}
	deep := itemIDs(ts.get("/v1/popular?limit=40"))[30]
	putRule(t, ts, "pin-2", fmt.Sprintf(`{"when":"product_id in ['%s']","action":"pin","position":2}`, deep))
	m := ts.get("/v1/popular?limit=10&rules=pin-2&explain=true")
	if got := itemIDs(m); got[1] != deep || len(got) != 10 || got[0] != pop[0] {
		t.Fatalf("pinned: %v", got)
	}
	ex := m["items"].([]any)[1].(map[string]any)["explain"].(map[string]any)
	if rs := fmt.Sprint(ex["rules"]); !strings.Contains(rs, "pin-2") {
		t.Fatalf("explain of the pinned item: %v", ex)
	}
	// filter: gone, and the list keeps its length.
	putRule(t, ts, "no-top", fmt.Sprintf(`{"when":"product_id == '%s'","action":"filter"}`, pop[0]))
	if got := itemIDs(ts.get("/v1/popular?limit=10&rules=no-top,lift-5")); slices.Contains(got, pop[0]) || len(got) != 10 || got[0] != pop[4] {
		t.Fatalf("filtered and boosted: %v", got)
	}
	wantField(t, ts, "/v1/popular?rules=nope", "rules")
	wantField(t, ts, "/v1/popular?rules=a%20b", "rules")
	// CRUD.
	var names []string
	for _, r := range ts.get("/v1/rules")["rules"].([]any) {
		names = append(names, r.(map[string]any)["name"].(string))
	}
	if strings.Join(names, ",") != "lift-5,no-top,pin-2,sink-1" {
		t.Fatalf("list: %v", names)
	}
	if r := ts.get("/v1/rules/pin-2"); r["action"] != "pin" || r["position"] != 2.0 {
		t.Fatalf("get: %v", r)
	}
	if code, _, _ := ts.do("DELETE", "/v1/rules/pin-2", "", ""); code != 204 {
		t.Fatalf("delete: %d", code)
	}
	if code, _, _ := ts.do("GET", "/v1/rules/pin-2", "", ""); code != 404 {
		t.Fatalf("get after delete: %d", code)
	}
	wantField(t, ts, "/v1/popular?rules=pin-2", "rules")
	// The segment-rule checker keeps its route.
	if code, m, _ := ts.do("POST", "/v1/rules/check", "application/json", `{"rule":"monetary > 1"}`); code != 200 || m["valid"] != true {
		t.Fatalf("rules/check: %d %v", code, m)
	}
}

func TestDiversityKeepsListLength(t *testing.T) {
	ts, _ := merchServer(t, 5000)
	m := ts.get("/v1/popular?limit=10&max_per_category=1")
	got := itemIDs(m)
	if len(got) != 10 {
		t.Fatalf("diverse list has %d items: %v", len(got), got)
	}
	seen := map[string]string{}
	for _, id := range got {
		p, _, err := ts.store.GetProduct(id)
		if err != nil {
			t.Fatal(err)
		}
		if p.Category == "" {
			continue
		}
		if other, dup := seen[p.Category]; dup {
			t.Errorf("%s and %s are both %q", other, id, p.Category)
		}
		seen[p.Category] = id
	}
	plain := itemIDs(ts.get("/v1/popular?limit=10"))
	if slices.Equal(plain, got) {
		t.Error("the cap changed nothing: the test shows nothing")
	}
	wantField(t, ts, "/v1/popular?max_per_category=0", "max_per_category")
	wantField(t, ts, "/v1/popular?max_per_brand=x", "max_per_brand")
}

func TestExplainNamesTheScoreParts(t *testing.T) {
	ts, evs := merchServer(t, 5000)
	pop := itemIDs(ts.get("/v1/popular?limit=3"))
	cust := buyerOf(evs, pop[0])
	m := ts.get("/v1/customers/" + cust + "/recommendations?limit=5&explain=true&context_products=" + pop[1])
	items := m["items"].([]any)
	if len(items) == 0 {
		t.Fatal("empty list")
	}
	withBecause := 0
	for _, it := range items {
		ex, ok := it.(map[string]any)["explain"].(map[string]any)
		if !ok {
			t.Fatalf("no explain: %v", it)
		}
		if b, _ := ex["because"].([]any); len(b) > 0 {
			withBecause++
		}
	}
	if withBecause == 0 {
		t.Fatalf("no item says which history or context products scored it: %v", items)
	}
	rel := ts.get("/v1/products/" + pop[0] + "/related?limit=3&explain=true")
	first := rel["items"].([]any)[0].(map[string]any)
	because := first["explain"].(map[string]any)["because"].([]any)[0].(map[string]any)
	if because["product_id"] != pop[0] || because["score"] != first["score"] {
		t.Fatalf("related explain: %v", first)
	}
	// Without explain=true items carry nothing more.
	if _, ok := ts.get("/v1/popular?limit=3")["items"].([]any)[0].(map[string]any)["explain"]; ok {
		t.Fatal("explain without asking")
	}
}

// A variant's "rules" param applies merchandising rules to its arm only,
// so their effect is measured like any other ranking change.
func TestVariantRulesParam(t *testing.T) {
	s := newExpServer(t)
	s.do(t, "PUT", "/v1/rules/p9-first", `{"when":"product_id == 'p9'","action":"pin","position":1}`).want(t, 200)
	s.do(t, "PUT", "/v1/experiments/pin", `{"status":"running","variants":[
		{"name":"control","weight":1},
		{"name":"pinned","weight":1,"params":{"rules":["p9-first"]}}]}`).want(t, 200)
	for _, v := range []string{"control", "pinned"} {
		var l listJSON
		s.do(t, "GET", "/v1/popular?limit=5&experiment=pin&variant="+v+"&unit_id=u1", "").want(t, 200).decode(t, &l)
		if first := l.Items[0].ProductID; (first == "p9") != (v == "pinned") {
			t.Errorf("variant %s serves %s first", v, first)
		}
	}
	for _, bad := range []string{`["a b"]`, `[]`, `"p9-first"`, `[1]`} {
		r := s.do(t, "PUT", "/v1/experiments/bad", `{"variants":[{"name":"a","params":{"rules":`+bad+`}}]}`)
		if r.status != 400 || !strings.Contains(string(r.body), "variants[0].params.rules") {
			t.Errorf("rules %s: %d %s", bad, r.status, r.body)
		}
	}
}
