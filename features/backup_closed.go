package features

import (
	"errors"
	"fmt"
	"io"
	"log/slog"

	"github.com/dgraph-io/badger/v4"
)

// BackupClosed writes a backup of the store in dir, which no process has
// open, in Backup's format, reading Badger alone. `affinity backup` opened
// the whole store for it, which loads the index and, without a current
// snapshot, rebuilds the model first (48 s on a 1M-event store after a
// restore), all for a copy of Badger's keys. No key in dir is written
// (Open can write keys as it loads); Badger replays its own write-ahead
// log, with the memtable size an interrupted run left, after the empty
// logs such a run can leave are removed (openBadger). It refuses a
// directory whose Badger holds no Affinity store.
func BackupClosed(dir string, w io.Writer, log *slog.Logger) (int64, error) {
	db, err := openBadgerDir(dir, log)
	if err != nil {
		return 0, fmt.Errorf("cannot open %s: %w", dir, err)
	}
	defer db.Close()
	txn := db.NewTransaction(false)
	defer txn.Discard()
	if _, err := txn.Get([]byte(schemaVersionName)); errors.Is(err, badger.ErrKeyNotFound) {
		return 0, fmt.Errorf("%w: %s holds no Affinity store", ErrInvalid, dir)
	} else if err != nil {
		return 0, fmt.Errorf("cannot back up: %w", err)
	}
	cw := &countWriter{w: w}
	if err := writeBackup(txn, cw); err != nil {
		return cw.n, fmt.Errorf("cannot back up: %w", err)
	}
	return cw.n, nil
}
