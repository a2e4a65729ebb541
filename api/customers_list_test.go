package api

import (
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
)

// TestListingCustomersNeedsAdmin: a read key (the one a storefront page
// embeds) could list every customer id with GET /v1/customers?limit=10000.
func TestListingCustomersNeedsAdmin(t *testing.T) {
	keys, err := ParseKeys("read:readkey1,write:writekey1,admin:adminkey1")
	if err != nil {
		t.Fatal(err)
	}
	o := DefaultOptions()
	o.Keys = keys
	ts := newTestServer(t, "", o)
	ts.load(purchases(5, 3, 1, func(c, p int) bool { return true }), nil)
	for _, key := range []string{"readkey1", "writekey1"} {
		r := send(t, ts.srv, "GET", "/v1/customers?limit=10000", "", "X-API-Key", key).want(t, 403)
		if r.ctype != "application/problem+json" {
			t.Fatalf("403 as %q", r.ctype)
		}
	}
	var l struct{ Customers []string }
	send(t, ts.srv, "GET", "/v1/customers?limit=10000", "", "X-API-Key", "adminkey1").want(t, 200).decode(t, &l)
	if len(l.Customers) != 5 {
		t.Fatalf("admin listing: %v", l.Customers)
	}
}

// TestOpenAPISaysAcceptedCountsDuplicates: a retried batch answers
// "accepted" as the first try did, duplicates included; the description
// says so, and the numbers are as it says.
func TestOpenAPISaysAcceptedCountsDuplicates(t *testing.T) {
	ts := newTestServer(t, "", Options{})
	r := send(t, ts.srv, "GET", "/openapi.json", "").want(t, 200)
	doc, err := openapi3.NewLoader().LoadFromData(r.body)
	if err != nil {
		t.Fatal(err)
	}
	op := doc.Paths.Find("/v1/events").Post
	reply := op.Responses.Status(200).Value.Content.Get("application/json").Schema.Value // $ref resolved
	acc := reply.Properties["accepted"].Value.Description
	if !strings.Contains(op.Description, "duplicates included") || !strings.Contains(acc, "duplicates included") {
		t.Fatalf("POST /v1/events description %q, accepted %q", op.Description, acc)
	}
	body := `[{"event_id":"e1","customer_id":"c1","product_id":"p1","type":"view"},{"event_id":"e2","customer_id":"c1","product_id":"p2","type":"view"}]`
	for i, want := range []string{`"accepted":2,"rejected":0,"duplicates":0`, `"accepted":2,"rejected":0,"duplicates":2`} {
		if r := send(t, ts.srv, "POST", "/v1/events", body).want(t, 200); !strings.Contains(string(r.body), want) {
			t.Fatalf("post %d: %s, want %s", i, r.body, want)
		}
	}
}
