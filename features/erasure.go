package features

import (
	"errors"
	"fmt"
)

// Erasure journals let services that erase a customer's data after the
// store has (offers, experiments: their OnErase hooks queue the work for a
// background goroutine) finish the job after a crash. EraseCustomer writes
// one journal record per registered service in the same batch as its own
// deletions; the service deletes its record once its part is done and, on
// start, finishes every record still there. A record holds the external id
// only until then.

const kindErasure = "erasure/"

// AddErasureJournal registers a service's journal; call it before the
// service's OnErase hook is added, and before any erasure it must see.
func (s *Store) AddErasureJournal(name string) {
	s.hooksMu.Lock()
	defer s.hooksMu.Unlock()
	for _, n := range s.journals {
		if n == name {
			return
		}
	}
	s.journals = append(s.journals, name)
}

func (s *Store) erasureJournals() []string {
	s.hooksMu.RLock()
	defer s.hooksMu.RUnlock()
	return append([]string(nil), s.journals...)
}

// PendingErasures lists the customers whose erasure journal's service has
// not confirmed yet.
func (s *Store) PendingErasures(name string) ([]string, error) {
	var ids []string
	err := s.ListRecords(kindErasure+name, func(id string, _ []byte) error {
		ids = append(ids, id)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("cannot read the %s erasure journal: %w", name, err)
	}
	return ids, nil
}

// ErasureDone removes customer ext from the service's journal.
func (s *Store) ErasureDone(name, ext string) error {
	err := s.DeleteRecord(kindErasure+name, ext)
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	return err
}
