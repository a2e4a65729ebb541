package features

import (
	"fmt"
)

// Open opens (creating if needed) the store described by o, loads its
// snapshot, replays the log tail and builds the model.
func Open(o Options) (*Store, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	o = o.withDefaults()
	db, err := openBadger(o)
	if err != nil {
		return nil, fmt.Errorf("cannot open store in %q: %w", o.Dir, classifyErr(err))
	}
	s := &Store{
		opts:      o,
		db:        db,
		log:       o.Logger,
		cust:      newDict(),
		prod:      newDict(),
		idx:       newIndex(),
		reqs:      make(chan *writeReq, 1024),
		stop:      make(chan struct{}),
		kick:      make(chan struct{}, 1),
		appendSeq: map[string]uint64{},
		dedup:     newDedupFilter(1 << 20),
		custs:     customers{attrs: map[uint32]map[string]any{}},
	}
	if !o.InMemory {
		s.disk = &diskGuard{dir: o.Dir, min: o.MinFreeBytes}
	}
	s.catalog.Store(newCatalog())
	if err := s.load(); err != nil {
		db.Close()
		return nil, err
	}
	s.wg.Add(2)
	go s.writeLoop()
	go s.backgroundLoop()
	if s.erasedOnReplay > 0 {
		// Erasures after the snapshot: a crash came before their
		// follow-up rewrote it, so the file on disk still holds their
		// histories. The replay erased them from memory; the follow-up
		// now rewrites the file (and rebuilds the model without them)
		// instead of leaving it to the next periodic snapshot.
		s.followUpErasure()
	}
	return s, nil
}

// Close stops background work, snapshots the derived state and closes Badger.
// Writes in flight finish first.
func (s *Store) Close() error {
	s.closeMu.Lock()
	if s.closed {
		s.closeMu.Unlock()
		return nil
	}
	s.closed = true
	s.closeMu.Unlock()
	close(s.stop)
	s.wg.Wait()
	var err error
	if !s.opts.InMemory && (s.seq.Load() != s.snapSeq.Load() || s.snapStale.Load()) {
		if e := s.snapshotLocked(); e != nil {
			err = e
			s.log.Error("snapshot on close failed", "err", e)
		}
	}
	if e := s.db.Close(); e != nil && err == nil {
		err = fmt.Errorf("cannot close store: %w", e)
	}
	return err
}

// classifyErr maps low-level write failures to ErrReadOnly so callers can
