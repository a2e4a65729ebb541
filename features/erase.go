package features

import (
	"encoding/binary"
	"fmt"

	"github.com/dgraph-io/badger/v4"
)

// EraseCustomer removes customer ext everywhere: record, id mapping, every
// event in the log, the in-memory history and bitmaps, and tells the hooks
// (which erase segment, offer and experiment state). It returns once that
// is done, sharing the read of the log with the erasures that came at the
// same time (erase_batch.go); the snapshot rewrite and the model rebuild
// without them follow in the background, one for every erasure that came
// meanwhile (erase_followup.go).
func (s *Store) EraseCustomer(ext string) error {
	if s.ops != nil {
		return s.eraseViaLog(ext)
	}
	id, ok := s.cust.lookup(ext)
	if !ok {
		return errUnknown("customer", ext)
	}
	if err := s.eraseQueued(id, ext); err != nil {
		return err
	}
	s.followUpErasure()
	return nil
}

// afterErase rebuilds the model without the erased customer and rewrites
// the snapshot, before the erasure answers. Cluster mode only (an erasure
// op applied, clusterops.go): with stream ticks every node rebuilds at
// that point of the stream, so that all build the same model.
func (s *Store) afterErase() error {
	s.Refresh()
	if !s.opts.InMemory {
		return s.Snapshot()
	}
	return nil
}

// logEdit is a change erasure makes to a log record: a record holding only
// their events is deleted (value nil), a block holding them among others'
// is rewritten without them.
type logEdit struct{ key, value []byte }

// eraseLocked deletes customer id's records and events in one batch and
// forgets them in memory. Writer goroutine only.
func (s *Store) eraseLocked(id uint32, ext string) error {
	return s.eraseManyLocked([]eraseTarget{{id: id, ext: ext}})
}

// eraseTarget is one customer to erase: internal and external id.
type eraseTarget struct {
	id  uint32
	ext string
}

// eraseManyLocked is eraseLocked for several customers (distinct ids) at
// once: one read of the log and of the event-id index finds all their
// events, one batch deletes them. Writer goroutine only.
func (s *Store) eraseManyLocked(ts []eraseTarget) error {
	ids := make(map[uint32]struct{}, len(ts))
	for _, t := range ts {
		ids[t.id] = struct{}{}
	}
	var edits []logEdit
	err := s.db.View(func(txn *badger.Txn) error {
		// The sequences of their events, whose event ids leave the
		// idempotency index with them (eraseEventIDs).
		seqs, err := eraseLogEdits(txn, ids, &edits)
		if err != nil {
			return err
		}
		return eraseEventIDs(txn, seqs, func(k []byte) { edits = append(edits, logEdit{k, nil}) })
	})
	if err != nil {
		return fmt.Errorf("cannot scan the log for erasure: %w", err)
	}
	wb := s.db.NewWriteBatch()
	defer wb.Cancel()
	for _, e := range edits {
		if e.value == nil {
			_ = wb.Delete(e.key)
		} else {
			_ = wb.Set(e.key, e.value)
		}
	}
	// One key for the suppression list: erasureKey makes it at the first
	// erasure, and must not make one per customer of the batch.
	key, err := s.erasureKey(wb)
	if err != nil {
		return err
	}
	journals := s.erasureJournals()
	listed := make([]func(), len(ts))
	seq := s.seq.Load()
	for i, t := range ts {
		_ = wb.Delete(keyU32(prefixCustomer, t.id))
		_ = wb.Delete(keyStr(prefixCustDict, t.ext))
		_ = wb.Delete(keyU32(prefixCustRev, t.id))
		_ = wb.Delete(keyU32(prefixMergedFrom, t.id)) // the ids merged into them (clusterops_merge.go)
		for _, j := range journals {
			_ = wb.Set(keyRecord(kindErasure+j, journalKey(t.id)), []byte(t.ext))
		}
		if listed[i], err = s.markErasedKey(wb, key, t.ext); err != nil {
			return err
		}
		// The erase record makes a replay from an older snapshot drop them too.
		_ = wb.Set(keyU64(prefixLog, seq+1+uint64(i)), encodeErase(t.id))
	}
	if err := s.flush(wb); err != nil {
		return err
	}
	for _, f := range listed {
		f()
	}
	s.seq.Store(seq + uint64(len(ts)))
	for i, t := range ts {
		s.forgetCustomer(t.id, t.ext, seq+1+uint64(i))
	}
	return nil
}

// eraseLogEdits appends to edits the changes that take the events of the
// customers in ids out of the log, and returns the sequences of those events.
func eraseLogEdits(txn *badger.Txn, ids map[uint32]struct{}, edits *[]logEdit) (map[uint64]struct{}, error) {
	seqs := map[uint64]struct{}{}
	it := txn.NewIterator(badger.IteratorOptions{Prefix: []byte(prefixLog), PrefetchValues: true, PrefetchSize: 1000})
	defer it.Close()
	var le logEvent
	var blk blockEncoder
	for it.Rewind(); it.Valid(); it.Next() {
		item := it.Item()
		key := binary.BigEndian.Uint64(item.Key()[len(prefixLog):])
		var value []byte
		match := false
		err := item.Value(func(v []byte) error {
			if len(v) == 0 || v[0] != recEvent && v[0] != recEventBlock {
				return nil // erase records
			}
			err := eachLogEvent(v, key, &le, func(seq uint64, e *logEvent) error {
				if _, ok := ids[e.Cust]; ok {
					match = true
					seqs[seq] = struct{}{}
				}
				return nil
			})
			if err != nil || !match || v[0] != recEventBlock {
				return err
			}
			// Only a block with their events is re-encoded, without them.
			err = decodeEventBlock(v, key, func(seq uint64, e *logEvent) error {
				if _, ok := ids[e.Cust]; !ok {
					blk.add(seq, e)
				}
				return nil
			})
			if err == nil && blk.n > 0 {
				value = blk.appendTo(nil, key)
			}
			return err
		})
		if err != nil {
			return nil, err
		}
		if match {
			*edits = append(*edits, logEdit{item.KeyCopy(nil), value})
		}
	}
	return seqs, nil
}

// forgetCustomer drops an erased customer from the in-memory state (index,
// attributes, id dictionary) and tells the hooks. Writer goroutine only.
func (s *Store) forgetCustomer(id uint32, ext string, seq uint64) {
	s.idx.mu.Lock()
	s.idx.eraseLocked(id)
	s.idx.appliedSeq = seq
	// Their event times no longer confirm "now".
	s.idx.refreshClockLocked()
	s.idx.mu.Unlock()
	cs := s.customerAttrs()
	cs.mu.Lock()
	delete(cs.attrs, id)
	cs.mu.Unlock()
	s.cust.forget(id)
	s.runHooks(func(h Hooks) {
		if h.OnErase != nil {
			h.OnErase(id, ext)
		}
	})
}
