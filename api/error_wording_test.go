package api

import (
	"strings"
	"testing"
)

// TestBodyErrorsNameTheValue: a wrong array element was named by its array
// ("tags must be a string"), a number out of range read "must be a number,
// not a number", and 10.5 for a whole number did not say which number.
// docs/operations.md promises JSON paths such as variants[0].weigth.
func TestBodyErrorsNameTheValue(t *testing.T) {
	s := newOfferServer(t)
	for _, c := range []struct{ method, path, body, field, detail string }{
		{"PUT", "/v1/products/p1", `{"tags":["a",1]}`, "tags[1]", "tags[1] must be a string, not a number"},
		{"PUT", "/v1/offers/o1", `{"products":["p1",2]}`, "products[1]", "products[1] must be a string, not a number"},
		{"POST", "/v1/exports", `{"customers":["c1",2]}`, "customers[1]", "customers[1] must be a string, not a number"},
		{"POST", "/v1/exports", `{"customers":["c1",""]}`, "customers[1]", "customers[1] is required"},
		{"PUT", "/v1/products/p1", `{"attributes":{"a":1e400}}`, "attributes.a", "attributes.a is out of range: 1e400"},
		{"PUT", "/v1/products/p1", `{"price":1e400}`, "price", "price is out of range"},
		{"POST", "/v1/exports", `{"customers":["c1"],"limit":10.5}`, "limit", "limit must be a whole number, written without a fraction or exponent, not 10.5"},
	} {
		d := wantProblem(t, s.do(t, c.method, c.path, c.body), c.field)
		if !strings.Contains(d, c.detail) {
			t.Errorf("%s %s: detail %q, want %q", c.path, c.body, d, c.detail)
		}
	}
}
