package features

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"io/fs"
	"log/slog"
	"os"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/RoaringBitmap/roaring/v2"

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

	// appendSeq is the last sequence of each append log (records.go),
	// read from Badger on first use; writer goroutine only.
	appendSeq map[string]uint64

	refreshMu sync.Mutex // one model build at a time
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

	crm crm // customer value and segments (value.go, segments.go)

	erased erasedSet // erased customers, so reads do not re-create them (erased.go)
}

// Hooks let other packages follow the store without importing Badger: they
// run in the writer goroutine after a commit, so they must be quick and must
// not call back into the store's write methods.
type Hooks struct {
	// OnEvents receives each committed batch of new (non-duplicate) events.
	OnEvents func([]AppliedEvent)
	// OnCustomer is told that customer c's attributes changed.
	OnCustomer func(c uint32)
	// OnErase is told that a customer was erased.
	OnErase func(cust uint32, customerID string)
}

// AppliedEvent is a committed event with its internal ids.
type AppliedEvent struct {
	Seq      uint64
	Customer uint32
	Product  uint32
	Class    Class
	Event    Event
}

// IngestResult says what happened to a batch of events.
type IngestResult struct {
	Accepted   int
	Duplicates int // accepted, already stored (same event id): not applied twice
	Rejected   []Rejection
}

// Rejection is one rejected event of a batch.
type Rejection struct {
	Index  int    `json:"index"`
	Field  string `json:"field,omitempty"`
	Detail string `json:"detail"`
}

type pendingEvent struct {
	ev       Event
	typ      uint8
	class    Class
	dedup    [16]byte
	hasDedup bool
}

type writeReq struct {
	events []pendingEvent
	fn     func() error
	sync   bool
	bulk   bool
	done   chan writeResult
}

type writeResult struct {
	err  error
	dups int
}

// Badger's memtable sizes. Every process that opens a store must be able
// to replay the write-ahead logs (*.mem) another left behind, whatever size
// that one used: see openBadger.
const (
	memTableSize = 32 << 20
	// bulkMemTableSize: fewer, larger level-0 tables during a bulk import
	// (Badger's compactions took a fifth of a 10M-event import's CPU with
	// 32 MB memtables).
	bulkMemTableSize = 128 << 20
)

func badgerOptions(o Options) badger.Options {
	bo := badger.DefaultOptions(o.Dir).
		WithLogger(badgerLogger{o.Logger}).
		WithSyncWrites(false).
		WithInMemory(o.InMemory).
		// Small caches keep the resident set low; the hot data lives in the
		// derived in-memory state, not in Badger's block cache.
		WithBlockCacheSize(64 << 20).
		WithIndexCacheSize(32 << 20).
		WithMemTableSize(memTableSize).
		WithNumMemtables(3).
		WithValueThreshold(1 << 10).
		WithNumVersionsToKeep(1).
		// Four compactors (Badger's default) on a 2-core machine took both
		// cores and 0.5-0.75 GB of table-builder buffers at once when the
		// deep levels of a 10M-event store were compacted under writes,
		// and ingestion stalled for 10 s. One per core, at least the two
		// Badger needs.
		WithNumCompactors(min(4, max(2, runtime.GOMAXPROCS(0))))
	if o.BulkLoad {
		bo = bo.WithMemTableSize(bulkMemTableSize)
	}
	if o.InMemory {
		bo.Dir, bo.ValueDir = "", ""
	}
	return bo
}

// openBadger opens o's Badger directory. A process killed with unflushed
// memtables leaves their write-ahead logs, which Badger replays on open into
// memtables of the opener's size: a 128 MB import's log does not fit the
// 32 MB ones of serve ("Arena too small"), and the store would open only
// in another import. So when a log was written with larger memtables than
// o asks for, the store is first opened with that size, which replays the
// logs and flushes them to tables on close, then opened as asked.
func openBadger(o Options) (*badger.DB, error) {
	bo := badgerOptions(o)
	if !o.InMemory {
		size, err := walMemTableSize(o.Dir)
		if err != nil {
			return nil, err
		}
		if size > bo.MemTableSize {
			o.Logger.Warn("replaying write-ahead logs of an interrupted run with its memtable size",
				"dir", o.Dir, "memtable_bytes", size)
			db, err := badger.Open(bo.WithMemTableSize(size))
			if err != nil {
				return nil, err
			}
			if err := db.Close(); err != nil {
				return nil, fmt.Errorf("cannot flush the write-ahead logs: %w", err)
			}
		}
	}
	return badger.Open(bo)
}

// walMemTableSize returns the memtable size the largest write-ahead log in
// dir was made for (0 when there is none). Badger creates each log file at
// twice its memtable size and never shrinks it, so the file records the
// size whatever build or options wrote it (also stores of builds before
// this check).
func walMemTableSize(dir string) (int64, error) {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	var size int64
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), ".mem") || !e.Type().IsRegular() {
			continue
		}
		fi, err := e.Info()
		if err != nil {
			return 0, err
		}
		size = max(size, fi.Size()/2)
	}
	return size, nil
}

// Open opens (creating if needed) the store described by o, loads its
// snapshot, replays the log tail and builds the model.
func Open(o Options) (*Store, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	db, err := openBadger(o)
	if err != nil {
		return nil, fmt.Errorf("cannot open store in %q: %w", o.Dir, classifyErr(err))
	}
	s := &Store{
		opts:      o,
		db:        db,
		log:       o.Logger,
		cust:      newDict(),
		prod:      newDict(),
		idx:       newIndex(),
		reqs:      make(chan *writeReq, 1024),
		stop:      make(chan struct{}),
		kick:      make(chan struct{}, 1),
		appendSeq: map[string]uint64{},
		dedup:     newDedupFilter(1 << 20),
		custs:     customers{attrs: map[uint32]map[string]any{}},
	}
	if !o.InMemory {
		s.disk = &diskGuard{dir: o.Dir, min: o.MinFreeBytes}
	}
	s.catalog.Store(newCatalog())
	if err := s.load(); err != nil {
		db.Close()
		return nil, err
	}
	s.wg.Add(2)
	go s.writeLoop()
	go s.backgroundLoop()
	return s, nil
}

func (s *Store) load() error {
	start := time.Now()
	// A start builds the model at once but tunes it later, in the
	// background (tune_store.go): tuning costs a few builds, and a restart
	// must be quick.
	s.tuner.loading = true
	defer s.tuner.afterLoad(s)
	if err := s.checkSchema(); err != nil {
		return err
	}
	if err := s.loadTypes(); err != nil {
		return err
	}
	// The dictionaries (2 s at 10M events) load while the snapshot is read
	// and decoded; the decoder waits for them only at its end.
	dicts := make(chan error, 1)
	go func() { dicts <- s.loadDicts() }()
	dictsLoaded := sync.OnceValue(func() error { return <-dicts })
	snapModel, snapOK := s.loadSnapshot(dictsLoaded)
	if err := dictsLoaded(); err != nil {
		return err
	}
	if err := s.loadProducts(); err != nil {
		return err
	}
	replayed, err := s.replay(s.snapSeq.Load(), snapModel != nil)
	if err != nil {
		return err
	}
	// The snapshot's event-id filters hold every id up to its sequence;
	// the ids of a log tail after it (a crash) are only in Badger.
	if s.snapDedup != nil && replayed == 0 {
		s.dedup = s.snapDedup
	} else if err := s.loadDedup(); err != nil {
		return err
	}
	s.snapStale.Store(snapOK && (snapModel == nil || s.snapDedup == nil))
	s.snapDedup = nil
	if snapModel != nil && snapModel.Built.IsZero() {
		// The snapshot's lists are current up to its sequence, which the
		// replay below brings up to now: their age (refresh lag) starts now.
		snapModel.Built = time.Now()
	}
	switch {
	case snapModel != nil && replayed == 0:
		s.model.Store(snapModel)
		// The lists served before the snapshot, served again. A solve they
		// were waiting for still comes, DenseInterval after the start, as
		// does that of the first events after it.
		s.denseAt = time.Now()
		s.denseStale = s.snapSolvePending
		s.tuner.restore(snapModel.Tuned, s.idx.events)
		s.idx.all = false
	case snapModel != nil:
		// The tail replay marked the lists it made stale.
		s.model.Store(snapModel)
		s.Refresh()
	default:
		s.idx.all = true
		s.Refresh()
	}
	if err := s.loadCRM(); err != nil {
		return err
	}
	if err := s.loadErased(); err != nil {
		return err
	}
	s.log.Info("store loaded", "dir", s.opts.Dir, "events", s.idx.events, "customers", s.cust.len(),
		"products", s.prod.len(), "snapshot", snapOK, "replayed", replayed, "seconds", time.Since(start).Seconds())
	return nil
}

func (s *Store) checkSchema() error {
	return s.db.Update(func(txn *badger.Txn) error {
		it, err := txn.Get([]byte(schemaVersionName))
		if errors.Is(err, badger.ErrKeyNotFound) {
			return txn.Set([]byte(schemaVersionName), []byte{schemaVersion})
		}
		if err != nil {
			return err
		}
		v, err := it.ValueCopy(nil)
		if err != nil {
			return err
		}
		if len(v) == 1 && v[0] == 1 {
			return txn.Set([]byte(schemaVersionName), []byte{schemaVersion})
		}
		if len(v) != 1 || v[0] != schemaVersion {
			return fmt.Errorf("%w: store schema %v, this build reads 1 and %d", ErrInvalid, v, schemaVersion)
		}
		return nil
	})
}

// TypeTable maps event type codes (as stored in the log) to their names and
// configured weights. Immutable once published; safe for concurrent use.
type TypeTable struct {
	byName map[string]uint8
	names  [256]string
	conf   [256]EventType
	known  [256]bool
}

// Code returns the code of a configured type.
func (t *TypeTable) Code(name string) (uint8, bool) {
	c, ok := t.byName[name]
	return c, ok && t.known[c]
}

// Name returns the name of code c.
func (t *TypeTable) Name(c uint8) string { return t.names[c] }

// Weight returns the configured weight of code c for an event of value v
// (0 for a type no longer configured).
func (t *TypeTable) Weight(c uint8, v float64) float64 {
	if !t.known[c] {
		return 0
	}
	e := t.conf[c]
	if e.UseValue && v > 0 {
		return e.Weight * v
	}
	return e.Weight
}

// Configured returns the configured type names, sorted.
func (t *TypeTable) Configured() []string {
	m := map[string]EventType{}
	for n, c := range t.byName {
		if t.known[c] {
			m[n] = t.conf[c]
		}
	}
	return sortedTypeNames(m)
}

func (s *Store) loadTypes() error {
	tt := &TypeTable{byName: map[string]uint8{}}
	err := s.db.Update(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: []byte(prefixType), PrefetchValues: true})
		used := [256]bool{}
		for it.Rewind(); it.Valid(); it.Next() {
			name := string(it.Item().Key()[len(prefixType):])
			v, err := it.Item().ValueCopy(nil)
			if err != nil || len(v) != 1 {
				it.Close()
				return fmt.Errorf("cannot read event type %q: %w", name, errCorrupt)
			}
			tt.byName[name] = v[0]
			tt.names[v[0]] = name
			used[v[0]] = true
		}
		it.Close()
		for _, name := range sortedTypeNames(s.opts.EventTypes) {
			if _, ok := tt.byName[name]; ok {
				continue
			}
			code := -1
			for c := 1; c < 256; c++ {
				if !used[c] {
					code = c
					break
				}
			}
			if code < 0 {
				return fmt.Errorf("%w: too many event types", ErrInvalid)
			}
			used[code] = true
			tt.byName[name] = uint8(code)
			tt.names[code] = name
			if err := txn.Set(keyStr(prefixType, name), []byte{uint8(code)}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("cannot load event types: %w", classifyErr(err))
	}
	for name, et := range s.opts.EventTypes {
		c := tt.byName[name]
		tt.conf[c] = et
		tt.known[c] = true
	}
	s.types.Store(tt)
	return nil
}

func (s *Store) loadDicts() error {
	for _, d := range []struct {
		prefix string
		dict   *dict
	}{{prefixCustDict, s.cust}, {prefixProdDict, s.prod}} {
		err := s.db.View(func(txn *badger.Txn) error {
			it := txn.NewIterator(badger.IteratorOptions{Prefix: []byte(d.prefix), PrefetchValues: true, PrefetchSize: 1000})
			defer it.Close()
			for it.Rewind(); it.Valid(); it.Next() {
				item := it.Item()
				ext := string(item.Key()[len(d.prefix):])
				err := item.Value(func(v []byte) error {
					id, ok := u32be(v)
					if !ok {
						return errCorrupt
					}
					d.dict.set(ext, id)
					return nil
				})
				if err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("cannot load id dictionary: %w", err)
		}
	}
	return nil
}

// replay applies the log's events and erasures after sequence after to the
// index and returns how many.
func (s *Store) replay(after uint64, track bool) (int, error) {
	tt := s.types.Load()
	n := 0
	last := after
	s.idx.mu.Lock()
	defer s.idx.mu.Unlock()
	err := s.db.View(func(txn *badger.Txn) error {
		opts := badger.IteratorOptions{Prefix: []byte(prefixLog), PrefetchValues: true, PrefetchSize: 1000}
		it := txn.NewIterator(opts)
		defer it.Close()
		var le logEvent
		for it.Seek(keyU64(prefixLog, after+1)); it.Valid(); it.Next() {
			item := it.Item()
			seq := binary.BigEndian.Uint64(item.Key()[len(prefixLog):])
			err := item.Value(func(v []byte) error {
				if len(v) > 0 && v[0] == recErase {
					c, err := decodeErase(v)
					if err != nil {
						return err
					}
					s.idx.eraseLocked(c)
					n++
					return nil
				}
				return eachLogEvent(v, seq, &le, func(es uint64, e *logEvent) error {
					// A snapshot taken while a commit was being applied
					// holds the first part of its block.
					if es > after {
						s.applyOne(tt, e, track)
						n++
					}
					return nil
				})
			})
			if err != nil {
				return fmt.Errorf("log record %d: %w", seq, err)
			}
			last = seq
		}
		return nil
	})
	if err != nil {
		return n, fmt.Errorf("cannot replay the event log: %w", err)
	}
	s.seq.Store(last)
	s.idx.appliedSeq = last
	s.idx.refreshClockLocked()
	return n, nil
}

// applyOne adds a decoded log event to the index; the caller holds idx.mu.
func (s *Store) applyOne(tt *TypeTable, le *logEvent, track bool) {
	if !tt.known[le.Type] {
		return // a type no longer configured: kept in the log, not used
	}
	s.idx.applyLocked(le.Cust, Interaction{
		Product: le.Prod,
		Order:   orderHash(le.Order),
		TS:      unixTS(le.TS),
		Value:   ClampValue(le.Value),
		Type:    le.Type,
		Class:   tt.conf[le.Type].Class,
	}, track)
}

func orderHash(s string) uint32 {
	if s == "" {
		return 0
	}
	h := fnv.New32a()
	h.Write([]byte(s))
	v := h.Sum32()
	if v == 0 {
		v = 1
	}
	return v
}

// eventKey is the idempotency key of an event id.
func eventKey(id string) [16]byte {
	h := fnv.New128a()
	h.Write([]byte(id))
	var k [16]byte
	h.Sum(k[:0])
	return k
}

// IngestOptions tune one Ingest call.
type IngestOptions struct {
	// NoSync skips the fsync (bulk import syncs once at the end with Sync).
	NoSync bool
	// Bulk marks every neighbour list stale instead of tracking which
	// products each event touched: the next Refresh rebuilds all lists,
	// which is cheaper than tracking when most products change (an import
	// calls Refresh once at the end).
	Bulk bool
}

// Ingest validates, stores and applies events. It returns after every
// accepted event is committed to Badger (and synced, with SyncWrites). A bad
// event rejects that event only. An error means nothing of the batch was
// committed.
func (s *Store) Ingest(ctx context.Context, events []Event, io IngestOptions) (IngestResult, error) {
	var res IngestResult
	tt := s.types.Load()
	now := s.opts.Clock().UTC()
	wall := time.Now()
	pend := make([]pendingEvent, 0, len(events))
	for i := range events {
		e := events[i]
		if err := ValidateEvent(&e); err != nil {
			res.Rejected = append(res.Rejected, rejection(i, err))
			continue
		}
		code, ok := tt.Code(e.Type)
		if !ok {
			res.Rejected = append(res.Rejected, Rejection{Index: i, Field: "type",
				Detail: fmt.Sprintf("type %q is not a configured event type (%v)", e.Type, tt.Configured())})
			continue
		}
		if e.Timestamp.IsZero() {
			e.Timestamp = now
		} else if err := CheckFuture(e.Timestamp, wall, s.opts.MaxFutureSkew); err != nil {
			res.Rejected = append(res.Rejected, rejection(i, err))
			continue
		}
		pe := pendingEvent{ev: e, typ: code, class: tt.conf[code].Class}
		if e.EventID != "" {
			pe.dedup, pe.hasDedup = eventKey(e.EventID), true
		}
		pend = append(pend, pe)
	}
	if len(pend) == 0 {
		return res, nil
	}
	r := &writeReq{events: pend, sync: s.opts.SyncWrites && !io.NoSync, bulk: io.Bulk, done: make(chan writeResult, 1)}
	wr, err := s.submit(ctx, r)
	if err != nil {
		return IngestResult{}, err
	}
	res.Accepted = len(pend)
	res.Duplicates = wr.dups
	return res, nil
}

func rejection(i int, err error) Rejection {
	var fe *FieldError
	if errors.As(err, &fe) {
		return Rejection{Index: i, Field: fe.Field, Detail: fe.Error()}
	}
	return Rejection{Index: i, Detail: err.Error()}
}

// submit hands r to the writer and waits for its commit. The wait ignores
// ctx once submitted: the write will happen, and its caller must learn
// whether it did.
func (s *Store) submit(ctx context.Context, r *writeReq) (writeResult, error) {
	s.closeMu.RLock()
	defer s.closeMu.RUnlock()
	if s.closed {
		return writeResult{}, ErrClosed
	}
	if err := s.disk.check(); err != nil {
		s.setErr(err)
		return writeResult{}, err
	}
	select {
	case s.reqs <- r:
	case <-ctx.Done():
		return writeResult{}, ctx.Err()
	}
	wr := <-r.done
	return wr, wr.err
}

// do runs fn in the writer goroutine, serialised with every other write.
func (s *Store) do(fn func() error) error {
	_, err := s.submit(context.Background(), &writeReq{fn: fn, done: make(chan writeResult, 1)})
	return err
}

const maxGroupEvents = 20000

func (s *Store) writeLoop() {
	defer s.wg.Done()
	for {
		var first *writeReq
		select {
		case first = <-s.reqs:
		case <-s.stop:
			return
		}
		if first.fn != nil {
			first.done <- writeResult{err: first.fn()}
			continue
		}
		group := []*writeReq{first}
		n := len(first.events)
		var fnReq *writeReq
	drain:
		for n < maxGroupEvents {
			select {
			case r := <-s.reqs:
				if r.fn != nil {
					fnReq = r
					break drain
				}
				group = append(group, r)
				n += len(r.events)
			default:
				break drain
			}
		}
		dups, err := s.commitEvents(group)
		for i, r := range group {
			r.done <- writeResult{err: err, dups: dups[i]}
		}
		if fnReq != nil {
			fnReq.done <- writeResult{err: fnReq.fn()}
		}
	}
}

// commitEvents writes one group of requests as one batch (one fsync for all:
// group commit), then applies them. Runs only in the writer goroutine.
func (s *Store) commitEvents(group []*writeReq) ([]int, error) {
	dups := make([]int, len(group))
	custMark, prodMark := s.cust.len(), s.prod.len()
	seq := s.seq.Load()
	wb := s.db.NewWriteBatch()
	defer wb.Cancel()
	n := 0
	for _, r := range group {
		n += len(r.events)
	}
	// Badger keeps the key and value slices until the batch is flushed, so
	// each needs its own bytes: they are cut from a few large blocks
	// rather than allocated one by one (four allocations an event before).
	ar := arena{next: 160 * n} // about what an event with new ids takes
	inBatch := make(map[[16]byte]struct{}, n)
	applied := make([]AppliedEvent, 0, n)
	logs := make([]logEvent, 0, n)
	track := make([]bool, 0, n)
	bulk := false
	var newKeys [][16]byte
	syncNeeded := false
	var werr error
	set := func(k, v []byte) {
		if werr == nil {
			werr = wb.Set(k, v)
		}
	}
	del := func(k []byte) {
		if werr == nil {
			werr = wb.Delete(k)
		}
	}
	var unlisted []func() // erased customers back by this write (erased.go)
	var blk blockEncoder
	writeBlock := func() {
		if blk.n > 0 {
			key := ar.strU64(prefixLog, blk.last)
			set(key, ar.giveBack(blk.appendTo(ar.take(blk.size()), blk.last)))
		}
	}
	for gi, r := range group {
		syncNeeded = syncNeeded || r.sync
		bulk = bulk || r.bulk
		for i := range r.events {
			pe := &r.events[i]
			if pe.hasDedup {
				if _, ok := inBatch[pe.dedup]; ok {
					dups[gi]++
					continue
				}
				if s.dedup.test(pe.dedup) {
					exists, err := s.hasKey(append([]byte(prefixDedup), pe.dedup[:]...))
					if err != nil {
						return dups, fmt.Errorf("cannot check event id: %w", classifyErr(err))
					}
					if exists {
						dups[gi]++
						continue
					}
				}
				inBatch[pe.dedup] = struct{}{}
				newKeys = append(newKeys, pe.dedup)
			}
			cid, newC := s.cust.assign(pe.ev.CustomerID)
			if newC {
				set(ar.str(prefixCustDict, pe.ev.CustomerID), ar.u32(cid))
				set(ar.strU32(prefixCustRev, cid), ar.str("", pe.ev.CustomerID))
				if f := s.unmarkErased(pe.ev.CustomerID, del); f != nil {
					unlisted = append(unlisted, f)
				}
			}
			pid, newP := s.prod.assign(pe.ev.ProductID)
			if newP {
				set(ar.str(prefixProdDict, pe.ev.ProductID), ar.u32(pid))
				set(ar.strU32(prefixProdRev, pid), ar.str("", pe.ev.ProductID))
			}
			seq++
			le := logEvent{Cust: cid, Prod: pid, Type: pe.typ, TS: pe.ev.Timestamp.Unix(),
				Value: pe.ev.Value, Qty: pe.ev.Quantity, Order: pe.ev.OrderID, RecID: pe.ev.RecommendationID}
			if !blk.room(&le) {
				writeBlock()
			}
			blk.add(seq, &le)
			if pe.hasDedup {
				set(ar.str(prefixDedup, string(pe.dedup[:])), ar.u64(seq))
			}
			logs = append(logs, le)
			track = append(track, !r.bulk)
			applied = append(applied, AppliedEvent{Seq: seq, Customer: cid, Product: pid, Class: pe.class, Event: pe.ev})
		}
	}
	writeBlock()
	if werr == nil {
		werr = wb.Flush()
	}
	if werr == nil && syncNeeded && !s.opts.InMemory {
		werr = s.db.Sync()
	}
	if werr != nil {
		s.cust.truncate(custMark)
		s.prod.truncate(prodMark)
		// Badger commits a large batch in parts, so some of its blocks may
		// be on disk. Their sequences are not used again: a later commit
		// would cut its blocks elsewhere, and a stale block under a key no
		// new one overwrites would overlap them.
		s.seq.Store(seq)
		werr = fmt.Errorf("cannot commit events: %w", classifyErr(werr))
		s.setErr(werr)
		return dups, werr
	}
	s.setErr(nil)
	s.seq.Store(seq)
	for _, f := range unlisted {
		f()
	}
	// The ids go into the filter before the events are applied, so a
	// snapshot that includes an event also includes its id (see
	// snapshotDedup).
	s.dedup.addAll(newKeys)
	tt := s.types.Load()
	// Apply in slices so readers waiting on the lock are not held up by a
	// large batch.
	for i := 0; i < len(logs); i += 512 {
		s.idx.mu.Lock()
		for j := i; j < min(i+512, len(logs)); j++ {
			s.applyOne(tt, &logs[j], track[j])
			s.idx.appliedSeq = applied[j].Seq
		}
		if bulk && i+512 >= len(logs) {
			// Untracked events: every list is stale.
			s.idx.all = true
		}
		s.idx.publishClockLocked()
		s.idx.mu.Unlock()
	}
	if len(applied) > 0 {
		s.runHooks(func(h Hooks) {
			if h.OnEvents != nil {
				h.OnEvents(applied)
			}
		})
	}
	return dups, nil
}

// arena hands out byte slices cut from large blocks, for values that live
// as long as one write batch. Not safe for concurrent use.
type arena struct {
	buf  []byte
	next int // size of the next block; the zero value means arenaBlock
}

const arenaBlock = 256 << 10

// take returns a zero-length slice with room for n bytes that no other
// slice of the arena shares.
func (a *arena) take(n int) []byte {
	if cap(a.buf)-len(a.buf) < n {
		size := a.next
		if size <= 0 {
			size = arenaBlock
		}
		a.buf = make([]byte, 0, max(min(size, arenaBlock), n))
		a.next = arenaBlock
	}
	b := a.buf[len(a.buf) : len(a.buf) : len(a.buf)+n]
	a.buf = a.buf[:len(a.buf)+n]
	return b
}

func (a *arena) str(prefix, s string) []byte {
	b := a.take(len(prefix) + len(s))
	b = append(b, prefix...)
	return append(b, s...)
}

func (a *arena) strU32(prefix string, v uint32) []byte {
	return binary.BigEndian.AppendUint32(append(a.take(len(prefix)+4), prefix...), v)
}

func (a *arena) strU64(prefix string, v uint64) []byte {
	return binary.BigEndian.AppendUint64(append(a.take(len(prefix)+8), prefix...), v)
}

func (a *arena) u32(v uint32) []byte { return binary.BigEndian.AppendUint32(a.take(4), v) }

func (a *arena) u64(v uint64) []byte { return binary.BigEndian.AppendUint64(a.take(8), v) }

// giveBack returns what the last take reserved beyond b (which it must
// have returned) and caps b, so later takes cannot share it.
func (a *arena) giveBack(b []byte) []byte {
	a.buf = a.buf[:len(a.buf)-(cap(b)-len(b))]
	return b[:len(b):len(b)]
}

func (s *Store) hasKey(k []byte) (bool, error) {
	var found bool
	err := s.db.View(func(txn *badger.Txn) error {
		_, err := txn.Get(k)
		if errors.Is(err, badger.ErrKeyNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		found = true
		return nil
	})
	return found, err
}

// AddHooks registers h; hooks run in registration order.
func (s *Store) AddHooks(h Hooks) {
	s.hooksMu.Lock()
	s.hooks = append(s.hooks, h)
	s.hooksMu.Unlock()
}

func (s *Store) runHooks(fn func(Hooks)) {
	s.hooksMu.RLock()
	hs := s.hooks
	s.hooksMu.RUnlock()
	for _, h := range hs {
		fn(h)
	}
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
func (s *Store) Now() time.Time { return s.opts.Clock() }

// Refresh recomputes stale neighbour lists now, the dense (EASE) solve
// included, and publishes the new model. Tests, import and erasure call it
// to see their writes in the model at once; the background loop calls
// refresh(refreshPaced). Snapshots refresh nothing: they keep the model
// being served (snapshot_model.go).
func (s *Store) Refresh() { s.refresh(refreshSolve) }

// refreshMode says whether a refresh may run the dense (EASE) solve.
type refreshMode int

const (
	// refreshPaced solves when DenseInterval (and four times the last
	// solve) has passed since the last solve.
	refreshPaced refreshMode = iota
	// refreshSolve solves now.
	refreshSolve
)

// refresh rebuilds the stale parts of the model. Unless mode says so, a
// dense basis keeps its lists until DenseInterval (and four times the last
// solve) has passed since the last solve: an EASE solve is global, seconds
// of both cores on a few thousand products, and redoing it every second
// under a steady write load starved the readers. Supports, popularity and
// counted lists stay fresh meanwhile; a product new since the last solve has
// no dense list until the next one, so "related" falls back to its category.
func (s *Store) refresh(mode refreshMode) {
	s.refreshMu.Lock()
	defer s.refreshMu.Unlock()
	dirty, all, seq := s.idx.takeDirty()
	prev := s.model.Load()
	// A full build (after a bulk load, or of the first model) solves
	// whatever the mode: there are no dense lists to keep.
	due := mode == refreshSolve || all || prev == nil ||
		mode == refreshPaced && time.Since(s.denseAt) >= max(s.opts.DenseInterval, 4*s.denseDur)
	if !all && dirty == nil && prev != nil && !(s.denseStale && due) {
		if prev.Seq != seq {
			// Nothing stale (repeat events of known pairs): the lists are
			// current up to seq.
			cp := *prev
			cp.Seq = seq
			s.model.Store(&cp)
		}
		return
	}
	if all {
		dirty = nil
	} else if dirty == nil {
		dirty = roaring.New() // only the dense solve is due
	}
	o := s.opts.Neighbours
	workers := buildWorkers(mode == refreshSolve)
	if due {
		s.maybeTune(workers)
	}
	if t := s.tuner.tuned; t != nil {
		o = t.apply(o)
	}
	m := buildModel(s.idx, prev, dirty, s.prod.len(), o, !due, workers)
	// The model carries the configured options (a snapshot is reused when
	// they match) and the tuned ones in Tuned.
	m.Options = s.opts.Neighbours
	m.Tuned = s.tuner.tuned
	m.Seq = seq
	if due {
		s.denseAt, s.denseDur, s.denseStale = time.Now(), m.BuildDuration, false
	} else {
		s.denseStale = true
	}
	s.model.Store(m)
}

// Stats describes the store for /metrics and the import summary.
type Stats struct {
	Events        int
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
	st := Stats{Events: ev, Customers: s.cust.len(), Products: s.prod.len(), LastSeq: s.seq.Load(),
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

func (s *Store) backgroundLoop() {
	defer s.wg.Done()
	refresh := time.NewTicker(s.opts.RefreshInterval)
	defer refresh.Stop()
	var snapC, gcC <-chan time.Time
	if s.opts.SnapshotInterval > 0 && !s.opts.InMemory {
		t := time.NewTicker(s.opts.SnapshotInterval)
		defer t.Stop()
		snapC = t.C
	}
	if s.opts.GCInterval > 0 && !s.opts.InMemory {
		t := time.NewTicker(s.opts.GCInterval)
		defer t.Stop()
		gcC = t.C
	}
	for {
		select {
		case <-s.stop:
			return
		case <-refresh.C:
			// Pace refreshes so they use at most about a third of the CPU
			// under a heavy write load: wait twice as long as the last
			// build took.
			if m := s.model.Load(); m != nil && time.Since(m.Built) < 2*m.BuildDuration {
				continue
			}
			s.refresh(refreshPaced)
		case <-s.kick:
			s.Refresh()
		case <-snapC:
			if s.seq.Load() != s.snapSeq.Load() || s.snapStale.Load() {
				if err := s.Snapshot(); err != nil {
					s.log.Error("snapshot failed", "err", err)
				}
			}
		case <-gcC:
			s.RunGC()
		}
	}
}

// RunGC reclaims value-log space left by rewritten snapshots and deletions.
func (s *Store) RunGC() {
	for i := 0; i < 10; i++ {
		if err := s.db.RunValueLogGC(0.5); err != nil {
			return // ErrNoRewrite: nothing (more) to reclaim
		}
	}
}

// Close stops background work, snapshots the derived state and closes Badger.
// Writes in flight finish first.
func (s *Store) Close() error {
	s.closeMu.Lock()
	if s.closed {
		s.closeMu.Unlock()
		return nil
	}
	s.closed = true
	s.closeMu.Unlock()
	close(s.stop)
	s.wg.Wait()
	var err error
	if !s.opts.InMemory && (s.seq.Load() != s.snapSeq.Load() || s.snapStale.Load()) {
		if e := s.snapshotLocked(); e != nil {
			err = e
			s.log.Error("snapshot on close failed", "err", e)
		}
	}
	if e := s.db.Close(); e != nil && err == nil {
		err = fmt.Errorf("cannot close store: %w", e)
	}
	return err
}

// classifyErr maps low-level write failures to ErrReadOnly so callers can
// answer "not ready" rather than crash.
func classifyErr(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EROFS) || errors.Is(err, syscall.EACCES) ||
		errors.Is(err, syscall.EPERM) || errors.Is(err, badger.ErrBlockedWrites) {
		return fmt.Errorf("%w: %w", ErrReadOnly, err)
	}
	// Some of Badger's errors carry the system error only in their text.
	msg := err.Error()
	for _, t := range []string{syscall.EROFS.Error(), syscall.ENOSPC.Error(), syscall.EACCES.Error()} {
		if strings.Contains(msg, t) {
			return fmt.Errorf("%w: %w", ErrReadOnly, err)
		}
	}
	return err
}

type badgerLogger struct{ l *slog.Logger }

func (b badgerLogger) Errorf(f string, a ...any)   { b.l.Error("badger: " + fmt.Sprintf(f, a...)) }
func (b badgerLogger) Warningf(f string, a ...any) { b.l.Warn("badger: " + fmt.Sprintf(f, a...)) }
func (b badgerLogger) Infof(string, ...any)        {}
func (b badgerLogger) Debugf(string, ...any)       {}
