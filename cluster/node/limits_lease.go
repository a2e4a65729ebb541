package node

import (
	"context"
	"sync"
	"time"
)

// Budget leases: a budget key is one per offer, shared by every customer,
// so with a unit per call every node's every showing of a popular offer
// would queue on one compare-and-set key (measured: 8 callers on one node
// at R=3 managed about 90 calls/s, each conflict a replicated write).
// Instead a node takes a block of units at once and hands them out
// locally. The key counts every unit taken, leased or shown, and a block
// is taken by compare-and-set under the budget, so the blocks never sum
// past it: the budget is never passed. Blocks shrink as the budget runs
// out (a sixteenth of what is left, at most leaseMax), down to one unit
// per call near the end; units a node has not used for leaseIdle go back
// to the key, so another node's demand can reach the whole budget. A node
// that dies holding a block takes those units with it: the budget is then
// under-used, never passed.

const (
	leaseMax   = 64
	leaseShare = 16
	leaseIdle  = time.Second
	leaseSweep = 250 * time.Millisecond
)

// budgetLease is a node's units of one budget key, taken but not shown.
type budgetLease struct {
	mu    sync.Mutex
	avail int64
	limit int64 // the budget the units were taken under
	used  time.Time
}

func leaseSize(room int64) int64 { return min(leaseMax, room/leaseShare) }

func (l *OfferLimits) lease(key string) *budgetLease {
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.leases[key]
	if b == nil {
		b = &budgetLease{}
		l.leases[key] = b
	}
	return b
}

// takeBudget takes one budget unit from the node's block, taking a new
// block from the key when the block is empty. The lease's lock is held over
// the round trip: the node's other callers for the offer wait for the block
// rather than each asking for one.
func (l *OfferLimits) takeBudget(ctx context.Context, key string, budget int64) (bool, error) {
	b := l.lease(key)
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.limit != budget && b.avail > 0 {
		// The budget changed: units taken under the old one go back
		// first, so a lowered budget is not passed with them.
		if _, err := l.c.Sub(ctx, key, b.avail); err != nil {
			return false, err
		}
		b.avail = 0
	}
	b.limit = budget
	if b.avail == 0 {
		got, err := l.c.TryTake(ctx, key, budget, leaseSize)
		if err != nil || got == 0 {
			return false, err
		}
		b.avail = got
	}
	b.avail--
	b.used = time.Now()
	return true, nil
}

// giveBudget puts n units back into the node's block (a showing not made,
// or closed unaccepted); the sweep returns them to the key if unused.
func (l *OfferLimits) giveBudget(key string, n int64) {
	b := l.lease(key)
	b.mu.Lock()
	b.avail += n
	b.mu.Unlock()
}

// sweepLeases returns the units of blocks idle for leaseIdle (all of them
// when all is set) to their keys. A failure keeps them for the next sweep.
func (l *OfferLimits) sweepLeases(all bool) {
	l.mu.Lock()
	keys := make([]string, 0, len(l.leases))
	for k := range l.leases {
		keys = append(keys, k)
	}
	l.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	now := time.Now()
	for _, k := range keys {
		b := l.lease(k)
		b.mu.Lock()
		if b.avail > 0 && (all || now.Sub(b.used) >= leaseIdle) {
			if _, err := l.c.Sub(ctx, k, b.avail); err != nil {
				l.log.Warn("cannot return leased offer budget units; retrying", "units", b.avail, "err", err)
			} else {
				b.avail = 0
			}
		}
		b.mu.Unlock()
	}
}

func (l *OfferLimits) sweepLoop() {
	defer close(l.done)
	t := time.NewTicker(leaseSweep)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			l.sweepLeases(false)
		case <-l.stop:
			l.sweepLeases(true)
			return
		}
	}
}

// Close returns every leased unit to the counters and stops the sweep.
// Call it after the offer service has closed, before the node.
func (l *OfferLimits) Close() {
	l.closeOnce.Do(func() {
		close(l.stop)
		<-l.done
	})
}
