package features

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"sync"

	"github.com/dgraph-io/badger/v4"
)

// Products and customers: records with JSON bodies keyed by internal id.

// PutProduct creates or replaces product ext's record.
func (s *Store) PutProduct(ext string, p Product) error {
	return s.PutProducts(map[string]Product{ext: p})
}

// PutProducts creates or replaces several product records in one commit.
func (s *Store) PutProducts(ps map[string]Product) error {
	for ext, p := range ps {
		if err := ValidateID("product_id", ext); err != nil {
			return err
		}
		if err := ValidateProduct(&p); err != nil {
			return err
		}
	}
	return s.do(func() error {
		mark := s.prod.len()
		wb := s.db.NewWriteBatch()
		defer wb.Cancel()
		updates := make(map[uint32]*Product, len(ps))
		for ext, p := range ps {
			id, created := s.prod.assign(ext)
			if created {
				_ = wb.Set(keyStr(prefixProdDict, ext), binary.BigEndian.AppendUint32(nil, id))
				_ = wb.Set(keyU32(prefixProdRev, id), []byte(ext))
			}
			body, err := json.Marshal(p)
			if err != nil {
				return fmt.Errorf("cannot encode product %q: %w", ext, err)
			}
			if err := wb.Set(keyU32(prefixProduct, id), body); err != nil {
				s.prod.truncate(mark)
				return fmt.Errorf("cannot store product: %w", classifyErr(err))
			}
			cp := p
			updates[id] = &cp
		}
		if err := s.flush(wb); err != nil {
			s.prod.truncate(mark)
			return err
		}
		s.catalog.Store(s.catalog.Load().with(updates))
		return nil
	})
}

func (s *Store) flush(wb *badger.WriteBatch) error {
	err := wb.Flush()
	if err == nil && s.opts.SyncWrites && !s.opts.InMemory {
		err = s.db.Sync()
	}
	if err != nil {
		err = fmt.Errorf("cannot write: %w", classifyErr(err))
		s.setErr(err)
		return err
	}
	s.setErr(nil)
	return nil
}

// GetProduct returns product ext's record; ErrNotFound when the product has
// neither a record nor events.
func (s *Store) GetProduct(ext string) (Product, bool, error) {
	id, ok := s.prod.lookup(ext)
	if !ok {
		return Product{}, false, errUnknown("product", ext)
	}
	if p := s.Catalog().Product(id); p != nil {
		return *p, true, nil
	}
	return Product{Available: true}, false, nil
}

// DeleteProduct removes product ext's record. Its events stay: they are
// history, and the associations they made remain true.
func (s *Store) DeleteProduct(ext string) error {
	id, ok := s.prod.lookup(ext)
	if !ok || s.Catalog().Product(id) == nil {
		return errUnknown("product", ext)
	}
	return s.do(func() error {
		wb := s.db.NewWriteBatch()
		defer wb.Cancel()
		_ = wb.Delete(keyU32(prefixProduct, id))
		if err := s.flush(wb); err != nil {
			return err
		}
		s.catalog.Store(s.catalog.Load().with(map[uint32]*Product{id: nil}))
		return nil
	})
}

func (s *Store) loadProducts() error {
	updates := map[uint32]*Product{}
	err := s.db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: []byte(prefixProduct), PrefetchValues: true})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			id, ok := u32be(it.Item().Key()[len(prefixProduct):])
			if !ok {
				continue
			}
			var p Product
			if err := it.Item().Value(func(v []byte) error { return json.Unmarshal(v, &p) }); err != nil {
				return fmt.Errorf("product %d: %w", id, err)
			}
			updates[id] = &p
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("cannot load products: %w", err)
	}
	s.catalog.Store(s.catalog.Load().with(updates))
	return s.loadCustomers()
}

// customers keeps customer attributes in memory (segment rules read them for
// every customer). Safe for concurrent use.
type customers struct {
	mu    sync.RWMutex
	attrs map[uint32]map[string]any
}

func (s *Store) customerAttrs() *customers { return &s.custs }

func (s *Store) loadCustomers() error {
	cs := s.customerAttrs()
	return s.db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: []byte(prefixCustomer), PrefetchValues: true})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			id, ok := u32be(it.Item().Key()[len(prefixCustomer):])
			if !ok {
				continue
			}
			var c Customer
			if err := it.Item().Value(func(v []byte) error { return json.Unmarshal(v, &c) }); err != nil {
				return fmt.Errorf("cannot load customer %d: %w", id, err)
			}
			cs.attrs[id] = c.Attributes
		}
		return nil
	})
}

// PutCustomer creates or replaces customer ext's attributes.
func (s *Store) PutCustomer(ext string, c Customer) error {
	return s.PutCustomers(map[string]Customer{ext: c})
}

// PutCustomers creates or replaces several customers' attributes in one commit.
func (s *Store) PutCustomers(cs map[string]Customer) error {
	bodies := make(map[string][]byte, len(cs))
	for ext, c := range cs {
		if err := ValidateID("customer_id", ext); err != nil {
			return err
		}
		if err := ValidateAttributes(c.Attributes); err != nil {
			return err
		}
		body, err := json.Marshal(c)
		if err != nil {
			return &FieldError{Field: "attributes", Msg: "cannot be encoded: " + err.Error()}
		}
		bodies[ext] = body
	}
	return s.do(func() error {
		mark := s.cust.len()
		wb := s.db.NewWriteBatch()
		defer wb.Cancel()
		ids := make(map[string]uint32, len(cs))
		for ext, body := range bodies {
			id, created := s.cust.assign(ext)
			if created {
				_ = wb.Set(keyStr(prefixCustDict, ext), binary.BigEndian.AppendUint32(nil, id))
				_ = wb.Set(keyU32(prefixCustRev, id), []byte(ext))
			}
			_ = wb.Set(keyU32(prefixCustomer, id), body)
			ids[ext] = id
		}
		if err := s.flush(wb); err != nil {
			s.cust.truncate(mark)
			return err
		}
		attrs := s.customerAttrs()
		attrs.mu.Lock()
		for ext, id := range ids {
			attrs.attrs[id] = cs[ext].Attributes
		}
		attrs.mu.Unlock()
		s.runHooks(func(h Hooks) {
			if h.OnCustomer != nil {
				for _, id := range ids {
					h.OnCustomer(id)
				}
			}
		})
		return nil
	})
}

// CustomerAttributes returns customer c's attributes (nil when none). The
// map must not be changed.
func (s *Store) CustomerAttributes(c uint32) map[string]any {
	cs := s.customerAttrs()
	cs.mu.RLock()
	defer cs.mu.RUnlock()
	return cs.attrs[c]
}

// EraseCustomer removes customer ext everywhere: record, id mapping, every
// event in the log, the in-memory history and bitmaps; it then rewrites the
// snapshot so no copy of their history remains, and tells the hooks (which
// erase segment, offer and experiment state). Neighbour lists are recomputed
// without them on the next refresh.
func (s *Store) EraseCustomer(ext string) error {
	id, ok := s.cust.lookup(ext)
	if !ok {
		return errUnknown("customer", ext)
	}
	err := s.do(func() error {
		// Records holding their events are deleted; blocks holding them
		// among others' are rewritten without them (nil: delete).
		type rewrite struct{ key, value []byte }
		var edits []rewrite
		err := s.db.View(func(txn *badger.Txn) error {
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
					err := eachLogEvent(v, key, &le, func(_ uint64, e *logEvent) error {
						match = match || e.Cust == id
						return nil
					})
					if err != nil || !match || v[0] != recEventBlock {
						return err
					}
					// Only a block with their events is re-encoded, without them.
					err = decodeEventBlock(v, key, func(seq uint64, e *logEvent) error {
						if e.Cust != id {
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
					return err
				}
				if match {
					edits = append(edits, rewrite{item.KeyCopy(nil), value})
				}
			}
			return nil
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
		_ = wb.Delete(keyU32(prefixCustomer, id))
		_ = wb.Delete(keyStr(prefixCustDict, ext))
		_ = wb.Delete(keyU32(prefixCustRev, id))
		for _, j := range s.erasureJournals() {
			_ = wb.Set(keyRecord(kindErasure+j, ext), nil)
		}
		seq := s.seq.Load() + 1
		// The erase record makes a replay from an older snapshot drop them too.
		_ = wb.Set(keyU64(prefixLog, seq), encodeErase(id))
		if err := s.flush(wb); err != nil {
			return err
		}
		s.seq.Store(seq)
		s.idx.mu.Lock()
		s.idx.eraseLocked(id)
		s.idx.appliedSeq = seq
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
		return nil
	})
	if err != nil {
		return err
	}
	s.Refresh()
	if !s.opts.InMemory {
		return s.Snapshot()
	}
	return nil
}

// Records: small named values other packages keep (segments, offers,
// experiments), so that only this package touches Badger.

// PutRecord stores value under (kind, id).
func (s *Store) PutRecord(kind, id string, value []byte) error {
	return s.do(func() error {
		wb := s.db.NewWriteBatch()
		defer wb.Cancel()
		_ = wb.Set(keyRecord(kind, id), value)
		return s.flush(wb)
	})
}

// GetRecord returns the value under (kind, id), or ErrNotFound.
func (s *Store) GetRecord(kind, id string) ([]byte, error) {
	var out []byte
	err := s.db.View(func(txn *badger.Txn) error {
		it, err := txn.Get(keyRecord(kind, id))
		if err != nil {
			return err
		}
		out, err = it.ValueCopy(nil)
		return err
	})
	if errors.Is(err, badger.ErrKeyNotFound) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("cannot read %s %q: %w", kind, id, err)
	}
	return out, nil
}

// DeleteRecord removes (kind, id); ErrNotFound when absent.
func (s *Store) DeleteRecord(kind, id string) error {
	if _, err := s.GetRecord(kind, id); err != nil {
		return err
	}
	return s.do(func() error {
		wb := s.db.NewWriteBatch()
		defer wb.Cancel()
		_ = wb.Delete(keyRecord(kind, id))
		return s.flush(wb)
	})
}

// ListRecords calls fn for every record of kind, in id order. The value is
// valid only during the call.
func (s *Store) ListRecords(kind string, fn func(id string, value []byte) error) error {
	prefix := keyRecord(kind, "")
	return s.db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: prefix, PrefetchValues: true})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			id := string(it.Item().Key()[len(prefix):])
			if err := it.Item().Value(func(v []byte) error { return fn(id, v) }); err != nil {
				return err
			}
		}
		return nil
	})
}

// AppendLog durably appends entries to the named log (exposures, responses)
// and returns the sequence of the first. Entries are kept in order, and
// sequences only grow while the process runs, across deletions too.
func (s *Store) AppendLog(kind string, entries [][]byte) (uint64, error) {
	var first uint64
	err := s.do(func() error {
		last, ok := s.appendSeq[kind]
		if !ok {
			// Once per log and process: a reverse iterator per append was
			// a seek through every table for each exposure batch.
			var err error
			if last, err = s.lastAppendSeq(kind); err != nil {
				return err
			}
		}
		first = last + 1
		wb := s.db.NewWriteBatch()
		defer wb.Cancel()
		for i, e := range entries {
			if err := wb.Set(keyAppendLog(kind, first+uint64(i)), e); err != nil {
				delete(s.appendSeq, kind)
				return fmt.Errorf("cannot append to %s: %w", kind, classifyErr(err))
			}
		}
		if err := s.flush(wb); err != nil {
			delete(s.appendSeq, kind) // read it back from Badger next time
			return err
		}
		s.appendSeq[kind] = last + uint64(len(entries))
		return nil
	})
	return first, err
}

func (s *Store) lastAppendSeq(kind string) (uint64, error) {
	prefix := []byte(prefixAppendLog + kind + "\x00")
	var last uint64
	err := s.db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: prefix, Reverse: true})
		defer it.Close()
		seek := append(append([]byte{}, prefix...), 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff)
		it.Seek(seek)
		if it.Valid() {
			last = binary.BigEndian.Uint64(it.Item().Key()[len(prefix):])
		}
		return nil
	})
	return last, err
}

// ScanLog calls fn for each entry of the named log with sequence > after,
// in order. The value is valid only during the call.
func (s *Store) ScanLog(kind string, after uint64, fn func(seq uint64, value []byte) error) error {
	prefix := []byte(prefixAppendLog + kind + "\x00")
	return s.db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: prefix, PrefetchValues: true, PrefetchSize: 1000})
		defer it.Close()
		for it.Seek(keyAppendLog(kind, after+1)); it.Valid(); it.Next() {
			seq := binary.BigEndian.Uint64(it.Item().Key()[len(prefix):])
			if err := it.Item().Value(func(v []byte) error { return fn(seq, v) }); err != nil {
				return err
			}
		}
		return nil
	})
}

// DeleteLogEntries removes entries of the named log (erasure).
func (s *Store) DeleteLogEntries(kind string, seqs []uint64) error {
	return s.do(func() error {
		wb := s.db.NewWriteBatch()
		defer wb.Cancel()
		for _, q := range seqs {
			_ = wb.Delete(keyAppendLog(kind, q))
		}
		return s.flush(wb)
	})
}

// SampleCustomers returns up to n external customer ids that have events,
// spread evenly over the id space (load tests draw from it).
func (s *Store) SampleCustomers(n int) []string {
	s.idx.mu.RLock()
	var ids []uint32
	total := 0
	for _, h := range s.idx.hist {
		if len(h) > 0 {
			total++
		}
	}
	step := 1
	if total > n {
		step = total / n
	}
	k := 0
	for c, h := range s.idx.hist {
		if len(h) == 0 {
			continue
		}
		if k%step == 0 && len(ids) < n {
			ids = append(ids, uint32(c))
		}
		k++
	}
	s.idx.mu.RUnlock()
	out := s.cust.names(ids, make([]string, 0, len(ids)))
	return out
}
