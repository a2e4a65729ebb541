package features

import "time"

// reopenAfterCrash refreshes the snapshot's model for a replayed log tail
// without the dense solve: the lists the tail made stale are counted again
// (those of a basis EASE does not serve, supports and popularity), the
// dense lists are the snapshot's, and the solve is marked due, so the
// background loop runs it on its first paced refresh after the store is
// open. The caller is load, with the snapshot's model stored.
func (s *Store) reopenAfterCrash() {
	s.denseStale = s.snapSolvePending
	s.refresh(refreshNoSolve)
	s.denseAt = time.Time{}
}
