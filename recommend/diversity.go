package recommend

import "strings"

// diversify picks, in rank order, up to p.k candidates such that no
// category has more than p.maxCat and no brand more than p.maxBr (0: no
// cap). Products without a category (or brand) are not capped by it. The
// candidates are the deeper list prepareMerch asked for, so the list keeps
// its length when the catalogue allows; when it does not, the list is
// shorter rather than over the cap.
func diversify(p *merchPlan, cands []merchItem) []merchItem {
	out := make([]merchItem, 0, min(p.k, len(cands)))
	if p.maxCat == 0 && p.maxBr == 0 {
		return append(out, cands[:min(p.k, len(cands))]...)
	}
	cats, brands := map[string]int{}, map[string]int{}
	for _, it := range cands {
		if len(out) == p.k {
			break
		}
		pr := p.cat.Product(it.p)
		var c, b string
		if pr != nil {
			c, b = strings.ToLower(strings.TrimSpace(pr.Category)), strings.ToLower(strings.TrimSpace(pr.Brand))
		}
		if p.maxCat > 0 && c != "" && cats[c] >= p.maxCat || p.maxBr > 0 && b != "" && brands[b] >= p.maxBr {
			continue
		}
		if c != "" {
			cats[c]++
		}
		if b != "" {
			brands[b]++
		}
		out = append(out, it)
	}
	return out
}
