package api

import (
	"reflect"
	"testing"
)

// TestUnknownContextProductIgnored: context_product=nope failed the whole
// personal request with a 404 while context_products=nope is ignored; a
// product page for a product with no events yet still gets a list.
func TestUnknownContextProductIgnored(t *testing.T) {
	s := newOfferServer(t)
	var plain, withCtx listJSON
	s.do(t, "GET", "/v1/customers/c1/recommendations?limit=3", "").want(t, 200).decode(t, &plain)
	s.do(t, "GET", "/v1/customers/c1/recommendations?limit=3&context_product=nope", "").want(t, 200).decode(t, &withCtx)
	if len(plain.Items) == 0 || !reflect.DeepEqual(plain.Items, withCtx.Items) {
		t.Fatalf("with an unknown context product %+v, without %+v", withCtx.Items, plain.Items)
	}
	s.do(t, "GET", "/v1/customers/c1/recommendations?limit=3&explain=true&context_product=nope", "").want(t, 200)
}
