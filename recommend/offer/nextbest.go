package offer

import (
	"context"

	"github.com/affinity-rec/affinity/recommend"
)

// NextBest is the next-best-offer use case, as recommend.Service is the
// lists': enrol (experiment), choose, expose. The HTTP handler parses, makes
// this one call and encodes. Safe for concurrent use.
type NextBest struct {
	offers *Service
	exps   recommend.Experimenter // nil: no experiments
}

// NewNextBest returns the use case over offers; exps may be nil (no
// experiments: a request naming one is a not-found).
func NewNextBest(offers *Service, exps recommend.Experimenter) *NextBest {
	return &NextBest{offers: offers, exps: exps}
}

// NextBestRequest is one next-best-offer request as the endpoint received
// it: the choice and its experiment flags.
type NextBestRequest struct {
	Request
	// Experiment names the experiment to enrol in ("": none); Variant
	// forces a variant. A DryRun request enrols in none: previewing must
	// not count as an exposure.
	Experiment, Variant string
	// Unit is who is assigned: the customer, else the caller's unit id.
	Unit string
}

// NextBestResult is the chosen offers with, when enrolled, the experiment
// and variant.
type NextBestResult struct {
	Result
	Enrolled            bool
	Experiment, Variant string
}

// Serve enrols r's unit when it names an experiment, chooses under the
// variant's params, and logs the exposure of the promoted products, so that
// the experiment attributes their purchases to it as it does a list's items.
func (n *NextBest) Serve(ctx context.Context, r NextBestRequest) (NextBestResult, error) {
	var out NextBestResult
	if r.Experiment != "" && !r.DryRun {
		if n.exps == nil {
			return out, notFoundError("unknown experiment \"" + r.Experiment + "\"")
		}
		v, params, err := n.exps.Enrol(ctx, r.Experiment, r.Variant, r.Unit)
		if err != nil {
			return out, err
		}
		r.Params = params
		out.Enrolled, out.Experiment, out.Variant = true, r.Experiment, v
	}
	res, err := n.offers.Choose(ctx, r.Request)
	if err != nil {
		return out, err
	}
	out.Result = res
	if out.Enrolled {
		n.exps.Expose(r.Experiment, out.Variant, res.RecommendationID, r.Unit, r.Variant != "", res.Products)
	}
	return out, nil
}
