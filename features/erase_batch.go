package features

import (
	"sync"
	"sync/atomic"
)

// eraseQueue gathers the erasures waiting for the writer, so that those
// that come together share one read of the event log and of the event-id
// index (eraseManyLocked): each read is of the whole store, and a batch of
// deletion requests ran them one after the other, one per customer.
type eraseQueue struct {
	mu      sync.Mutex
	pending []*eraseReq
	// batches counts the batches erased (tests and the erasure benchmark).
	batches atomic.Uint64
}

// eraseReq is one erasure in the queue; done is closed once its batch ran.
type eraseReq struct {
	eraseTarget
	err  error
	done chan struct{}
}

// eraseQueued erases customer id (ext) with whatever erasures are queued
// beside it, and returns once it is done.
func (s *Store) eraseQueued(id uint32, ext string) error {
	q := &s.eraseQ
	r := &eraseReq{eraseTarget: eraseTarget{id: id, ext: ext}, done: make(chan struct{})}
	q.mu.Lock()
	q.pending = append(q.pending, r)
	q.mu.Unlock()
	// The writer runs one function at a time: this one finds r still
	// queued and erases it with the others queued, or an earlier one
	// took r and has finished with it.
	if err := s.do(s.eraseQueuedLocked); err != nil {
		return err
	}
	<-r.done
	return r.err
}

// eraseQueuedLocked erases every queued customer in one batch. Writer
// goroutine only.
func (s *Store) eraseQueuedLocked() error {
	q := &s.eraseQ
	q.mu.Lock()
	batch := q.pending
	q.pending = nil
	q.mu.Unlock()
	if len(batch) == 0 {
		return nil
	}
	var ts []eraseTarget
	seen := make(map[uint32]bool, len(batch))
	for _, r := range batch {
		if id, ok := s.cust.lookup(r.ext); !ok || id != r.id {
			// Erased (or merged away) since EraseCustomer looked them up.
			r.err = errUnknown("customer", r.ext)
			continue
		}
		if !seen[r.id] { // the same customer twice: erased once
			seen[r.id] = true
			ts = append(ts, r.eraseTarget)
		}
	}
	var err error
	if len(ts) > 0 {
		s.eraseQ.batches.Add(1)
		err = s.eraseManyLocked(ts)
	}
	for _, r := range batch {
		if r.err == nil {
			r.err = err
		}
		close(r.done)
	}
	return nil
}
