package crm

import (
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/affinity-rec/affinity/features"
)

// Store is what the service reads and follows in the feature store: the
// customers' histories and attributes, ids, the model (segment products
// compare a segment with everyone), the clock, purchase pairs, and Follow
// to build its state and keep it current through hooks. features.Store
// provides it; every method must be safe for concurrent use.
type Store interface {
	Types() *features.TypeTable
	HistoryView(c uint32) []features.Interaction
	NumCustomers() int
	NumProducts() int
	CustomerName(c uint32) string
	CustomerAttributes(c uint32) map[string]any
	CoBought(a, b uint32) (both, ofA int)
	Model() *features.Model
	Now() time.Time
	Follow(h features.Hooks, start func() error) error
}

var _ Store = (*features.Store)(nil)

// Records is where segment definitions are kept ("segment" records, the
// key they always had). features.Records (store.Records()) provides it.
type Records interface {
	Put(kind, id string, value []byte) error
	Delete(kind, id string) error
	List(kind string, fn func(id string, value []byte) error) error
}

var _ Records = (*features.Records)(nil)

// Service is customer value (RFM, tiers, current value), segments and the
// rules they are defined with, following a feature store through its
// hooks. Safe for concurrent use. Close it before closing the store.
//
// recs is guarded by mu (written only in the store's writer goroutine,
// through the hooks; read under short read locks); bounds and segs are
// published immutably for lock-free readers.
type Service struct {
	st     Store
	stored Records
	log    *slog.Logger

	mu   sync.RWMutex
	recs []valueRec
	// buyers counts customers with a purchase, purchases the purchases
	// folded in since the start (under mu).
	buyers    int
	purchases uint64
	// prodRev and prodBuys are each product's purchase revenue and count
	// (under mu): the value of a typical purchase of it.
	prodRev  []float64
	prodBuys []uint32

	bounds atomic.Pointer[rfmBounds]
	model  atomic.Pointer[valueModel] // nil until a fit succeeds (btyd.go)
	segs   atomic.Pointer[segmentSet]

	// defMu serialises definition changes (put, delete): each stores its
	// record, then publishes.
	defMu sync.Mutex
	// segMu serialises changes to segs: definitions, erasures (the
	// writer's hook) and the applier (membership) all publish.
	segMu  sync.Mutex
	passMu sync.Mutex // one full pass at a time
	apply  segApplier // segapply.go
	// afterEval lets a test write between a full pass and its
	// reconciliation (fullEval), and beforeApply hold the applier before
	// a round; nil outside tests. Fields, not package variables, so that
	// tests of other services run in parallel.
	afterEval   atomic.Pointer[func()]
	beforeApply atomic.Pointer[func()]

	kick     chan struct{}
	stop     chan struct{}
	stopOnce sync.Once
	wg       sync.WaitGroup

	ptc      ptcCache
	insights insightsCache
}

// New builds customer values from st's histories, loads and evaluates the
// stored segments from recs, follows st's events, attribute changes and
// erasures, and starts the background refresher and segment applier.
// log may be nil (slog.Default).
func New(st Store, recs Records, log *slog.Logger) (*Service, error) {
	if log == nil {
		log = slog.Default()
	}
	s := &Service{st: st, stored: recs, log: log, kick: make(chan struct{}, 1), stop: make(chan struct{})}
	s.apply.init()
	s.watchSegments(recs) // cluster mode: definitions written through other nodes
	h := features.Hooks{OnEvents: s.onEvents, OnCustomer: s.onCustomer, OnErase: s.onErase, OnTick: s.onTick}
	// In the writer: no event commits between the build and the hooks.
	h.OnMerge = s.onMerge // merge.go
	if err := st.Follow(h, s.build); err != nil {
		return nil, err
	}
	s.wg.Add(2)
	go s.refreshLoop()
	go s.segApplyLoop()
	return s, nil
}

// build reads every history into values, computes the quintiles and loads
// and evaluates the stored segments. Writer goroutine (through Follow).
func (s *Service) build() error {
	tt := s.st.Types()
	n := s.st.NumCustomers()
	s.mu.Lock()
	s.recs = make([]valueRec, n)
	for id := range n {
		r := &s.recs[id]
		h := s.st.HistoryView(uint32(id))
		for i := range h {
			in := &h[i]
			r.events++
			if tt.IsPurchase(in.Type) {
				r.addPurchase(int64(in.TS), in.Value, in.Order)
				s.addProductPurchase(in.Product, in.Value)
				s.purchases++
			} else if tt.IsReturn(in.Type) {
				s.foldReturn(tt, r, h[:i], in)
			}
		}
		if r.bought() {
			s.buyers++
		}
	}
	s.mu.Unlock()
	s.recomputeBounds()
	return s.loadSegments()
}

// Close stops the background work; FlushSegments returns
// features.ErrClosed after it. Safe to call more than once.
func (s *Service) Close() error {
	s.stopOnce.Do(func() { close(s.stop) })
	s.wg.Wait()
	return nil
}

func (s *Service) refreshLoop() {
	defer s.wg.Done()
	t := time.NewTicker(valueRefreshInterval)
	defer t.Stop()
	// A first pass soon after the start: a clock that reads the store
	// itself (serve's latest-event clock) may not have been ready for the
	// evaluation done while building.
	first := time.After(time.Second)
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
		case <-first:
		case <-s.kick:
		}
		if !s.onWallClock() {
			continue // cluster mode: at stream ticks (tick.go)
		}
		if err := s.RefreshCustomerValue(); err != nil {
			select {
			case <-s.stop:
				return
			default:
			}
			s.log.Error("customer value refresh failed", "err", err)
		}
	}
}

// RefreshCustomerValue recomputes the RFM quintile boundaries, refits the
// churn and expected-value model when purchases came since its last fit
// (btyd.go), and re-evaluates every segment for every customer (scores and
// recency change without events). The service does it in the background
// every minute; tests and imports call it to see the result at once (it
// returns once the segment applier has caught up).
func (s *Service) RefreshCustomerValue() error {
	s.recomputeBounds()
	s.fitModel()
	if err := s.reevaluateAll(); err != nil {
		return err
	}
	return s.FlushSegments()
}

func (s *Service) recomputeBounds() {
	c := s
	c.mu.RLock()
	rs := make([]float64, 0, c.buyers)
	fs := make([]float64, 0, c.buyers)
	ms := make([]float64, 0, c.buyers)
	for i := range c.recs {
		r := &c.recs[i]
		if !r.bought() {
			continue
		}
		rs = append(rs, float64(r.lastTS))
		fs = append(fs, float64(r.frequency()))
		ms = append(ms, r.monetary)
	}
	c.mu.RUnlock()
	b := &rfmBounds{r: quintileCuts(rs), f: quintileCuts(fs), m: quintileCuts(ms), buyers: len(rs), at: time.Now()}
	c.bounds.Store(b)
}
