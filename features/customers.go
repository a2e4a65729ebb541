package features

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"sync"

	"github.com/dgraph-io/badger/v4"
)

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
	if s.ops != nil {
		return s.putCustomersViaLog(bodies)
	}
	return s.do(func() error { return s.writeCustomers(cs, bodies) })
}

// writeCustomers stores cs (encoded in bodies); it runs on the writer
// goroutine (s.do), which makes PatchCustomer's read-modify-write atomic.
func (s *Store) writeCustomers(cs map[string]Customer, bodies map[string][]byte) error {
	mark := s.cust.len()
	wb := s.db.NewWriteBatch()
	defer wb.Cancel()
	ids := make(map[string]uint32, len(cs))
	var unlisted []func() // erased customers back by this write (erased.go)
	for ext, body := range bodies {
		id, created := s.cust.assign(ext)
		if created {
			_ = wb.Set(keyStr(prefixCustDict, ext), binary.BigEndian.AppendUint32(nil, id))
			_ = wb.Set(keyU32(prefixCustRev, id), []byte(ext))
			if f := s.unmarkErased(ext, func(k []byte) { _ = wb.Delete(k) }); f != nil {
				unlisted = append(unlisted, f)
			}
		}
		_ = wb.Set(keyU32(prefixCustomer, id), body)
		ids[ext] = id
	}
	if err := s.flush(wb); err != nil {
		s.cust.truncate(mark)
		return err
	}
	for _, f := range unlisted {
		f()
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
}

// CustomerAttributes returns customer c's attributes (nil when none). The
// map must not be changed.
func (s *Store) CustomerAttributes(c uint32) map[string]any {
	cs := s.customerAttrs()
	cs.mu.RLock()
	defer cs.mu.RUnlock()
	return cs.attrs[c]
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
