package api

import "testing"

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
