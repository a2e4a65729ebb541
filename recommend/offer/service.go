package offer

import (
	"crypto/rand"
	"encoding/binary"
	"log/slog"
	"sync"
	"sync/atomic"

	"github.com/affinity-rec/affinity/features"
)

// Service defines offers, chooses the next best ones for a customer and
// learns from the answers. Safe for concurrent use. Close it before closing
// the store.
type Service struct {
	recs Records
	src  Store
	prof Profiles
	eng  Ranker
	opts Options
	log  *slog.Logger

	defMu sync.Mutex // one definition change at a time
	setMu sync.Mutex // one publication of the set at a time
	set   atomic.Pointer[offerSet]

	custs [offerCustShards]offerCustShard

	seed  uint64
	draws atomic.Uint64

	cw clusterWatch // cluster mode: changes other nodes wrote (clusterwatch.go)

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

// New loads the stored offers from recs, rebuilds what they learned from
// the logs, follows src's purchases and erasures, and starts the
// background writer and sweeper. prof gives customer profiles and segments
// (eligibility, answers by segment); eng is the ranking engine (ids, priors).
func New(recs Records, src Store, prof Profiles, eng Ranker, o Options) (*Service, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	s := &Service{recs: recs, src: src, prof: prof, eng: eng, opts: o, log: o.Logger, seed: o.Seed,
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
	s.watchCluster()
	offers, err := s.loadOffers()
	if err != nil {
		return nil, err
	}
	s.set.Store(s.buildSet(offers))
	err = s.rebuild()
	s.cw.mu.Unlock()
	if err != nil {
		return nil, err
	}
	s.logWG.Add(1)
	go s.logLoop()
	s.workWG.Add(1)
	go s.workLoop()
	recs.AddJournal(offerJournal)
	src.AddHooks(features.Hooks{OnEvents: s.onEvents, OnErase: s.onErase, OnTick: s.onTick})
	// Erasures a crash interrupted are finished first.
	pending, err := recs.Pending(offerJournal)
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
func (s *Service) Options() Options { return s.opts }

func (s *Service) checkOpen() error {
	s.runMu.RLock()
	defer s.runMu.RUnlock()
	if s.closing {
		return features.ErrClosed
	}
	return nil
}

// Close stops the background work after it has logged what it holds. Calls
// made after Close return features.ErrClosed. Safe to call more than once.
func (s *Service) Close() error {
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
