package features

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"sync"

	"github.com/dgraph-io/badger/v4"

	"github.com/affinity-rec/affinity/features/background"
)

// loadSnapshot restores the index (and the model when the snapshot has a
// current one). Any problem means "no snapshot": the full log is replayed.
// The id dictionaries load meanwhile; dictsLoaded waits for them, which
// the decoder needs only at its end (the product count).
func (s *Store) loadSnapshot(dictsLoaded func() error) (*Model, bool) {
	var meta snapMeta
	if err := s.readSnapMeta(&meta); err != nil {
		if !errors.Is(err, badger.ErrKeyNotFound) {
			s.log.Warn("snapshot header unreadable; replaying the whole log", "err", err)
		}
		return nil, false
	}
	if !s.opts.InMemory {
		s.removeStraySnapshots(meta.File)
	}
	var buf bytes.Buffer
	var err error
	if meta.File != "" {
		var b []byte
		var release func()
		b, release, err = readSnapshotFile(filepath.Join(s.opts.Dir, filepath.Base(meta.File)))
		if err == nil {
			// The decoded state copies what it keeps, so the bytes go (and
			// stop counting in the resident set) once it is done.
			defer release()
		}
		buf = *bytes.NewBuffer(b)
	} else {
		buf.Grow(int(meta.Size))
		err = s.db.View(func(txn *badger.Txn) error {
			for c := uint32(0); c < meta.Chunks; c++ {
				it, err := txn.Get(keySnapshotChunk(meta.Gen, c))
				if err != nil {
					return err
				}
				if err := it.Value(func(v []byte) error { buf.Write(v); return nil }); err != nil {
					return err
				}
			}
			return nil
		})
	}
	if err == nil && (int64(buf.Len()) != meta.Size || meta.checksum(buf.Bytes()) != meta.CRC) {
		err = errors.New("checksum mismatch")
	}
	var m *Model
	if err == nil {
		m, err = s.decodeSnapshot(buf.Bytes(), meta.Seq, dictsLoaded)
	}
	if err != nil && dictsLoaded() != nil {
		// load reports the dictionaries' error.
		return nil, false
	}
	if err != nil {
		s.log.Warn("snapshot unusable; replaying the whole log", "err", err)
		s.idx = newIndex()
		return nil, false
	}
	s.snapSeq.Store(meta.Seq)
	s.snapAt.Store(meta.At)
	return m, true
}

func (s *Store) decodeSnapshot(b []byte, seq uint64, dictsLoaded func() error) (*Model, error) {
	if !bytes.HasPrefix(b, []byte(snapMagic)) {
		return nil, errors.New("not a snapshot")
	}
	d := decoder{b: b[len(snapMagic):]}
	if got := d.uvarint(); got != seq {
		return nil, fmt.Errorf("snapshot says seq %d, header %d", got, seq)
	}
	x := newIndex()
	nprod, err := decodeHistories(&d, x, s.types.Load())
	if err != nil {
		return nil, err
	}
	x.appliedSeq = seq
	x.rebuildClockLocked()
	if err := dictsLoaded(); err != nil {
		return nil, err
	}
	if nprod > s.prod.len() {
		return nil, fmt.Errorf("snapshot names product %d beyond the dictionary", nprod-1)
	}
	if nprod > 0 {
		x.ensureProduct(uint32(nprod - 1))
	}
	// The bitmaps are built while the lists are decoded (2 of 8 s at 10M
	// events when one followed the other).
	built := make(chan struct{})
	go func() {
		defer close(built)
		buildBitmaps(x)
	}()
	defer func() { <-built }()
	var m *Model
	v := d.byte1()
	if v >= 1 && v <= 3 {
		opt := d.bytesN()
		var o NeighbourOptions
		if d.err == nil && json.Unmarshal(opt, &o) == nil && o == s.opts.Neighbours {
			m, s.snapSolvePending = decodeModel(&d, v, o, seq, s.prod.len(), x)
		}
	}
	if d.err != nil {
		return nil, d.err
	}
	// Found only when the model section was read (same options): otherwise
	// the unread lists come first, and the ids are read from Badger.
	if bytes.HasPrefix(d.b, []byte(snapDedupMagic)) {
		d.b = d.b[len(snapDedupMagic):]
		f, err := decodeDedupFilter(&d)
		if err != nil {
			return nil, fmt.Errorf("snapshot event-id filter: %w", err)
		}
		s.snapDedup = f
	}
	<-built
	s.idx = x
	if m != nil && v < 3 {
		finishModel(x, m, s.prod.len())
	}
	return m, nil
}

// decodeHistories reads every customer's history into x (lastTS, hist,
// events), leaving out events of types tt does not know, and returns the
// product count they name.
func decodeHistories(d *decoder, x *index, tt *TypeTable) (int, error) {
	x.lastTS = d.varint()
	ncust := d.uvarint()
	if d.err != nil || ncust > uint64(len(d.b)) {
		return 0, errCorrupt
	}
	x.hist = make([][]Interaction, ncust)
	nprod := 0
	for c := range x.hist {
		n := d.uvarint()
		if d.err != nil || n > uint64(len(d.b)) {
			return 0, errCorrupt
		}
		if n == 0 {
			continue
		}
		h := make([]Interaction, 0, n)
		ts := int64(0)
		for i := uint64(0); i < n; i++ {
			var in Interaction
			in.Product = d.u32()
			in.Order = d.u32()
			ts += d.varint()
			in.TS = unixTS(ts)
			in.Value = ClampValue(d.f64())
			if d.err != nil || len(d.b) < 5 {
				return 0, errCorrupt
			}
			in.Type = d.b[4] // after the unused quantity
			d.b = d.b[5:]
			if !tt.known[in.Type] {
				continue
			}
			in.Class = tt.ClassOf(in.Type, in.Value)
			nprod = max(nprod, int(in.Product)+1)
			h = append(h, in)
		}
		x.hist[c] = h
		x.events += len(h)
	}
	return nprod, nil
}

// buildBitmaps fills x's product -> customer bitmaps from its histories
// (a snapshot stores only the histories), one worker per core, each owning
// the products p with p % workers == its number, so no bitmap is shared.
// Customers come in increasing order, so every Add appends.
func buildBitmaps(x *index) {
	workers := background.BaseProcs()
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for c, h := range x.hist {
				for _, in := range h {
					if int(in.Product)%workers != w {
						continue
					}
					x.customers(in.Class, in.Product).Add(uint32(c))
				}
			}
		})
	}
	wg.Wait()
}
