package features

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"

	"github.com/dgraph-io/badger/v4"
)

// Merging identities: POST /v1/customers/{id}/merge moves an anonymous
// visitor's history onto the customer who logged in (docs/identity.md).
//
// MergeCustomers(from, to) is one write in the writer goroutine and one
// Badger transaction, so a crash leaves all of it or none:
//   - every log event of from is rewritten in place as to's (same sequence,
//     same block), so the log holds nothing under from's internal id and a
//     later erasure of to finds them all; their event ids stay in the
//     idempotency index (a retried anonymous batch is still a duplicate);
//   - from's id mapping and record are deleted, from goes on the erased
//     list (reads of it do not re-create it) with one erasure-journal
//     record per service (offers and experiments drop its state, as for an
//     erasure), and a merge marker (a keyed hash of from -> one of to) makes
//     a repeat a no-op;
//   - to is created when unknown; its attributes win, from's fill in keys
//     to lacks;
//   - a merge record (recMerge: from's and to's internal ids) is appended
//     to the log. Applying it, live or in a replay, moves from's in-memory
//     history onto to's and sorts the result into one canonical order
//     (time, then the other fields): a live merge, a replay from an older
//     snapshot (from's history still under from) and a full replay (from's
//     events already to's, in log order) all end with the same history.
//
// The memory keeps no log position per event, so a merge reads the log, as
// erasure does, but newest first, and stops once it found as many of
// from's events as from's history holds: an anonymous visitor's events are
// recent, so it reads a few blocks, not the whole log (1M events: 0.27 ms
// a merge, against 580 ms reading it whole; docs/identity.md). A stored
// event type that is no longer configured has events in the log that the
// memory skipped; then the count cannot tell when all are found, and the
// whole log is read.

// MaxMergeEvents bounds the history a merge moves: a merge is one Badger
// transaction, whose size Badger caps (an anonymous visitor's history is
// short; a larger one is a data problem to look at, not to merge blindly).
const MaxMergeEvents = 100_000

// ErrMergedElsewhere says that from was already merged into another
// customer than the one asked: its history is gone from under its id.
var ErrMergedElsewhere = errors.New("already merged into another customer")

// MergeResult says what MergeCustomers did.
type MergeResult struct {
	// Moved is how many events moved onto the target (0 on a repeat).
	Moved int
	// Created says the target did not exist and was created.
	Created bool
	// Repeated says from had already been merged into the target, and
	// nothing was done.
	Repeated bool
}

// MergeCustomers moves customer from's history and attributes onto
// customer to and removes from (see above). A from that is not known is an
// error wrapping ErrNotFound, unless it was already merged into to (a
// repeat: Repeated, nothing done) or into another customer
// (ErrMergedElsewhere). Errors about the ids are *FieldError on "from" or
// "customer_id".
//
// In cluster mode the merge goes through the stream (mergeViaLog) and every
// node applies it with mergeLocked at its point of the stream.
func (s *Store) MergeCustomers(from, to string) (MergeResult, error) {
	if err := validateMerge(from, to); err != nil {
		return MergeResult{}, err
	}
	if s.ops != nil {
		return s.mergeViaLog(from, to)
	}
	var res MergeResult
	err := s.do(func() error {
		var err error
		res, err = s.mergeLocked(from, to)
		return err
	})
	return res, err
}

// validateMerge checks the ids of a merge of from into to.
func validateMerge(from, to string) error {
	if err := ValidateID("customer_id", to); err != nil {
		return err
	}
	if err := ValidateID("from", from); err != nil {
		return err
	}
	if from == to {
		return &FieldError{Field: "from", Msg: "names the customer merged into; it must be another id (the anonymous one)"}
	}
	return nil
}

// mergePlan is what one merge writes and then applies. Writer goroutine.
type mergePlan struct {
	from, to       string
	fromID, toID   uint32
	created        bool
	attrs          map[string]any // to's attributes after the merge
	attrsChanged   bool
	after          []func() // erased-list updates, once committed
	moved          int
	seq            uint64
	custMarkBefore int // the dictionary's length before, to undo a failed create
}

// mergeLocked runs a merge in the writer goroutine.
func (s *Store) mergeLocked(from, to string) (MergeResult, error) {
	fromID, ok := s.cust.lookup(from)
	if !ok {
		return s.mergeRepeat(from, to)
	}
	if n := len(s.idx.historyView(fromID)); n > MaxMergeEvents {
		return MergeResult{}, &FieldError{Field: "from", Msg: fmt.Sprintf("has %d events; a merge moves at most %d", n, MaxMergeEvents)}
	}
	pl := &mergePlan{from: from, to: to, fromID: fromID, custMarkBefore: s.cust.len()}
	pl.toID, pl.created = s.cust.assign(to)
	txn := s.db.NewTransaction(true)
	defer txn.Discard()
	err := s.writeMerge(txn, pl)
	if err == nil {
		err = txn.Commit()
	}
	if err == nil && s.opts.SyncWrites && !s.opts.InMemory {
		err = s.db.Sync()
	}
	if err != nil {
		s.cust.truncate(pl.custMarkBefore)
		if errors.Is(err, badger.ErrTxnTooBig) {
			return MergeResult{}, &FieldError{Field: "from", Msg: "has a history too large to merge in one transaction"}
		}
		var fe *FieldError
		if errors.As(err, &fe) {
			return MergeResult{}, err
		}
		err = fmt.Errorf("cannot merge customers: %w", classifyErr(err))
		s.setErr(err)
		return MergeResult{}, err
	}
	s.setErr(nil)
	s.applyMerge(pl)
	return MergeResult{Moved: pl.moved, Created: pl.created}, nil
}

// mergeRepeat answers a merge whose from is not known: a repeat of a
// merge into to, one into someone else, or an unknown id.
func (s *Store) mergeRepeat(from, to string) (MergeResult, error) {
	e := &s.erased
	e.mu.RLock()
	key := e.key
	e.mu.RUnlock()
	if key != nil && s.Erased(from) {
		hf, ht := erasedHash(key, from), erasedHash(key, to)
		var into []byte
		err := s.db.View(func(txn *badger.Txn) error {
			it, err := txn.Get(keyStr(prefixMerged, string(hf[:])))
			if err != nil {
				return err
			}
			into, err = it.ValueCopy(nil)
			return err
		})
		switch {
		case err == nil && bytes.Equal(into, ht[:]):
			return MergeResult{Repeated: true}, nil
		case err == nil:
			return MergeResult{}, fmt.Errorf("customer %q: %w", from, ErrMergedElsewhere)
		case !errors.Is(err, badger.ErrKeyNotFound):
			return MergeResult{}, fmt.Errorf("cannot read the merge marker: %w", classifyErr(err))
		}
	}
	return MergeResult{}, errUnknown("customer", from)
}

// writeMerge puts the whole merge into txn (see the file comment).
func (s *Store) writeMerge(txn *badger.Txn, pl *mergePlan) error {
	want := -1 // read the whole log
	if s.types.Load().allStoredKnown() {
		want = len(s.idx.historyView(pl.fromID))
	}
	edits, moved, err := mergeLogEdits(txn, pl.fromID, pl.toID, want)
	if err != nil {
		return fmt.Errorf("cannot scan the log for the merge: %w", err)
	}
	pl.moved = moved
	for _, e := range edits {
		if err := txn.Set(e.key, e.value); err != nil {
			return err
		}
	}
	if pl.created {
		if err := txn.Set(keyStr(prefixCustDict, pl.to), binary.BigEndian.AppendUint32(nil, pl.toID)); err != nil {
			return err
		}
		if err := txn.Set(keyU32(prefixCustRev, pl.toID), []byte(pl.to)); err != nil {
			return err
		}
		var derr error
		if f := s.unmarkErased(pl.to, func(k []byte) { derr = txn.Delete(k) }); f != nil {
			pl.after = append(pl.after, f)
		}
		if derr != nil {
			return derr
		}
	}
	if err := s.writeMergedAttrs(txn, pl); err != nil {
		return err
	}
	for _, k := range [][]byte{keyU32(prefixCustomer, pl.fromID), keyStr(prefixCustDict, pl.from), keyU32(prefixCustRev, pl.fromID)} {
		if err := txn.Delete(k); err != nil {
			return err
		}
	}
	for _, j := range s.erasureJournals() {
		if err := txn.Set(keyRecord(kindErasure+j, journalKey(pl.fromID)), []byte(pl.from)); err != nil {
			return err
		}
	}
	if err := s.writeMergeMarks(txn, pl); err != nil {
		return err
	}
	if s.ops != nil {
		if err := writeMergedFrom(txn, pl); err != nil {
			return err
		}
	}
	s.stampStreamSeq(txn.Set) // an applied op's commit records its stream sequence
	pl.seq = s.seq.Load() + 1
	return txn.Set(keyU64(prefixLog, pl.seq), encodeMerge(pl.fromID, pl.toID))
}

// writeMergedAttrs stores to's attributes after the merge when they change:
// to's win, from's fill in the keys to lacks (in key order, up to
// MaxAttributes).
func (s *Store) writeMergedAttrs(txn *badger.Txn, pl *mergePlan) error {
	fromAttrs, toAttrs := s.CustomerAttributes(pl.fromID), s.CustomerAttributes(pl.toID)
	pl.attrs = toAttrs
	if len(fromAttrs) == 0 {
		return nil
	}
	merged := maps.Clone(toAttrs)
	if merged == nil {
		merged = make(map[string]any, len(fromAttrs))
	}
	for _, k := range slices.Sorted(maps.Keys(fromAttrs)) {
		if _, ok := merged[k]; !ok && len(merged) < MaxAttributes {
			merged[k] = fromAttrs[k]
			pl.attrsChanged = true
		}
	}
	if !pl.attrsChanged {
		return nil
	}
	body, err := json.Marshal(Customer{Attributes: merged})
	if err != nil {
		return fmt.Errorf("cannot encode the merged attributes: %w", err)
	}
	pl.attrs = merged
	return txn.Set(keyU32(prefixCustomer, pl.toID), body)
}

// writeMergeMarks puts from on the erased list and writes the merge marker
// (keyed hash of from -> keyed hash of to) that tells a repeat.
func (s *Store) writeMergeMarks(txn *badger.Txn, pl *mergePlan) error {
	key, err := s.erasureKey(txn)
	if err != nil {
		return err
	}
	listed, err := s.markErasedKey(txn, key, pl.from)
	if err != nil {
		return err
	}
	pl.after = append(pl.after, listed)
	hf, ht := erasedHash(key, pl.from), erasedHash(key, pl.to)
	return txn.Set(keyStr(prefixMerged, string(hf[:])), ht[:])
}

// mergeLogEdits returns the log records holding from's events rewritten
// with to in their place (same keys, same sequences), and how many events
// that is. It reads the log newest first and stops once it found want
// events (want < 0: it reads it all).
func mergeLogEdits(txn *badger.Txn, from, to uint32, want int) ([]logEdit, int, error) {
	var edits []logEdit
	moved := 0
	if want == 0 {
		return nil, 0, nil
	}
	it := txn.NewIterator(badger.IteratorOptions{Prefix: []byte(prefixLog), Reverse: true, PrefetchValues: true, PrefetchSize: 64})
	defer it.Close()
	var le logEvent
	var blk blockEncoder
	for it.Seek(keyU64(prefixLog, math.MaxUint64)); it.Valid() && (want < 0 || moved < want); it.Next() {
		item := it.Item()
		key := binary.BigEndian.Uint64(item.Key()[len(prefixLog):])
		err := item.Value(func(v []byte) error {
			if len(v) == 0 || v[0] != recEvent && v[0] != recEventBlock {
				return nil // erase and merge records
			}
			n := 0
			err := eachLogEvent(v, key, &le, func(_ uint64, e *logEvent) error {
				if e.Cust == from {
					n++
				}
				return nil
			})
			if err != nil || n == 0 {
				return err
			}
			moved += n
			if v[0] == recEvent {
				le.Cust = to
				edits = append(edits, logEdit{item.KeyCopy(nil), le.encode(nil)})
				return nil
			}
			err = decodeEventBlock(v, key, func(seq uint64, e *logEvent) error {
				if e.Cust == from {
					e.Cust = to
				}
				blk.add(seq, e)
				return nil
			})
			if err == nil {
				edits = append(edits, logEdit{item.KeyCopy(nil), blk.appendTo(nil, key)})
			}
			return err
		})
		if err != nil {
			return nil, 0, fmt.Errorf("log record %d: %w", key, err)
		}
	}
	return edits, moved, nil
}

// applyMerge applies a committed merge to the in-memory state and tells
// the hooks: from is erased for them (offers and experiments drop its
// state, customer value its record), then OnMerge tells them to has its
// history. Writer goroutine only.
func (s *Store) applyMerge(pl *mergePlan) {
	for _, f := range pl.after {
		f()
	}
	cs := s.customerAttrs()
	cs.mu.Lock()
	delete(cs.attrs, pl.fromID)
	if pl.attrsChanged {
		cs.attrs[pl.toID] = pl.attrs
	}
	cs.mu.Unlock()
	s.idx.mu.Lock()
	s.idx.mergeLocked(pl.fromID, pl.toID, true)
	s.idx.appliedSeq = pl.seq
	s.idx.mu.Unlock()
	s.seq.Store(pl.seq)
	s.cust.forget(pl.fromID)
	s.runHooks(func(h Hooks) {
		if h.OnErase != nil {
			h.OnErase(pl.fromID, pl.from)
		}
		if h.OnMerge != nil {
			h.OnMerge(pl.fromID, pl.toID)
		}
		if pl.attrsChanged && h.OnCustomer != nil {
			h.OnCustomer(pl.toID)
		}
	})
}

// mergeLocked moves from's history onto to's, bitmaps included, and sorts
// to's history into its canonical order (see the file comment); the caller
// holds mu for writing. track marks the lists made stale. to's history is
// a new slice: views handed out before keep reading the old one.
func (x *index) mergeLocked(from, to uint32, track bool) {
	x.ensureCustomer(max(from, to))
	h := x.hist[from]
	track = track && !x.all
	for _, in := range h {
		x.ensureProduct(in.Product)
		if bm := x.prodCust[in.Class][in.Product]; bm != nil {
			bm.Remove(from)
		}
		if x.customers(in.Class, in.Product).CheckedAdd(to) && track {
			x.dirtyCust.Add(to)
		}
		if track {
			x.dirty.Add(in.Product)
		}
	}
	merged := make([]Interaction, 0, len(x.hist[to])+len(h))
	merged = append(append(merged, x.hist[to]...), h...)
	slices.SortStableFunc(merged, compareInteractions)
	x.hist[to] = merged
	x.hist[from] = nil
}

// compareInteractions is the canonical order of a merged history: time,
// then every other field, so that equal sets of interactions sort alike
// whatever order they came in.
func compareInteractions(a, b Interaction) int {
	switch {
	case a.TS != b.TS:
		return cmpU32(a.TS, b.TS)
	case a.Product != b.Product:
		return cmpU32(a.Product, b.Product)
	case a.Type != b.Type:
		return int(a.Type) - int(b.Type)
	case a.Class != b.Class:
		return int(a.Class) - int(b.Class)
	case a.Order != b.Order:
		return cmpU32(a.Order, b.Order)
	case a.Value < b.Value:
		return -1
	case a.Value > b.Value:
		return 1
	}
	return 0
}

func cmpU32(a, b uint32) int {
	if a < b {
		return -1
	}
	return 1
}

// allStoredKnown says every event type the store has a code for is
// configured, so that every logged event is in memory.
func (t *TypeTable) allStoredKnown() bool {
	for _, c := range t.byName {
		if !t.known[c] {
			return false
		}
	}
	return true
}

// encodeMerge is the log record of a merge of customer from into to.
func encodeMerge(from, to uint32) []byte {
	b := []byte{recMerge}
	b = appendUvarint(b, uint64(from))
	return appendUvarint(b, uint64(to))
}

func decodeMerge(b []byte) (from, to uint32, err error) {
	d := decoder{b: b}
	if d.byte1() != recMerge {
		return 0, 0, errCorrupt
	}
	from, to = d.u32(), d.u32()
	if d.err == nil && len(d.b) != 0 {
		d.err = errCorrupt
	}
	return from, to, d.err
}
