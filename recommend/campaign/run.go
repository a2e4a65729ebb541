package campaign

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"github.com/affinity-rec/affinity/features/crm"
	"io"
	"sync"
	"sync/atomic"

	"github.com/affinity-rec/affinity/recommend"
	"github.com/affinity-rec/affinity/recommend/offer"
)

// chunk is how many customers are taken from the segment at a time (and
// ranked concurrently, with workers), and how often the output is flushed
// and progress reported: small enough that a reader sees lines flow and
// memory holds one chunk of lines, large enough that flushing costs
// nothing.
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
	CustomerID string     `json:"customer_id"`
	Value      *crm.Value `json:"value"`
	Segments   []string   `json:"segments"`
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
	lines := make([]any, 0, chunk)
	err := j.chunks(func(cs []customer) error {
		if j.r.Max > 0 {
			cs = cs[:min(len(cs), j.r.Max-done)]
		}
		var err error
		if lines, err = j.lines(ctx, cs, lines[:0]); err != nil {
			return err
		}
		for _, l := range lines {
			if err := enc.Encode(l); err != nil {
				return err
			}
		}
		done += len(lines)
		if err := bw.Flush(); err != nil {
			return err
		}
		if onChunk != nil {
			onChunk(done)
		}
		if j.r.Max > 0 && done >= j.r.Max {
			return errStop
		}
		return ctx.Err()
	})
	if errors.Is(err, errStop) {
		err = nil
	}
	if err == nil && done == 0 && onChunk != nil {
		onChunk(0)
	}
	return done, err
}

// customer is one customer to export.
type customer struct {
	id    string
	c     uint32
	known bool
}

// chunks calls fn with the job's customers, chunk at a time: the segment's
// members from the bitmap snapshot, or the listed ids.
func (j *Job) chunks(fn func([]customer) error) error {
	st := j.d.Store
	buf := make([]customer, 0, chunk)
	if j.seg == nil {
		for _, id := range j.r.Customers {
			c, ok := st.CustomerID(id)
			if buf = append(buf, customer{id, c, ok}); len(buf) == chunk {
				if err := fn(buf); err != nil {
					return err
				}
				buf = buf[:0]
			}
		}
	} else {
		it := j.seg.Iterator()
		if j.r.From > 0 {
			it.AdvanceIfNeeded(j.r.From)
		}
		for it.HasNext() {
			c := it.Next()
			// A member erased since the snapshot has no name any more: it
			// is left out, not brought back.
			id := st.CustomerName(c)
			if id == "" {
				continue
			}
			if buf = append(buf, customer{id, c, true}); len(buf) == chunk {
				if err := fn(buf); err != nil {
					return err
				}
				buf = buf[:0]
			}
		}
	}
	if len(buf) > 0 {
		return fn(buf)
	}
	return nil
}

// nboWorkers is how many next-best-offer choices run at once by default:
// each waits for its exposure to be logged durably, and the offer service
// commits the waiting ones together, so overlapping them multiplies the
// rate (measured: 285 customers/s one at a time on the retail data).
const nboWorkers = 16

// lines builds the lines of cs, in order, into out; with more than one
// worker (Request.Workers) they are ranked concurrently.
func (j *Job) lines(ctx context.Context, cs []customer, out []any) ([]any, error) {
	out = out[:len(cs)]
	workers := j.r.Workers
	if workers <= 0 {
		workers = 1
		if j.r.What == NextBestOffer {
			workers = nboWorkers
		}
	}
	workers = min(workers, len(cs))
	var next atomic.Int64
	errs := make([]error, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= len(cs) || errs[w] != nil {
					return
				}
				out[i], errs[w] = j.line(ctx, cs[i].id, cs[i].c, cs[i].known)
			}
		})
	}
	wg.Wait()
	return out, errors.Join(errs...)
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
	v, ok := d.Profiles.CustomerValue(c)
	if !ok {
		return l, nil
	}
	pv, err := d.Engine.PotentialValue(ctx, id)
	if err != nil {
		return nil, err
	}
	v.PotentialValue = pv
	l.Value, l.Segments = &v, d.Profiles.SegmentsOf(c)
	return l, nil
}
