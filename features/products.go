package features

import (
	"bytes"
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

// tombstone is the record body of a deleted product: JSON null, so that
// the deletion outlives a restart (a product with events and no record is
// listed) and an older binary reads it as a blank unavailable record
// rather than failing to open the store.
var tombstone = []byte("null")

// EventOnlyProduct is what a product known only from its events reads as
// (GET /v1/products/{id}, the catalogue listing): available and
// recommendable, as the lists treat it, since no record says otherwise.
func EventOnlyProduct() Product { return Product{Available: true} }

// GetProduct returns product ext's record (has true), or EventOnlyProduct
// for a product known only from its events; ErrNotFound when the product
// has neither, or was deleted (and not put again since).
func (s *Store) GetProduct(ext string) (Product, bool, error) {
	id, ok := s.prod.lookup(ext)
	cat := s.Catalog()
	if !ok || cat.Gone(id) {
		return Product{}, false, errUnknown("product", ext)
	}
	if p := cat.Product(id); p != nil {
		return *p, true, nil
	}
	return EventOnlyProduct(), false, nil
}

// productSettled reports whether product ext's catalogue entry was set
// through the API: it has a record, or was deleted. An import's guesses
// (import.go) neither overwrite the one nor bring back the other.
func (s *Store) productSettled(ext string) bool {
	id, ok := s.prod.lookup(ext)
	if !ok {
		return false
	}
	cat := s.Catalog()
	return cat.Product(id) != nil || cat.Gone(id)
}

// DeleteProduct takes product ext out of the catalogue: no list shows it,
// GET and a second DELETE answer ErrNotFound, until a PUT brings it back.
// A product known only from its events can be deleted too: GET shows it,
// so DELETE takes it. Its events stay: they are history, and the
// associations they made remain true (it still scores other products).
func (s *Store) DeleteProduct(ext string) error {
	if _, err := s.deletableProduct(ext); err != nil {
		return err
	}
	if s.ops != nil {
		_, err := s.submitOp(OpProductDelete, "", [][]byte{[]byte(ext)}, nil)
		return err
	}
	return s.do(func() error {
		// Checked again on the writer: a concurrent DELETE may have won.
		id, err := s.deletableProduct(ext)
		if err != nil {
			return err
		}
		return s.deleteProductLocked(id)
	})
}

// deletableProduct is product ext's id when GET shows it (a record or
// events, not deleted), else the ErrNotFound GET answers.
func (s *Store) deletableProduct(ext string) (uint32, error) {
	id, ok := s.prod.lookup(ext)
	if !ok || s.Catalog().Gone(id) {
		return 0, errUnknown("product", ext)
	}
	return id, nil
}

// deleteProductLocked replaces product id's record with the tombstone;
// writer goroutine only.
func (s *Store) deleteProductLocked(id uint32) error {
	wb := s.db.NewWriteBatch()
	defer wb.Cancel()
	if err := wb.Set(keyU32(prefixProduct, id), tombstone); err != nil {
		return fmt.Errorf("cannot delete product: %w", classifyErr(err))
	}
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
			var p *Product // nil: the tombstone, a deleted product
			err := it.Item().Value(func(v []byte) error {
				if bytes.Equal(v, tombstone) {
					return nil
				}
				p = new(Product)
				return json.Unmarshal(v, p)
			})
			if err != nil {
				return fmt.Errorf("product %d: %w", id, err)
			}
			updates[id] = p
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("cannot load products: %w", err)
	}
	s.catalog.Store(s.catalog.Load().with(updates))
	return s.loadCustomers()
}
