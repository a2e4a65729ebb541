package recommend

import (
	"errors"
	"fmt"
	"slices"

	"github.com/RoaringBitmap/roaring/v2"

	"github.com/affinity-rec/affinity/features"
	"github.com/affinity-rec/affinity/recommend/merch"
)

// Merchandising: what a storefront asks of every list beyond its filter.
// Exclusions (exclude=, the context products, filter rules) go into the
// request's Filter.Exclude before ranking, so a list keeps its length; the
// rest (boost, bury, pin, diversity caps, explanations) re-rank a deeper
// candidate list after it (applyMerch). A request with none of them pays
// one check.

// Merch are a request's merchandising controls.
type Merch struct {
	// Exclude are products never to list (already shown, out of policy).
	Exclude []string
	// ContextProducts are what the customer is looking at (a cart): a
	// personal list is ranked from them as from a fresh history, every
	// list leaves them out. Unknown ids are ignored: a cart may hold a
	// product the store has not seen yet.
	ContextProducts []string
	// Rules name merchandising rules (recommend/merch) to apply, in order.
	Rules []string
	// MaxPerCategory and MaxPerBrand cap how many items of one category
	// or brand the list shows (0: no cap); diversity.go.
	MaxPerCategory, MaxPerBrand int
	// Explain asks for each item's score parts (explain.go).
	Explain bool
}

func (m *Merch) isZero() bool {
	return len(m.Exclude) == 0 && len(m.ContextProducts) == 0 && len(m.Rules) == 0 &&
		m.MaxPerCategory == 0 && m.MaxPerBrand == 0 && !m.Explain
}

// MaxMerchIDs bounds exclude, context_products and rules, so that one
// request's set-up stays small.
const MaxMerchIDs = 100

// merchDepth is how many candidates a re-ranked list is chosen from: a
// boosted product or one that diversity lets in may come from deep down.
func merchDepth(k int) int { return min(max(5*k, k+50), 1000) }

// merchPlan is a request's merchandising resolved against one catalogue.
type merchPlan struct {
	k             int
	cat           *features.Catalog
	rules         []*merch.Compiled // boost, bury and pin, in the order named
	hits          []*roaring.Bitmap // the products each rule matches
	maxCat, maxBr int
	explain       bool
}

// reranks reports whether the plan changes the ranked list.
func (p *merchPlan) reranks() bool { return len(p.rules) > 0 || p.maxCat > 0 || p.maxBr > 0 }

// prepareMerch resolves r's merchandising (its own and its variant's
// "rules" param): exclusions into r.Filter.Exclude, and r's depth when
// the list is re-ranked after. nil when there is nothing to do after.
func (e *Engine) prepareMerch(r *Request) (*merchPlan, error) {
	variantRules, _ := paramStrings(r.Params["rules"])
	if r.Merch.isZero() && len(variantRules) == 0 {
		return nil, nil
	}
	p := &merchPlan{k: e.limit(r), cat: e.src.Catalog(), maxCat: r.Merch.MaxPerCategory, maxBr: r.Merch.MaxPerBrand, explain: r.Merch.Explain}
	block := roaring.New()
	for _, ids := range [][]string{r.Merch.Exclude, r.Merch.ContextProducts} {
		for _, id := range ids {
			if q, ok := e.src.ProductID(id); ok {
				block.Add(q)
			}
		}
	}
	if err := e.resolveRules(p, block, variantRules, true); err != nil {
		return nil, err
	}
	if err := e.resolveRules(p, block, r.Merch.Rules, false); err != nil {
		return nil, err
	}
	if !block.IsEmpty() {
		if r.Filter.Exclude != nil {
			block.Or(r.Filter.Exclude)
		}
		r.Filter.Exclude = block
	}
	if p.reranks() {
		r.depth = merchDepth(p.k)
	}
	if !p.reranks() && !p.explain {
		return nil, nil
	}
	return p, nil
}

// resolveRules compiles the named rules into p (filters into block). A
// request naming an unknown rule is a 400; a variant's rule deleted since
// the experiment started is skipped, so the experiment keeps serving.
func (e *Engine) resolveRules(p *merchPlan, block *roaring.Bitmap, names []string, fromVariant bool) error {
	for _, name := range names {
		if e.rules == nil {
			return &features.FieldError{Field: "rules", Msg: "cannot be used: this server has no merchandising rules"}
		}
		c, err := e.rules.Compiled(name)
		if errors.Is(err, features.ErrNotFound) {
			if fromVariant {
				continue
			}
			return &features.FieldError{Field: "rules", Msg: fmt.Sprintf("names unknown rule %q", name)}
		}
		if err != nil {
			return err
		}
		hits := c.Matches(p.cat, e.productCount(p.cat), func() []string { return e.allNames(p.cat) })
		if c.Action == merch.Filter {
			block.Or(hits)
			continue
		}
		p.rules = append(p.rules, c)
		p.hits = append(p.hits, hits)
	}
	return nil
}

// productCount is how many product ids a rule is evaluated over: those
// with a record or with events in the model.
func (e *Engine) productCount(cat *features.Catalog) int {
	return max(cat.Len(), len(e.src.Model().Support[features.BasisAny]))
}

func (e *Engine) allNames(cat *features.Catalog) []string {
	n := e.productCount(cat)
	ids := make([]uint32, n)
	for i := range ids {
		ids[i] = uint32(i)
	}
	return e.src.ProductNames(ids, make([]string, 0, n))
}

// merchItem is a candidate being re-ranked.
type merchItem struct {
	Item
	p     uint32
	base  float64
	moved []RuleEffect
}

// applyMerch re-ranks l by the plan: boost and bury scores, re-sort, pick
// under the diversity caps, pin, cut to the asked length, explain.
func (e *Engine) applyMerch(p *merchPlan, r Request, l List) List {
	if p == nil {
		return l
	}
	items := make([]merchItem, 0, len(l.Items))
	for _, it := range l.Items {
		q, _ := e.src.ProductID(it.ProductID)
		items = append(items, merchItem{Item: it, p: q, base: it.Score})
	}
	rescored := false
	for i, c := range p.rules {
		if c.Action != merch.Boost && c.Action != merch.Bury {
			continue
		}
		f := 1 + c.Weight
		if c.Action == merch.Bury {
			f = 1 / f
		}
		for j := range items {
			if p.hits[i].Contains(items[j].p) {
				items[j].Score = round6(items[j].Score * f)
				items[j].moved = append(items[j].moved, RuleEffect{Rule: c.Name, Action: c.Action})
				rescored = true
			}
		}
	}
	if rescored {
		slices.SortStableFunc(items, func(a, b merchItem) int {
			switch {
			case a.Score > b.Score:
				return -1
			case a.Score < b.Score:
				return 1
			}
			return 0
		})
	}
	out := diversify(p, items)
	out = e.pin(p, items, out)
	var ex *explainer
	if p.explain {
		ex = e.newExplainer(r)
	}
	l.Items = make([]Item, len(out))
	for i, it := range out {
		l.Items[i] = it.Item
		if ex != nil {
			l.Explains = append(l.Explains, ex.item(it))
		}
	}
	return l
}

// pin moves, for each pin rule in order, the best-ranked candidate it
// matches to its position (the list's end when shorter); a candidate
// already pinned stays where its first pin put it.
func (e *Engine) pin(p *merchPlan, cands, out []merchItem) []merchItem {
	pinned := map[uint32]bool{}
	for i, c := range p.rules {
		if c.Action != merch.Pin {
			continue
		}
		at := slices.IndexFunc(cands, func(it merchItem) bool { return p.hits[i].Contains(it.p) && !pinned[it.p] })
		if at < 0 {
			continue
		}
		it := cands[at]
		it.moved = append(slices.Clip(it.moved), RuleEffect{Rule: c.Name, Action: c.Action})
		pinned[it.p] = true
		if j := slices.IndexFunc(out, func(o merchItem) bool { return o.p == it.p }); j >= 0 {
			out = slices.Delete(out, j, j+1)
		} else if len(out) == p.k {
			out = out[:len(out)-1]
		}
		pos := min(c.Position-1, len(out))
		out = slices.Insert(out, pos, it)
	}
	return out
}
