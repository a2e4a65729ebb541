package features

import (
	"sync"

	"github.com/RoaringBitmap/roaring/v2"
)

// buildState is the model build in flight, so that Close need not wait
// for it: a dense (EASE) solve is minutes of CPU at a few thousand
// products on a loaded machine, and a server stuck in shutdown that long
// gets killed. Close snapshots the model being served instead; the
// abandoned build's marks go back to the index (the snapshot records them
// as pending, and the next start rebuilds those lists), and the build,
// which cannot be interrupted inside the solve, finishes on its own
// without publishing anything.
type buildState struct {
	mu     sync.Mutex
	active bool
	// The marks the build took from the index (dirty nil and all: every
	// list) and whether it was to solve.
	dirty *roaring.Bitmap
	all   bool
	solve bool
	// abandoned is set once, by a stopping background loop; from then on
	// no build publishes and snapState does not wait for refreshMu.
	abandoned bool
	// solvePending: the abandoned build was to solve.
	solvePending bool
	// testInFlight, when set (tests only), runs in every build after it
	// took its marks: a test holds a build there to close the store under
	// it.
	testInFlight func()
}

// take takes the index's marks for a build, as index.takeStale(pol), and
// records them with whether the build solves (solves, given all); ok is
// false, and nothing is taken, once the store is closing. The caller holds
// refreshMu.
func (b *buildState) take(x *index, pol *lagPolicy, solves func(all bool) bool) (dirty *roaring.Bitmap, all, solve bool, seq uint64, ok bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.abandoned {
		return nil, false, false, 0, false
	}
	dirty, all, seq = x.takeStale(pol)
	solve = solves(all)
	b.active, b.dirty, b.all, b.solve = true, dirty, all, solve
	return dirty, all, solve, seq, true
}

// publish runs f (which stores the built model) unless the build was
// abandoned, and ends the build. The caller holds refreshMu.
func (b *buildState) publish(f func()) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.active, b.dirty = false, nil
	if !b.abandoned {
		f()
	}
}

// abandon stops the build in flight, if any, from publishing and puts its
// marks back in x, and reports whether there was one. Every later build is abandoned too (the store is
// closing).
func (b *buildState) abandon(x *index) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.abandoned = true
	if !b.active {
		return false
	}
	b.active = false
	b.solvePending = b.solve
	x.mu.Lock()
	defer x.mu.Unlock()
	if b.all {
		x.all = true
	} else if b.dirty != nil {
		x.dirty.Or(b.dirty)
	}
	return true
}

// closing reports whether a build was abandoned (snapState then takes the
// served state without refreshMu, which the build may still hold) and
// whether it was to solve.
func (b *buildState) closing() (abandoned, solvePending bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.abandoned, b.solvePending
}

// refreshUnlessStopped runs refresh(mode) for the background loop, giving
// it up when the store stops first (see buildState).
func (s *Store) refreshUnlessStopped(mode refreshMode) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		s.refresh(mode)
	}()
	select {
	case <-done:
	case <-s.stop:
		if s.builds.abandon(s.idx) {
			s.log.Info("closing: the model build in flight is abandoned; its lists are rebuilt after the next start")
		}
	}
}
