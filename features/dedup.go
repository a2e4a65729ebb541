package features

import (
	"fmt"
	"sync"

	"github.com/bits-and-blooms/bloom/v3"
	"github.com/dgraph-io/badger/v4"
)

// dedupFilter fronts the exact event-id check with a bloom filter, so a new
// event id (the common case) costs no disk lookup. Bloom filters are not
// goroutine-safe, hence the mutex. A bloom filter cannot be resized, so when
// more ids arrive than the current filter was sized for, a filter twice the
// size is started and the full ones are kept: a test checks them all.
type dedupFilter struct {
	mu   sync.Mutex
	f    *bloom.BloomFilter
	full []*bloom.BloomFilter
	cap  uint
	n    uint
}

func newDedupFilter(capacity uint) *dedupFilter {
	return &dedupFilter{f: bloom.NewWithEstimates(capacity, 0.001), cap: capacity}
}

func (d *dedupFilter) test(k [16]byte) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.f.Test(k[:]) {
		return true
	}
	for _, f := range d.full {
		if f.Test(k[:]) {
			return true
		}
	}
	return false
}

func (d *dedupFilter) add(k [16]byte) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.addLocked(k)
}

// addAll adds a batch's keys under one lock.
func (d *dedupFilter) addAll(ks [][16]byte) {
	if len(ks) == 0 {
		return
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, k := range ks {
		d.addLocked(k)
	}
}

func (d *dedupFilter) addLocked(k [16]byte) {
	if d.n >= d.cap {
		d.full = append(d.full, d.f)
		d.cap *= 2
		d.f = bloom.NewWithEstimates(d.cap, 0.001)
		d.n = 0
	}
	d.f.Add(k[:])
	d.n++
}

func (s *Store) loadDedup() error {
	n := 0
	err := s.db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: []byte(prefixDedup)})
		defer it.Close()
		var k [16]byte
		for it.Rewind(); it.Valid(); it.Next() {
			key := it.Item().Key()
			if len(key) != len(prefixDedup)+16 {
				continue
			}
			copy(k[:], key[len(prefixDedup):])
			s.dedup.add(k)
			n++
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("cannot load event ids: %w", err)
	}
	return nil
}
