package api

import (
	"strings"
	"testing"
)

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
