package features

import (
	"errors"
	"fmt"
	"io"

	"github.com/dgraph-io/badger/v4"
	"github.com/dgraph-io/badger/v4/pb"
)

// backupBatch is about how many key and value bytes one backup record
// holds: what a backup keeps in memory at once, whatever the store's size.
const backupBatch = 4 << 20

// Backup writes a copy of the store as it was at one moment to w, as it
// reads it (Badger's backup format between a header and a trailer of
// Affinity's own, backup_format.go: Restore and `badger restore` load it),
// and returns the bytes written. Safe while serving.
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

// writeBackup writes the header, every live key, and the trailer last
// (backup_format.go): a file that stops anywhere before the trailer's end
// does not restore.
func writeBackup(txn *badger.Txn, w io.Writer) error {
	fw := newFrameWriter(w)
	if err := fw.header(); err != nil {
		return err
	}
	it := txn.NewIterator(badger.IteratorOptions{PrefetchValues: true, PrefetchSize: 100})
	defer it.Close()
	var list pb.KVList
	size := 0
	send := func() error {
		if len(list.Kv) == 0 {
			return nil
		}
		err := fw.data(&list)
		list.Kv, size = list.Kv[:0], 0
		return err
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
	if err := send(); err != nil {
		return err
	}
	return fw.trailer()
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
