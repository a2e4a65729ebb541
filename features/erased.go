package features

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/dgraph-io/badger/v4"
)

// Erased customers are remembered as a suppression list, so that reads do
// not bring them back: a next-best-offer or an experiment's exposure for
// an erased id used to log a new exposure under it, re-creating them in the
// store they were erased from. The list holds no id, only a keyed hash of
// each (HMAC-SHA-256 with a random key kept in the store, cut to 16
// bytes): enough to answer "was this id erased?", which honouring the
// erasure needs, and nothing more. A write that names the id again (an
// event, a PUT of the customer) takes it off the list: the customer is back
// by their own doing.
type erasedSet struct {
	mu  sync.RWMutex
	key []byte // nil until the first erasure
	set map[[16]byte]struct{}
	n   atomic.Int32 // len(set): reads skip the hash while it is 0
}

const keyErasedSecret = prefixMeta + "erased-key"

// Erased reports whether ext was erased and has not come back by a write
// since. Safe for concurrent use; costs a map lookup and, only while some
// id is on the list, an HMAC.
func (s *Store) Erased(ext string) bool {
	e := &s.erased
	if e.n.Load() == 0 {
		return false
	}
	e.mu.RLock()
	defer e.mu.RUnlock()
	_, ok := e.set[e.hashLocked(ext)]
	return ok
}

func (e *erasedSet) hashLocked(ext string) [16]byte {
	m := hmac.New(sha256.New, e.key)
	m.Write([]byte(ext))
	var h [16]byte
	copy(h[:], m.Sum(nil))
	return h
}

// loadErased reads the list at open.
func (s *Store) loadErased() error {
	e := &s.erased
	e.set = map[[16]byte]struct{}{}
	err := s.db.View(func(txn *badger.Txn) error {
		it, err := txn.Get([]byte(keyErasedSecret))
		if errors.Is(err, badger.ErrKeyNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		if e.key, err = it.ValueCopy(nil); err != nil {
			return err
		}
		iter := txn.NewIterator(badger.IteratorOptions{Prefix: []byte(prefixErased)})
		defer iter.Close()
		for iter.Rewind(); iter.Valid(); iter.Next() {
			var h [16]byte
			copy(h[:], iter.Item().Key()[len(prefixErased):])
			e.set[h] = struct{}{}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("cannot read the erased customers: %w", err)
	}
	e.n.Store(int32(len(e.set)))
	return nil
}

// kvSetter is a Badger write batch or transaction.
type kvSetter interface{ Set(k, v []byte) error }

// erasureKey is the list's hash key, made and written into wb at the first
// erasure (the list takes it once wb is committed, through
// markErasedKey's function). Writer goroutine only.
func (s *Store) erasureKey(wb kvSetter) ([]byte, error) {
	e := &s.erased
	e.mu.RLock()
	key := e.key
	e.mu.RUnlock()
	if key == nil {
		key = make([]byte, 32)
		if _, err := rand.Read(key); err != nil {
			return nil, fmt.Errorf("cannot make the erasure key: %w", err)
		}
		if err := wb.Set([]byte(keyErasedSecret), key); err != nil {
			return nil, err
		}
	}
	return key, nil
}

// erasedHash is ext's keyed hash under key.
func erasedHash(key []byte, ext string) [16]byte { return (&erasedSet{key: key}).hashLocked(ext) }

// markErasedKey is markErased with the key given (erasureKey).
func (s *Store) markErasedKey(wb kvSetter, key []byte, ext string) (func(), error) {
	e := &s.erased
	h := erasedHash(key, ext)
	if err := wb.Set(keyStr(prefixErased, string(h[:])), nil); err != nil {
		return nil, err
	}
	return func() {
		e.mu.Lock()
		e.key = key
		e.set[h] = struct{}{}
		e.n.Store(int32(len(e.set)))
		e.mu.Unlock()
	}, nil
}

// unmarkErased takes ext off the list when it is on it: set deletes the
// key in the caller's batch, and the returned function, called after the
// commit, updates the list (nil when ext was not on it). Writer goroutine
// only.
func (s *Store) unmarkErased(ext string, del func(k []byte)) func() {
	e := &s.erased
	if e.n.Load() == 0 {
		return nil
	}
	e.mu.RLock()
	h := e.hashLocked(ext)
	_, ok := e.set[h]
	e.mu.RUnlock()
	if !ok {
		return nil
	}
	del(keyStr(prefixErased, string(h[:])))
	return func() {
		e.mu.Lock()
		delete(e.set, h)
		e.n.Store(int32(len(e.set)))
		e.mu.Unlock()
	}
}

// eraseEventIDs hands del the idempotency keys of the events at seqs (an
// erased customer's): their event ids leave with them, so that another
// customer's event that happens to carry one of those ids is stored, not
// dropped as a duplicate. The bloom filter in front keeps them (it cannot
// forget): that costs such an event one exact lookup, which now misses.
// It reads every idempotency key, as erasure reads every log record.
func eraseEventIDs(txn *badger.Txn, seqs map[uint64]struct{}, del func(k []byte)) error {
	if len(seqs) == 0 {
		return nil
	}
	it := txn.NewIterator(badger.IteratorOptions{Prefix: []byte(prefixDedup), PrefetchValues: true, PrefetchSize: 1000})
	defer it.Close()
	for it.Rewind(); it.Valid(); it.Next() {
		item := it.Item()
		err := item.Value(func(v []byte) error {
			if len(v) == 8 {
				if _, ok := seqs[binary.BigEndian.Uint64(v)]; ok {
					del(item.KeyCopy(nil))
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	return nil
}
