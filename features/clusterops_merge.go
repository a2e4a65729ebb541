package features

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/dgraph-io/badger/v4"
)

// Merging customers in cluster mode (docs/cluster.md, docs/identity.md).
//
// The receiving node validates the ids, answers a from it does not know as
// a single node would (a repeat, a conflict, 404), and otherwise publishes
// an OpCustomerMerge on from's subject and answers with what its own apply
// did. Every node applies it with mergeLocked, the single-node merge, at
// its point of the stream; a refusal there (from erased or merged
// meanwhile) is the op's result, the same on every node.
//
// After a merge, the messages on from's subject (its events, the merge op)
// are the target's: erasing the target must purge them from the stream
// too. The merge marker names from only by a keyed hash, so each node
// also keeps, in cluster mode only, the ids merged into a customer
// (prefixMergedFrom: the target's internal id -> the merged ids; a merge
// of a customer that had ids merged into it hands them on). Erasure
// deletes that record with the customer (erase.go). The erasure op names
// the ids the receiving node knew of, so a node that never applied the
// merge (it was down, and the merge op was purged with from's subject)
// erases from's history there too; the apply also erases every such id
// that is known on this node (an id that came back with new events after
// the merge: those events are on the purged subject, so every node drops
// them alike).

// mergeViaLog is MergeCustomers in cluster mode.
func (s *Store) mergeViaLog(from, to string) (MergeResult, error) {
	if _, ok := s.cust.lookup(from); !ok {
		// Nothing to publish: a repeat, a merge into someone else, or an
		// unknown id, as this node has applied the stream so far (a client
		// that merges right after another node took from's events sends
		// that write's sequence, X-Affinity-Min-Seq).
		return s.mergeRepeat(from, to)
	}
	r, err := s.submitOp(OpCustomerMerge, from, [][]byte{[]byte(from), []byte(to)}, nil)
	return r.merge, err
}

// applyMergeOp applies an OpCustomerMerge: the single-node merge, whose
// refusals (from unknown or merged elsewhere by now, a history too large)
// are the op's result; only a storage failure stops the apply.
func (s *Store) applyMergeOp(from, to string) (opResult, []Change, error) {
	if err := validateMerge(from, to); err != nil {
		return opResult{err: err}, nil, nil
	}
	res, err := s.mergeLocked(from, to)
	var fe *FieldError
	if err != nil && (errors.Is(err, ErrNotFound) || errors.Is(err, ErrMergedElsewhere) || errors.As(err, &fe)) {
		s.ops.written = false // its transaction was discarded: ApplyOp records the sequence
		return opResult{err: err}, nil, nil
	}
	return opResult{merge: res}, nil, err
}

// writeMergedFrom records in txn that pl.from, and every id merged into
// it before, are now merged into pl.to.
func writeMergedFrom(txn *badger.Txn, pl *mergePlan) error {
	into, err := readMergedFrom(txn, pl.toID)
	if err != nil {
		return err
	}
	had, err := readMergedFrom(txn, pl.fromID)
	if err != nil {
		return err
	}
	for _, id := range append(had, pl.from) {
		if !slices.Contains(into, id) {
			into = append(into, id)
		}
	}
	if len(had) > 0 {
		if err := txn.Delete(keyU32(prefixMergedFrom, pl.fromID)); err != nil {
			return err
		}
	}
	var b []byte
	for _, id := range into {
		b = appendString(b, id)
	}
	return txn.Set(keyU32(prefixMergedFrom, pl.toID), b)
}

// readMergedFrom reads the ids merged into customer id (none when none).
func readMergedFrom(txn *badger.Txn, id uint32) ([]string, error) {
	it, err := txn.Get(keyU32(prefixMergedFrom, id))
	if errors.Is(err, badger.ErrKeyNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var ids []string
	err = it.Value(func(v []byte) error {
		d := decoder{b: v}
		for len(d.b) > 0 && d.err == nil {
			ids = append(ids, d.str())
		}
		return d.err
	})
	if err != nil {
		return nil, fmt.Errorf("the ids merged into customer %d: %w", id, err)
	}
	return ids, nil
}

// mergedInto returns the ids merged into customer ext here (none for an
// unknown customer).
func (s *Store) mergedInto(ext string) ([]string, error) {
	id, ok := s.cust.lookup(ext)
	if !ok {
		return nil, nil
	}
	var ids []string
	err := s.db.View(func(txn *badger.Txn) error {
		var err error
		ids, err = readMergedFrom(txn, id)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("cannot read the ids merged into %q: %w", ext, classifyErr(err))
	}
	return ids, nil
}

// mergedAway says ext was merged into another customer and has not come
// back: its history is that customer's, and erasing ext is 404 as on a
// single node (erasing it would purge the other customer's messages).
func (s *Store) mergedAway(ext string) bool {
	if _, ok := s.cust.lookup(ext); ok || !s.Erased(ext) {
		return false
	}
	e := &s.erased
	e.mu.RLock()
	key := e.key
	e.mu.RUnlock()
	h := erasedHash(key, ext)
	err := s.db.View(func(txn *badger.Txn) error {
		_, err := txn.Get(keyStr(prefixMerged, string(h[:])))
		return err
	})
	return err == nil
}

// applyEraseOp applies an OpCustomerErase: every id merged into the
// customer that is known here (named by the op, or in this node's record)
// is erased first, without recording the op's sequence (a crash in
// between applies the op again, and what is erased stays so), then the
// customer, whose commit records it. The result names every merged id, so
// the receiving node purges their subjects too.
func (s *Store) applyEraseOp(f [][]byte) (opResult, []Change, error) {
	ext := string(f[0])
	merged, err := s.mergedInto(ext)
	if err != nil {
		return opResult{}, nil, err
	}
	for _, m := range f[1:] {
		if id := string(m); id != ext && !slices.Contains(merged, id) {
			merged = append(merged, id)
		}
	}
	var res opResult
	res.merged = merged
	applying := s.ops.applying
	for _, m := range merged {
		id, ok := s.cust.lookup(m)
		if !ok {
			continue
		}
		s.ops.applying = 0 // no stamp: the customer's own erasure records the op
		err := s.eraseLocked(id, m)
		s.ops.applying = applying
		if err != nil {
			return opResult{}, nil, err
		}
		res.erasedAny = true
	}
	id, ok := s.cust.lookup(ext)
	if !ok {
		// Nothing of theirs here (a node that was down never received
		// their purged messages): nothing to erase.
		res.err = errUnknown("customer", ext)
		return res, nil, nil
	}
	res.erasedAny = true
	return res, nil, s.eraseLocked(id, ext)
}

// purgeMerged purges from the stream, below seq, the subjects of the ids
// in merged not in done (the merges the apply knew of that this node did
// not when it published the erasure).
func (s *Store) purgeMerged(ext string, merged []string, done []string, seq uint64) error {
	ctx, cancel := context.WithTimeout(context.Background(), opAppendTimeout)
	defer cancel()
	for _, m := range merged {
		if slices.Contains(done, m) {
			continue
		}
		if err := s.ops.log.PurgeCustomer(ctx, m, seq); err != nil {
			return fmt.Errorf("customer %q: the erasure is at stream sequence %d and every node applies it, but purging the messages of an id merged into them from the stream failed: %w", ext, seq, err)
		}
	}
	return nil
}
