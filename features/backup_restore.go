package features

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/dgraph-io/badger/v4"

	"github.com/affinity-rec/affinity/features/leftover"
)

// Restore loads a backup into a new store at dir, which must be empty or
// absent, checking the file's trailer (backup_format.go) and then the
// store (Check's store-wide part). The next Open derives the state from it
// (the snapshot inside is used when valid). A snapshot kept in a file
// beside Badger's is not in a backup: its header, which names the file, is
// dropped, so the first start replays the log as it does for a store
// without a snapshot, with no warning about a file that was never there.
//
// It loads into a new directory beside dir and renames it to dir only when
// all of it loaded and passed: a restore that fails, or is stopped or
// killed part-way, leaves dir as it was (a killed one leaves the
// .NAME.restoring-* directory beside it, which nothing opens). Loading
// into dir itself left a half-loaded store that served as ready, and a
// second restore refused it as not empty.
func Restore(dir string, r io.Reader, log *slog.Logger) error {
	return restore(dir, r, log, false, false)
}

// RestoreSnapshot is Restore for a backup whose transport checked it whole:
// a cluster's bootstrap snapshot, which JetStream's object store keeps with
// a SHA-256 digest of the object and checks on reading. A backup written
// before the end record existed is loaded too (its completeness is the
// digest's), so that a node of this build can bootstrap from a snapshot an
// older node published during a rolling upgrade. The store is still
// checked (every event's ids resolve) before it is put in place. The
// snapshot file travels beside it in the bootstrap object, so the header
// naming it stays.
func RestoreSnapshot(dir string, r io.Reader, log *slog.Logger) error {
	return restore(dir, r, log, true, true)
}

// restore is Restore; legacyOK takes files without the end record, and
// withFile keeps the header of a snapshot kept in a file (the caller puts
// the file in place).
func restore(dir string, r io.Reader, log *slog.Logger, legacyOK, withFile bool) error {
	dir = filepath.Clean(dir)
	if entries, err := os.ReadDir(dir); err == nil && len(entries) > 0 {
		return fmt.Errorf("%w: refusing to restore into %s: it is not empty", ErrInvalid, dir)
	} else if err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("cannot restore into %s: %w", dir, err)
	}
	parent := filepath.Dir(dir)
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return fmt.Errorf("cannot restore into %s: %w", dir, err)
	}
	// Directories of earlier restores of dir that were killed (unclaimed,
	// a minute old; features/leftover) go first: one can be as large as
	// the store. A restore's own directory needs no leftover.Claim: Badger
	// holds an exclusive flock on its directory while it is open, which is
	// the same lock Sweep tries (and a second one would stop Badger
	// opening it).
	for _, old := range leftover.Sweep(parent, "."+leftover.Escape(filepath.Base(dir))+".restoring-*") {
		if log != nil {
			log.Warn("removed the directory of an interrupted restore", "dir", old)
		}
	}
	tmp, err := os.MkdirTemp(parent, "."+filepath.Base(dir)+".restoring-")
	if err != nil {
		return fmt.Errorf("cannot restore into %s: %w", dir, err)
	}
	if err := loadInto(tmp, r, log, legacyOK, withFile); err != nil {
		os.RemoveAll(tmp)
		return err
	}
	err = syncDir(tmp)
	if err == nil {
		err = replaceEmpty(tmp, dir)
	}
	if err == nil {
		return syncDir(parent)
	}
	os.RemoveAll(tmp)
	return fmt.Errorf("cannot put the restored store at %s: %w", dir, err)
}

// loadInto loads and checks the backup in the new store dir.
func loadInto(dir string, r io.Reader, log *slog.Logger, legacyOK, withFile bool) error {
	db, err := openBadgerDir(dir, log)
	if err != nil {
		return fmt.Errorf("cannot open %s for restore: %w", dir, err)
	}
	err = db.Load(newVerifyingReader(r, legacyOK), 256)
	switch {
	case errors.Is(err, ErrBackupLegacy):
		err = fmt.Errorf("cannot restore: %w. It was written by an affinity older than this one "+
			"(before backups ended with a checked end record), or it is not a backup: "+
			"whether it is complete cannot be checked, so it is refused. Take a new backup of the "+
			"source store with this affinity; if the source is gone, Badger's own tool loads the file "+
			"unchecked (badger restore --dir DIR --backup-file FILE) and affinity serve --data DIR opens it", err)
	case err != nil:
		err = fmt.Errorf("cannot restore, nothing restored: %w", err)
	default:
		var rep CheckReport
		err = db.View(func(txn *badger.Txn) error { return checkDB(txn, nil, &rep) })
		if err == nil {
			err = rep.Err()
		}
		if err != nil {
			err = fmt.Errorf("the backup is not usable, nothing restored: %w", err)
		}
		if err == nil && !withFile {
			err = dropFileSnapshotHeader(db)
		}
	}
	if cerr := db.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("cannot close restored store: %w", cerr)
	}
	return err
}

// dropFileSnapshotHeader deletes the snapshot header when it names a file
// (which a backup does not carry); a snapshot kept in Badger's chunks came
// with the backup and stays.
func dropFileSnapshotHeader(db *badger.DB) error {
	return db.Update(func(txn *badger.Txn) error {
		it, err := txn.Get([]byte(keySnapshotMeta))
		if errors.Is(err, badger.ErrKeyNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		var m snapMeta
		if err := it.Value(func(v []byte) error { return json.Unmarshal(v, &m) }); err != nil || m.File == "" {
			return nil // unreadable: the first start warns about it, as before
		}
		return txn.Delete([]byte(keySnapshotMeta))
	})
}

// replaceEmpty renames dir from to the empty or absent dir to. Go's
// os.Rename refuses an existing directory as the target, so the empty one
// is removed first (os.Remove fails if anything appeared in it meanwhile).
func replaceEmpty(from, to string) error {
	if err := os.Remove(to); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	return os.Rename(from, to)
}
