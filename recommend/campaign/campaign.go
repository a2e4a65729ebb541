// Package campaign is the batch use case behind `affinity export` and
// POST /v1/exports: for every customer of a segment (or of a given list of
// ids) it writes one NDJSON line with their personal recommendations,
// their next best offers or their value profile, streaming: customers are
// taken from the segment's bitmap in chunks and each line is written as
// soon as it is ranked, so memory stays bounded whatever the segment's
// size and the writer (a file, or an HTTP reply read by a slow client)
// paces the work.
//
// Lists and offers go through the same services as the one-customer
// endpoints (recommend.Service.List and offer.Service.Choose), so every
// line carries a recommendation_id that later events and offer responses
// quote for attribution, exactly as if the storefront had asked: an
// experiment named in the request logs an exposure per customer, and the
// offers chosen are shown (reserved against their caps and budgets and
// logged), because a campaign's e-mail is the customer seeing them.
//
// It lives beside recommend (not in api) so that the command line can run
// an export on a store directory without a server, with the very same
// lines.
package campaign

import (
	"context"
	"errors"
	"fmt"
	"github.com/affinity-rec/affinity/features/crm"

	"github.com/RoaringBitmap/roaring/v2"

	"github.com/affinity-rec/affinity/features"
	"github.com/affinity-rec/affinity/recommend"
	"github.com/affinity-rec/affinity/recommend/offer"
)

// What names what each exported line carries.
type What string

// The kinds of export.
const (
	// Recommendations: the customer's personal list (as
	// GET /v1/customers/{id}/recommendations).
	Recommendations What = "recommendations"
	// NextBestOffer: the customer's next best offers (as
	// GET /v1/customers/{id}/next-best-offer).
	NextBestOffer What = "next-best-offer"
	// Members: the customer's value profile and segments.
	Members What = "members"
)

// ParseWhat reads a What; "" is Recommendations.
func ParseWhat(s string) (What, error) {
	switch w := What(s); w {
	case "":
		return Recommendations, nil
	case Recommendations, NextBestOffer, Members:
		return w, nil
	}
	return "", &features.FieldError{Field: "what", Msg: fmt.Sprintf("must be recommendations, next-best-offer or members, not %q", s)}
}

// MaxCustomers bounds an explicit list of customer ids in one request; a
// longer list is sent in several (the command line does).
const MaxCustomers = 100_000

// Store is what an export reads from the feature store: customer ids.
type Store interface {
	CustomerID(ext string) (uint32, bool)
	CustomerName(c uint32) string
}

var _ Store = (*features.Store)(nil)

// Profiles is what an export reads from the customer-value service:
// segments and each member's value.
type Profiles interface {
	SegmentMembers(name string) (*roaring.Bitmap, error)
	CustomerValue(c uint32) (crm.Value, bool)
	SegmentsOf(c uint32) []string
}

var _ Profiles = (*crm.Service)(nil)

// Deps are the services an export calls.
type Deps struct {
	Store    Store
	Profiles Profiles
	Engine   *recommend.Engine
	// Lists serves the personal lists (experiments included).
	Lists *recommend.Service
	// Offers serves next-best-offer; nil: that export is refused.
	Offers *offer.Service
	// Experiments enrols next-best-offer exports in an experiment; nil:
	// naming one is a not-found.
	Experiments recommend.Experimenter
}

// Request is one export.
type Request struct {
	What What
	// Segment names the segment whose members are exported, or Customers
	// lists the ids (exactly one of the two).
	Segment   string
	Customers []string
	// From skips the segment's members with an internal id below it (a
	// members page's cursor); Max stops after that many customers (0: all).
	From uint32
	Max  int
	// Limit is the length of each customer's list (0: the default).
	Limit int
	// Channel restricts next-best-offer to offers shown there.
	Channel string
	// Experiment serves every customer under this experiment (each is
	// their own unit); Variant forces a variant.
	Experiment, Variant string
	// Workers is how many customers are ranked at once (0: one, or 16
	// for next-best-offer, whose choices wait on a durable log write).
	Workers int
}

// Job is a checked export, ready to run: everything a request can get
// wrong is found before the first line is written, so that an HTTP reply
// can still be a 4xx.
type Job struct {
	d     Deps
	r     Request
	seg   *roaring.Bitmap // nil: r.Customers
	total int
}

// Prepare checks r and resolves its segment (a snapshot: the members as
// they are now; later changes do not alter a running export).
func Prepare(ctx context.Context, d Deps, r Request) (*Job, error) {
	var err error
	if r.What, err = ParseWhat(string(r.What)); err != nil {
		return nil, err
	}
	if err := checkRequest(ctx, d, &r); err != nil {
		return nil, err
	}
	r.Customers = uniqueIDs(r.Customers)
	j := &Job{d: d, r: r}
	if r.Segment != "" {
		if j.seg, err = d.Profiles.SegmentMembers(r.Segment); err != nil {
			return nil, err
		}
		j.total = int(j.seg.GetCardinality())
		if r.From > 0 {
			j.total -= int(j.seg.Rank(r.From - 1))
		}
	} else {
		j.total = len(r.Customers)
	}
	if r.Max > 0 {
		j.total = min(j.total, r.Max)
	}
	return j, nil
}

// uniqueIDs is ids with repeats left out, in the order of their first
// place: a customer listed twice would otherwise get two lines, and for
// next-best-offer two offers, each taking a showing from its budget.
func uniqueIDs(ids []string) []string {
	seen := make(map[string]struct{}, len(ids))
	out := ids[:0:0]
	for _, id := range ids {
		if _, dup := seen[id]; !dup {
			seen[id] = struct{}{}
			out = append(out, id)
		}
	}
	return out
}

// checkRequest validates r's fields against d's services.
func checkRequest(ctx context.Context, d Deps, r *Request) error {
	switch {
	case r.Segment == "" && len(r.Customers) == 0:
		return &features.FieldError{Field: "segment", Msg: "or customers is required"}
	case r.Segment != "" && len(r.Customers) > 0:
		return &features.FieldError{Field: "customers", Msg: "cannot be given with segment (one or the other)"}
	case len(r.Customers) > MaxCustomers:
		return &features.FieldError{Field: "customers", Msg: fmt.Sprintf("lists %d ids; at most %d per request", len(r.Customers), MaxCustomers)}
	case r.Limit < 0 || r.Max < 0:
		return &features.FieldError{Field: "limit", Msg: "must not be negative"}
	}
	if r.Segment != "" {
		if err := crm.ValidateSegmentName(r.Segment); err != nil {
			return err
		}
	}
	for i, id := range r.Customers {
		if err := features.ValidateID(fmt.Sprintf("customers[%d]", i), id); err != nil {
			return err
		}
	}
	if max := d.Engine.Options().MaxLimit; r.What == Recommendations && r.Limit > max {
		return &features.FieldError{Field: "limit", Msg: fmt.Sprintf("must be between 1 and %d", max)}
	}
	if r.What == NextBestOffer {
		if d.Offers == nil {
			return fmt.Errorf("%w: next-best-offer needs the offer service", features.ErrInvalid)
		}
		// The bound of GET .../next-best-offer?limit=, so that a line
		// never holds more than the one-customer endpoint answers.
		if max := d.Offers.Options().MaxLimit; r.Limit > max {
			return &features.FieldError{Field: "limit", Msg: fmt.Sprintf("must be between 1 and %d for next-best-offer", max)}
		}
		if r.Channel != "" {
			if _, err := offer.NormalizeChannel("channel", r.Channel); err != nil {
				return err
			}
		}
	}
	return checkExperiment(ctx, d, r)
}

// checkExperiment enrols no one: it asks for the variant of no unit, which
// finds an unknown experiment or forced variant without side effects.
func checkExperiment(ctx context.Context, d Deps, r *Request) error {
	if r.Experiment == "" {
		if r.Variant != "" {
			return &features.FieldError{Field: "variant", Msg: "needs an experiment"}
		}
		return nil
	}
	if r.What == Members {
		return &features.FieldError{Field: "experiment", Msg: "applies to recommendations and next-best-offer, not members"}
	}
	if err := features.ValidateID("experiment", r.Experiment); err != nil {
		return err
	}
	if d.Experiments == nil {
		return features.Unknown("experiment", r.Experiment)
	}
	_, _, err := d.Experiments.Enrol(ctx, r.Experiment, r.Variant, "")
	return err
}

// Total is how many lines the job writes (the segment's size when it
// was prepared, or the number of ids).
func (j *Job) Total() int { return j.total }

// errStop ends an export early without an error (Max reached).
var errStop = errors.New("stop")
