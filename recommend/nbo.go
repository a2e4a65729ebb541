package recommend

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"log/slog"
	"math"
	mrand "math/rand/v2"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cespare/xxhash/v2"
	"gonum.org/v1/gonum/stat/distuv"

	"github.com/affinity-rec/affinity/features"
	"github.com/affinity-rec/affinity/features/similarity"
)

// Next-best-offer: pick, for one customer now, the offers with the best
// score = propensity x value x priority among those that are active, on the
// channel, eligible, within budget and not capped; learn the propensity from
// the answers.
//
// Propensity. Each offer's acceptance probability for a customer is a Beta
// distribution. Its prior comes from the association model: r in [0, 1] is
// how strongly the customer's time-decayed history associates with the
// offer's products (the best of its targets' SAR scores, relative to the best
// score among the customer's own history items), and the prior mean is
//
//	m0 = PriorBase + (PriorMax - PriorBase) * r
//
// held as PriorStrength pseudo-answers: a0 = PriorStrength*m0,
// b0 = PriorStrength*(1-m0). Answers then add to it:
//
//	Beta(a0 + accepted, b0 + declined + ignored)
//
// counted over the offer's answers, or over the answers in one of the
// customer's segments once that segment has MinSegmentResponses of them (the
// customer's segment with the most answers). With few answers the customer's
// own associations decide; with many, what customers actually did decides.
// Each request draws one propensity per offer from its Beta (Thompson
// sampling), so an offer that does better takes over as evidence grows while
// a worse one keeps a small, shrinking chance of being shown.
//
// Caps and budgets are exact. A customer's shown counts and an offer's budget
// are reserved under locks (the customer's shard, then the offer: always in
// that order) before anything is logged: a customer is never shown an offer
// more than MaxPerCustomer times, and an offer never has more open exposures
// than its budget has acceptances left, so acceptances (which must answer an
// open exposure) never exceed the budget. An open exposure expires, counted
// as ignored, after ResponseWindow or when MaxOpen newer ones push it out.
//
// Durability. Every exposure, answer and expiry is appended to the store's
// logs (offer_shown, offer_response) before the call returns, group-committed
// across concurrent calls; the learning state is rebuilt from the logs on
// start.

// OfferOptions configure an OfferService.
type OfferOptions struct {
	// PriorBase is the prior acceptance probability of an offer with no
	// association to the customer (and of every offer for a customer with
	// no history); PriorMax that of the customer's best-associated product.
	PriorBase, PriorMax float64
	// PriorStrength is how many answers the prior is worth.
	PriorStrength float64
	// MinSegmentResponses is how many answers a segment needs before its
	// own posterior replaces the offer's for its members.
	MinSegmentResponses uint64
	// ResponseWindow is how long an exposure waits for an answer (holding a
	// unit of budget) before it counts as ignored.
	ResponseWindow time.Duration
	// MaxOpen bounds the open exposures kept per offer (memory); beyond it
	// the oldest counts as ignored.
	MaxOpen int
	// MaxOffers bounds how many offers may be defined.
	MaxOffers int
	// DefaultLimit and MaxLimit are the number of offers per answer.
	DefaultLimit, MaxLimit int
	// CategoryTargets is how many best sellers stand for a category offer
	// in the association prior.
	CategoryTargets int
	// PriorHistory and PriorNeighbours bound the prior's work for long
	// histories: the customer's strongest items, and each one's best
	// neighbours (a prior is a seed, not a ranking: the tail changes little).
	PriorHistory, PriorNeighbours int
	// SweepInterval is how often expired exposures are closed.
	SweepInterval time.Duration
	// Seed makes the Thompson draws reproducible (0: random).
	Seed uint64
	// Logger receives background errors; nil means slog.Default().
	Logger *slog.Logger
}

// DefaultOfferOptions returns the defaults documented in docs/next-best-offer.md.
func DefaultOfferOptions() OfferOptions {
	return OfferOptions{
		PriorBase:           0.05,
		PriorMax:            0.30,
		PriorStrength:       10,
		MinSegmentResponses: 50,
		ResponseWindow:      7 * 24 * time.Hour,
		MaxOpen:             50000,
		MaxOffers:           10000,
		DefaultLimit:        1,
		MaxLimit:            20,
		CategoryTargets:     32,
		PriorHistory:        100,
		PriorNeighbours:     50,
		SweepInterval:       time.Minute,
	}
}

// Validate reports whether o is usable.
func (o OfferOptions) Validate() error {
	switch {
	case !(o.PriorBase > 0 && o.PriorBase <= o.PriorMax && o.PriorMax < 1):
		return fmt.Errorf("%w: offer priors must satisfy 0 < PriorBase <= PriorMax < 1", ErrBadRequest)
	case !(o.PriorStrength > 0) || math.IsInf(o.PriorStrength, 0):
		return fmt.Errorf("%w: PriorStrength must be > 0", ErrBadRequest)
	case o.ResponseWindow <= 0:
		return fmt.Errorf("%w: ResponseWindow must be > 0", ErrBadRequest)
	case o.MaxOpen < 1 || o.MaxOffers < 1 || o.CategoryTargets < 0 || o.PriorHistory < 1 || o.PriorNeighbours < 1:
		return fmt.Errorf("%w: MaxOpen, MaxOffers, PriorHistory and PriorNeighbours must be >= 1", ErrBadRequest)
	case o.DefaultLimit < 1 || o.DefaultLimit > o.MaxLimit:
		return fmt.Errorf("%w: offer limits must satisfy 1 <= default <= max", ErrBadRequest)
	case o.SweepInterval <= 0:
		return fmt.Errorf("%w: SweepInterval must be > 0", ErrBadRequest)
	}
	return nil
}

// OfferSource is what the offer service needs from the feature store:
// ranking inputs, records and logs to persist in, hooks to follow purchases
// and erasures, and the customer profile rules are evaluated on. Every
// method must be safe for concurrent use.
type OfferSource interface {
	Source
	PutRecord(kind, id string, value []byte) error
	DeleteRecord(kind, id string) error
	ListRecords(kind string, fn func(id string, value []byte) error) error
	AppendLog(kind string, entries [][]byte) (uint64, error)
	ScanLog(kind string, after uint64, fn func(seq uint64, value []byte) error) error
	DeleteLogEntries(kind string, seqs []uint64) error
	AddHooks(h features.Hooks)
	RuleEnv(c uint32) map[string]any
	CheckRuleCost(field string, r *features.Rule) error
	SegmentsOf(c uint32) []string
	AddErasureJournal(name string)
	PendingErasures(name string) ([]string, error)
	ErasureDone(name, ext string) error
	// Erased reports whether a customer id was erased (and not written
	// since).
	Erased(ext string) bool
}

var _ OfferSource = (*features.Store)(nil)

// offerJournal is the offers' erasure journal (features/erasure.go).
const offerJournal = "offers"

// OfferService defines offers, chooses the next best ones for a customer and
// learns from the answers. Safe for concurrent use. Close it before closing
// the store.
type OfferService struct {
	src  OfferSource
	eng  *Engine
	opts OfferOptions
	log  *slog.Logger

	defMu sync.Mutex // one definition change at a time
	setMu sync.Mutex // one publication of the set at a time
	set   atomic.Pointer[offerSet]

	custs [offerCustShards]offerCustShard

	seed  uint64
	draws atomic.Uint64

	logq    chan *offerLogJob
	work    offerWorkQueue
	runMu   sync.RWMutex // held for reading by every log append
	closing bool         // under runMu: no new public calls
	logDone bool         // under runMu: the log writer has stopped

	stopWork chan struct{}
	stopLog  chan struct{}
	workWG   sync.WaitGroup
	logWG    sync.WaitGroup
}

const offerCustShards = 64

// offerCustShard holds how often each customer was shown each offer. A
// reservation holds the shard's lock while it checks and bumps the counts,
// which is what makes caps exact under concurrent requests.
type offerCustShard struct {
	mu sync.Mutex
	m  map[string]offerCounts
}

// offerCounts is how often one customer was shown each offer: a short
// slice searched linearly rather than a map, because most customers see a
// few offers and an empty map alone costs more than a dozen entries here.
type offerCounts []offerCount

type offerCount struct {
	st *offerState
	n  uint32
}

func (c offerCounts) get(st *offerState) uint32 {
	for _, x := range c {
		if x.st == st {
			return x.n
		}
	}
	return 0
}

// add adds d (1 or -1) to st's count, dropping counts that reach 0.
func (c *offerCounts) add(st *offerState, d int) {
	for i := range *c {
		if x := &(*c)[i]; x.st == st {
			if d < 0 && x.n <= uint32(-d) {
				*c = append((*c)[:i], (*c)[i+1:]...)
				return
			}
			x.n = uint32(int64(x.n) + int64(d))
			return
		}
	}
	if d > 0 {
		*c = append(*c, offerCount{st: st, n: uint32(d)})
	}
}

// offerState is what one offer (incarnation) has learned and has open.
// Counters are written under mu; accepted and rejected are also atomics so
// that ranking reads them without the lock.
type offerState struct {
	inc string

	mu                       sync.Mutex
	shown, declined, ignored uint64
	open                     map[string]*offerExposure // by recommendation id
	fifo                     []*offerExposure          // open exposures, oldest first (answered ones are skipped)
	segs                     map[string]*offerSegCounts

	accepted atomic.Uint64
	rejected atomic.Uint64 // declined + ignored
	hasSegs  atomic.Bool
}

type offerSegCounts struct{ acc, rej uint64 }

// offerExposure is one showing of one offer to one customer, open until answered
// or expired. Fields other than done never change; done is under the
// offer's mu.
type offerExposure struct {
	rec, cust string
	ts        int64 // unix seconds, store clock
	segs      []string
	done      bool
}

func newOfferState(inc string) *offerState {
	return &offerState{inc: inc, open: map[string]*offerExposure{}, segs: map[string]*offerSegCounts{}}
}

// NewOfferService loads the stored offers, rebuilds what they learned from
// the logs, follows the store's purchases and erasures, and starts the
// background writer and sweeper.
func NewOfferService(src OfferSource, eng *Engine, o OfferOptions) (*OfferService, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	s := &OfferService{src: src, eng: eng, opts: o, log: o.Logger, seed: o.Seed,
		logq: make(chan *offerLogJob, 1024), stopWork: make(chan struct{}), stopLog: make(chan struct{})}
	if s.seed == 0 {
		var b [8]byte
		_, _ = rand.Read(b[:])
		s.seed = binary.LittleEndian.Uint64(b[:])
	}
	for i := range s.custs {
		s.custs[i].m = map[string]offerCounts{}
	}
	s.work.wake = make(chan struct{}, 1)
	offers, err := s.loadOffers()
	if err != nil {
		return nil, err
	}
	s.set.Store(s.buildSet(offers))
	if err := s.rebuild(); err != nil {
		return nil, err
	}
	s.logWG.Add(1)
	go s.logLoop()
	s.workWG.Add(1)
	go s.workLoop()
	src.AddErasureJournal(offerJournal)
	src.AddHooks(features.Hooks{OnEvents: s.onEvents, OnErase: s.onErase})
	// Erasures a crash interrupted are finished first.
	pending, err := src.PendingErasures(offerJournal)
	if err != nil {
		s.Close()
		return nil, err
	}
	for _, ext := range pending {
		s.work.push(offerWorkItem{erase: ext})
	}
	// Exposures that expired while the server was down are closed at once.
	s.sweep()
	return s, nil
}

// Options returns the service's options.
func (s *OfferService) Options() OfferOptions { return s.opts }

func (s *OfferService) checkOpen() error {
	s.runMu.RLock()
	defer s.runMu.RUnlock()
	if s.closing {
		return features.ErrClosed
	}
	return nil
}

// Close stops the background work after it has logged what it holds. Calls
// made after Close return features.ErrClosed. Safe to call more than once.
func (s *OfferService) Close() error {
	s.runMu.Lock()
	if s.closing {
		s.runMu.Unlock()
		return nil
	}
	s.closing = true
	s.runMu.Unlock()
	close(s.stopWork)
	s.workWG.Wait()
	s.runMu.Lock() // waits for appends in flight
	s.logDone = true
	s.runMu.Unlock()
	close(s.stopLog)
	s.logWG.Wait()
	return nil
}

// OfferRequest asks for the next best offers for one customer.
type OfferRequest struct {
	CustomerID string
	// Limit is how many offers (0: DefaultLimit).
	Limit int
	// Channel restricts to offers shown there ("": any).
	Channel string
	// Params are experiment variant knobs: "nbo_policy" ("thompson", the
	// default; "greedy": the posterior mean, no exploration; "prior": the
	// association prior only, no learning) and "limit".
	Params map[string]any
	// DryRun ranks without showing: nothing is reserved or logged.
	DryRun bool
}

// OfferChoice is one chosen offer and why. A plain value, safe for
// concurrent use.
type OfferChoice struct {
	OfferID string `json:"offer_id"`
	Name    string `json:"name"`
	// Score = Propensity x Value x Priority.
	Score float64 `json:"score"`
	// Propensity is the acceptance probability this request drew (Thompson
	// sampling) and ranked by; ExpectedPropensity is the posterior mean.
	Propensity         float64 `json:"propensity"`
	Value              float64 `json:"value"`
	Priority           float64 `json:"priority"`
	Reason             string  `json:"reason"`
	ExpectedPropensity float64 `json:"expected_propensity"`
	// Prior is the association prior's mean; Association the r behind it.
	Prior       float64 `json:"prior"`
	Association float64 `json:"association"`
	// Responses is how many answers the posterior learned from, in Basis:
	// "prior" (none), "offer" (all customers) or "segment:NAME".
	Responses uint64   `json:"responses"`
	Basis     string   `json:"basis"`
	Products  []string `json:"products"`
	Category  string   `json:"category"`
}

// OfferResult is one answer: the offers and the recommendation id that
// responses and purchases quote.
type OfferResult struct {
	Offers           []OfferChoice
	RecommendationID string
	// Products are the products the chosen offers promote (their own, and
	// their categories' best sellers): an experiment attributes purchases
	// of these to the exposure.
	Products []string
}

type nboCand struct {
	o           *liveOffer
	idx         int
	r, prior    float64
	alpha, beta float64
	n, acc      uint64
	basis       string
	mean, theta float64
	score       float64
	taken       bool // reserve has considered it
}

const (
	nboThompson = "thompson"
	nboGreedy   = "greedy"
	nboPrior    = "prior"
)

// Choose returns the next best offers for r.CustomerID, showing them: each
// is reserved against its cap and budget and logged as an exposure before
// Choose returns. An empty list means nothing is eligible now. An unknown
// customer is fine: they get the prior of a customer with no history.
func (s *OfferService) Choose(ctx context.Context, r OfferRequest) (OfferResult, error) {
	if err := features.ValidateID("customer_id", r.CustomerID); err != nil {
		return OfferResult{}, err
	}
	channel := ""
	if r.Channel != "" {
		var err error
		if channel, err = NormalizeChannel("channel", r.Channel); err != nil {
			return OfferResult{}, err
		}
	}
	if err := s.checkOpen(); err != nil {
		return OfferResult{}, err
	}
	limit := r.Limit
	if v, ok := toFloat(r.Params["limit"]); ok && v >= 1 {
		limit = int(v)
	}
	if limit <= 0 {
		limit = s.opts.DefaultLimit
	}
	limit = min(limit, s.opts.MaxLimit)
	policy := paramString(r.Params, "nbo_policy")
	switch policy {
	case "":
		policy = nboThompson
	case nboThompson, nboGreedy, nboPrior:
	default:
		return OfferResult{}, fmt.Errorf("%w: nbo_policy %q (thompson, greedy, prior)", ErrBadRequest, policy)
	}
	res := OfferResult{RecommendationID: s.eng.NewRecommendationID(), Offers: []OfferChoice{}}
	set := s.currentSet()
	now := s.src.Now()
	nowNS := now.UnixNano()
	cust, known := s.src.CustomerID(r.CustomerID)
	if !known && s.src.Erased(r.CustomerID) {
		// An erased customer is not brought back by a read: they get the
		// offers of an unknown customer, neither reserved nor logged.
		r.DryRun = true
	}
	var segs []string
	if known {
		// A copy: exposures keep it after the store has moved on.
		segs = append([]string(nil), s.src.SegmentsOf(cust)...)
	}
	cands := make([]nboCand, 0, len(set.offers))
	var env map[string]any
	for i, o := range set.offers {
		if !o.activeAt(nowNS) || !o.onChannel(channel) {
			continue
		}
		if b := o.rec.Budget; b > 0 && o.st.accepted.Load() >= uint64(b) {
			continue
		}
		if o.rule != nil {
			if env == nil {
				env = s.ruleEnv(cust, known)
			}
			if ok, err := o.rule.Match(env); err != nil || !ok {
				continue
			}
		}
		cands = append(cands, nboCand{o: o, idx: i})
	}
	if len(cands) == 0 {
		return res, nil
	}
	s.priors(set, cands, cust, known)
	rng := mrand.NewPCG(s.seed, s.draws.Add(1))
	for i := range cands {
		s.posterior(&cands[i], segs, policy, rng)
	}
	chosen, logs, err := s.reserve(cands, r.CustomerID, res.RecommendationID, segs, channel, now, limit, r.DryRun)
	if err != nil {
		return OfferResult{}, err
	}
	if !r.DryRun && len(logs.shown) > 0 {
		if err := s.appendLogs(logs); err != nil {
			s.unreserve(chosen, r.CustomerID, res.RecommendationID)
			return OfferResult{}, err
		}
	} else if len(logs.resp) > 0 {
		s.appendLogsQuiet(logs)
	}
	var ids []uint32
	for k, c := range chosen {
		// Exploring: the draws put c above an available offer expected to
		// do better (one ranked below it: chosen after it, or not reached).
		explored := false
		for i := range cands {
			x := &cands[i]
			if x.mean*x.o.rec.Value*x.o.rec.Priority > c.mean*c.o.rec.Value*c.o.rec.Priority &&
				(!x.taken || chosenIn(chosen[k+1:], x.o)) {
				explored = true
				break
			}
		}
		res.Offers = append(res.Offers, s.choice(c, explored))
		ids = append(ids, set.targets[c.idx]...)
	}
	res.Products = s.src.ProductNames(ids, make([]string, 0, len(ids)))
	return res, nil
}

// ruleEnv is the profile eligibility rules see: the customer-value
// profile for a known customer, an empty profile for an unknown one (a
// rule asking for history is simply not met).
func (s *OfferService) ruleEnv(c uint32, known bool) map[string]any {
	if known {
		if env := s.src.RuleEnv(c); env != nil {
			return env
		}
	}
	return offerColdEnv()
}

// offerColdEnv is the rule environment of a customer the store does not
// know: the values and types RuleEnv gives a customer without history (the
// rules are type-checked against them).
func offerColdEnv() map[string]any {
	return map[string]any{
		"recency_days": math.Inf(1), "frequency": 0, "monetary": 0.0,
		"r_score": 0, "f_score": 0, "m_score": 0, "tier": features.TierProspect,
		"historical_value": 0.0, "current_value": 0.0, "events": 0,
		"attributes": map[string]any{}, "segments": []string{},
	}
}

// priors fills r and the prior mean of each candidate from the customer's
// SAR scores: score(p) = Σ over history items h of affinity(h) x
// similarity(h, p). r is an offer's best target score relative to the best
// score among the customer's own history items and the targets (capped at
// 1): an offer as associated with the customer's history as their own
// favourites are gets r = 1. Self-similarity is left out, or a product
// bought often would dwarf every association. Scores are only accumulated
// where they are read, which keeps a long history cheap.
func (s *OfferService) priors(set *offerSet, cands []nboCand, cust uint32, known bool) {
	o := s.opts
	if !known {
		for i := range cands {
			cands[i].prior = o.PriorBase
		}
		return
	}
	m := set.model
	sc := s.eng.getScratch(len(m.Support[0]) + 1)
	defer s.eng.putScratch(sc)
	aff := s.eng.affinity(s.src.HistoryView(cust), s.eng.opts.HalfLife, features.RepeatLinear)
	if len(aff) > o.PriorHistory {
		slices.SortFunc(aff, func(a, b similarity.Neighbour) int { return cmp.Compare(b.Score, a.Score) })
		aff = aff[:o.PriorHistory]
	}
	basis := s.eng.opts.Basis
	n := uint32(len(sc.score))
	isTarget := set.isTarget
	nt := uint32(len(isTarget))
	for _, a := range aff {
		if a.Product < n && sc.mark[a.Product] == 0 {
			sc.mark[a.Product] = 1
			sc.touched = append(sc.touched, a.Product)
		}
	}
	for _, a := range aff {
		nbs := m.NeighboursOf(basis, a.Product)
		for _, nb := range nbs[:min(len(nbs), o.PriorNeighbours)] {
			p := nb.Product
			if p >= n || (sc.mark[p] == 0 && (p >= nt || !isTarget[p])) {
				continue
			}
			if sc.mark[p] == 0 {
				sc.mark[p] = 1
				sc.touched = append(sc.touched, p)
			}
			sc.score[p] += a.Score * nb.Score
		}
	}
	var top float32
	for _, p := range sc.touched {
		top = max(top, sc.score[p])
	}
	for i := range cands {
		best := float32(0)
		if top > 0 {
			for _, p := range set.targets[cands[i].idx] {
				if p < n {
					best = max(best, sc.score[p])
				}
			}
		}
		r := 0.0
		if top > 0 {
			r = min(float64(best/top), 1)
		}
		cands[i].r = r
		cands[i].prior = o.PriorBase + (o.PriorMax-o.PriorBase)*r
	}
}

// posterior fills the Beta parameters, the propensity and the score of c.
func (s *OfferService) posterior(c *nboCand, segs []string, policy string, src mrand.Source) {
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

func (s *OfferService) choice(c nboCand, explored bool) OfferChoice {
	rec := c.o.rec
	out := OfferChoice{OfferID: c.o.id, Name: rec.Name, Score: c.score, Propensity: c.theta,
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

// offerLogs are log entries to append together.
type offerLogs struct{ shown, resp [][]byte }

// reserve walks the ranked candidates and takes the first limit that the
// customer's caps and the offers' budgets allow, reserving them (unless
// dryRun). Expired and pushed-out exposures it closes on the way are
// returned as response entries to log.
func (s *OfferService) reserve(cands []nboCand, cust, rec string, segs []string, channel string, now time.Time, limit int, dryRun bool) ([]nboCand, offerLogs, error) {
	var logs offerLogs
	var chosen []nboCand
	nowS := now.Unix()
	sh := s.shard(cust)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	counts := sh.m[cust]
	// Candidates are taken best first by selection rather than a full sort:
	// usually the first one or two are all that is needed.
	for len(chosen) < limit {
		bi := -1
		for i := range cands {
			if !cands[i].taken && (bi < 0 || betterCand(&cands[i], &cands[bi])) {
				bi = i
			}
		}
		if bi < 0 {
			break
		}
		c := cands[bi]
		cands[bi].taken = true
		o := c.o
		if o.rec.MaxPerCustomer > 0 && int64(counts.get(o.st)) >= o.rec.MaxPerCustomer {
			continue
		}
		st := o.st
		st.mu.Lock()
		logs.resp = s.expireLocked(o, st, nowS, logs.resp)
		if b := o.rec.Budget; b > 0 && st.accepted.Load()+uint64(len(st.open)) >= uint64(b) {
			st.mu.Unlock()
			continue
		}
		if dryRun {
			st.mu.Unlock()
			chosen = append(chosen, c)
			continue
		}
		if len(st.open) >= s.opts.MaxOpen {
			logs.resp = s.evictLocked(o, st, nowS, logs.resp)
		}
		e := &offerExposure{rec: rec, cust: cust, ts: nowS, segs: segs}
		st.open[rec] = e
		st.appendFIFOLocked(e)
		st.shown++
		st.mu.Unlock()
		counts.add(st, 1)
		sh.m[cust] = counts
		chosen = append(chosen, c)
		logs.shown = append(logs.shown, encodeOfferLog(nil, &offerLogEntry{kind: offerEntryShown, offer: o.id, inc: st.inc,
			cust: cust, rec: rec, channel: channel, ts: nowS, segs: segs}))
	}
	return chosen, logs, nil
}

// betterCand orders candidates by score, then offer id (a stable order
// for equal scores, e.g. under the greedy policy).
func betterCand(a, b *nboCand) bool {
	if a.score != b.score {
		return a.score > b.score
	}
	return a.o.id < b.o.id
}

// unreserve undoes reserve after the exposures could not be logged.
func (s *OfferService) unreserve(chosen []nboCand, cust, rec string) {
	sh := s.shard(cust)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	counts := sh.m[cust]
	for _, c := range chosen {
		st := c.o.st
		st.mu.Lock()
		if e := st.open[rec]; e != nil && !e.done {
			e.done = true
			delete(st.open, rec)
			st.shown--
		}
		st.mu.Unlock()
		counts.add(st, -1)
	}
	if len(counts) == 0 {
		delete(sh.m, cust)
	} else {
		sh.m[cust] = counts
	}
}

func (s *OfferService) shard(cust string) *offerCustShard {
	return &s.custs[xxhash.Sum64String(cust)%offerCustShards]
}

// appendFIFOLocked queues e for expiry. Answered exposures stay in the
// queue until they reach its head, so it is compacted whenever it holds
// more answered than open ones: memory follows the open exposures, not
// every exposure of the response window. The caller holds st.mu.
func (st *offerState) appendFIFOLocked(e *offerExposure) {
	if len(st.fifo) >= 1024 && len(st.fifo) > 2*len(st.open) {
		live := make([]*offerExposure, 0, 2*len(st.open)+1)
		for _, x := range st.fifo {
			if !x.done {
				live = append(live, x)
			}
		}
		st.fifo = live
	}
	st.fifo = append(st.fifo, e)
}

// expireLocked closes o's exposures older than the response window as
// ignored and appends their log entries to out. The caller holds st.mu.
func (s *OfferService) expireLocked(o *liveOffer, st *offerState, nowS int64, out [][]byte) [][]byte {
	win := int64(s.opts.ResponseWindow / time.Second)
	i := 0
	for ; i < len(st.fifo); i++ {
		e := st.fifo[i]
		if e.done {
			continue
		}
		if e.ts+win > nowS {
			break
		}
		out = s.resolveLocked(o, st, e, offerIgnored, offerByExpiry, nowS, out)
	}
	if i > 0 {
		st.fifo = st.fifo[i:]
	}
	return out
}

// evictLocked closes o's oldest open exposure as ignored to make room.
func (s *OfferService) evictLocked(o *liveOffer, st *offerState, nowS int64, out [][]byte) [][]byte {
	for len(st.fifo) > 0 {
		e := st.fifo[0]
		st.fifo = st.fifo[1:]
		if !e.done {
			return s.resolveLocked(o, st, e, offerIgnored, offerByEviction, nowS, out)
		}
	}
	return out
}

// resolveLocked answers exposure e and appends the log entry to out. The
// caller holds st.mu.
func (s *OfferService) resolveLocked(o *liveOffer, st *offerState, e *offerExposure, resp offerResp, src offerRespSource, nowS int64, out [][]byte) [][]byte {
	e.done = true
	delete(st.open, e.rec)
	st.count(resp, e.segs, 1)
	return append(out, encodeOfferLog(nil, &offerLogEntry{kind: offerEntryResponse, offer: o.id, inc: st.inc, cust: e.cust,
		rec: e.rec, ts: nowS, segs: e.segs, resp: resp, src: src}))
}

// count adds d (1 or -1) answers of kind resp. The caller holds st.mu.
func (st *offerState) count(resp offerResp, segs []string, d int) {
	add := func(x *uint64) { *x = uint64(int64(*x) + int64(d)) }
	switch resp {
	case offerAccepted:
		st.accepted.Add(uint64(int64(d)))
	case offerDeclined:
		add(&st.declined)
		st.rejected.Add(uint64(int64(d)))
	default:
		add(&st.ignored)
		st.rejected.Add(uint64(int64(d)))
	}
	for _, g := range segs {
		sc := st.segs[g]
		if sc == nil {
			sc = &offerSegCounts{}
			st.segs[g] = sc
			st.hasSegs.Store(true)
		}
		if resp == offerAccepted {
			add(&sc.acc)
		} else {
			add(&sc.rej)
		}
	}
}

// OfferResponse is a customer's answer to a shown offer, as POSTed.
type OfferResponse struct {
	CustomerID       string `json:"customer_id"`
	Response         string `json:"response"`
	RecommendationID string `json:"recommendation_id"`
}

// DecodeOfferResponse reads and checks a response body. Errors are
// *features.FieldError naming the field.
func DecodeOfferResponse(b []byte) (OfferResponse, error) {
	var r OfferResponse
	if err := decodeOfferJSON(b, &r); err != nil {
		return r, err
	}
	if err := features.ValidateID("customer_id", r.CustomerID); err != nil {
		return r, err
	}
	if _, err := parseOfferResponse(r.Response); err != nil {
		return r, err
	}
	if err := features.ValidateID("recommendation_id", r.RecommendationID); err != nil {
		return r, err
	}
	return r, nil
}

// RespondResult is what recording a response did.
type RespondResult struct {
	OfferID          string `json:"offer_id"`
	CustomerID       string `json:"customer_id"`
	Response         string `json:"response"`
	RecommendationID string `json:"recommendation_id"`
}

// Respond records a customer's answer to offer id: it closes the open
// exposure of that offer to r.CustomerID under r.RecommendationID, durably.
// Errors: ErrUnknownOffer, ErrNoOpenExposure (never shown, answered already,
// or past the response window), *features.FieldError.
func (s *OfferService) Respond(ctx context.Context, id string, r OfferResponse) (RespondResult, error) {
	resp, err := parseOfferResponse(r.Response)
	if err != nil {
		return RespondResult{}, err
	}
	if err := features.ValidateID("customer_id", r.CustomerID); err != nil {
		return RespondResult{}, err
	}
	if err := features.ValidateID("recommendation_id", r.RecommendationID); err != nil {
		return RespondResult{}, err
	}
	if err := s.checkOpen(); err != nil {
		return RespondResult{}, err
	}
	o := s.set.Load().byID[id]
	if o == nil {
		return RespondResult{}, fmt.Errorf("%w %q", ErrUnknownOffer, id)
	}
	st := o.st
	nowS := s.src.Now().Unix()
	var logs offerLogs
	st.mu.Lock()
	e := st.open[r.RecommendationID]
	if e == nil || e.cust != r.CustomerID {
		st.mu.Unlock()
		return RespondResult{}, fmt.Errorf("%w of offer %q to customer %q with recommendation_id %q: never shown, already answered, or past the response window",
			ErrNoOpenExposure, id, r.CustomerID, r.RecommendationID)
	}
	if e.ts+int64(s.opts.ResponseWindow/time.Second) <= nowS {
		logs.resp = s.expireLocked(o, st, nowS, logs.resp)
		if !e.done { // not at the head of the queue: close it alone
			logs.resp = s.resolveLocked(o, st, e, offerIgnored, offerByExpiry, nowS, logs.resp)
		}
		st.mu.Unlock()
		s.appendLogsQuiet(logs)
		return RespondResult{}, fmt.Errorf("%w of offer %q to customer %q with recommendation_id %q: the response window of %s has passed",
			ErrNoOpenExposure, id, r.CustomerID, r.RecommendationID, s.opts.ResponseWindow)
	}
	logs.resp = s.resolveLocked(o, st, e, resp, offerByAPI, nowS, logs.resp)
	st.mu.Unlock()
	if err := s.appendLogs(logs); err != nil {
		st.mu.Lock()
		if e.done && st.open[e.rec] == nil {
			e.done = false
			st.open[e.rec] = e
			st.count(resp, e.segs, -1)
			// It keeps its place for expiry: the fifo still holds it.
		}
		st.mu.Unlock()
		return RespondResult{}, err
	}
	return RespondResult{OfferID: id, CustomerID: r.CustomerID, Response: r.Response, RecommendationID: r.RecommendationID}, nil
}

// checkNBOPolicy validates an experiment variant's nbo_policy param; it sits
// in paramCheckers (experiments.go) and here beside what it means.
func checkNBOPolicy(v any, _ int) string {
	switch v {
	case nboThompson, nboGreedy, nboPrior:
		return ""
	}
	return "must be one of thompson, greedy, prior"
}
