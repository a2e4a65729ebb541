package api

import (
	"net/http/httptest"
	"strings"
	"testing"
)

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
		// A lone surrogate decodes to U+FFFD, as does any other: two ids
		// the client told apart would be one customer.
		{"POST", "/v1/events", "application/json", `{"customer_id":"a\ud800","product_id":"p","type":"view"}`, 400, "customer_id"},
		{"POST", "/v1/events", "application/json", `{"customer_id":"c","product_id":"p\udfff","type":"view"}`, 400, "product_id"},
		{"POST", "/v1/events", "application/x-ndjson", `{"customer_id":"a\ud801","product_id":"p","type":"view"}` + "\n", 400, "customer_id"},
		{"POST", "/v1/events", "application/json", `{"customer_id":"c","product_id":"p","type":"view","event_id":"e\udc00"}`, 400, "event_id"},
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

// TestReplacementCharInPathIDs: only an event's ids refuse U+FFFD (where
// JSON decoding makes it of two different ids); a path id holding it was
// sent as those bytes on purpose, and a customer stored under one by an
// older version stays readable and erasable.
func TestReplacementCharInPathIDs(t *testing.T) {
	ts := newTestServer(t, "", Options{})
	const id = "x%EF%BF%BD"
	for _, c := range []struct {
		method, path, body string
		status             int
	}{
		{"PUT", "/v1/customers/" + id, `{"attributes":{"tier":"gold"}}`, 200},
		{"GET", "/v1/customers/" + id + "/profile", "", 200},
		{"PUT", "/v1/products/" + id, `{"price":1}`, 200},
		{"DELETE", "/v1/customers/" + id, "", 204},
	} {
		if code, m, _ := ts.do(c.method, c.path, "application/json", c.body); code != c.status {
			t.Errorf("%s %s: %d, want %d (%v)", c.method, c.path, code, c.status, m)
		}
	}
}
