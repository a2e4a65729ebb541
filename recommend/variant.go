package recommend

import (
	"context"
	"strconv"
)

// How an experiment variant's params change a list. The experiment service
// validates them when an experiment is defined; here they are only read, so
// a param of the wrong type is ignored like an absent one.

// variantList serves the algorithms an experiment variant can choose beyond
// an endpoint's own ranking: "fixed" (the variant's "products", in order:
// a hand-picked fallback to test against) anywhere, and "popular" on the
// related and personal endpoints. ok is false when the endpoint should rank
// as usual.
func (e *Engine) variantList(ctx context.Context, r Request, endpoint string) (List, bool, error) {
	if len(r.Params) == 0 {
		return List{}, false, nil
	}
	switch paramString(r.Params, "algorithm") {
	case "fixed":
		return e.fixedList(r), true, nil
	case "popular":
		switch endpoint {
		case "related":
			l, err := e.relatedPopular(ctx, r)
			return l, true, err
		case "personal":
			// The customer's popular list, without the variant's other
			// knobs: its limit is taken here.
			l, err := e.Popular(ctx, Request{CustomerID: r.CustomerID, Limit: e.limit(&r), Filter: r.Filter, Window: r.Window})
			return l, true, err
		}
	}
	return List{}, false, nil
}

// relatedPopular is the popular list minus the product the request is
// about.
func (e *Engine) relatedPopular(ctx context.Context, r Request) (List, error) {
	self, _ := e.src.ProductID(r.ProductID)
	pr := r
	pr.Params = nil // no second override
	pr.Limit = e.limit(&r) + 1
	l, err := e.Popular(ctx, pr)
	if err != nil {
		return List{}, err
	}
	items := l.Items[:0]
	for _, it := range l.Items {
		if p, ok := e.src.ProductID(it.ProductID); ok && p == self {
			continue
		}
		items = append(items, it)
	}
	l.Items = items[:min(len(items), e.limit(&r))]
	return l, nil
}

// fixedList is the variant's product list minus unknown products, products
// the filter excludes, and the product the request is about.
func (e *Engine) fixedList(r Request) List {
	ids := variantProducts(r.Params)
	k := e.limit(&r)
	match := e.src.Catalog().Compile(r.Filter)
	out := List{Items: make([]Item, 0, min(k, len(ids))), Algorithm: "fixed"}
	for i, id := range ids {
		if len(out.Items) == k {
			break
		}
		p, ok := e.src.ProductID(id)
		if !ok || id == r.ProductID || id == r.ContextProduct || !match.Allows(p) {
			continue
		}
		out.Items = append(out.Items, Item{ProductID: id, Score: round6(1 - float64(i)/float64(len(ids)))})
	}
	return out
}

// variantProducts reads the variant's "products": a list of ids as JSON
// decodes it ([]any) or as Go code writes it ([]string); nil otherwise.
func variantProducts(p map[string]any) []string {
	ids, _ := paramStrings(p["products"])
	return ids
}

// ParamFloat reads a numeric param as JSON decodes it, as Go code writes it,
// or as a string.
func ParamFloat(v any) (float64, bool) {
	switch x := v.(type) {
	case float64:
		return x, true
	case int:
		return float64(x), true
	case string:
		f, err := strconv.ParseFloat(x, 64)
		return f, err == nil
	}
	return 0, false
}

func paramString(p map[string]any, k string) string {
	if s, ok := p[k].(string); ok {
		return s
	}
	return ""
}
