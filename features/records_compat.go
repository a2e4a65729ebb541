package features

// The Store's record methods of before Records, kept only while
// recommend's experiment and offer services still call them: they move to
// their own packages that use Store.Records(). Delete this file then.

// PutRecord is Records().Put.
func (s *Store) PutRecord(kind, id string, value []byte) error {
	return s.Records().Put(kind, id, value)
}

// GetRecord is Records().Get.
func (s *Store) GetRecord(kind, id string) ([]byte, error) { return s.Records().Get(kind, id) }

// DeleteRecord is Records().Delete.
func (s *Store) DeleteRecord(kind, id string) error { return s.Records().Delete(kind, id) }

// ListRecords is Records().List.
func (s *Store) ListRecords(kind string, fn func(id string, value []byte) error) error {
	return s.Records().List(kind, fn)
}

// AppendLog is Records().Append.
func (s *Store) AppendLog(kind string, entries [][]byte) (uint64, error) {
	return s.Records().Append(kind, entries)
}

// ScanLog is Records().Scan.
func (s *Store) ScanLog(kind string, after uint64, fn func(seq uint64, value []byte) error) error {
	return s.Records().Scan(kind, after, fn)
}

// DeleteLogEntries is Records().DeleteEntries.
func (s *Store) DeleteLogEntries(kind string, seqs []uint64) error {
	return s.Records().DeleteEntries(kind, seqs)
}

// AddErasureJournal is Records().AddJournal.
func (s *Store) AddErasureJournal(name string) { s.Records().AddJournal(name) }

// PendingErasures is Records().Pending.
func (s *Store) PendingErasures(name string) ([]string, error) { return s.Records().Pending(name) }

// ErasureDone is Records().Done.
func (s *Store) ErasureDone(name, ext string) error { return s.Records().Done(name, ext) }
