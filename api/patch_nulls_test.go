package api

import "testing"

// TestPatchProductRefusesNullFields: {"price": null} answered 200 and
// changed nothing (the spec types price a number); null stays meaningful
// inside attributes, where it removes one.
func TestPatchProductRefusesNullFields(t *testing.T) {
	s := newOfferServer(t)
	s.do(t, "PUT", "/v1/products/x", `{"price":3,"available":true,"attributes":{"a":1,"b":2}}`).want(t, 200)
	for _, f := range []string{"price", "available", "category", "brand", "tags", "recommendable"} {
		wantProblem(t, s.do(t, "PATCH", "/v1/products/x", `{"`+f+`":null}`), f)
	}
	var p productReply
	s.do(t, "PATCH", "/v1/products/x", `{"attributes":{"a":null}}`).want(t, 200).decode(t, &p)
	if _, ok := p.Attributes["a"]; ok || p.Attributes["b"] != 2.0 || p.Price != 3 {
		t.Fatalf("after removing attribute a: %+v", p)
	}
}
