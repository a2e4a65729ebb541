package api

import (
	"fmt"
	"strings"
	"testing"
)

// TestListsFollowABurstAtOnce: right after the first events into a new
// store, before any background refresh (the test store's refresh interval
// is an hour), popular, a known customer's personal list and related come
// back non-empty. They were empty for about a second: the published model
// had no popularity until the refresh.
func TestListsFollowABurstAtOnce(t *testing.T) {
	ts := newTestServer(t, "", Options{})
	var b strings.Builder
	b.WriteByte('[')
	for c := range 40 {
		for p := range 6 {
			if b.Len() > 1 {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, `{"customer_id":"c%d","product_id":"p%d","type":"purchase","value":2}`, c, (c*p+c)%23)
		}
	}
	b.WriteByte(']')
	send(t, ts.srv, "POST", "/v1/events", b.String()).want(t, 200)
	for _, path := range []string{
		"/v1/popular?limit=5",
		"/v1/customers/c7/recommendations?limit=5",
		"/v1/products/p7/related?limit=5",
	} {
		var l struct {
			Items []struct {
				ProductID string `json:"product_id"`
			}
			Algorithm string
		}
		send(t, ts.srv, "GET", path, "").want(t, 200).decode(t, &l)
		if len(l.Items) != 5 {
			t.Errorf("%s: %d items (algorithm %q), want 5", path, len(l.Items), l.Algorithm)
		}
	}
}
