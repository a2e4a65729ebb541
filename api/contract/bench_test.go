package contract_test

import (
	"net/http"
	"testing"

	"github.com/affinity-rec/affinity/api"
	"github.com/affinity-rec/affinity/api/contract"
)

// BenchmarkCheckList is the cost the contract check adds to each reply a
// test receives: one 10-item list reply.
func BenchmarkCheckList(b *testing.B) {
	v, err := contract.New(api.OpenAPIYAML())
	if err != nil {
		b.Fatal(err)
	}
	body := []byte(`{"items":[{"product_id":"21733","score":0.03166},{"product_id":"82482","score":0.019099},` +
		`{"product_id":"23322","score":0.018464},{"product_id":"22423","score":0.0171},{"product_id":"85099B","score":0.016},` +
		`{"product_id":"84879","score":0.015},{"product_id":"23203","score":0.014},{"product_id":"23245","score":0.013},` +
		`{"product_id":"22502","score":0.012},{"product_id":"23301","score":0.011}],` +
		`"recommendation_id":"r46a110d66deb1","algorithm":"related-ease","experiment":null,"variant":null}`)
	hdr := http.Header{"Content-Type": {"application/json"}, "X-Request-Id": {"1"}}
	req, _ := http.NewRequest("GET", "/v1/products/85123A/related?limit=10", nil)
	b.ReportAllocs()
	for b.Loop() {
		if err := v.Check(req, 200, hdr, body); err != nil {
			b.Fatal(err)
		}
	}
}
