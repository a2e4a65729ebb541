package features

import (
	"errors"
	"sync"
	"sync/atomic"
)

// An erasure answers once the customer is gone from the log and from
// memory (eraseLocked); what is left is done in the background, shared by
// every erasure that came meanwhile:
//   - the snapshot file is rewritten without their history, first thing.
//     Until then the old file still holds it, but a restart cannot bring
//     it back: the log holds the erasure's record after the snapshot's
//     sequence, and replay erases them from what the snapshot loaded
//     (load.go, TestErasureSurvivesACrashBeforeTheSnapshot);
//   - the model is rebuilt, dense (EASE) solve included, so that the
//     co-occurrence lists, supports and weights no longer count them, and
//     snapshotted again.
//
// Both used to run inside every DELETE: seconds each on the demo store
// (the solve, and the tuner with it), and a batch of deletion requests ran
// one rebuild per customer, one after the other.
type erasureFollowUp struct {
	start sync.Once
	wake  chan struct{} // one pending follow-up at most: the rest coalesce

	mu sync.Mutex
	// asked counts the erasures committed, done the count the last
	// finished follow-up covered: a follow-up that starts after erasure n
	// was counted covers it.
	asked, done uint64
	// finished is closed, and replaced, when a follow-up finishes.
	finished chan struct{}

	// rebuilds counts the follow-ups' model rebuilds (tests and the
	// erasure benchmark: erasures share them).
	rebuilds atomic.Uint64
	// testBefore, when set (tests only), runs at the start of each
	// follow-up: a test holds it there to see the store before it.
	testBefore func()
}

// followUpErasure counts an erasure just committed and asks the background
// follow-up to run; it does not wait for it.
func (s *Store) followUpErasure() {
	f := &s.erasures
	f.start.Do(func() {
		f.wake = make(chan struct{}, 1)
		f.finished = make(chan struct{})
		s.closeMu.RLock()
		defer s.closeMu.RUnlock()
		if !s.closed {
			// Close waits for it (s.wg) after it sets closed, so the Add
			// cannot come after that Wait began.
			s.wg.Add(1)
			go s.erasureFollowUpLoop()
		}
	})
	f.mu.Lock()
	f.asked++
	f.mu.Unlock()
	select {
	case f.wake <- struct{}{}:
	default: // one is pending already: it will cover this erasure
	}
}

// erasureFollowUpLoop runs the follow-ups until the store closes. Close
// snapshots what is in memory, which the erasures already left.
func (s *Store) erasureFollowUpLoop() {
	defer s.wg.Done()
	f := &s.erasures
	for {
		select {
		case <-s.stop:
			return
		case <-f.wake:
		}
		if f.testBefore != nil {
			f.testBefore()
			if s.stopping() {
				return
			}
		}
		f.mu.Lock()
		covers := f.asked
		f.mu.Unlock()
		s.erasureSnapshot()
		// Abandoned when the store closes first (build_abandon.go): the
		// marks go back to the index and the snapshot, and the next start
		// rebuilds those lists.
		s.refreshUnlessStopped(refreshSolve)
		if s.stopping() {
			return
		}
		f.rebuilds.Add(1)
		// Again, so that a restart serves the rebuilt lists rather than
		// rebuilding the ones the first snapshot holds as stale.
		s.erasureSnapshot()
		f.mu.Lock()
		f.done = covers
		close(f.finished)
		f.finished = make(chan struct{})
		f.mu.Unlock()
	}
}

// stopping reports whether the store is closing.
func (s *Store) stopping() bool {
	select {
	case <-s.stop:
		return true
	default:
		return false
	}
}

// erasureSnapshot rewrites the snapshot file, so that the erased histories
// leave the disk without waiting for the periodic snapshot.
func (s *Store) erasureSnapshot() {
	if s.opts.InMemory {
		return
	}
	if err := s.Snapshot(); err != nil && !errors.Is(err, ErrClosed) {
		s.log.Error("erasure: rewriting the snapshot failed; the periodic snapshot retries", "err", err)
	}
}

// settleErasures waits until the follow-up of every erasure committed so
// far has finished, and reports false when the store closed first.
func (s *Store) settleErasures() bool {
	f := &s.erasures
	f.mu.Lock()
	want := f.asked
	f.mu.Unlock()
	for {
		f.mu.Lock()
		if f.done >= want {
			f.mu.Unlock()
			return true
		}
		ch := f.finished
		f.mu.Unlock()
		select {
		case <-ch:
		case <-s.stop:
			return false
		}
	}
}
