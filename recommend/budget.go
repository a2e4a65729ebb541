package recommend

import (
	"math"

	"github.com/affinity-rec/affinity/features"
	"github.com/affinity-rec/affinity/features/similarity"
)

// defaultScatterBudget is Options.ScatterBudget's default: see
// docs/performance.md ("Session 8: personal scoring") for the cost it saves
// and docs/evaluation.md for its effect on quality.
const defaultScatterBudget = 4096

// scatterRow is one history product's part of a scatter: its affinity and
// the neighbours to add (its whole list, or the list's best prefix when the
// history is over the scatter budget).
type scatterRow struct {
	w     float32
	ns    []similarity.Neighbour
	share float32 // trimRows: the row's claim on the budget
	full  bool    // trimRows: the whole list fits
}

// scatterRows are aff's rows and how many neighbour pairs they add. Over
// Options.ScatterBudget pairs, every row is cut to a prefix (trimRows):
// the lists are sorted best first, so what is left out is the products'
// weakest neighbours, and mostly those of the products the customer cares
// least about. EASE's lists (a dense model, at most a few thousand
// products) are never cut: their negative weights sit at the lists' ends
// and matter, and on MovieLens a 4,096 budget cost them 1.5% of nDCG@10,
// where counted lists (every large catalogue's) moved within noise
// (docs/evaluation.md).
func (e *Engine) scatterRows(sc *scratch, m *features.Model, aff []similarity.Neighbour) ([]scatterRow, int) {
	rows := sc.rows[:0]
	entries := 0
	for _, a := range aff {
		ns := m.NeighboursOf(e.opts.Basis, a.Product)
		if len(ns) == 0 {
			continue
		}
		rows = append(rows, scatterRow{w: a.Score, ns: ns})
		entries += len(ns)
	}
	sc.rows = rows
	if b := e.opts.ScatterBudget; b > 0 && entries > b && !m.Dense(e.opts.Basis) {
		entries = trimRows(rows, b)
	}
	return rows, entries
}

// trimRows cuts each row to about c·sqrt(|w|) neighbours (at least one, at
// most its list), with c the largest that keeps the total near budget: the
// more the customer cares for a product, the more of its list is added,
// and what a strong product cannot use (a short list) goes to the others.
// The square root, rather than the affinity itself, because it kept more of
// the quality at equal budgets (MovieLens validation, docs/evaluation.md):
// many weak signals add up. It is water-filling: c is solved with the rows
// that fit whole set aside, again until no more fit, a few passes over the
// rows. It returns the pairs kept, which exceed budget only by the
// one-neighbour floors.
func trimRows(rows []scatterRow, budget int) int {
	for i := range rows {
		rows[i].share = float32(math.Sqrt(math.Abs(float64(rows[i].w))))
	}
	fullLen, c := 0, float32(0)
	for {
		var rest float32
		for _, r := range rows {
			if !r.full {
				rest += r.share
			}
		}
		if rest <= 0 {
			break
		}
		c = float32(max(budget-fullLen, 0)) / rest
		grew := false
		for i := range rows {
			if r := &rows[i]; !r.full && c*r.share >= float32(len(r.ns)) {
				r.full, fullLen, grew = true, fullLen+len(r.ns), true
			}
		}
		if !grew {
			break
		}
	}
	kept := 0
	for i := range rows {
		if r := &rows[i]; !r.full {
			r.ns = r.ns[:max(1, min(len(r.ns), int(c*r.share)))]
		}
		kept += len(rows[i].ns)
	}
	return kept
}
