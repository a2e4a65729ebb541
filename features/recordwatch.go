package features

import "sync"

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

// watchers queues changes from the apply to the watchers' goroutine,
// unbounded, so that an apply never waits for a service.
type watchers struct {
	mu    sync.Mutex
	fns   map[string][]func(Change)
	queue []Change
	wake  chan struct{}
}

func (w *watchers) init() {
	w.fns = map[string][]func(Change){}
	w.wake = make(chan struct{}, 1)
}

func (w *watchers) enqueue(cs []Change) {
	w.mu.Lock()
	for _, c := range cs {
		if len(w.fns[c.Kind]) > 0 {
			w.queue = append(w.queue, c)
		}
	}
	w.mu.Unlock()
	select {
	case w.wake <- struct{}{}:
	default:
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
			fns := w.fns[c.Kind]
			w.mu.Unlock()
			for _, fn := range fns {
				fn(c)
			}
		}
	}
}
