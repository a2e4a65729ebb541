package features

// ErasureRebuilds is how many model rebuilds erasures caused so far, for
// the erasure benchmark (package features_test).
func (s *Store) ErasureRebuilds() uint64 { return s.erasures.rebuilds.Load() }

// SettleErasures waits for the background work of the erasures so far.
func (s *Store) SettleErasures() { s.settleErasures() }

// ErasureBatches is how many batches the erasures so far were done in.
func (s *Store) ErasureBatches() uint64 { return s.eraseQ.batches.Load() }
