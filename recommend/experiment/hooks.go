package experiment

import (
	"context"
	"fmt"
	"strings"

	"github.com/affinity-rec/affinity/features"
)

// onEvents runs in the store's writer goroutine: it only copies what may be
// an outcome into the hook queue.
func (x *Service) onEvents(evs []features.AppliedEvent) {
	var ops []hookOp
	for i := range evs {
		ae := &evs[i]
		if ae.Event.RecommendationID == "" {
			continue
		}
		var click, ret bool
		switch {
		case ae.Class == features.ClassViewed:
			click = true
		case ae.Class == features.ClassBought && ae.Event.Type != "rating":
		case ae.Class == features.ClassReturned:
			ret = true // takes revenue back (returns.go)
		default:
			continue // carts, ratings and dislikes are no outcome
		}
		ops = append(ops, hookOp{kind: hookOutcome, outcome: outcomeOp{
			recID: strings.Clone(ae.Event.RecommendationID), cust: strings.Clone(ae.Event.CustomerID),
			product: ae.Product, click: click, ret: ret, value: ae.Event.Value, ts: ae.Event.Timestamp.Unix()}})
	}
	if len(ops) == 0 {
		return
	}
	x.hookMu.Lock()
	x.hookOps = append(x.hookOps, ops...)
	x.hookMu.Unlock()
}

// onErase runs in the store's writer goroutine; the erasure itself happens
// in the flusher within one flush interval.
func (x *Service) onErase(_ uint32, customerID string) {
	x.hookMu.Lock()
	x.hookOps = append(x.hookOps, hookOp{kind: hookErase, id: strings.Clone(customerID)})
	x.hookMu.Unlock()
	x.signal()
}

// control queues op for the flusher and waits for it.
func (x *Service) control(ctx context.Context, op hookOp) error {
	op.done = make(chan error, 1)
	x.closeMu.RLock()
	if x.closed {
		x.closeMu.RUnlock()
		return features.ErrClosed
	}
	x.hookMu.Lock()
	x.hookOps = append(x.hookOps, op)
	x.hookMu.Unlock()
	x.closeMu.RUnlock()
	x.signal()
	select {
	case err := <-op.done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Flush returns once every exposure and event handed to the service before
// the call is counted and appended to its log (or the append failed: the
// error says so, and the entries are retried on the next flush).
func (x *Service) Flush(ctx context.Context) error {
	err := x.control(ctx, hookOp{kind: hookSync})
	if err != nil || !x.clustered {
		return err
	}
	// In cluster mode this node counts its own exposures when it applies
	// them (clusterwatch.go): the append above queued them behind the
	// first pass, so a second one counts them.
	return x.control(ctx, hookOp{kind: hookSync})
}

// Stats returns the service's counters.
func (x *Service) Stats() Stats {
	return Stats{Exposures: x.stats.exposures.Load(), Outcomes: x.stats.outcomes.Load(),
		Dropped: x.stats.dropped.Load(), WriteErrors: x.stats.writeErrors.Load()}
}

// Close stops the flusher after it has logged everything queued. Exposures
// offered after Close are dropped. Call it before closing the store.
func (x *Service) Close() error {
	x.closeMu.Lock()
	if x.closed {
		x.closeMu.Unlock()
		return nil
	}
	x.closed = true
	x.closeMu.Unlock()
	close(x.stop)
	<-x.done
	if n := len(x.pendingExp) + len(x.pendingOut); n > 0 {
		return fmt.Errorf("cannot log %d exposures and outcomes on close: the store refused the writes", n)
	}
	return nil
}
