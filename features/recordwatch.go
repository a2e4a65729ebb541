package features

import (
	"context"
	"sync"
	"time"
)

// In cluster mode a service's record can change without the service
// writing it: another node wrote it, and this node applied it. Watch lets
// the services beside ranking (segments, offers, experiments, rules) hear
// of it and reload what changed, so every node serves the same
// definitions. In single-node mode nothing is ever told: the service that
// writes a record is the only one that uses it.

// Change is a record change applied from the cluster log.
type Change struct {
	Kind    string
	ID      string // the record put or deleted ("" for an append)
	Deleted bool
	// First and Entries are an append's: the entries as applied, the
	// first at sequence First, the rest after it.
	First   uint64
	Entries [][]byte
	Seq     uint64 // the stream sequence of the op that made it
}

// Watch calls fn for every change of records of kind that this node
// applies from the cluster log, in log order, on one goroutine of the
// store's (never the writer's nor the log follower's, so fn may take the
// service's locks and call the store, even its writes). Puts and deletes
// are told whoever wrote them, the writer's own node too (in any order
// with the writer's own update of its memory): a reload from the stored
// record converges to the log's order when two nodes write the same
// record, and is idempotent on the writer's node.
// Appends are told only to the nodes that did not write them: the writer
// counted its entries already. Register before the store takes writes.
func (r *Records) Watch(kind string, fn func(Change)) {
	if r.s.ops == nil {
		return
	}
	w := &r.s.ops.watch
	w.mu.Lock()
	w.fns[kind] = append(w.fns[kind], fn)
	w.mu.Unlock()
}

// WatchApplied calls fn for every change of records of kind that this
// node applies from the cluster log, on the store's writer goroutine right
// after the change commits (in log order with events and their Hooks),
// appends included whoever wrote them (the writer's own too: a service
// that must count in log order counts its own entries here, not when it
// writes them). Like a Hook, fn must be quick
// and must not call the store's write methods: hand the work to the
// service's own goroutine.
func (r *Records) WatchApplied(kind string, fn func(Change)) {
	if r.s.ops == nil {
		return
	}
	w := &r.s.ops.watch
	w.mu.Lock()
	w.sync[kind] = append(w.sync[kind], fn)
	w.mu.Unlock()
}

// Clustered reports whether writes go through the cluster log.
func (r *Records) Clustered() bool { return r.s.ops != nil }

// LocalLog declares the append log kind derived: every node computes its
// entries itself from what it applies (experiment outcomes, from events),
// so in cluster mode its appends stay local instead of going through the
// log (where every node would add its own copy). Its sequences are then
// this node's own.
func (r *Records) LocalLog(kind string) {
	if r.s.ops == nil {
		return
	}
	w := &r.s.ops.watch
	w.mu.Lock()
	w.local[kind] = true
	w.mu.Unlock()
}

func (w *watchers) isLocal(kind string) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.local[kind]
}

// runSync tells the writer-goroutine watchers of cs.
func (w *watchers) runSync(cs []Change) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, c := range cs {
		for _, fn := range w.sync[c.Kind] {
			fn(c)
		}
	}
}

// watchers queues changes from the apply to the watchers' goroutine,
// unbounded, so that an apply never waits for a service.
type watchers struct {
	mu    sync.Mutex
	fns   map[string][]func(Change) // Watch
	sync  map[string][]func(Change) // WatchApplied
	local map[string]bool           // LocalLog
	queue []Change
	// busy is the sequence of the oldest change not yet told (being told
	// or queued); 0 when none.
	busy uint64
	wake chan struct{}
}

func (w *watchers) init() {
	w.fns = map[string][]func(Change){}
	w.sync = map[string][]func(Change){}
	w.local = map[string]bool{}
	w.wake = make(chan struct{}, 1)
}

func (w *watchers) enqueue(cs []Change) {
	w.mu.Lock()
	for _, c := range cs {
		if len(w.fns[c.Kind]) > 0 {
			w.queue = append(w.queue, c)
			if w.busy == 0 {
				w.busy = c.Seq
			}
		}
	}
	w.mu.Unlock()
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// WaitWatched waits (bounded by ctx) until the Watch functions have been
// told of every change applied at or below seq: a read that asks for a
// sequence (X-Affinity-Min-Seq) then sees the services' reloads too, not
// only the stored records. Single-node mode never waits.
func (s *Store) WaitWatched(ctx context.Context, seq uint64) error {
	if s.ops == nil {
		return nil
	}
	w := &s.ops.watch
	for {
		w.mu.Lock()
		done := w.busy == 0 || w.busy > seq
		w.mu.Unlock()
		if done {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(5 * time.Millisecond):
		}
	}
}

// run tells the watchers until stop closes.
func (w *watchers) run(stop <-chan struct{}) {
	for {
		select {
		case <-stop:
			return
		case <-w.wake:
		}
		for {
			w.mu.Lock()
			if len(w.queue) == 0 {
				w.mu.Unlock()
				break
			}
			c := w.queue[0]
			w.queue = w.queue[1:]
			w.busy = c.Seq
			fns := w.fns[c.Kind]
			w.mu.Unlock()
			for _, fn := range fns {
				fn(c)
			}
			w.mu.Lock()
			w.busy = 0
			if len(w.queue) > 0 {
				w.busy = w.queue[0].Seq
			}
			w.mu.Unlock()
		}
	}
}
