package features

import (
	"encoding/json"
	"errors"

	"github.com/dgraph-io/badger/v4"
)

// The self-tuner's result lives in the derived-state snapshot with the
// model it tuned, which a backup does not carry: a restored store rebuilt
// its model untuned and served different personal lists until the tuner
// ran again, DenseInterval later (all eight customers probed on the 1M
// store had a different top 10). So each new tuning is also kept in
// Badger under keyTuning, a few hundred bytes written once a TuneInterval
// at most, and a load without a snapshot model takes it from there.

// saveTuning keeps t under keyTuning. A failure (a read-only store, a full
// disk) is logged: the tuning still serves, and the snapshot keeps it.
func (s *Store) saveTuning(t *Tuning) {
	b, err := json.Marshal(t)
	if err == nil {
		err = s.db.Update(func(txn *badger.Txn) error { return txn.Set([]byte(keyTuning), b) })
	}
	if err != nil {
		s.log.Warn("cannot keep the model tuning in the store; a restored backup tunes again", "err", err)
	}
}

// loadTuning reads the tuning kept under keyTuning, or nil when there is
// none or it cannot be read (the store then tunes again, as before).
func (s *Store) loadTuning() *Tuning {
	var t *Tuning
	err := s.db.View(func(txn *badger.Txn) error {
		it, err := txn.Get([]byte(keyTuning))
		if err != nil {
			return err
		}
		return it.Value(func(b []byte) error {
			t = new(Tuning)
			return json.Unmarshal(b, t)
		})
	})
	if err != nil {
		if !errors.Is(err, badger.ErrKeyNotFound) {
			s.log.Warn("cannot read the kept model tuning; the store tunes again", "err", err)
		}
		return nil
	}
	return t
}
