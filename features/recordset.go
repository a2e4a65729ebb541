package features

import (
	"errors"
	"fmt"

	"github.com/dgraph-io/badger/v4"
)

// Records is the part of the store that services beside ranking keep their
// own state in (offers, experiments, segment definitions): named records
// (this file), append-only logs (applog.go) and erasure journals
// (erasure.go). Those services depend on this small set of methods instead
// of the whole Store; only this package touches Badger. Writes go through
// the store's writer goroutine, so they are ordered with events.
type Records struct{ s *Store }

// Records returns the store's record view.
func (s *Store) Records() *Records { return &Records{s: s} }

// Put stores value under (kind, id). In cluster mode it goes through the
// log and returns once this node has applied it (recordops.go).
func (r *Records) Put(kind, id string, value []byte) error {
	s := r.s
	if s.ops != nil {
		_, err := s.submitOp(OpRecordPut, "", [][]byte{[]byte(kind), []byte(id), value}, nil)
		return err
	}
	return s.do(func() error { return r.putLocked(kind, id, value) })
}

// putLocked stores a record; writer goroutine only.
func (r *Records) putLocked(kind, id string, value []byte) error {
	wb := r.s.db.NewWriteBatch()
	defer wb.Cancel()
	_ = wb.Set(keyRecord(kind, id), value)
	return r.s.flush(wb)
}

// Get returns the value under (kind, id), or ErrNotFound.
func (r *Records) Get(kind, id string) ([]byte, error) {
	var out []byte
	err := r.s.db.View(func(txn *badger.Txn) error {
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

// Delete removes (kind, id); ErrNotFound when absent.
func (r *Records) Delete(kind, id string) error {
	if _, err := r.Get(kind, id); err != nil {
		return err
	}
	s := r.s
	if s.ops != nil {
		_, err := s.submitOp(OpRecordDelete, "", [][]byte{[]byte(kind), []byte(id)}, nil)
		return err
	}
	return s.do(func() error { return r.deleteLocked(kind, id) })
}

// deleteLocked removes a record, ErrNotFound when absent; writer goroutine
// only (the check and the delete are one step against other writes).
func (r *Records) deleteLocked(kind, id string) error {
	if _, err := r.Get(kind, id); err != nil {
		return err
	}
	wb := r.s.db.NewWriteBatch()
	defer wb.Cancel()
	_ = wb.Delete(keyRecord(kind, id))
	return r.s.flush(wb)
}

// List calls fn for every record of kind, in id order; value is valid only
// during the call.
func (r *Records) List(kind string, fn func(id string, value []byte) error) error {
	prefix := keyRecord(kind, "")
	return r.s.db.View(func(txn *badger.Txn) error {
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

// Erased reports whether a customer id was erased (and not written since):
// a service must not re-create an erased customer by a read (erased.go).
func (r *Records) Erased(ext string) bool { return r.s.Erased(ext) }
