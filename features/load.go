package features

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"sync"
	"time"

	"github.com/dgraph-io/badger/v4"
)

func (s *Store) load() error {
	start := time.Now()
	// A start builds the model at once but tunes it later, in the
	// background (tune_store.go): tuning costs a few builds, and a restart
	// must be quick.
	s.tuner.loading = true
	defer s.tuner.afterLoad(s)
	if err := s.checkSchema(); err != nil {
		return err
	}
	if err := s.loadTypes(); err != nil {
		return err
	}
	// The dictionaries (2 s at 10M events) load while the snapshot is read
	// and decoded; the decoder waits for them only at its end.
	dicts := make(chan error, 1)
	go func() { dicts <- s.loadDicts() }()
	dictsLoaded := sync.OnceValue(func() error { return <-dicts })
	snapModel, snapOK := s.loadSnapshot(dictsLoaded)
	if err := dictsLoaded(); err != nil {
		return err
	}
	if err := s.loadProducts(); err != nil {
		return err
	}
	replayed, err := s.replay(s.snapSeq.Load(), snapModel != nil)
	if err != nil {
		return err
	}
	// The snapshot's event-id filters hold every id up to its sequence;
	// the ids of a log tail after it (a crash) are only in Badger.
	if s.snapDedup != nil && replayed == 0 {
		s.dedup = s.snapDedup
	} else if err := s.loadDedup(); err != nil {
		return err
	}
	s.snapStale.Store(snapOK && (snapModel == nil || s.snapDedup == nil))
	s.snapDedup = nil
	if snapModel != nil && snapModel.Built.IsZero() {
		// The snapshot's lists are current up to its sequence, which the
		// replay below brings up to now: their age (refresh lag) starts now.
		snapModel.Built = time.Now()
	}
	s.startModel(snapModel, replayed)
	if err := s.loadErased(); err != nil {
		return err
	}
	s.log.Info("store loaded", "dir", s.opts.Dir, "events", s.idx.events, "customers", s.cust.len(),
		"products", s.prod.len(), "snapshot", snapOK, "replayed", replayed, "seconds", time.Since(start).Seconds())
	return nil
}

// startModel puts the model a load serves first in place: the snapshot's
// (with the log tail replayed after it, if any) or a full build.
func (s *Store) startModel(snapModel *Model, replayed int) {
	switch {
	case snapModel != nil && replayed == 0:
		s.model.Store(snapModel)
		// The lists served before the snapshot, served again. A solve they
		// were waiting for still comes, DenseInterval after the start, as
		// does that of the first events after it.
		s.denseAt = time.Now()
		s.denseStale = s.snapSolvePending
		s.tuner.restore(snapModel.Tuned, s.idx.events)
		s.keepSnapshotTuning(snapModel.Tuned)
		s.idx.all = false
	case snapModel != nil:
		// A log tail after the snapshot (a crash): the replay marked the
		// lists it made stale. Serve the snapshot's lists with the tail in
		// the histories (what a customer bought is excluded at once) and
		// the counted lists and supports brought up to date, but leave the
		// dense (EASE) solve to the background loop's first refresh: it is
		// global and cubic in the products, and a restart that ran it
		// before serving took 11 minutes at 5k products on a loaded
		// machine (docs/operations.md).
		s.model.Store(snapModel)
		s.tuner.restore(snapModel.Tuned, s.idx.events)
		s.keepSnapshotTuning(snapModel.Tuned)
		s.reopenAfterCrash()
	default:
		// No snapshot model (a restored backup, a lost snapshot file):
		// the build takes the kept tuning (tuning_key.go), so that it
		// serves the lists the tuned store served.
		if s.opts.Neighbours.Tune {
			s.tuner.restore(s.loadTuning(), s.idx.events)
		}
		s.idx.all = true
		s.Refresh()
	}
}

func (s *Store) checkSchema() error {
	return s.db.Update(func(txn *badger.Txn) error {
		it, err := txn.Get([]byte(schemaVersionName))
		if errors.Is(err, badger.ErrKeyNotFound) {
			return txn.Set([]byte(schemaVersionName), []byte{schemaVersion})
		}
		if err != nil {
			return err
		}
		v, err := it.ValueCopy(nil)
		if err != nil {
			return err
		}
		if len(v) == 1 && v[0] == 1 {
			return txn.Set([]byte(schemaVersionName), []byte{schemaVersion})
		}
		if len(v) != 1 || v[0] != schemaVersion {
			return fmt.Errorf("%w: store schema %v, this build reads 1 and %d", ErrInvalid, v, schemaVersion)
		}
		return nil
	})
}

func (s *Store) loadDicts() error {
	for _, d := range []struct {
		prefix string
		dict   *dict
	}{{prefixCustDict, s.cust}, {prefixProdDict, s.prod}} {
		err := s.db.View(func(txn *badger.Txn) error {
			it := txn.NewIterator(badger.IteratorOptions{Prefix: []byte(d.prefix), PrefetchValues: true, PrefetchSize: 1000})
			defer it.Close()
			for it.Rewind(); it.Valid(); it.Next() {
				item := it.Item()
				ext := string(item.Key()[len(d.prefix):])
				err := item.Value(func(v []byte) error {
					id, ok := u32be(v)
					if !ok {
						return errCorrupt
					}
					d.dict.set(ext, id)
					return nil
				})
				if err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("cannot load id dictionary: %w", err)
		}
	}
	return nil
}

// replay applies the log's events, erasures and merges after sequence after to the
// index and returns how many.
func (s *Store) replay(after uint64, track bool) (int, error) {
	tt := s.types.Load()
	n := 0
	last := after
	s.idx.mu.Lock()
	defer s.idx.mu.Unlock()
	err := s.db.View(func(txn *badger.Txn) error {
		opts := badger.IteratorOptions{Prefix: []byte(prefixLog), PrefetchValues: true, PrefetchSize: 1000}
		it := txn.NewIterator(opts)
		defer it.Close()
		var le logEvent
		for it.Seek(keyU64(prefixLog, after+1)); it.Valid(); it.Next() {
			item := it.Item()
			seq := binary.BigEndian.Uint64(item.Key()[len(prefixLog):])
			err := item.Value(func(v []byte) error {
				if len(v) > 0 && v[0] == recErase {
					c, err := decodeErase(v)
					if err != nil {
						return err
					}
					s.idx.eraseLocked(c)
					s.erasedOnReplay++
					n++
					return nil
				}
				if len(v) > 0 && v[0] == recMerge {
					from, to, err := decodeMerge(v)
					if err != nil {
						return err
					}
					s.idx.mergeLocked(from, to, track)
					n++
					return nil
				}
				return eachLogEvent(v, seq, &le, func(es uint64, e *logEvent) error {
					// A snapshot taken while a commit was being applied
					// holds the first part of its block.
					if es > after {
						s.applyOne(tt, e, track)
						n++
					}
					return nil
				})
			})
			if err != nil {
				return fmt.Errorf("log record %d: %w", seq, err)
			}
			last = seq
		}
		return nil
	})
	if err != nil {
		return n, fmt.Errorf("cannot replay the event log: %w", err)
	}
	s.seq.Store(last)
	s.idx.appliedSeq = last
	s.idx.refreshClockLocked()
	return n, nil
}

// applyOne adds a decoded log event to the index; the caller holds idx.mu.
func (s *Store) applyOne(tt *TypeTable, le *logEvent, track bool) {
	if !tt.known[le.Type] {
		return // a type no longer configured: kept in the log, not used
	}
	s.idx.applyLocked(le.Cust, Interaction{
		Product: le.Prod,
		Order:   orderHash(le.Order),
		TS:      unixTS(le.TS),
		Value:   ClampValue(le.Value),
		Type:    le.Type,
		Class:   tt.ClassOf(le.Type, le.Value),
	}, track)
}

func orderHash(s string) uint32 {
	if s == "" {
		return 0
	}
	h := fnv.New32a()
	h.Write([]byte(s))
	v := h.Sum32()
	if v == 0 {
		v = 1
	}
	return v
}
