package features

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/dgraph-io/badger/v4"
)

// BackupView is one point-in-time view of the store for a backup that must
// say which cluster stream sequence it includes (a bootstrap snapshot is
// named by it before its bytes are written, cluster/node/bootstrap.go):
// Seq and WriteTo read the same transaction, so the copy holds exactly the
// messages up to Seq. Close it when done (it pins Badger's read timestamp).
type BackupView struct {
	txn *badger.Txn
	seq uint64
	// derived is the derived-state snapshot file the view's snapshot header
	// names, opened while the view was (nil when there is none, or when a
	// newer snapshot had already replaced and deleted it): a store restored
	// from the view with this file beside it loads its state instead of
	// replaying its whole log.
	derived     *os.File
	derivedName string
}

// BackupView opens the view between two commits of the writer, as Backup
// does, so it holds each write batch whole or not at all.
func (s *Store) BackupView() (*BackupView, error) {
	var txn *badger.Txn
	if err := s.do(func() error {
		txn = s.db.NewTransaction(false)
		return nil
	}); err != nil {
		return nil, fmt.Errorf("cannot back up: %w", err)
	}
	v := &BackupView{txn: txn}
	it, err := txn.Get(keyStr(keyStreamSeq, ""))
	switch {
	case errors.Is(err, badger.ErrKeyNotFound):
	case err != nil:
		txn.Discard()
		return nil, fmt.Errorf("cannot back up: %w", err)
	default:
		err = it.Value(func(b []byte) error {
			if len(b) != 8 {
				return fmt.Errorf("stream sequence value of %d bytes", len(b))
			}
			v.seq = binary.BigEndian.Uint64(b)
			return nil
		})
		if err != nil {
			txn.Discard()
			return nil, fmt.Errorf("cannot back up: %w", err)
		}
	}
	v.openDerived(s.opts.Dir)
	return v, nil
}

// openDerived opens the snapshot file named by the view's header. Any
// problem leaves it out: the restored store then replays its log, which
// is slower but the same state.
func (v *BackupView) openDerived(dir string) {
	it, err := v.txn.Get([]byte(keySnapshotMeta))
	if err != nil {
		return
	}
	var m snapMeta
	if it.Value(func(b []byte) error { return json.Unmarshal(b, &m) }) != nil || m.File == "" {
		return
	}
	if f, err := os.Open(filepath.Join(dir, m.File)); err == nil {
		v.derived, v.derivedName = f, m.File
	}
}

// Derived is the derived-state snapshot file that goes with the view (its
// name in the data directory, and the open file), or nil.
func (v *BackupView) Derived() (string, *os.File) { return v.derivedName, v.derived }

// Seq is the last cluster stream sequence the view includes (0: none).
func (v *BackupView) Seq() uint64 { return v.seq }

// WriteTo writes the view in Backup's format (Restore loads it).
func (v *BackupView) WriteTo(w io.Writer) (int64, error) {
	cw := &countWriter{w: w}
	if err := writeBackup(v.txn, cw); err != nil {
		return cw.n, fmt.Errorf("cannot back up: %w", err)
	}
	return cw.n, nil
}

// Close releases the view.
func (v *BackupView) Close() {
	if v.derived != nil {
		v.derived.Close()
	}
	v.txn.Discard()
}
