package features

import (
	"encoding/binary"
	"fmt"

	"github.com/dgraph-io/badger/v4"
)

// Append-only logs of the services beside ranking (exposures, responses,
// outcomes), part of Records. Their sequences are their own, apart from
// the event log's.

// Append durably appends entries to the named log and returns the sequence
// of the first. Entries are kept in order, and sequences only grow while
// the process runs, across deletions too. In cluster mode the entries are
// one message of the log and their sequences are assigned when it is
// applied, in log order, so they are the same on every node; Append
// returns once this node has applied it.
func (r *Records) Append(kind string, entries [][]byte) (uint64, error) {
	s := r.s
	if s.ops != nil && !s.ops.watch.isLocal(kind) {
		return r.appendViaLog(kind, entries)
	}
	var first uint64
	err := s.do(func() error {
		var err error
		first, err = r.appendLocked(kind, entries)
		return err
	})
	return first, err
}

// MaxAppendBytes bounds the entries of one cluster log message (NATS
// refuses messages over 1 MB by default). Append splits larger batches
// into several messages, and another node's entries may come between
// them: the returned sequence is then the first of the first message
// only. A caller that keeps each entry's sequence appends at most this
// many bytes at once.
const MaxAppendBytes = 512 << 10

// appendViaLog publishes entries as few messages as MaxAppendBytes allows
// and returns the first sequence of the first.
func (r *Records) appendViaLog(kind string, entries [][]byte) (uint64, error) {
	var first uint64
	for len(entries) > 0 {
		n, size := 0, 0
		for n < len(entries) && (n == 0 || size+len(entries[n]) <= MaxAppendBytes) {
			size += len(entries[n])
			n++
		}
		fields := make([][]byte, 0, 1+n)
		fields = append(fields, []byte(kind))
		fields = append(fields, entries[:n]...)
		res, err := r.s.submitOp(OpRecordAppend, "", fields, nil)
		if err != nil {
			return 0, err
		}
		if first == 0 {
			first = res.first
		}
		entries = entries[n:]
	}
	return first, nil
}

// appendLocked appends entries and returns the first's sequence; writer
// goroutine only.
func (r *Records) appendLocked(kind string, entries [][]byte) (uint64, error) {
	s := r.s
	var first uint64
	err := func() error {
		last, ok := s.appendSeq[kind]
		if !ok {
			// Once per log and process: a reverse iterator per append was
			// a seek through every table for each exposure batch.
			var err error
			if last, err = r.lastSeq(kind); err != nil {
				return err
			}
		}
		first = last + 1
		wb := s.db.NewWriteBatch()
		defer wb.Cancel()
		for i, e := range entries {
			if err := wb.Set(keyAppendLog(kind, first+uint64(i)), e); err != nil {
				delete(s.appendSeq, kind)
				return fmt.Errorf("cannot append to %s: %w", kind, classifyErr(err))
			}
		}
		if err := s.flush(wb); err != nil {
			delete(s.appendSeq, kind) // read it back from Badger next time
			return err
		}
		s.appendSeq[kind] = last + uint64(len(entries))
		return nil
	}()
	return first, err
}

func (r *Records) lastSeq(kind string) (uint64, error) {
	prefix := []byte(prefixAppendLog + kind + "\x00")
	var last uint64
	err := r.s.db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: prefix, Reverse: true})
		defer it.Close()
		seek := append(append([]byte{}, prefix...), 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff)
		it.Seek(seek)
		if it.Valid() {
			last = binary.BigEndian.Uint64(it.Item().Key()[len(prefix):])
		}
		return nil
	})
	return last, err
}

// Scan calls fn for each entry of the named log with sequence > after, in
// order; value is valid only during the call.
func (r *Records) Scan(kind string, after uint64, fn func(seq uint64, value []byte) error) error {
	prefix := []byte(prefixAppendLog + kind + "\x00")
	return r.s.db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: prefix, PrefetchValues: true, PrefetchSize: 1000})
		defer it.Close()
		for it.Seek(keyAppendLog(kind, after+1)); it.Valid(); it.Next() {
			seq := binary.BigEndian.Uint64(it.Item().Key()[len(prefix):])
			if err := it.Item().Value(func(v []byte) error { return fn(seq, v) }); err != nil {
				return err
			}
		}
		return nil
	})
}

// ReplaceEntries rewrites entries of the named log in place (erasure
// anonymises them): local, like DeleteEntries, since every node does the
// same when it applies the erasure, and the sequences stay those the log
// assigned.
func (r *Records) ReplaceEntries(kind string, entries map[uint64][]byte) error {
	s := r.s
	return s.do(func() error {
		wb := s.db.NewWriteBatch()
		defer wb.Cancel()
		for q, v := range entries {
			if err := wb.Set(keyAppendLog(kind, q), v); err != nil {
				return fmt.Errorf("cannot rewrite %s: %w", kind, classifyErr(err))
			}
		}
		return s.flush(wb)
	})
}

// DeleteEntries removes entries of the named log (erasure).
func (r *Records) DeleteEntries(kind string, seqs []uint64) error {
	s := r.s
	return s.do(func() error {
		wb := s.db.NewWriteBatch()
		defer wb.Cancel()
		for _, q := range seqs {
			_ = wb.Delete(keyAppendLog(kind, q))
		}
		return s.flush(wb)
	})
}
