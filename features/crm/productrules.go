package crm

import (
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/RoaringBitmap/roaring/v2"
	"github.com/expr-lang/expr/vm"

	"github.com/affinity-rec/affinity/features"
)

// Product rules: the same expr language, bounds and error messages as
// profile rules (rules.go), over a product's catalogue fields. Merchandising
// rules (recommend/merch) select the products they boost, bury, pin or
// filter with one.

// productEnvTemplate declares what a product rule sees; ProductEnv fills it.
var productEnvTemplate = map[string]any{
	"product_id": "",
	"category":   "",
	"brand":      "",
	"price":      float64(0),
	"tags":       []string{},
	"available":  false,
	"attributes": map[string]any{},
}

// ProductRuleVariables lists the names a product rule may use, sorted.
var ProductRuleVariables = []string{"attributes", "available", "brand", "category", "price", "product_id", "tags"}

var productSpec = ruleSpec{env: productEnvTemplate, vars: ProductRuleVariables,
	attrs: "product attributes are attributes.NAME", example: `brand == "acme" && price < 20`}

// CompileProductRule compiles a boolean expression over a product's fields
// (ProductRuleVariables), e.g. `brand == "acme"`, `"summer" in tags`,
// `category == "mug" && price < 10`. Errors are *FieldError on "rule" with
// the line and column, as CompileRule's.
func CompileProductRule(src string) (*Rule, error) {
	return compileRuleSpec(src, true, productSpec)
}

// ProductEnv is product id's variables for a product rule; p may be nil (a
// product with events but no catalogue record: only its id is known).
func ProductEnv(id string, p *features.Product) map[string]any {
	env := map[string]any{"product_id": id, "category": "", "brand": "", "price": float64(0),
		"tags": []string{}, "available": true, "attributes": map[string]any{}}
	if p == nil {
		return env
	}
	env["category"], env["brand"], env["price"], env["available"] = p.Category, p.Brand, p.Price, p.Available
	if p.Tags != nil {
		env["tags"] = p.Tags
	}
	if p.Attributes != nil {
		env["attributes"] = p.Attributes
	}
	return env
}

// MatchProducts evaluates r for every product of c below len(names) (names
// are the external ids, by internal id) and returns those it matches. An
// evaluation error is no match, as for profile rules.
func MatchProducts(c *features.Catalog, r *Rule, names []string) *roaring.Bitmap {
	out := roaring.New()
	var v vm.VM
	for p, id := range names {
		if ok, _ := r.matchVM(&v, ProductEnv(id, c.Product(uint32(p)))); ok {
			out.Add(uint32(p))
		}
	}
	return out
}

// ProductRuleCostLimit is the mean time a product rule may take for one
// product: a rule is evaluated over the whole catalogue each time the
// catalogue changes, so at 20 µs a 100,000-product catalogue costs 2 s.
const ProductRuleCostLimit = 20 * time.Microsecond

// CheckProductRuleCost runs r over up to ruleCostSample products of c
// (spread over the ids) and refuses it, as a *FieldError on field, when an
// evaluation goes over RuleMemoryBudget or the mean goes over
// ProductRuleCostLimit; the same measurement as CheckRuleCost.
func CheckProductRuleCost(c *features.Catalog, field string, r *Rule) error {
	envs := []map[string]any{ProductEnv("", nil)}
	step := max(1, c.Len()/ruleCostSample)
	for p := 0; p < c.Len() && len(envs) < ruleCostSample; p += step {
		envs = append(envs, ProductEnv("", c.Product(uint32(p))))
	}
	var v vm.VM
	var total time.Duration
	for i := 0; i < ruleCostSample; i++ {
		best := time.Duration(math.MaxInt64)
		for rep := 0; rep < 3 && best > ProductRuleCostLimit; rep++ {
			start := time.Now()
			_, err := r.matchVM(&v, envs[i%len(envs)])
			best = min(best, time.Since(start))
			if err != nil && strings.Contains(err.Error(), "memory budget exceeded") {
				return &features.FieldError{Field: field, Msg: fmt.Sprintf("needs more than the memory budget of %d elements (arrays, ranges and maps built in one evaluation)", RuleMemoryBudget)}
			}
		}
		total += best
		if total > ProductRuleCostLimit*ruleCostSample {
			break
		}
	}
	if per := total / ruleCostSample; total > ProductRuleCostLimit*ruleCostSample {
		return &features.FieldError{Field: field, Msg: fmt.Sprintf("takes %s per product, limit %s: use fewer or shorter loops and ranges",
			fmtMicros(max(per, ProductRuleCostLimit)), fmtMicros(ProductRuleCostLimit))}
	}
	return nil
}
