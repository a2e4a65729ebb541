package recommend

import (
	"cmp"
	"slices"

	"github.com/affinity-rec/affinity/features"
	"github.com/affinity-rec/affinity/features/similarity"
)

// Associations is the association part of the offer service's prior (see
// recommend/offer): how strongly customer c's time-decayed history
// associates with each group of target products, from the SAR scores
// score(p) = Σ over history items h of affinity(h) x similarity(h, p). A
// group's value is its best target's score relative to the best score
// among the customer's own history items and all targets (capped at 1): a
// group as associated with the history as the customer's own favourites
// gets 1. Self-similarity is left out, or a product bought often would
// dwarf every association. Scores are only accumulated where they are read
// (isTarget marks every group's products), which keeps a long history
// cheap; maxHistory and maxNeighbours bound the work further. out[i] is
// group i's value; out is returned, grown to len(groups).
func (e *Engine) Associations(m *features.Model, c uint32, isTarget []bool, groups [][]uint32, maxHistory, maxNeighbours int, out []float64) []float64 {
	out = append(out[:0], make([]float64, len(groups))...)
	sc := e.getScratch(len(m.Support[0]) + 1)
	defer e.putScratch(sc)
	hist := e.src.HistoryView(c)
	aff := e.affinity(hist, e.opts.HalfLife, features.RepeatLinear)
	if len(aff) > maxHistory {
		slices.SortFunc(aff, func(a, b similarity.Neighbour) int { return cmp.Compare(b.Score, a.Score) })
		aff = aff[:maxHistory]
	}
	basis := e.opts.Basis
	n := uint32(len(sc.score))
	nt := uint32(len(isTarget))
	for _, a := range aff {
		if a.Product < n && sc.mark[a.Product] == 0 {
			sc.mark[a.Product] = 1
			sc.touched = append(sc.touched, a.Product)
		}
	}
	for _, a := range aff {
		nbs := m.NeighboursOf(basis, a.Product)
		for _, nb := range nbs[:min(len(nbs), maxNeighbours)] {
			p := nb.Product
			if p >= n || (sc.mark[p] == 0 && (p >= nt || !isTarget[p])) {
				continue
			}
			if sc.mark[p] == 0 {
				sc.mark[p] = 1
				sc.touched = append(sc.touched, p)
			}
			sc.score[p] += a.Score * nb.Score
		}
	}
	unscoreDisliked(sc, hist)
	var top float32
	for _, p := range sc.touched {
		top = max(top, sc.score[p])
	}
	if top == 0 {
		return out
	}
	for i, g := range groups {
		best := float32(0)
		for _, p := range g {
			if p < n {
				best = max(best, sc.score[p])
			}
		}
		out[i] = min(float64(best/top), 1)
	}
	return out
}
