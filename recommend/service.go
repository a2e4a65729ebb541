package recommend

import (
	"context"
	"fmt"
)

// Experimenter is what the list use case needs from the experiment
// service: assignment and the exposure log. It is an interface so that
// ranking does not depend on where experiments live. Implementations must
// be safe for concurrent use.
type Experimenter interface {
	// Enrol assigns unit to a variant of experiment; a non-empty forced
	// variant wins. It returns an error wrapping features.ErrNotFound for
	// an unknown experiment or variant.
	Enrol(ctx context.Context, experiment, forced, unit string) (variant string, params map[string]any, err error)
	// Expose records that recommendationID was served to unit under the
	// variant; it must not block the request (log in the background).
	// forced says the request named the variant.
	Expose(experiment, variant, recommendationID, unit string, forced bool, items []string)
}

// ListKind names which list a ListRequest asks for.
type ListKind uint8

// The list endpoints.
const (
	ListRelated         ListKind = iota + 1 // Engine.Related
	ListPersonal                            // Engine.Personal
	ListPopular                             // Engine.Popular
	ListSegmentProducts                     // Engine.SegmentProducts
	ListSegmentPopular                      // Engine.SegmentPopular
)

// ListRequest is one list request as an endpoint received it: the ranking
// request and its experiment flags.
type ListRequest struct {
	Kind ListKind
	Request
	// Segment names the segment of the segment lists.
	Segment string
	// Experiment names the experiment to enrol in ("": none); Variant
	// forces a variant.
	Experiment, Variant string
	// Unit is who is assigned: the customer, else the caller's unit id.
	Unit string
	// Preview ranks under the variant but logs no exposure, so that
	// looking (the console's what-if) does not count in results.
	Preview bool
}

// ListResult is a served list: ranked, with its recommendation id and,
// when enrolled, the experiment and variant.
type ListResult struct {
	List
	RecommendationID    string
	Enrolled            bool
	Experiment, Variant string
}

// Service is the list use case: enrol (experiment), rank, assign the
// recommendation id, expose. Safe for concurrent use.
type Service struct {
	eng  *Engine
	exps Experimenter // nil: no experiments
}

// NewService returns the list use case over eng; exps may be nil (no
// experiments: a request naming one is a not-found).
func NewService(eng *Engine, exps Experimenter) *Service {
	return &Service{eng: eng, exps: exps}
}

// enrolment is a request's experiment assignment.
type enrolment struct {
	variant string
	params  map[string]any
}

// List serves one list request.
func (s *Service) List(ctx context.Context, r ListRequest) (ListResult, error) {
	enr, err := s.enrol(ctx, r)
	if err != nil {
		return ListResult{}, err
	}
	if enr != nil {
		r.Params = enr.params
	}
	l, err := s.rank(ctx, r)
	if err != nil {
		return ListResult{}, err
	}
	res := ListResult{List: l, RecommendationID: s.eng.NewRecommendationID()}
	if enr != nil {
		res.Enrolled, res.Experiment, res.Variant = true, r.Experiment, enr.variant
		if !r.Preview {
			s.expose(r, res)
		}
	}
	return res, nil
}

// enrol assigns r's unit to a variant; nil when r names no experiment.
func (s *Service) enrol(ctx context.Context, r ListRequest) (*enrolment, error) {
	if r.Experiment == "" {
		return nil, nil
	}
	if s.exps == nil {
		return nil, &noExperimentsError{id: r.Experiment}
	}
	v, params, err := s.exps.Enrol(ctx, r.Experiment, r.Variant, r.Unit)
	if err != nil {
		return nil, err
	}
	return &enrolment{variant: v, params: params}, nil
}

// rank ranks r's list with its merchandising (merch.go): resolved before,
// applied after.
func (s *Service) rank(ctx context.Context, r ListRequest) (List, error) {
	plan, err := s.eng.prepareMerch(&r.Request)
	if err != nil {
		return List{}, err
	}
	l, err := s.rankKind(ctx, r)
	if err != nil {
		return List{}, err
	}
	return s.eng.applyMerch(plan, r.Request, l), nil
}

func (s *Service) rankKind(ctx context.Context, r ListRequest) (List, error) {
	switch r.Kind {
	case ListRelated:
		return s.eng.Related(ctx, r.Request)
	case ListPersonal:
		return s.eng.Personal(ctx, r.Request)
	case ListPopular:
		return s.eng.Popular(ctx, r.Request)
	case ListSegmentProducts:
		return s.eng.SegmentProducts(ctx, r.Request, r.Segment)
	case ListSegmentPopular:
		return s.eng.SegmentPopular(ctx, r.Request, r.Segment)
	}
	return List{}, fmt.Errorf("%w: unknown list kind %d", ErrBadRequest, r.Kind)
}

// expose logs what was served, under the request's unit (an anonymous
// request's is its unit id, not a customer).
func (s *Service) expose(r ListRequest, res ListResult) {
	items := make([]string, len(res.Items))
	for i, it := range res.Items {
		items[i] = it.ProductID
	}
	s.exps.Expose(r.Experiment, res.Variant, res.RecommendationID, r.Unit, r.Variant != "", items)
}
