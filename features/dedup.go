package features

import (
	"bytes"
	"encoding/binary"
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

// appendBinary appends the filters to b for a snapshot: their number, each
// in the bloom library's binary form behind a length, then the capacity and
// count of the one being filled. Loading them back costs a copy, where
// re-reading every event id from Badger cost seconds per ten million.
func (d *dedupFilter) appendBinary(b []byte) []byte {
	d.mu.Lock()
	defer d.mu.Unlock()
	all := append(append([]*bloom.BloomFilter(nil), d.full...), d.f)
	b = binary.AppendUvarint(b, uint64(len(all)))
	var buf bytes.Buffer
	for _, f := range all {
		buf.Reset()
		_, _ = f.WriteTo(&buf) // a bytes.Buffer does not fail
		b = binary.AppendUvarint(b, uint64(buf.Len()))
		b = append(b, buf.Bytes()...)
	}
	b = binary.AppendUvarint(b, uint64(d.cap))
	return binary.AppendUvarint(b, uint64(d.n))
}

// maxDedupFilters bounds the filters a snapshot may name: each is twice
// the previous, so 40 would hold more ids than exist.
const maxDedupFilters = 40

// decodeDedupFilter reads what appendBinary wrote. The bytes come from a
// checksummed snapshot, but are still checked against the bloom format
// (m, k, bit count, words) before the library allocates anything.
func decodeDedupFilter(dec *decoder) (*dedupFilter, error) {
	n := dec.uvarint()
	if dec.err != nil || n < 1 || n > maxDedupFilters {
		return nil, errCorrupt
	}
	fs := make([]*bloom.BloomFilter, 0, n)
	for range n {
		raw := dec.bytesN()
		if dec.err != nil || len(raw) < 24 {
			return nil, errCorrupt
		}
		m := binary.BigEndian.Uint64(raw)
		k := binary.BigEndian.Uint64(raw[8:])
		bits := binary.BigEndian.Uint64(raw[16:])
		if m != bits || m == 0 || k < 1 || k > 64 || uint64(len(raw)-24) != 8*((bits+63)/64) {
			return nil, errCorrupt
		}
		f := &bloom.BloomFilter{}
		if err := f.UnmarshalBinary(raw); err != nil {
			return nil, errCorrupt
		}
		fs = append(fs, f)
	}
	capacity, count := dec.uvarint(), dec.uvarint()
	if dec.err != nil || capacity < 1 || capacity > 1<<40 || count > capacity {
		return nil, errCorrupt
	}
	return &dedupFilter{f: fs[len(fs)-1], full: fs[:len(fs)-1], cap: uint(capacity), n: uint(count)}, nil
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
