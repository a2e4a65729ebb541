package api

import (
	"strings"
	"sync"
	"testing"
)

// PATCH changes only the given fields: attributes merge key by key (null
// removes one), tags are replaced, and the list filters see the change.
func TestPatchProduct(t *testing.T) {
	ts := newTestServer(t, "", Options{})
	evs, prods := demoEvents(t, 3000)
	ts.load(evs, prods)
	pop := itemIDs(ts.get("/v1/popular?limit=5"))
	id := pop[0]
	send(t, ts.srv, "PUT", "/v1/products/"+id, `{"category":"mugs","brand":"acme","price":3.5,"tags":["new"],"attributes":{"colour":"red","size":"L"}}`).want(t, 200)

	var got productReply
	send(t, ts.srv, "PATCH", "/v1/products/"+id, `{"category":"cups","attributes":{"colour":"blue","size":null,"glaze":"matte"}}`).want(t, 200).decode(t, &got)
	if got.Category != "cups" || got.Brand != "acme" || got.Price != 3.5 || strings.Join(got.Tags, ",") != "new" || !got.Available {
		t.Fatalf("patch changed other fields: %+v", got)
	}
	if len(got.Attributes) != 2 || got.Attributes["colour"] != "blue" || got.Attributes["glaze"] != "matte" {
		t.Fatalf("attributes not merged: %v", got.Attributes)
	}
	var read productReply
	send(t, ts.srv, "GET", "/v1/products/"+id, "").want(t, 200).decode(t, &read)
	if read.Category != "cups" || len(read.Attributes) != 2 || read.Attributes["size"] != nil {
		t.Fatalf("GET after PATCH: %+v", read)
	}
	send(t, ts.srv, "PATCH", "/v1/products/"+id, `{"tags":["sale"],"available":false}`).want(t, 200).decode(t, &got)
	if strings.Join(got.Tags, ",") != "sale" || got.Available || got.Category != "cups" {
		t.Fatalf("tags not replaced: %+v", got)
	}
	send(t, ts.srv, "PATCH", "/v1/products/"+id, `{"available":true}`).want(t, 200)

	if ids := itemIDs(ts.get("/v1/popular?limit=10&category=cups")); strings.Join(ids, ",") != id {
		t.Fatalf("popular?category=cups = %v, want [%s]", ids, id)
	}
	for _, cid := range itemIDs(ts.get("/v1/popular?limit=50&category=mugs")) {
		if cid == id {
			t.Fatalf("the old category still lists %s", id)
		}
	}
	if ids := itemIDs(ts.get("/v1/popular?limit=10&tag=sale")); strings.Join(ids, ",") != id {
		t.Fatalf("popular?tag=sale = %v", ids)
	}
}

func TestPatchProductRefusals(t *testing.T) {
	ts := newTestServer(t, "", Options{})
	send(t, ts.srv, "PUT", "/v1/products/p1", `{"category":"mugs","price":3}`).want(t, 200)
	r := send(t, ts.srv, "PATCH", "/v1/products/p1", `{"colour":"red"}`).want(t, 400)
	if !strings.Contains(string(r.body), "colour") || !strings.HasPrefix(r.ctype, "application/problem+json") {
		t.Fatalf("unknown field: %s %s", r.ctype, r.body)
	}
	send(t, ts.srv, "PATCH", "/v1/products/p1", `{"price":-1}`).want(t, 400)
	send(t, ts.srv, "PATCH", "/v1/products/p1", `{"price":"x"}`).want(t, 400)
	send(t, ts.srv, "PATCH", "/v1/products/nobody", `{"price":1}`).want(t, 404)
	// A refused patch and a 404 change and create nothing.
	var p productReply
	send(t, ts.srv, "GET", "/v1/products/p1", "").want(t, 200).decode(t, &p)
	if p.Price != 3 {
		t.Fatalf("refused patch changed the product: %+v", p)
	}
	send(t, ts.srv, "GET", "/v1/products/nobody", "").want(t, 404)
}

func TestPatchCustomer(t *testing.T) {
	ts := newTestServer(t, "", Options{})
	send(t, ts.srv, "PUT", "/v1/customers/c1", `{"attributes":{"country":"FR","newsletter":true}}`).want(t, 200)
	var got customerReply
	send(t, ts.srv, "PATCH", "/v1/customers/c1", `{"attributes":{"tier":"gold","newsletter":null}}`).want(t, 200).decode(t, &got)
	if len(got.Attributes) != 2 || got.Attributes["country"] != "FR" || got.Attributes["tier"] != "gold" {
		t.Fatalf("attributes not merged: %v", got.Attributes)
	}
	var prof struct {
		Attributes map[string]any `json:"attributes"`
	}
	send(t, ts.srv, "GET", "/v1/customers/c1/profile", "").want(t, 200).decode(t, &prof)
	if len(prof.Attributes) != 2 || prof.Attributes["tier"] != "gold" {
		t.Fatalf("profile after PATCH: %v", prof.Attributes)
	}
	r := send(t, ts.srv, "PATCH", "/v1/customers/c1", `{"attributes":{},"tier":"x"}`).want(t, 400)
	if !strings.Contains(string(r.body), "tier") {
		t.Fatalf("unknown field not named: %s", r.body)
	}
	send(t, ts.srv, "PATCH", "/v1/customers/stranger", `{"attributes":{"a":1}}`).want(t, 404)
	send(t, ts.srv, "DELETE", "/v1/customers/c1", "").want(t, 204)
	send(t, ts.srv, "PATCH", "/v1/customers/c1", `{"attributes":{"a":1}}`).want(t, 404)
}

func TestPatchNeedsWriteScope(t *testing.T) {
	ao := DefaultOptions()
	ao.Keys = []Key{{Scope: ScopeRead, Key: "reader-key-1"}, {Scope: ScopeWrite, Key: "writer-key-1"}}
	ts := newTestServer(t, "", ao)
	send(t, ts.srv, "PUT", "/v1/products/p1", `{"price":1}`, "X-API-Key", "writer-key-1").want(t, 200)
	send(t, ts.srv, "PUT", "/v1/customers/c1", `{"attributes":{}}`, "X-API-Key", "writer-key-1").want(t, 200)
	send(t, ts.srv, "PATCH", "/v1/products/p1", `{"price":2}`, "X-API-Key", "reader-key-1").want(t, 403)
	send(t, ts.srv, "PATCH", "/v1/customers/c1", `{"attributes":{"a":1}}`, "X-API-Key", "reader-key-1").want(t, 403)
	send(t, ts.srv, "PATCH", "/v1/products/p1", `{"price":2}`, "X-API-Key", "writer-key-1").want(t, 200)
	send(t, ts.srv, "PATCH", "/v1/customers/c1", `{"attributes":{"a":1}}`, "X-API-Key", "writer-key-1").want(t, 200)
}

// Concurrent patches of different attributes of one record all land: each
// read-modify-write runs whole on the store's writer, so none is lost.
func TestConcurrentPatchesAllLand(t *testing.T) {
	ts := newTestServer(t, "", Options{})
	send(t, ts.srv, "PUT", "/v1/customers/c1", `{"attributes":{}}`).want(t, 200)
	send(t, ts.srv, "PUT", "/v1/products/p1", `{"price":1}`).want(t, 200)
	const n = 20
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			k := string(rune('a' + i))
			send(t, ts.srv, "PATCH", "/v1/customers/c1", `{"attributes":{"`+k+`":1}}`).want(t, 200)
			send(t, ts.srv, "PATCH", "/v1/products/p1", `{"attributes":{"`+k+`":1}}`).want(t, 200)
		})
	}
	wg.Wait()
	var c struct {
		Attributes map[string]any `json:"attributes"`
	}
	send(t, ts.srv, "GET", "/v1/customers/c1/profile", "").want(t, 200).decode(t, &c)
	var p productReply
	send(t, ts.srv, "GET", "/v1/products/p1", "").want(t, 200).decode(t, &p)
	if len(c.Attributes) != n || len(p.Attributes) != n {
		t.Fatalf("lost updates: customer %d, product %d attributes, want %d", len(c.Attributes), len(p.Attributes), n)
	}
}
