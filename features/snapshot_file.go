package features

import (
	"bufio"
	"encoding/json"
	"fmt"
	"hash"
	"hash/crc32"
	"os"
	"path/filepath"

	"github.com/dgraph-io/badger/v4"
)

// chunkWriter writes a snapshot file and its checksum. Not safe for
// concurrent use.
type chunkWriter struct {
	dir, name string
	f         *os.File
	w         *bufio.Writer
	size      int64
	crc       hash.Hash32
	done      bool
}

func snapFileName(gen uint64) string { return fmt.Sprintf("snapshot-%d.bin", gen) }

func newChunkWriter(dir string, gen uint64) (*chunkWriter, error) {
	name := snapFileName(gen)
	f, err := os.Create(filepath.Join(dir, name+".tmp"))
	if err != nil {
		return nil, fmt.Errorf("cannot write snapshot: %w", classifyErr(err))
	}
	return &chunkWriter{dir: dir, name: name, f: f, w: bufio.NewWriterSize(f, 1<<20), crc: crc32.New(castagnoli)}, nil
}

func (c *chunkWriter) write(b []byte) error {
	c.crc.Write(b)
	if _, err := c.w.Write(b); err != nil {
		return fmt.Errorf("cannot write snapshot: %w", classifyErr(err))
	}
	c.size += int64(len(b))
	return nil
}

// finish makes the file durable under its final name.
func (c *chunkWriter) finish() error {
	err := c.w.Flush()
	if err == nil {
		err = c.f.Sync()
	}
	if cerr := c.f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(filepath.Join(c.dir, c.name+".tmp"), filepath.Join(c.dir, c.name))
	}
	if err == nil {
		err = syncDir(c.dir)
	}
	if err != nil {
		return fmt.Errorf("cannot write snapshot: %w", classifyErr(err))
	}
	c.done = true
	return nil
}

// abort removes an unfinished file.
func (c *chunkWriter) abort() {
	if !c.done {
		c.f.Close()
		os.Remove(filepath.Join(c.dir, c.name+".tmp"))
	}
}

// syncDir makes a rename in dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}

// removeStraySnapshots deletes snapshot files other than keep (left by a
// crash between writing a file and switching the header).
func (s *Store) removeStraySnapshots(keep string) {
	names, _ := filepath.Glob(filepath.Join(s.opts.Dir, "snapshot-*.bin*"))
	for _, n := range names {
		if filepath.Base(n) != keep {
			os.Remove(n)
		}
	}
}

func (s *Store) readSnapMeta(m *snapMeta) error {
	return s.db.View(func(txn *badger.Txn) error {
		it, err := txn.Get([]byte(keySnapshotMeta))
		if err != nil {
			return err
		}
		return it.Value(func(v []byte) error { return json.Unmarshal(v, m) })
	})
}

func (s *Store) deleteSnapGen(old snapMeta) {
	if old.File != "" {
		if err := os.Remove(filepath.Join(s.opts.Dir, old.File)); err != nil && !os.IsNotExist(err) {
			s.log.Warn("cannot delete old snapshot", "err", err)
		}
		return
	}
	prefix := keyU64(prefixSnapshot, old.Gen)
	var keys [][]byte
	_ = s.db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: prefix})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			keys = append(keys, it.Item().KeyCopy(nil))
		}
		return nil
	})
	wb := s.db.NewWriteBatch()
	defer wb.Cancel()
	for _, k := range keys {
		_ = wb.Delete(k)
	}
	if err := wb.Flush(); err != nil {
		s.log.Warn("cannot delete old snapshot", "err", err)
	}
}

// readSnapshotCopy reads the file into memory; release is a no-op.
func readSnapshotCopy(path string) ([]byte, func(), error) {
	b, err := os.ReadFile(path)
	return b, func() {}, err
}

// GetRecordRaw reads a raw key (tests and tools).
func (s *Store) GetRecordRaw(k []byte) ([]byte, error) {
	var out []byte
	err := s.db.View(func(txn *badger.Txn) error {
		it, err := txn.Get(k)
		if err != nil {
			return err
		}
		out, err = it.ValueCopy(nil)
		return err
	})
	return out, err
}
