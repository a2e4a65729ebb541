package recommend

import (
	"context"
	"testing"
)

// BenchmarkProductAudience ranks the audience of the Online Retail
// products with the most customers (the widest candidate sets), 100
// customers each, buyers excluded: GET /v1/products/{id}/customers'
// ranking without HTTP.
func BenchmarkProductAudience(b *testing.B) {
	e, st := retailEngine(b)
	pop := st.Model().Popular[0]
	var ids []string
	for _, n := range pop[:min(len(pop), 50)] {
		ids = append(ids, st.ProductName(n.Product))
	}
	ctx := context.Background()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		if _, err := e.ProductAudience(ctx, AudienceRequest{ProductID: ids[i%len(ids)], Limit: 100, ExcludeBuyers: true}); err != nil {
			b.Fatal(err)
		}
	}
}
