package features

import (
	"errors"
	"fmt"
	"strconv"
)

// Erasure journals let services that erase a customer's data after the
// store has (offers, experiments: their OnErase hooks queue the work for a
// background goroutine) finish the job after a crash. EraseCustomer writes
// one journal record per registered service in the same batch as its own
// deletions; the service deletes its record once its part is done and, on
// start, finishes every record still there. A record holds the external id
// only until then, in its value: its key is the customer's internal id, so
// that the deletion marker Badger keeps for a while does not carry the
// external id (records of earlier builds are keyed by it, and hold nothing).

const kindErasure = "erasure/"

// AddJournal registers a service's erasure journal; call it before the
// service's OnErase hook is added, and before any erasure it must see.
func (r *Records) AddJournal(name string) {
	s := r.s
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

// journalKey is the record id of customer c's entry in a journal.
func journalKey(c uint32) string { return strconv.FormatUint(uint64(c), 10) }

// Pending lists the customers whose erasure the journal's service has not
// confirmed yet.
func (r *Records) Pending(name string) ([]string, error) {
	var ids []string
	err := r.eachJournalEntry(name, func(_, ext string) {
		ids = append(ids, ext)
	})
	if err != nil {
		return nil, fmt.Errorf("cannot read the %s erasure journal: %w", name, err)
	}
	return ids, nil
}

// eachJournalEntry calls fn with the record id and the external id of
// every entry of journal name.
func (r *Records) eachJournalEntry(name string, fn func(key, ext string)) error {
	return r.List(kindErasure+name, func(key string, v []byte) error {
		if len(v) == 0 {
			fn(key, key) // an earlier build's entry, keyed by the external id
		} else {
			fn(key, string(v))
		}
		return nil
	})
}

// Done confirms that the journal's service finished erasing ext: it leaves
// the journal.
func (r *Records) Done(name, ext string) error {
	// Journals hold the few erasures not yet done: a scan is cheap.
	var keys []string
	if err := r.eachJournalEntry(name, func(key, e string) {
		if e == ext {
			keys = append(keys, key)
		}
	}); err != nil {
		return fmt.Errorf("cannot read the %s erasure journal: %w", name, err)
	}
	for _, k := range keys {
		// Local: each node's service finishes its own erasure (cluster mode).
		if err := r.s.do(func() error { return r.deleteLocked(kindErasure+name, k) }); err != nil && !errors.Is(err, ErrNotFound) {
			return err
		}
	}
	return nil
}
