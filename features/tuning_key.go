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

// keptTuning is what keyTuning holds: the tuning and the configured
// options it was made under. A load takes it only under the same options,
// the rule a snapshot's model follows (snapshot_load.go): a changed
// similarity, tuner setting or neighbour count drops the old choice, and
// the store tunes again.
type keptTuning struct {
	Options NeighbourOptions `json:"options"`
	Tuning  *Tuning          `json:"tuning"`
}

// saveTuning keeps t under keyTuning. A failure (a read-only store, a full
// disk) is logged: the tuning still serves, and the snapshot keeps it.
func (s *Store) saveTuning(t *Tuning) {
	b, err := json.Marshal(keptTuning{Options: s.opts.Neighbours, Tuning: t})
	if err == nil {
		err = s.db.Update(func(txn *badger.Txn) error { return txn.Set([]byte(keyTuning), b) })
	}
	if err != nil {
		s.log.Warn("cannot keep the model tuning in the store; a restored backup tunes again", "err", err)
	}
}

// loadTuning reads the tuning kept under keyTuning, or nil when there is
// none, it was made under other options, or it cannot be read (the store
// then tunes again, as before).
func (s *Store) loadTuning() *Tuning {
	var k keptTuning
	err := s.db.View(func(txn *badger.Txn) error {
		it, err := txn.Get([]byte(keyTuning))
		if err != nil {
			return err
		}
		return it.Value(func(b []byte) error { return json.Unmarshal(b, &k) })
	})
	if err != nil {
		if !errors.Is(err, badger.ErrKeyNotFound) {
			s.log.Warn("cannot read the kept model tuning; the store tunes again", "err", err)
		}
		return nil
	}
	if k.Options != s.opts.Neighbours {
		return nil
	}
	return k.Tuning
}

// keepSnapshotTuning writes the tuning a snapshot's model came with under
// keyTuning when the key lacks it (a store upgraded from a version that
// kept it only in the snapshot), so that its next backup carries it.
func (s *Store) keepSnapshotTuning(t *Tuning) {
	if t != nil && s.loadTuning() == nil {
		s.saveTuning(t)
	}
}
