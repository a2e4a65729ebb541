package recommend

import (
	"github.com/affinity-rec/affinity/features"
)

// popBlend is the popularity prior of one request, features.BlendPopularity
// taken apart: topCandidates applies it to each candidate it reads instead
// of blendPopular writing every candidate's score back first. Among the
// touched candidates of a long history that write was a third of the
// prior's and the top-k's memory traffic. The zero popBlend adds nothing.
type popBlend struct {
	on  bool
	mx  float32 // the best candidate's score before the prior
	k   float32 // popWeight / the best support
	sup []uint32
}

// apply is BlendPopularity's formula for candidate p with score v.
func (b popBlend) apply(p uint32, v float32) float32 {
	s := float32(0)
	if int(p) < len(b.sup) {
		s = float32(b.sup[p])
	}
	return v/b.mx + b.k*s
}

// lazyBlend is the prior for topCandidates to apply, when the scores are
// kept to touched and nobody reads them after the top k: a thin history's
// scores are read again by blendSegments, and a dense scatter's top k
// already reads every score in order, so both get blendPopular's scores
// written in place (and the zero popBlend).
func (e *Engine) lazyBlend(sc *scratch, m *features.Model, pw float32, distinct int) popBlend {
	if sc.dense > 0 || distinct <= thinHistory {
		e.blendPopular(sc, m, pw)
		return popBlend{}
	}
	sup := m.Support[e.opts.Basis]
	var supMax uint32
	if pop := m.Popular[e.opts.Basis]; len(pop) > 0 {
		supMax = uint32(pop[0].Score)
	}
	if pw <= 0 || supMax == 0 {
		return popBlend{}
	}
	// BlendPopularity's maximum: over the touched products not excluded.
	mx := float32(0)
	for _, p := range sc.touched {
		if int(p) < len(sc.score) && (int(p) >= len(sc.mark) || sc.mark[p] != markExcluded) {
			mx = max(mx, sc.score[p])
		}
	}
	if mx <= 0 {
		mx = 1
	}
	return popBlend{on: true, mx: mx, k: pw / float32(supMax), sup: sup}
}
