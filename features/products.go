package features

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"maps"
	"slices"

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
	if s.ops != nil {
		return s.putProductsViaLog(ps)
	}
	return s.do(func() error { return s.writeProducts(ps) })
}

// writeProducts stores ps; it runs on the writer goroutine (s.do), which is
// what makes PatchProduct's read-modify-write atomic against other writes.
func (s *Store) writeProducts(ps map[string]Product) error {
	mark := s.prod.len()
	wb := s.db.NewWriteBatch()
	defer wb.Cancel()
	updates := make(map[uint32]*Product, len(ps))
	// New ids in the order of the external ids, not of a map walk: in
	// cluster mode every node applies the same products-put op, and the
	// internal ids must come out the same on each (experiment exposure
	// entries carry them from node to node).
	for _, ext := range slices.Sorted(maps.Keys(ps)) {
		p := ps[ext]
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
	if s.ops != nil {
		_, err := s.submitOp(OpProductDelete, "", [][]byte{[]byte(ext)}, nil)
		return err
	}
	return s.do(func() error { return s.deleteProductLocked(id) })
}

// deleteProductLocked removes product id's record; writer goroutine only.
func (s *Store) deleteProductLocked(id uint32) error {
	wb := s.db.NewWriteBatch()
	defer wb.Cancel()
	_ = wb.Delete(keyU32(prefixProduct, id))
	if err := s.flush(wb); err != nil {
		return err
	}
	s.catalog.Store(s.catalog.Load().with(map[uint32]*Product{id: nil}))
	return nil
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
