package campaign

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"

	"github.com/affinity-rec/affinity/features"
	"github.com/affinity-rec/affinity/recommend"
	"github.com/affinity-rec/affinity/recommend/offer"
)

// chunk is how many customers are taken from the segment at a time, and
// how often the output is flushed and progress reported: small enough
// that a reader sees lines flow, large enough that flushing costs nothing.
const chunk = 256

// ListLine is one line of a recommendations export.
type ListLine struct {
	CustomerID       string           `json:"customer_id"`
	Items            []recommend.Item `json:"items"`
	RecommendationID string           `json:"recommendation_id"`
	Algorithm        string           `json:"algorithm"`
	Experiment       *string          `json:"experiment"`
	Variant          *string          `json:"variant"`
}

// OfferLine is one line of a next-best-offer export.
type OfferLine struct {
	CustomerID       string         `json:"customer_id"`
	Offers           []offer.Choice `json:"offers"`
	RecommendationID string         `json:"recommendation_id"`
	Experiment       *string        `json:"experiment"`
	Variant          *string        `json:"variant"`
}

// MemberLine is one line of a members export (and one member of a
// members page): the value profile of GET /v1/customers/{id}/profile, or
// null for an id the store does not know, and the segments.
type MemberLine struct {
	CustomerID string          `json:"customer_id"`
	Value      *features.Value `json:"value"`
	Segments   []string        `json:"segments"`
}

// Run writes the job's lines to w, one JSON object and a newline per
// customer, in segment order (internal id) or the order of the list.
// onChunk, when not nil, is called after each chunk is flushed with the
// number of lines written so far. It returns that number; on an error the
// output ends early (a partial line is possible only if w failed).
func (j *Job) Run(ctx context.Context, w io.Writer, onChunk func(done int)) (int, error) {
	bw := bufio.NewWriterSize(w, 64<<10)
	enc := json.NewEncoder(bw)
	enc.SetEscapeHTML(false)
	done := 0
	flush := func() error {
		if err := bw.Flush(); err != nil {
			return err
		}
		if onChunk != nil {
			onChunk(done)
		}
		return ctx.Err()
	}
	line := func(id string, c uint32, known bool) error {
		if j.r.Max > 0 && done >= j.r.Max {
			return errStop
		}
		v, err := j.line(ctx, id, c, known)
		if err != nil {
			return err
		}
		if err := enc.Encode(v); err != nil {
			return err
		}
		done++
		if done%chunk == 0 {
			return flush()
		}
		return nil
	}
	err := j.each(line)
	if errors.Is(err, errStop) {
		err = nil
	}
	if err != nil {
		return done, err
	}
	return done, flush()
}

// each calls fn for every customer of the job: the segment's members in
// chunks from the bitmap snapshot, or the listed ids.
func (j *Job) each(fn func(id string, c uint32, known bool) error) error {
	st := j.d.Store
	if j.seg == nil {
		for _, id := range j.r.Customers {
			c, ok := st.CustomerID(id)
			if err := fn(id, c, ok); err != nil {
				return err
			}
		}
		return nil
	}
	it := j.seg.Iterator()
	if j.r.From > 0 {
		it.AdvanceIfNeeded(j.r.From)
	}
	buf := make([]uint32, 0, chunk)
	for it.HasNext() {
		buf = buf[:0]
		for len(buf) < chunk && it.HasNext() {
			buf = append(buf, it.Next())
		}
		for _, c := range buf {
			// A member erased since the snapshot has no name any more: it
			// is left out, not brought back.
			id := st.CustomerName(c)
			if id == "" {
				continue
			}
			if err := fn(id, c, true); err != nil {
				return err
			}
		}
	}
	return nil
}

// line builds one customer's line.
func (j *Job) line(ctx context.Context, id string, c uint32, known bool) (any, error) {
	switch j.r.What {
	case Members:
		return j.member(ctx, id, c, known)
	case NextBestOffer:
		return j.offers(ctx, id)
	}
	return j.list(ctx, id)
}

func (j *Job) list(ctx context.Context, id string) (any, error) {
	r := recommend.ListRequest{Kind: recommend.ListPersonal, Experiment: j.r.Experiment, Variant: j.r.Variant, Unit: id}
	r.CustomerID, r.Limit = id, j.r.Limit
	res, err := j.d.Lists.List(ctx, r)
	if err != nil {
		return nil, err
	}
	l := ListLine{CustomerID: id, Items: res.Items, RecommendationID: res.RecommendationID, Algorithm: res.Algorithm}
	if l.Items == nil {
		l.Items = []recommend.Item{}
	}
	if res.Enrolled {
		l.Experiment, l.Variant = &res.Experiment, &res.Variant
	}
	return &l, nil
}

func (j *Job) offers(ctx context.Context, id string) (any, error) {
	req := offer.Request{CustomerID: id, Limit: j.r.Limit, Channel: j.r.Channel}
	var variant string
	if j.r.Experiment != "" {
		v, params, err := j.d.Experiments.Enrol(ctx, j.r.Experiment, j.r.Variant, id)
		if err != nil {
			return nil, err
		}
		variant, req.Params = v, params
	}
	res, err := j.d.Offers.Choose(ctx, req)
	if err != nil {
		return nil, err
	}
	l := OfferLine{CustomerID: id, Offers: res.Offers, RecommendationID: res.RecommendationID}
	if j.r.Experiment != "" {
		// As GET /v1/customers/{id}/next-best-offer does: the experiment
		// attributes purchases of the promoted products to this exposure.
		j.d.Experiments.Expose(j.r.Experiment, variant, res.RecommendationID, id, j.r.Variant != "", res.Products)
		l.Experiment, l.Variant = &j.r.Experiment, &variant
	}
	return &l, nil
}

func (j *Job) member(ctx context.Context, id string, c uint32, known bool) (any, error) {
	return Member(ctx, j.d, id, c, known)
}

// Member is customer c's members line: the value profile as the profile
// endpoint gives it (potential value included) and the segments.
func Member(ctx context.Context, d Deps, id string, c uint32, known bool) (*MemberLine, error) {
	l := &MemberLine{CustomerID: id, Segments: []string{}}
	if !known {
		return l, nil
	}
	v, ok := d.Store.CustomerValue(c)
	if !ok {
		return l, nil
	}
	pv, err := d.Engine.PotentialValue(ctx, id)
	if err != nil {
		return nil, err
	}
	v.PotentialValue = pv
	l.Value, l.Segments = &v, d.Store.SegmentsOf(c)
	return l, nil
}
