package features

import "time"

// Hooks let other packages follow the store without importing Badger: they
// run in the writer goroutine after a commit, so they must be quick and must
// not call back into the store's write methods.
type Hooks struct {
	// OnEvents receives each committed batch of new (non-duplicate) events.
	OnEvents func([]AppliedEvent)
	// OnMerge is told that customer from's history was merged into to's
	// (merge.go); OnErase was told of from just before.
	OnMerge func(from, to uint32)
	// OnCustomer is told that customer c's attributes changed.
	OnCustomer func(c uint32)
	// OnErase is told that a customer was erased.
	OnErase func(cust uint32, customerID string)
	// OnTick is told of a stream tick in cluster mode (clustertick.go),
	// after the tick's build: at is its time, prev the previous tick's
	// (zero for the first), later the times of the ticks applied right
	// after it, before any read sees the state between (work a later tick
	// redoes may be skipped). Unlike the others it runs in the follower's
	// goroutine, not the writer's: it may read the store and take its time
	// (the stream's apply waits for it), and must not write.
	OnTick func(at, prev time.Time, later []time.Time)
}

// AppliedEvent is a committed event with its internal ids.
type AppliedEvent struct {
	Seq      uint64
	Customer uint32
	Product  uint32
	Class    Class
	Event    Event
}

// AddHooks registers h; hooks run in registration order.
func (s *Store) AddHooks(h Hooks) {
	s.hooksMu.Lock()
	s.hooks = append(s.hooks, h)
	s.hooksMu.Unlock()
}

func (s *Store) runHooks(fn func(Hooks)) {
	s.hooksMu.RLock()
	hs := s.hooks
	s.hooksMu.RUnlock()
	for _, h := range hs {
		fn(h)
	}
}

// Follow runs start and then registers h, both in the writer goroutine:
// no write commits between them, so a service that builds its state from
// the store in start (reading histories, attributes, records) and keeps it
// current through h neither misses nor double-counts an event. start must
// not call the store's write methods (they would wait for the writer it
// holds); it delays writes for as long as it runs.
func (s *Store) Follow(h Hooks, start func() error) error {
	return s.do(func() error {
		if err := start(); err != nil {
			return err
		}
		s.AddHooks(h)
		return nil
	})
}

// OrderHash is the hash of an order id that Interaction.Order holds (0 for
// none), for hooks that count distinct orders of an AppliedEvent.
func OrderHash(orderID string) uint32 { return orderHash(orderID) }
