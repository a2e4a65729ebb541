package offer

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"sort"
	"strings"
	"time"

	"github.com/affinity-rec/affinity/features"
	"github.com/affinity-rec/affinity/features/crm"
	"github.com/affinity-rec/affinity/recommend/experiment/abtest"
)

// The published offers: compiled definitions with their association
// targets, and the read-only view of one with its performance.

// offerRecord is what the store keeps under (offerKind, id). Incarnation
// tells a re-created offer from a deleted one of the same id: log entries of
// an old incarnation do not count for the new one.
type offerRecord struct {
	Offer
	Incarnation string    `json:"incarnation"`
	Created     time.Time `json:"created"`
	Updated     time.Time `json:"updated"`
}

func newOfferIncarnation() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// View is an offer with its id and performance, as the API returns it.
// A plain value, safe for concurrent use.
type View struct {
	OfferID string `json:"offer_id"`
	Offer
	// Active says whether the offer is within its dates now.
	Active      bool        `json:"active"`
	Performance Performance `json:"performance"`
}

// Performance is what an offer has done so far. Acceptance is accepted
// out of answered exposures (accepted + declined + ignored); exposures still
// open are not counted either way. A plain value, safe for concurrent use.
type Performance struct {
	Shown    uint64 `json:"shown"`
	Accepted uint64 `json:"accepted"`
	Declined uint64 `json:"declined"`
	Ignored  uint64 `json:"ignored"`
	// Open exposures await an answer; with a budget each one holds a unit
	// of it until answered or expired.
	Open           uint64      `json:"open"`
	AcceptanceRate abtest.Rate `json:"acceptance_rate"`
	// BudgetLeft is how many more acceptances the budget allows (null: no budget).
	BudgetLeft *int64 `json:"budget_left"`
}

// liveOffer is a compiled definition. Immutable once published; its state
// pointer is shared with the definitions that replace it (an update keeps
// what the offer learned).
type liveOffer struct {
	id       string
	rec      offerRecord
	rule     *crm.Rule // nil: everyone is eligible
	products []uint32  // resolved Products, sorted
	start    int64     // unix nanoseconds; math.MinInt64 when unbounded
	end      int64     // math.MaxInt64 when unbounded
	st       *offerState
}

func (o *liveOffer) activeAt(now int64) bool { return now >= o.start && now < o.end }

func (o *liveOffer) onChannel(ch string) bool {
	return ch == "" || len(o.rec.Channels) == 0 || offerHasString(o.rec.Channels, ch)
}

// promotes reports whether a purchase of product p answers the offer: one of
// its products or a product of its category. An offer that names neither
// (free delivery, a voucher) is answered through the responses endpoint
// only: a purchase cannot tell it apart from the other offers shown with it.
func (o *liveOffer) promotes(p uint32, cat *features.Catalog) bool {
	i := sort.Search(len(o.products), func(i int) bool { return o.products[i] >= p })
	if i < len(o.products) && o.products[i] == p {
		return true
	}
	if o.rec.Category != "" {
		if bm := cat.Category(o.rec.Category); bm != nil && bm.Contains(p) {
			return true
		}
	}
	return false
}

// offerSet is the published collection of offers with the association
// targets computed for one model and catalogue. Immutable; safe for
// concurrent use.
type offerSet struct {
	offers []*liveOffer // by id
	byID   map[string]*liveOffer
	model  *features.Model
	cat    *features.Catalog
	// targets[i] are the products whose association with a customer makes
	// offers[i]'s prior: its own products, and its category's best sellers.
	targets [][]uint32
	// isTarget[p] says whether product p is in any offer's targets: the
	// prior only accumulates scores where they are read.
	isTarget []bool
}

// compileOffer resolves rec against the store: known products, a rule that
// compiles. Errors name the field. A stored offer's rule may be one
// accepted before the rule cost bounds: kept, with a warning.
func (s *Service) compileOffer(id string, rec offerRecord, st *offerState, stored bool) (*liveOffer, error) {
	o := &liveOffer{id: id, rec: rec, st: st, start: math.MinInt64, end: math.MaxInt64}
	for _, p := range rec.Products {
		pid, ok := s.src.ProductID(p)
		if !ok {
			return nil, &features.FieldError{Field: "products", Msg: fmt.Sprintf("lists unknown product %q", p)}
		}
		o.products = append(o.products, pid)
	}
	sort.Slice(o.products, func(i, j int) bool { return o.products[i] < o.products[j] })
	if strings.TrimSpace(rec.Eligibility) != "" {
		compile := crm.CompileRule
		if stored {
			compile = func(src string) (*crm.Rule, error) {
				r, over, err := crm.CompileStoredRule(src)
				if over != nil {
					s.log.Warn("stored offer eligibility is over the rule cost bounds; kept, but redefine it", "offer", id, "err", over)
				}
				return r, err
			}
		}
		r, err := compile(rec.Eligibility)
		if err != nil {
			var fe *features.FieldError
			if errors.As(err, &fe) {
				return nil, &features.FieldError{Field: "eligibility", Msg: fe.Msg}
			}
			return nil, &features.FieldError{Field: "eligibility", Msg: "is not a valid rule: " + err.Error()}
		}
		o.rule = r
	}
	if rec.StartsAt != nil {
		o.start = rec.StartsAt.UnixNano()
	}
	if rec.EndsAt != nil {
		o.end = rec.EndsAt.UnixNano()
	}
	return o, nil
}

// buildSet publishes offers with targets for the current model and catalogue.
func (s *Service) buildSet(offers []*liveOffer) *offerSet {
	sort.Slice(offers, func(i, j int) bool { return offers[i].id < offers[j].id })
	set := &offerSet{offers: offers, byID: make(map[string]*liveOffer, len(offers)),
		model: s.src.Model(), cat: s.src.Catalog(), targets: make([][]uint32, len(offers))}
	for i, o := range offers {
		set.byID[o.id] = o
		set.targets[i] = s.targetsOf(o, set.model, set.cat)
		for _, p := range set.targets[i] {
			for int(p) >= len(set.isTarget) {
				set.isTarget = append(set.isTarget, false)
			}
			set.isTarget[p] = true
		}
	}
	return set
}

// targetsOf lists the products that stand for o in the association prior:
// its own, then up to CategoryTargets best sellers of its category (a whole
// category can hold thousands of products; its best sellers are where the
// associations are).
func (s *Service) targetsOf(o *liveOffer, m *features.Model, cat *features.Catalog) []uint32 {
	out := append([]uint32(nil), o.products...)
	if o.rec.Category == "" {
		return out
	}
	bm := cat.Category(o.rec.Category)
	if bm == nil {
		return out
	}
	sup := m.Support[features.BasisAny]
	type ps struct {
		p uint32
		n uint32
	}
	var best []ps
	it := bm.Iterator()
	for it.HasNext() {
		p := it.Next()
		if int(p) < len(sup) && sup[p] > 0 {
			best = append(best, ps{p, sup[p]})
		}
	}
	sort.Slice(best, func(i, j int) bool {
		if best[i].n != best[j].n {
			return best[i].n > best[j].n
		}
		return best[i].p < best[j].p
	})
	for i := 0; i < len(best) && i < s.opts.CategoryTargets; i++ {
		out = append(out, best[i].p)
	}
	return out
}

// currentSet returns the published set, recomputing the targets when the
// model or catalogue changed since. Only one caller recomputes; the others
// keep serving the previous targets meanwhile, which differ by at most one
// refresh.
func (s *Service) currentSet() *offerSet {
	set := s.set.Load()
	if set.model == s.src.Model() && set.cat == s.src.Catalog() {
		return set
	}
	if !s.setMu.TryLock() {
		return set
	}
	defer s.setMu.Unlock()
	set = s.set.Load()
	if set.model == s.src.Model() && set.cat == s.src.Catalog() {
		return set
	}
	n := s.buildSet(append([]*liveOffer(nil), set.offers...))
	s.set.Store(n)
	return n
}

// publish replaces the offer collection (the caller holds defMu).
func (s *Service) publish(offers []*liveOffer) {
	s.setMu.Lock()
	s.set.Store(s.buildSet(offers))
	s.setMu.Unlock()
}
