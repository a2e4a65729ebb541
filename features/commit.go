package features

import (
	"fmt"

	"github.com/dgraph-io/badger/v4"
)

// commitEvents writes one group of requests as one batch (one fsync for all:
// group commit), then applies them. Runs only in the writer goroutine.
func (s *Store) commitEvents(group []*writeReq) ([]int, error) {
	dups := make([]int, len(group))
	custMark, prodMark := s.cust.len(), s.prod.len()
	n := 0
	var streamSeq uint64
	for _, r := range group {
		n += len(r.events)
		streamSeq = max(streamSeq, r.streamSeq)
	}
	b := newEventBatch(s, n, streamSeq > 0)
	defer b.wb.Cancel()
	bulk, syncNeeded := false, false
	for gi, r := range group {
		syncNeeded = syncNeeded || r.sync
		bulk = bulk || r.bulk
		for i := range r.events {
			dup, err := b.duplicate(&r.events[i])
			if err != nil {
				return dups, err
			}
			if dup {
				dups[gi]++
				continue
			}
			b.add(&r.events[i], !r.bulk)
		}
	}
	b.writeBlock()
	if streamSeq > 0 {
		b.set(keyStr(keyStreamSeq, ""), b.ar.u64(streamSeq))
	}
	werr := b.err
	if werr == nil {
		werr = b.wb.Flush()
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
		s.seq.Store(b.seq)
		werr = fmt.Errorf("cannot commit events: %w", classifyErr(werr))
		s.setErr(werr)
		return dups, werr
	}
	s.setErr(nil)
	s.seq.Store(b.seq)
	s.applyBatch(b, bulk)
	return dups, nil
}

// eventBatch is one group commit being built: the Badger batch, the arena
// its keys and values are cut from, the log block being filled, and what
// is applied once the batch is committed. Writer goroutine only.
type eventBatch struct {
	s   *Store
	wb  batchWriter
	ar  arena
	blk blockEncoder
	seq uint64 // last sequence assigned
	err error  // the first error of wb.Set or wb.Delete

	inBatch  map[[16]byte]struct{} // event ids new in this batch
	newKeys  [][16]byte
	applied  []AppliedEvent
	logs     []logEvent
	track    []bool
	unlisted []func() // erased customers back by this write (erased.go)
}

// newEventBatch starts a batch of about n events. An atomic one (a stream
// apply) is one Badger transaction, which Badger writes all or nothing or
// refuses as too big; a local one is a WriteBatch, which Badger may commit
// in parts.
func newEventBatch(s *Store, n int, atomic bool) *eventBatch {
	var wb batchWriter = s.db.NewWriteBatch()
	if atomic {
		wb = txnWriter{s.db.NewTransaction(true)}
	}
	return &eventBatch{
		s:   s,
		wb:  wb,
		seq: s.seq.Load(),
		// Badger keeps the key and value slices until the batch is
		// flushed, so each needs its own bytes: they are cut from a few
		// large blocks rather than allocated one by one (four allocations
		// an event before).
		ar:      arena{next: 160 * n}, // about what an event with new ids takes
		inBatch: make(map[[16]byte]struct{}, n),
		applied: make([]AppliedEvent, 0, n),
		logs:    make([]logEvent, 0, n),
		track:   make([]bool, 0, n),
	}
}

func (b *eventBatch) set(k, v []byte) {
	if b.err == nil {
		b.err = b.wb.Set(k, v)
	}
}

func (b *eventBatch) del(k []byte) {
	if b.err == nil {
		b.err = b.wb.Delete(k)
	}
}

// writeBlock puts the filled log block into the batch.
func (b *eventBatch) writeBlock() {
	if b.blk.n > 0 {
		key := b.ar.strU64(prefixLog, b.blk.last)
		b.set(key, b.ar.giveBack(b.blk.appendTo(b.ar.take(b.blk.size()), b.blk.last)))
	}
}

// duplicate reports whether pe's event id is already stored or earlier in
// this batch; a new id is taken for pe.
func (b *eventBatch) duplicate(pe *pendingEvent) (bool, error) {
	if !pe.hasDedup {
		return false, nil
	}
	if _, ok := b.inBatch[pe.dedup]; ok {
		return true, nil
	}
	if b.s.dedup.test(pe.dedup) {
		exists, err := b.s.hasKey(append([]byte(prefixDedup), pe.dedup[:]...))
		if err != nil {
			return false, fmt.Errorf("cannot check event id: %w", classifyErr(err))
		}
		if exists {
			return true, nil
		}
	}
	b.inBatch[pe.dedup] = struct{}{}
	b.newKeys = append(b.newKeys, pe.dedup)
	return false, nil
}

// add assigns pe's internal ids (writing new ones to the dictionaries),
// gives it the next sequence and encodes it into the log block.
func (b *eventBatch) add(pe *pendingEvent, track bool) {
	s, ar := b.s, &b.ar
	cid, newC := s.cust.assign(pe.ev.CustomerID)
	if newC {
		b.set(ar.str(prefixCustDict, pe.ev.CustomerID), ar.u32(cid))
		b.set(ar.strU32(prefixCustRev, cid), ar.str("", pe.ev.CustomerID))
		if f := s.unmarkErased(pe.ev.CustomerID, b.del); f != nil {
			b.unlisted = append(b.unlisted, f)
		}
	}
	pid, newP := s.prod.assign(pe.ev.ProductID)
	if newP {
		b.set(ar.str(prefixProdDict, pe.ev.ProductID), ar.u32(pid))
		b.set(ar.strU32(prefixProdRev, pid), ar.str("", pe.ev.ProductID))
	}
	b.seq++
	le := logEvent{Cust: cid, Prod: pid, Type: pe.typ, TS: pe.ev.Timestamp.Unix(),
		Value: pe.ev.Value, Qty: pe.ev.Quantity, Order: pe.ev.OrderID, RecID: pe.ev.RecommendationID}
	if !b.blk.room(&le) {
		b.writeBlock()
	}
	b.blk.add(b.seq, &le)
	if pe.hasDedup {
		b.set(ar.str(prefixDedup, string(pe.dedup[:])), ar.u64(b.seq))
	}
	b.logs = append(b.logs, le)
	b.track = append(b.track, track)
	b.applied = append(b.applied, AppliedEvent{Seq: b.seq, Customer: cid, Product: pid, Class: pe.class, Event: pe.ev})
}

// applyBatch applies a committed batch to the in-memory state and tells
// the hooks.
func (s *Store) applyBatch(b *eventBatch, bulk bool) {
	for _, f := range b.unlisted {
		f()
	}
	// The ids go into the filter before the events are applied, so a
	// snapshot that includes an event also includes its id (see
	// snapshotDedup).
	s.dedup.addAll(b.newKeys)
	tt := s.types.Load()
	// Apply in slices so readers waiting on the lock are not held up by a
	// large batch.
	logs := b.logs
	for i := 0; i < len(logs); i += 512 {
		s.idx.mu.Lock()
		for j := i; j < min(i+512, len(logs)); j++ {
			s.applyOne(tt, &logs[j], b.track[j])
			s.idx.appliedSeq = b.applied[j].Seq
		}
		if bulk && i+512 >= len(logs) {
			// Untracked events: every list is stale.
			s.idx.all = true
		}
		s.idx.publishClockLocked()
		s.idx.mu.Unlock()
	}
	if len(b.applied) > 0 {
		s.runHooks(func(h Hooks) {
			if h.OnEvents != nil {
				h.OnEvents(b.applied)
			}
		})
	}
}

// batchWriter is what an eventBatch writes through: a *badger.WriteBatch
// or a txnWriter.
type batchWriter interface {
	Set(k, v []byte) error
	Delete(k []byte) error
	Flush() error
	Cancel()
}

// txnWriter is a Badger transaction as a batchWriter: its commit is atomic
// (a crash leaves all of it or none), and a batch too big for one
// transaction fails with badger.ErrTxnTooBig instead of being split.
type txnWriter struct{ txn *badger.Txn }

func (t txnWriter) Set(k, v []byte) error { return t.txn.Set(k, v) }
func (t txnWriter) Delete(k []byte) error { return t.txn.Delete(k) }
func (t txnWriter) Flush() error          { return t.txn.Commit() }
func (t txnWriter) Cancel()               { t.txn.Discard() }
