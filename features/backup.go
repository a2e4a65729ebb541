package features

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/dgraph-io/badger/v4"
	"github.com/dgraph-io/badger/v4/pb"
	"google.golang.org/protobuf/proto"
)

// backupBatch is about how many key and value bytes one backup record
// holds: what a backup keeps in memory at once, whatever the store's size.
const backupBatch = 4 << 20

// Backup writes a copy of the store as it was at one moment to w, as it
// reads it (Badger's backup format, which Restore and `badger restore`
// load), and returns the bytes written. Safe while serving.
//
// Badger's own DB.Backup reads with one transaction per stream goroutine,
// each at its own timestamp: under writes, a copy held events whose
// dictionary entries were not in it. Here every key is read in one
// transaction, opened in the writer goroutine between two commits, so the
// copy holds each write batch whole or not at all. It holds only the live
// version of each key: no older version and no deletion marker (whose key
// may be an erased customer's id).
func (s *Store) Backup(w io.Writer) (int64, error) {
	var txn *badger.Txn
	if err := s.do(func() error {
		txn = s.db.NewTransaction(false)
		return nil
	}); err != nil {
		return 0, fmt.Errorf("cannot back up: %w", err)
	}
	defer txn.Discard()
	cw := &countWriter{w: w}
	if err := writeBackup(txn, cw); err != nil {
		return cw.n, fmt.Errorf("cannot back up: %w", err)
	}
	return cw.n, nil
}

func writeBackup(txn *badger.Txn, w io.Writer) error {
	it := txn.NewIterator(badger.IteratorOptions{PrefetchValues: true, PrefetchSize: 100})
	defer it.Close()
	var list pb.KVList
	size := 0
	var buf []byte
	send := func() error {
		if len(list.Kv) == 0 {
			return nil
		}
		var err error
		n := proto.Size(&list)
		buf = binary.LittleEndian.AppendUint64(buf[:0], uint64(n))
		if buf, err = (proto.MarshalOptions{}).MarshalAppend(buf, &list); err != nil {
			return err
		}
		if _, err := w.Write(buf); err != nil {
			return err
		}
		list.Kv, size = list.Kv[:0], 0
		return nil
	}
	for it.Rewind(); it.Valid(); it.Next() {
		item := it.Item()
		v, err := item.ValueCopy(nil)
		if err != nil {
			return err
		}
		list.Kv = append(list.Kv, &pb.KV{
			Key:       item.KeyCopy(nil),
			Value:     v,
			UserMeta:  []byte{item.UserMeta()},
			Version:   item.Version(),
			ExpiresAt: item.ExpiresAt(),
		})
		if size += len(item.Key()) + len(v); size >= backupBatch {
			if err := send(); err != nil {
				return err
			}
		}
	}
	return send()
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

// Restore loads a backup into a new store at dir, which must be empty or
// absent, and checks it (Check's store-wide part): a backup that does not
// pass is refused and what was loaded removed. The next Open derives the
// state from it (the snapshot inside is used when valid).
func Restore(dir string, r io.Reader, log *slog.Logger) error {
	if entries, err := os.ReadDir(dir); err == nil && len(entries) > 0 {
		return fmt.Errorf("%w: refusing to restore into %s: it is not empty", ErrInvalid, dir)
	}
	o := DefaultOptions(dir)
	o.Logger = log
	if err := o.Validate(); err != nil {
		return err
	}
	o = o.withDefaults()
	db, err := openBadger(o)
	if err != nil {
		return fmt.Errorf("cannot open %s for restore: %w", dir, err)
	}
	err = db.Load(r, 256)
	if err != nil {
		err = fmt.Errorf("cannot restore: %w", err)
	} else {
		var rep CheckReport
		err = db.View(func(txn *badger.Txn) error { return checkDB(txn, nil, &rep) })
		if err == nil {
			err = rep.Err()
		}
		if err != nil {
			err = fmt.Errorf("the backup is not usable, nothing restored: %w", err)
		}
	}
	if cerr := db.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("cannot close restored store: %w", cerr)
	}
	if err != nil {
		removeContents(dir)
	}
	return err
}

// removeContents empties dir (which Restore found empty).
func removeContents(dir string) {
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		_ = os.RemoveAll(filepath.Join(dir, e.Name()))
	}
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

var errBackupInconsistent = errors.New("store is not consistent")
