package recommend

import (
	"github.com/affinity-rec/affinity/features"
	"github.com/affinity-rec/affinity/features/similarity"
)

// Scratch marks: what a product is to the request being ranked.
const (
	markNone      uint8 = 0 // untouched
	markCandidate uint8 = 1 // scored, may be listed
	markExcluded  uint8 = 2 // must not be listed (bought, seen, the product asked about)
)

// scratch is a dense score accumulator reused across requests: a map would
// cost ~14x more (DESIGN section 4).
type scratch struct {
	score   []float32
	mark    []uint8 // markNone, markCandidate or markExcluded
	touched []uint32
	// dense is how many leading scores the last scatter may have written
	// outside touched (0: it kept to touched).
	dense int
	heap  similarity.TopK
	ids   []uint32
	items []similarity.Neighbour
	rows  []scatterRow           // scatterRows
	aff   []similarity.Neighbour // rankPersonal's affinities
}

func (e *Engine) getScratch(n int) *scratch {
	sc, _ := e.scratch.Get().(*scratch)
	if sc == nil {
		sc = &scratch{}
	}
	if len(sc.score) < n {
		sc.score = make([]float32, n+n/4)
		sc.mark = make([]uint8, n+n/4)
	}
	return sc
}

func (e *Engine) putScratch(sc *scratch) {
	for _, p := range sc.touched {
		sc.score[p] = 0
		sc.mark[p] = markNone
	}
	sc.touched = sc.touched[:0]
	clear(sc.score[:sc.dense])
	sc.dense = 0
	sc.heap = sc.heap[:0]
	sc.ids = sc.ids[:0]
	clear(sc.rows) // they hold the model's lists: let an old model go
	sc.rows = sc.rows[:0]
	e.scratch.Put(sc)
}

// excluded reports whether p is marked excluded.
func (sc *scratch) excluded(p uint32) bool {
	return int(p) < len(sc.mark) && sc.mark[p] == markExcluded
}

// markOne excludes product p from the answer.
func (e *Engine) markOne(sc *scratch, p uint32) {
	if int(p) >= len(sc.mark) {
		return
	}
	if sc.mark[p] == markNone {
		sc.touched = append(sc.touched, p)
	}
	sc.mark[p] = markExcluded
}

// excludeCustomer marks what customer ext has (see markExcluded); nothing
// for an anonymous or unknown customer.
func (e *Engine) excludeCustomer(sc *scratch, ext string, includeSeen bool) {
	if c, ok := e.src.CustomerID(ext); ok && ext != "" {
		e.markExcluded(sc, e.src.HistoryView(c), includeSeen)
	}
}

// markExcluded marks what a customer must not be shown again: everything
// bought or disliked (negative.go), and with !includeSeen everything they
// interacted with.
func (e *Engine) markExcluded(sc *scratch, hist []features.Interaction, includeSeen bool) {
	for i := range hist {
		if includeSeen && !alwaysExcluded(&hist[i]) {
			continue
		}
		e.markOne(sc, hist[i].Product)
	}
}
