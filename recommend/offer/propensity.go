package offer

import (
	"fmt"
	mrand "math/rand/v2"
	"strings"

	"gonum.org/v1/gonum/stat/distuv"
)

// priors fills r and the prior mean of each candidate: r is how strongly
// the customer's history associates with the offer's targets (see
// recommend.Engine.Associations), 0 for a customer the store does not know.
func (s *Service) priors(set *offerSet, cands []nboCand, cust uint32, known bool) {
	o := s.opts
	if !known {
		for i := range cands {
			cands[i].prior = o.PriorBase
		}
		return
	}
	groups := make([][]uint32, len(cands))
	for i := range cands {
		groups[i] = set.targets[cands[i].idx]
	}
	r := s.eng.Associations(set.model, cust, set.isTarget, groups, o.PriorHistory, o.PriorNeighbours, nil)
	for i := range cands {
		cands[i].r = r[i]
		cands[i].prior = o.PriorBase + (o.PriorMax-o.PriorBase)*r[i]
	}
}

// posterior fills the Beta parameters, the propensity and the score of c.
func (s *Service) posterior(c *nboCand, segs []string, policy string, src mrand.Source) {
	st := c.o.st
	k := s.opts.PriorStrength
	c.alpha, c.beta = k*c.prior, k*(1-c.prior)
	c.basis = "prior"
	if policy != nboPrior {
		acc, rej := st.accepted.Load(), st.rejected.Load()
		basis := "offer"
		if len(segs) > 0 && st.hasSegs.Load() {
			var bestN uint64
			st.mu.Lock()
			for _, g := range segs {
				if sc := st.segs[g]; sc != nil && sc.acc+sc.rej >= s.opts.MinSegmentResponses && sc.acc+sc.rej > bestN {
					bestN, acc, rej, basis = sc.acc+sc.rej, sc.acc, sc.rej, "segment:"+g
				}
			}
			st.mu.Unlock()
		}
		if acc+rej > 0 {
			c.alpha += float64(acc)
			c.beta += float64(rej)
			c.n, c.acc, c.basis = acc+rej, acc, basis
		}
	}
	c.mean = c.alpha / (c.alpha + c.beta)
	c.theta = c.mean
	if policy == nboThompson {
		// gonum's Beta: a maintained sampler (Gamma ratio, with the small
		// shape case handled) rather than a hand-written one.
		c.theta = distuv.Beta{Alpha: c.alpha, Beta: c.beta, Src: src}.Rand()
	}
	c.score = c.theta * c.o.rec.Value * c.o.rec.Priority
}

func answers(n uint64) string {
	if n == 1 {
		return "1 answer"
	}
	return fmt.Sprintf("%d answers", n)
}

func chosenIn(chosen []nboCand, o *liveOffer) bool {
	for _, c := range chosen {
		if c.o == o {
			return true
		}
	}
	return false
}

func (s *Service) choice(c nboCand, explored bool) Choice {
	rec := c.o.rec
	out := Choice{OfferID: c.o.id, Name: rec.Name, Score: c.score, Propensity: c.theta,
		Value: rec.Value, Priority: rec.Priority, ExpectedPropensity: round6(c.mean), Prior: round6(c.prior),
		Association: round6(c.r), Responses: c.n, Basis: c.basis, Products: rec.Products, Category: rec.Category}
	if out.Products == nil {
		out.Products = []string{}
	}
	var b strings.Builder
	switch {
	case c.n == 0 && c.r > 0:
		fmt.Fprintf(&b, "no answers yet; prior %.1f%% from the customer's history (association %.2f)", 100*c.prior, c.r)
	case c.n == 0:
		fmt.Fprintf(&b, "no answers yet; base prior %.1f%% (no association with the customer's history)", 100*c.prior)
	case strings.HasPrefix(c.basis, "segment:"):
		fmt.Fprintf(&b, "learned from %s in segment %s (%d accepted), prior %.1f%%", answers(c.n), strings.TrimPrefix(c.basis, "segment:"), c.acc, 100*c.prior)
	default:
		fmt.Fprintf(&b, "learned from %s (%d accepted), prior %.1f%%", answers(c.n), c.acc, 100*c.prior)
	}
	if explored {
		b.WriteString("; exploring: drawn above its expected propensity")
	}
	out.Reason = b.String()
	return out
}
