package features

import (
	"time"

	"github.com/RoaringBitmap/roaring/v2"
	"github.com/affinity-rec/affinity/features/background"
)

// Refresh recomputes stale neighbour lists now, the dense (EASE) solve
// included, and publishes the new model. Tests, import and erasure call it
// to see their writes in the model at once; the background loop calls
// refresh(refreshPaced). Snapshots refresh nothing: they keep the model
// being served (snapshot_model.go). In stream-tick mode (cluster) it is a
// tick's build with a solve (clustertick.go): a node calls it where the
// stream puts it (an erasure), so every node builds the same model there.
func (s *Store) Refresh() {
	if s.tick.on.Load() {
		s.refreshTick(true)
		return
	}
	s.refresh(refreshSolve)
}

// refreshMode says whether a refresh may run the dense (EASE) solve.
type refreshMode int

const (
	// refreshPaced solves when DenseInterval (and four times the last
	// solve) has passed since the last solve.
	refreshPaced refreshMode = iota
	// refreshSolve solves now.
	refreshSolve
	// refreshNoSolve keeps the dense lists (a reopen after a crash,
	// reopen.go); a full build still solves.
	refreshNoSolve
)

// refresh rebuilds the stale parts of the model. Unless mode says so, a
// dense basis keeps its lists until DenseInterval (and four times the last
// solve) has passed since the last solve: an EASE solve is global, seconds
// of both cores on a few thousand products, and redoing it every second
// under a steady write load starved the readers. Supports, popularity and
// counted lists stay fresh meanwhile; a product new since the last solve has
// no dense list until the next one, so "related" falls back to its category.
func (s *Store) refresh(mode refreshMode) {
	s.refreshMu.Lock()
	defer s.refreshMu.Unlock()
	prev := s.model.Load()
	var pol *lagPolicy
	if mode == refreshPaced && prev != nil {
		// Only a paced background refresh may leave co-customer
		// products pending (stale_lag.go).
		pol = backgroundLag(time.Now(), prev)
	}
	// A full build (after a bulk load, or of the first model) solves
	// whatever the mode: there are no dense lists to keep.
	dirty, all, due, seq, ok := s.builds.take(s.idx, pol, func(all bool) bool {
		return mode == refreshSolve || all || prev == nil ||
			mode == refreshPaced && time.Since(s.denseAt) >= max(s.opts.DenseInterval, 4*s.denseDur)
	})
	if !ok {
		return // the store is closing
	}
	if s.builds.testInFlight != nil {
		s.builds.testInFlight()
	}
	if !all && dirty == nil && prev != nil && !(s.denseStale && due) {
		s.builds.publish(func() {
			if prev.Seq != seq {
				// Nothing stale (repeat events of known pairs, or only
				// co-customer changes still pending): the lists are
				// current up to seq but for those (stale_lag.go).
				cp := *prev
				cp.Seq = seq
				s.model.Store(&cp)
			}
		})
		return
	}
	if all {
		dirty = nil
	} else if dirty == nil {
		dirty = roaring.New() // only the dense solve is due
	}
	o := s.opts.Neighbours
	workers := buildWorkers(mode == refreshSolve)
	if due {
		s.maybeTune(workers)
	}
	if t := s.tuner.tuned; t != nil {
		o = t.apply(o)
	}
	// A paced refresh is background work: its workers run at nice 19 with
	// a P more for them (pool, background.ExtraProcs); a forced one is waited
	// for, and runs as it did.
	p := pool{n: workers, nice: mode == refreshPaced}
	if p.nice && background.Nice > 0 {
		defer background.ExtraProcs(p.n)()
	}
	m := buildModelIn(s.idx, prev, dirty, s.prod.len(), o, !due, p)
	// The model carries the configured options (a snapshot is reused when
	// they match) and the tuned ones in Tuned.
	m.Options = s.opts.Neighbours
	m.Tuned = s.tuner.tuned
	m.Seq = seq
	s.builds.publish(func() {
		if due {
			s.denseAt, s.denseDur, s.denseStale = time.Now(), m.BuildDuration, false
		} else {
			s.denseStale = true
		}
		s.model.Store(m)
	})
}

// backgroundLoop runs beside the writer until Close: paced refreshes, the
// refreshes asked for through kick, snapshots and value-log GC.
func (s *Store) backgroundLoop() {
	defer s.wg.Done()
	refresh := time.NewTicker(s.opts.RefreshInterval)
	defer refresh.Stop()
	var snapC, gcC <-chan time.Time
	if s.opts.SnapshotInterval > 0 && !s.opts.InMemory {
		t := time.NewTicker(s.opts.SnapshotInterval)
		defer t.Stop()
		snapC = t.C
	}
	if s.opts.GCInterval > 0 && !s.opts.InMemory {
		t := time.NewTicker(s.opts.GCInterval)
		defer t.Stop()
		gcC = t.C
	}
	for {
		select {
		case <-s.stop:
			return
		case <-refresh.C:
			if s.tick.on.Load() {
				continue // the stream's ticks rebuild (clustertick.go)
			}
			// Pace refreshes so they use at most about a third of the CPU
			// under a heavy write load: wait twice as long as the last
			// build took. That is wall time, not the build's CPU time, on
			// purpose: a background build's workers run at nice 19, so
			// on a busy machine its wall time grows with the CPU the
			// requests took from it, and the pace slows down with it;
			// a pace by CPU time would start the next build sooner just
			// when there is least CPU to spare, and the lists would not
			// be fresher for it (the niced build would wait for the CPU
			// all the same).
			if m := s.model.Load(); m != nil && time.Since(m.Built) < 2*m.BuildDuration {
				continue
			}
			s.refreshUnlessStopped(refreshPaced)
		case <-s.kick:
			if !s.tick.on.Load() {
				s.refreshUnlessStopped(refreshSolve)
			}
		case <-snapC:
			if s.seq.Load() != s.snapSeq.Load() || s.snapStale.Load() {
				if err := s.Snapshot(); err != nil {
					s.log.Error("snapshot failed", "err", err)
				}
			}
		case <-gcC:
			s.RunGC()
		}
	}
}

// RunGC reclaims value-log space left by rewritten snapshots and deletions.
func (s *Store) RunGC() {
	for i := 0; i < 10; i++ {
		if err := s.db.RunValueLogGC(0.5); err != nil {
			return // ErrNoRewrite: nothing (more) to reclaim
		}
	}
}

// Close stops background work, snapshots the derived state and closes Badger.
