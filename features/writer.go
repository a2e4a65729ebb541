package features

import (
	"context"
	"errors"
	"fmt"

	"github.com/dgraph-io/badger/v4"
)

type pendingEvent struct {
	ev       Event
	typ      uint8
	class    Class
	dedup    [16]byte
	hasDedup bool
}

type writeReq struct {
	events []pendingEvent
	fn     func() error
	sync   bool
	bulk   bool
	// streamSeq is the cluster stream sequence these events reach (0: a
	// local write); it is committed with them (clusterlog.go).
	streamSeq uint64
	done      chan writeResult
}

type writeResult struct {
	err  error
	dups int
}

// submit hands r to the writer and waits for its commit. The wait ignores
// ctx once submitted: the write will happen, and its caller must learn
// whether it did.
func (s *Store) submit(ctx context.Context, r *writeReq) (writeResult, error) {
	s.closeMu.RLock()
	defer s.closeMu.RUnlock()
	if s.closed {
		return writeResult{}, ErrClosed
	}
	if err := s.disk.check(); err != nil {
		s.setErr(err)
		return writeResult{}, err
	}
	select {
	case s.reqs <- r:
	case <-ctx.Done():
		return writeResult{}, ctx.Err()
	}
	wr := <-r.done
	return wr, wr.err
}

// do runs fn in the writer goroutine, serialised with every other write.
func (s *Store) do(fn func() error) error {
	_, err := s.submit(context.Background(), &writeReq{fn: fn, done: make(chan writeResult, 1)})
	return err
}

const maxGroupEvents = 20000

func (s *Store) writeLoop() {
	defer s.wg.Done()
	for {
		var first *writeReq
		select {
		case first = <-s.reqs:
		case <-s.stop:
			return
		}
		if first.fn != nil {
			first.done <- writeResult{err: first.fn()}
			continue
		}
		group := []*writeReq{first}
		n := len(first.events)
		var fnReq *writeReq
	drain:
		for n < maxGroupEvents {
			select {
			case r := <-s.reqs:
				if r.fn != nil {
					fnReq = r
					break drain
				}
				group = append(group, r)
				n += len(r.events)
			default:
				break drain
			}
		}
		dups, err := s.commitEvents(group)
		for i, r := range group {
			r.done <- writeResult{err: err, dups: dups[i]}
		}
		if fnReq != nil {
			fnReq.done <- writeResult{err: fnReq.fn()}
		}
	}
}

func (s *Store) hasKey(k []byte) (bool, error) {
	var found bool
	err := s.db.View(func(txn *badger.Txn) error {
		_, err := txn.Get(k)
		if errors.Is(err, badger.ErrKeyNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		found = true
		return nil
	})
	return found, err
}

// flush commits wb (a write other than events, in the writer goroutine)
// and records its outcome for Ready.
func (s *Store) flush(wb *badger.WriteBatch) error {
	s.stampStreamSeq(wb.Set) // an op's commit records its stream sequence (clusterops.go)
	err := wb.Flush()
	if err == nil && s.opts.SyncWrites && !s.opts.InMemory {
		err = s.db.Sync()
	}
	if err != nil {
		err = fmt.Errorf("cannot write: %w", classifyErr(err))
		s.setErr(err)
		return err
	}
	s.setErr(nil)
	return nil
}
