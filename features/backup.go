package features

import (
	"fmt"
	"io"
	"log/slog"

	"github.com/dgraph-io/badger/v4"
)

// Backup streams a full, consistent copy of the store to w (Badger's
// backup format) and returns the bytes written. Safe while serving.
func (s *Store) Backup(w io.Writer) (int64, error) {
	cw := &countWriter{w: w}
	if _, err := s.db.Backup(cw, 0); err != nil {
		return cw.n, fmt.Errorf("cannot back up: %w", err)
	}
	return cw.n, nil
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// Restore loads a backup into a new store at dir; the next Open derives the
// state from it (the snapshot inside is used when valid).
func Restore(dir string, r io.Reader, log *slog.Logger) error {
	o := DefaultOptions(dir)
	o.Logger = log
	if err := o.Validate(); err != nil {
		return err
	}
	db, err := openBadger(o)
	if err != nil {
		return fmt.Errorf("cannot open %s for restore: %w", dir, err)
	}
	if err := db.Load(r, 256); err != nil {
		db.Close()
		return fmt.Errorf("cannot restore: %w", err)
	}
	if err := db.Close(); err != nil {
		return fmt.Errorf("cannot close restored store: %w", err)
	}
	return nil
}

// scanAll calls fn for every live key and value (tests of erasure).
func (s *Store) scanAll(fn func(k, v []byte)) error {
	return s.db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.DefaultIteratorOptions)
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			v, err := it.Item().ValueCopy(nil)
			if err != nil {
				return err
			}
			fn(it.Item().Key(), v)
		}
		return nil
	})
}
