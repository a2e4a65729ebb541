package features

// Records is the part of the store that services beside ranking keep their
// own state in (offers, experiments, segment definitions): named records,
// append-only logs and erasure journals. It is a view of the Store, so that
// those services depend on this small set of methods instead of the whole
// Store; only this package touches Badger.
type Records struct{ s *Store }

// Records returns the store's record view.
func (s *Store) Records() *Records { return &Records{s: s} }

// Put stores value under (kind, id).
func (r *Records) Put(kind, id string, value []byte) error { return r.s.PutRecord(kind, id, value) }

// Get returns the value under (kind, id), or ErrNotFound.
func (r *Records) Get(kind, id string) ([]byte, error) { return r.s.GetRecord(kind, id) }

// Delete removes (kind, id); ErrNotFound when absent.
func (r *Records) Delete(kind, id string) error { return r.s.DeleteRecord(kind, id) }

// List calls fn for every record of kind, in id order; value is valid only
// during the call.
func (r *Records) List(kind string, fn func(id string, value []byte) error) error {
	return r.s.ListRecords(kind, fn)
}

// Append durably appends entries to the named log and returns the sequence
// of the first.
func (r *Records) Append(kind string, entries [][]byte) (uint64, error) {
	return r.s.AppendLog(kind, entries)
}

// Scan calls fn for each entry of the named log with sequence > after, in
// order; value is valid only during the call.
func (r *Records) Scan(kind string, after uint64, fn func(seq uint64, value []byte) error) error {
	return r.s.ScanLog(kind, after, fn)
}

// DeleteEntries removes entries of the named log (erasure).
func (r *Records) DeleteEntries(kind string, seqs []uint64) error {
	return r.s.DeleteLogEntries(kind, seqs)
}

// AddJournal registers a service's erasure journal; call it before the
// service's OnErase hook is added.
func (r *Records) AddJournal(name string) { r.s.AddErasureJournal(name) }

// Pending lists the customers whose erasure the journal's service has not
// confirmed yet.
func (r *Records) Pending(name string) ([]string, error) { return r.s.PendingErasures(name) }

// Done confirms that the journal's service finished erasing ext.
func (r *Records) Done(name, ext string) error { return r.s.ErasureDone(name, ext) }

// Erased reports whether a customer id was erased (and not written since).
func (r *Records) Erased(ext string) bool { return r.s.Erased(ext) }
