package features

import (
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dgraph-io/badger/v4"
)

// schemaVersion 2 stores the log's events in blocks (recEventBlock). A
// version 1 store is read as it is and marked 2 on open, so that an older
// build refuses it with a clear message instead of a corrupt record.
const schemaVersion = 2

// Store is the feature store. Safe for concurrent use: every write goes
// through one writer goroutine (group commit), reads use published
// snapshots (Model, Catalog) or short read locks.
type Store struct {
	opts Options
	db   *badger.DB
	log  *slog.Logger

	cust    *dict
	prod    *dict
	types   atomic.Pointer[TypeTable]
	evLog   EventLog    // cluster mode: Ingest publishes here (clusterlog.go)
	ops     *clusterOps // cluster mode: other writes publish here (clusterops.go)
	idx     *index
	dedup   *dedupFilter
	custs   customers
	windows windowCache

	model   atomic.Pointer[Model]
	catalog atomic.Pointer[Catalog]

	seq     atomic.Uint64 // last log sequence written (owned by the writer)
	snapSeq atomic.Uint64
	snapAt  atomic.Int64 // unix nanos of the last snapshot
	snapDur atomic.Int64

	reqs    chan *writeReq
	closeMu sync.RWMutex
	closed  bool
	stop    chan struct{}
	wg      sync.WaitGroup
	kick    chan struct{} // asks the refresher to run now
	lastErr atomic.Pointer[error]

	hooksMu  sync.RWMutex
	hooks    []Hooks
	journals []string // erasure journals (erasure.go)

	// appendSeq is the last sequence of each append log (applog.go),
	// read from Badger on first use; writer goroutine only.
	appendSeq map[string]uint64

	refreshMu sync.Mutex // one model build at a time
	builds    buildState // the build in flight, which Close may abandon (build_abandon.go)
	popMu     sync.Mutex // one popularity count at a time (popular_now.go)
	// What the paced refresh knows of the dense (EASE) solve, under
	// refreshMu: when it last ran, how long it took, and whether events
	// came since that it does not include.
	denseAt    time.Time
	denseDur   time.Duration
	denseStale bool
	// tuner is the self-tuner's state, under refreshMu (tune_store.go).
	tuner     tunerState
	snapDedup *dedupFilter // the snapshot's event-id filters, until load adopts them
	// snapSolvePending says the snapshot's dense lists predate events it
	// includes (load sets denseStale from it).
	snapSolvePending bool
	snapMu           sync.Mutex // one snapshot at a time (they share a generation's file name)
	// snapStale says the snapshot lacks what a restart needs (a model of
	// the current options, the event-id filters) although no event came
	// since: without a new one every restart would rebuild them.
	snapStale atomic.Bool
	disk      *diskGuard
	tick      tickState // cluster mode's stream clock (clustertick.go)

	erased   erasedSet       // erased customers, so reads do not re-create them (erased.go)
	erasures erasureFollowUp // what erasures leave to the background (erase_followup.go)
	// erasedOnReplay counts the erasures load replayed after the snapshot
	// (a crash before their follow-up); Open then runs the follow-up.
	erasedOnReplay int
	eraseQ         eraseQueue // erasures waiting for the writer (erase_batch.go)
}

// Sync forces everything written so far to disk.
func (s *Store) Sync() error {
	if s.opts.InMemory {
		return nil
	}
	if err := s.db.Sync(); err != nil {
		return fmt.Errorf("cannot sync: %w", classifyErr(err))
	}
	return nil
}

// Catalog returns the current published catalogue.
func (s *Store) Catalog() *Catalog { return s.catalog.Load() }

// Types returns the event type table.
func (s *Store) Types() *TypeTable { return s.types.Load() }

// CustomerID resolves an external customer id.
func (s *Store) CustomerID(ext string) (uint32, bool) { return s.cust.lookup(ext) }

// ProductID resolves an external product id.
func (s *Store) ProductID(ext string) (uint32, bool) { return s.prod.lookup(ext) }

// ProductName returns the external id of product p.
func (s *Store) ProductName(p uint32) string { return s.prod.name(p) }

// CustomerName returns the external id of customer c ("" when erased).
func (s *Store) CustomerName(c uint32) string { return s.cust.name(c) }

// ProductNames appends the external ids of ps to out.
func (s *Store) ProductNames(ps []uint32, out []string) []string { return s.prod.names(ps, out) }

// NumProducts and NumCustomers return how many ids were ever assigned.
func (s *Store) NumProducts() int  { return s.prod.len() }
func (s *Store) NumCustomers() int { return s.cust.len() }

// HistoryView returns customer c's interactions, oldest first, without a
// copy: read-only, and it does not follow later events. A request that reads
// a long history this way allocates nothing for it.
func (s *Store) HistoryView(c uint32) []Interaction { return s.idx.historyView(c) }

// Now is the store's clock.
func (s *Store) Now() time.Time { return s.now() }

// Stats describes the store for /metrics and the import summary.
type Stats struct {
	Events int
	// Customers is how many ids are live: erased and merged-away ids are
	// not, as in the value insights (NumCustomers counts every id ever
	// assigned, the range of internal ids).
	Customers     int
	Products      int
	LastSeq       uint64
	SnapshotSeq   uint64
	SnapshotAt    time.Time
	SnapshotTook  time.Duration
	ModelBuilt    time.Time
	ModelBuildDur time.Duration
	ModelSeq      uint64 // the log sequence the served lists include
	LSMBytes      int64
	VLogBytes     int64
}

// Stats returns current figures.
func (s *Store) Stats() Stats {
	s.idx.mu.RLock()
	ev := s.idx.events
	s.idx.mu.RUnlock()
	lsm, vlog := s.db.Size()
	st := Stats{Events: ev, Customers: s.cust.live(), Products: s.prod.len(), LastSeq: s.seq.Load(),
		SnapshotSeq: s.snapSeq.Load(), SnapshotTook: time.Duration(s.snapDur.Load()), LSMBytes: lsm, VLogBytes: vlog}
	if at := s.snapAt.Load(); at > 0 {
		st.SnapshotAt = time.Unix(0, at)
	}
	if m := s.model.Load(); m != nil {
		st.ModelBuilt, st.ModelBuildDur, st.ModelSeq = m.Built, m.BuildDuration, m.Seq
	}
	return st
}

// Ready reports whether the store can serve and write: nil, or the last
// write error (disk full, read-only directory).
func (s *Store) Ready() error {
	s.closeMu.RLock()
	closed := s.closed
	s.closeMu.RUnlock()
	if closed {
		return ErrClosed
	}
	if err := s.disk.check(); err != nil {
		return err
	}
	if p := s.lastErr.Load(); p != nil && *p != nil {
		if errors.Is(*p, ErrDiskFull) {
			s.setErr(nil) // space was freed
			return nil
		}
		return *p
	}
	return nil
}

func (s *Store) setErr(err error) {
	if err == nil {
		if p := s.lastErr.Load(); p == nil || *p == nil {
			return
		}
	}
	s.lastErr.Store(&err)
}
