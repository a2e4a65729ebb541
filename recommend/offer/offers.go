package offer

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/affinity-rec/affinity/features"
	"github.com/affinity-rec/affinity/features/jsonbody"
	"github.com/affinity-rec/affinity/recommend/experiment/abtest"
)

// Offers as marketers define them (DESIGN 3.2): validation, persistence as
// store records, and the performance each one has had. Choosing among them
// for a customer, and learning from the answers, is in nbo.go.

// Record and log kinds in the feature store.
const (
	offerKind        = "offer"
	offerShownLog    = "offer_shown"
	offerResponseLog = "offer_response"
)

// Limits on one offer definition: they keep a single PUT from making every
// next-best-offer call slow.
const (
	maxOfferProducts = 1000
	maxOfferChannels = 32
	maxChannelLen    = 32
	maxEligibility   = 4096
	maxOfferBody     = 1 << 20
)

// notFoundError is an error that is also a features.ErrNotFound.
type notFoundError string

func (e notFoundError) Error() string        { return string(e) }
func (e notFoundError) Is(target error) bool { return target == features.ErrNotFound }

// The offer service's errors. They sit here rather than in errors.go
// because this file is the offer feature's own (see the report to the lead).
var (
	// ErrUnknownOffer is returned, followed by the id, for an offer id
	// with no definition; it is a features.ErrNotFound, so the API answers
	// 404 with the message as it stands.
	ErrUnknownOffer error = notFoundError("unknown offer")
	// ErrNoOpenExposure is returned for a response that matches no open
	// exposure: the offer was never shown to that customer under that
	// recommendation id, was already answered, or its response window
	// passed. The API answers 409.
	ErrNoOpenExposure = errors.New("no open exposure")
	// ErrTooManyOffers is returned when a new offer would exceed
	// Options.MaxOffers.
	ErrTooManyOffers = fmt.Errorf("too many offers: %w", features.ErrInvalid)
)

// Offer is one offer's definition, as PUT and returned by the API. The zero
// value of an optional field means "no limit": no start or end, no cap per
// customer, no budget, every channel, everyone eligible. It is a plain value;
// copies are safe for concurrent use.
type Offer struct {
	// Name is for people; it defaults to the offer id.
	Name string `json:"name"`
	// Products and Category are what the offer promotes: they seed the
	// association prior, and a purchase of one of them carrying the offer's
	// recommendation id counts as an acceptance (an offer with neither is
	// answered through the responses endpoint only).
	Products []string `json:"products"`
	Category string   `json:"category"`
	// Eligibility is a rule over the customer's profile (features.CompileRule).
	Eligibility string `json:"eligibility"`
	// Value is what one acceptance is worth; Priority is the marketer's
	// weight. Both multiply the propensity in the score.
	Value    float64 `json:"value"`
	Priority float64 `json:"priority"`
	// StartsAt and EndsAt bound when the offer may be shown (store clock).
	StartsAt *time.Time `json:"starts_at"`
	EndsAt   *time.Time `json:"ends_at"`
	// MaxPerCustomer caps how often one customer is shown the offer (0: no cap).
	MaxPerCustomer int64 `json:"max_per_customer"`
	// Budget caps the acceptances the offer may ever get (0: no budget).
	Budget int64 `json:"budget"`
	// Channels lists where it may be shown (empty: everywhere).
	Channels []string `json:"channels"`
}

// offerBody is the JSON read from outside. Pointers tell absent from zero,
// raw times accept RFC 3339 or unix seconds, and the read-only fields of a
// GET reply are accepted (and ignored) so that read-modify-write works.
type offerBody struct {
	Name           *string         `json:"name"`
	Products       []string        `json:"products"`
	Category       string          `json:"category"`
	Eligibility    string          `json:"eligibility"`
	Value          *float64        `json:"value"`
	Priority       *float64        `json:"priority"`
	StartsAt       json.RawMessage `json:"starts_at"`
	EndsAt         json.RawMessage `json:"ends_at"`
	MaxPerCustomer *int64          `json:"max_per_customer"`
	Budget         *int64          `json:"budget"`
	Channels       []string        `json:"channels"`
	OfferID        json.RawMessage `json:"offer_id"`
	Performance    json.RawMessage `json:"performance"`
	Active         json.RawMessage `json:"active"`
}

// DecodeOffer reads an offer definition from JSON and checks everything that
// does not need the store (ValidateOffer). Unknown fields are refused, so a
// misspelt "max_per_custmer" is a 400 rather than a silently uncapped offer.
// Errors are *features.FieldError naming the field.
func DecodeOffer(b []byte) (Offer, error) {
	var ob offerBody
	if err := decodeOfferJSON(b, &ob); err != nil {
		return Offer{}, err
	}
	o := Offer{Products: ob.Products, Category: ob.Category, Eligibility: ob.Eligibility,
		Value: 1, Priority: 1, Channels: ob.Channels}
	if ob.Name != nil {
		o.Name = *ob.Name
	}
	if ob.Value != nil {
		o.Value = *ob.Value
	}
	if ob.Priority != nil {
		o.Priority = *ob.Priority
	}
	if ob.MaxPerCustomer != nil {
		o.MaxPerCustomer = *ob.MaxPerCustomer
	}
	if ob.Budget != nil {
		o.Budget = *ob.Budget
	}
	var err error
	if o.StartsAt, err = decodeOfferTime("starts_at", ob.StartsAt); err != nil {
		return Offer{}, err
	}
	if o.EndsAt, err = decodeOfferTime("ends_at", ob.EndsAt); err != nil {
		return Offer{}, err
	}
	if err := ValidateOffer(&o); err != nil {
		return Offer{}, err
	}
	return o, nil
}

// decodeOfferJSON decodes one JSON object into v under the convention of
// features/jsonbody (unknown fields, duplicate keys, wrong types and
// trailing data refused, naming the field).
func decodeOfferJSON(b []byte, v any) error {
	if len(b) > maxOfferBody {
		return &features.FieldError{Field: "body", Msg: "is larger than 1 MiB"}
	}
	return jsonbody.Decode(b, v)
}

// decodeOfferTime reads null, an RFC 3339 string or unix seconds.
func decodeOfferTime(field string, raw json.RawMessage) (*time.Time, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	s := string(raw)
	if raw[0] == '"' {
		if err := json.Unmarshal(raw, &s); err != nil {
			return nil, &features.FieldError{Field: field, Msg: "is not a valid string"}
		}
		if s == "" {
			return nil, nil
		}
	}
	t, err := features.ParseTimestamp(s)
	if err != nil {
		return nil, &features.FieldError{Field: field, Msg: "must be RFC 3339 or unix seconds: " + err.Error()}
	}
	if y := t.Year(); y < 1970 || y > 2200 {
		return nil, &features.FieldError{Field: field, Msg: "must be between 1970 and 2200"}
	}
	return &t, nil
}

// ValidateOffer checks the fields of o that do not depend on the store, and
// normalises channels (lower case, duplicates removed) and products
// (duplicates removed). Whether the products exist and the eligibility rule
// compiles is checked by OfferService.Put.
func ValidateOffer(o *Offer) error {
	if len(o.Name) > features.MaxIDLen || !utf8.ValidString(o.Name) {
		return &features.FieldError{Field: "name", Msg: "must be valid UTF-8 of at most 256 bytes"}
	}
	if len(o.Products) > maxOfferProducts {
		return &features.FieldError{Field: "products", Msg: fmt.Sprintf("lists %d products; at most %d allowed", len(o.Products), maxOfferProducts)}
	}
	seen := make(map[string]bool, len(o.Products))
	prods := make([]string, 0, len(o.Products))
	for _, p := range o.Products {
		if err := features.ValidateID("products", p); err != nil {
			return err
		}
		if !seen[p] {
			seen[p] = true
			prods = append(prods, p)
		}
	}
	o.Products = prods
	if len(o.Category) > features.MaxIDLen || !utf8.ValidString(o.Category) {
		return &features.FieldError{Field: "category", Msg: "must be valid UTF-8 of at most 256 bytes"}
	}
	if len(o.Eligibility) > maxEligibility {
		return &features.FieldError{Field: "eligibility", Msg: fmt.Sprintf("is longer than %d bytes", maxEligibility)}
	}
	if !offerFinite(o.Value) || o.Value < 0 || o.Value > 1e12 {
		return &features.FieldError{Field: "value", Msg: "must be a number from 0 to 1e12"}
	}
	if !offerFinite(o.Priority) || o.Priority <= 0 || o.Priority > 1e6 {
		return &features.FieldError{Field: "priority", Msg: "must be a number above 0 and at most 1e6 (end the offer to stop it)"}
	}
	if o.MaxPerCustomer < 0 {
		return &features.FieldError{Field: "max_per_customer", Msg: "must be >= 0 (0: no cap)"}
	}
	if o.Budget < 0 {
		return &features.FieldError{Field: "budget", Msg: "must be >= 0 (0: no budget)"}
	}
	if o.StartsAt != nil && o.EndsAt != nil && !o.EndsAt.After(*o.StartsAt) {
		return &features.FieldError{Field: "ends_at", Msg: "must be after starts_at"}
	}
	if len(o.Channels) > maxOfferChannels {
		return &features.FieldError{Field: "channels", Msg: fmt.Sprintf("at most %d channels", maxOfferChannels)}
	}
	chans := make([]string, 0, len(o.Channels))
	for _, ch := range o.Channels {
		norm, err := NormalizeChannel("channels", ch)
		if err != nil {
			return err
		}
		if !offerHasString(chans, norm) {
			chans = append(chans, norm)
		}
	}
	o.Channels = chans
	return nil
}

// NormalizeChannel lower-cases a channel name and checks it: 1 to 32 ASCII
// letters, digits, '_' or '-', starting with a letter or digit. The error
// names field.
func NormalizeChannel(field, ch string) (string, error) {
	s := strings.ToLower(ch)
	if s == "" || len(s) > maxChannelLen {
		return "", &features.FieldError{Field: field, Msg: fmt.Sprintf("has %q: a channel is 1 to %d characters", ch, maxChannelLen)}
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		alnum := (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')
		if !alnum && (i == 0 || (c != '_' && c != '-')) {
			return "", &features.FieldError{Field: field, Msg: fmt.Sprintf("has %q: a channel is letters, digits, '_' or '-', starting with a letter or digit", ch)}
		}
	}
	return s, nil
}

func offerHasString(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func offerFinite(f float64) bool { return !math.IsNaN(f) && !math.IsInf(f, 0) }

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

// OfferView is an offer with its id and performance, as the API returns it.
// A plain value, safe for concurrent use.
type OfferView struct {
	OfferID string `json:"offer_id"`
	Offer
	// Active says whether the offer is within its dates now.
	Active      bool             `json:"active"`
	Performance OfferPerformance `json:"performance"`
}

// OfferPerformance is what an offer has done so far. Acceptance is accepted
// out of answered exposures (accepted + declined + ignored); exposures still
// open are not counted either way. A plain value, safe for concurrent use.
type OfferPerformance struct {
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
	rule     *features.Rule // nil: everyone is eligible
	products []uint32       // resolved Products, sorted
	start    int64          // unix nanoseconds; math.MinInt64 when unbounded
	end      int64          // math.MaxInt64 when unbounded
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
		compile := features.CompileRule
		if stored {
			compile = func(src string) (*features.Rule, error) {
				r, over, err := features.CompileStoredRule(src)
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

// Put creates or replaces offer id. Replacing keeps what the offer learned,
// its exposures and its budget use; a deleted and re-created offer starts
// afresh. Errors: *features.FieldError for bad input (unknown product, a
// rule that does not compile or is over the cost bounds of
// features.Store.CheckRuleCost), ErrTooManyOffers.
func (s *Service) Put(id string, o Offer) (OfferView, error) {
	if err := features.ValidateID("offer_id", id); err != nil {
		return OfferView{}, err
	}
	if err := ValidateOffer(&o); err != nil {
		return OfferView{}, err
	}
	if err := s.checkOpen(); err != nil {
		return OfferView{}, err
	}
	s.defMu.Lock()
	defer s.defMu.Unlock()
	set := s.set.Load()
	now := s.src.Now().UTC()
	rec := offerRecord{Offer: o, Created: now, Updated: now}
	if rec.Name == "" {
		rec.Name = id
	}
	var st *offerState
	if old := set.byID[id]; old != nil {
		rec.Incarnation, rec.Created, st = old.rec.Incarnation, old.rec.Created, old.st
	} else {
		if len(set.offers) >= s.opts.MaxOffers {
			return OfferView{}, fmt.Errorf("%w: at most %d offers", ErrTooManyOffers, s.opts.MaxOffers)
		}
		rec.Incarnation = newOfferIncarnation()
		st = newOfferState(rec.Incarnation)
	}
	lo, err := s.compileOffer(id, rec, st, false)
	if err != nil {
		return OfferView{}, err
	}
	if lo.rule != nil {
		// Eligibility runs on every next-best-offer request: the same
		// cost bound as segment rules (stored offers are not re-measured
		// on load).
		if err := s.src.CheckRuleCost("eligibility", lo.rule); err != nil {
			return OfferView{}, err
		}
	}
	body, err := json.Marshal(rec)
	if err != nil {
		return OfferView{}, fmt.Errorf("cannot encode offer %q: %w", id, err)
	}
	if err := s.recs.Put(offerKind, id, body); err != nil {
		return OfferView{}, fmt.Errorf("cannot store offer %q: %w", id, err)
	}
	offers := make([]*liveOffer, 0, len(set.offers)+1)
	for _, x := range set.offers {
		if x.id != id {
			offers = append(offers, x)
		}
	}
	s.publish(append(offers, lo))
	return s.view(lo, s.src.Now()), nil
}

// Get returns offer id with its performance, or ErrUnknownOffer.
func (s *Service) Get(id string) (OfferView, error) {
	o := s.set.Load().byID[id]
	if o == nil {
		return OfferView{}, fmt.Errorf("%w %q", ErrUnknownOffer, id)
	}
	return s.view(o, s.src.Now()), nil
}

// List returns every offer, by id.
func (s *Service) List() []OfferView {
	set := s.set.Load()
	now := s.src.Now()
	out := make([]OfferView, len(set.offers))
	for i, o := range set.offers {
		out[i] = s.view(o, now)
	}
	return out
}

// Delete removes offer id's definition. Its log entries stay (they are the
// history of what customers were shown) but no longer count for anything.
func (s *Service) Delete(id string) error {
	if err := s.checkOpen(); err != nil {
		return err
	}
	s.defMu.Lock()
	defer s.defMu.Unlock()
	set := s.set.Load()
	if set.byID[id] == nil {
		return fmt.Errorf("%w %q", ErrUnknownOffer, id)
	}
	if err := s.recs.Delete(offerKind, id); err != nil && !errors.Is(err, features.ErrNotFound) {
		return fmt.Errorf("cannot delete offer %q: %w", id, err)
	}
	offers := make([]*liveOffer, 0, len(set.offers))
	for _, x := range set.offers {
		if x.id != id {
			offers = append(offers, x)
		}
	}
	s.publish(offers)
	return nil
}

func (s *Service) view(o *liveOffer, now time.Time) OfferView {
	v := OfferView{OfferID: o.id, Offer: o.rec.Offer, Active: o.activeAt(now.UnixNano())}
	if v.Products == nil {
		v.Products = []string{}
	}
	if v.Channels == nil {
		v.Channels = []string{}
	}
	st := o.st
	st.mu.Lock()
	p := OfferPerformance{Shown: st.shown, Accepted: st.accepted.Load(), Declined: st.declined, Ignored: st.ignored, Open: uint64(len(st.open))}
	st.mu.Unlock()
	answered := p.Accepted + p.Declined + p.Ignored
	p.AcceptanceRate = abtest.Wilson(abtest.Proportion{Successes: int64(p.Accepted), Trials: int64(answered)})
	if o.rec.Budget > 0 {
		left := max(o.rec.Budget-int64(p.Accepted), 0)
		p.BudgetLeft = &left
	}
	v.Performance = p
	return v
}

// loadOffers reads the stored definitions. A definition that no longer
// compiles (a product or rule feature gone) is kept out of serving and
// logged, not fatal: one bad offer must not stop the server.
func (s *Service) loadOffers() ([]*liveOffer, error) {
	var offers []*liveOffer
	err := s.recs.List(offerKind, func(id string, v []byte) error {
		var rec offerRecord
		if err := json.Unmarshal(v, &rec); err != nil {
			s.log.Error("offer record unreadable; skipped", "offer", id, "err", err)
			return nil
		}
		if rec.Incarnation == "" {
			rec.Incarnation = newOfferIncarnation()
		}
		lo, err := s.compileOffer(id, rec, newOfferState(rec.Incarnation), true)
		if err != nil {
			s.log.Error("stored offer no longer valid; not served", "offer", id, "err", err)
			return nil
		}
		offers = append(offers, lo)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("cannot load offers: %w", err)
	}
	return offers, nil
}
