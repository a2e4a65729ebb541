package experiment

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/affinity-rec/affinity/features"
	"github.com/affinity-rec/affinity/recommend/experiment/abtest"
)

// The experiments flusher: the one goroutine that owns the attribution
// index, logs exposures and outcomes, and carries out erasures (see the
// overview in doc.go).

func (x *Service) run() {
	defer close(x.done)
	t := time.NewTicker(x.opts.FlushInterval)
	defer t.Stop()
	for {
		select {
		case <-x.stop:
			// Close waited for every Expose in flight, so what is queued
			// now is all there will be.
			for len(x.queue) > 0 || x.hooksPending() {
				x.cycle()
			}
			x.cycle() // retry failed appends once more
			return
		case <-t.C:
		case <-x.wake:
		}
		x.cycle()
	}
}

func (x *Service) hooksPending() bool {
	x.hookMu.Lock()
	defer x.hookMu.Unlock()
	return len(x.hookOps) > 0
}

// cycle is one flush. The hook queue is taken before the exposure queue is
// drained: an event can only name a recommendation_id whose Expose returned
// before the reply was sent, so every exposure the taken events refer to
// is in the exposure queue by then.
func (x *Service) cycle() {
	x.hookMu.Lock()
	ops := x.hookOps
	x.hookOps = nil
	x.hookMu.Unlock()

	n := len(x.queue)
	if n > 0 {
		exps := *x.exps.Load()
		batch := make([]*exposure, 0, n)
		for range n {
			op := <-x.queue
			if exps[op.exp] == nil {
				continue // deleted meanwhile
			}
			c := op.c
			forced := op.forced
			if i := abtest.Assign(c.def.Salt, op.unit, c.ab); !forced && (i < 0 || c.def.Variants[i].Name != op.variant) {
				forced = true // served a variant the hash would not give
			}
			if _, dup := x.index[op.recID]; dup {
				continue
			}
			op.pids = x.productIDs(op.items)
			// Share the definition's copies of the names: the index keeps
			// millions of exposures of a handful of them.
			op.exp = c.def.ID
			if i, ok := c.byName[op.variant]; ok {
				op.variant = c.def.Variants[i].Name
			}
			e := x.newExposure(op, forced, c.fp)
			e.raw = encodeExposure(op, forced, c.fp)
			batch = append(batch, e)
		}
		if !x.clustered { // else indexed as applied (clusterwatch.go)
			x.mu.Lock()
			for _, e := range batch {
				x.addExposureLocked(e)
			}
			x.mu.Unlock()
		}
		x.pendingExp = append(x.pendingExp, batch...)
	}
	expErr := x.writeExposures()

	for _, op := range ops {
		switch op.kind {
		case hookOutcome:
			x.outcome(op.outcome)
		case hookErase:
			x.writeOutcomes()
			if err := x.erase(func(e *exposure) bool { return e.unit == op.id }, op.id, ""); err == nil {
				// Done: drop it from the journal (kept for the next start otherwise).
				if err := x.recs.Done(experimentJournal, op.id); err != nil {
					x.log.Error("cannot close an experiments erasure", "err", err)
				}
			}
		case hookDeleteExperiment:
			x.writeOutcomes()
			op.done <- x.erase(func(e *exposure) bool { return e.exp == op.id }, "", op.id)
		case hookSync:
			op.done <- errors.Join(expErr, x.writeOutcomes())
		case hookApplied:
			x.addApplied(op.applied)
		}
	}
	x.writeOutcomes()
}

func (x *Service) newExposure(op exposureOp, forced bool, cfg uint64) *exposure {
	return &exposure{recID: op.recID, exp: op.exp, variant: op.variant, unit: op.unit, ts: op.ts, cfg: cfg,
		forced: forced, items: op.pids}
}

// productIDs maps served product ids to the store's internal ids, which
// are permanent: the log keeps those (smaller, and a restart need not look
// them up again). A product unknown to the store cannot be clicked through
// an event anyway, since the event would create it under a new id.
func (x *Service) productIDs(items []string) []uint32 {
	if len(items) == 0 {
		return nil
	}
	out := make([]uint32, 0, len(items))
	for _, it := range items {
		if p, ok := x.st.ProductID(it); ok {
			out = append(out, p)
		}
	}
	return out
}

func (x *Service) addExposure(e *exposure) {
	x.mu.Lock()
	x.addExposureLocked(e)
	x.mu.Unlock()
}

func (x *Service) addExposureLocked(e *exposure) {
	countExposure(x.states, e)
	x.index[e.recID] = e
}

// countExposure adds e, with its clicks, conversion and revenue as they
// stand, to the counters in states.
func countExposure(states map[string]*expState, e *exposure) {
	st := states[e.exp]
	if st == nil {
		st = &expState{variants: map[string]*variantState{}, forcedUnits: map[string]struct{}{}}
		states[e.exp] = st
	}
	vs := st.variants[e.variant]
	if vs == nil {
		vs = &variantState{units: map[string]unitState{}}
		st.variants[e.variant] = vs
	}
	vs.exposures++
	u := vs.units[e.unit]
	if e.forced {
		st.forcedUnits[e.unit] = struct{}{}
	} else {
		u.cfg = e.cfg
	}
	if e.clicked {
		vs.clicked++
	}
	vs.revSum += e.revenue
	vs.revSumSq += e.revenue * e.revenue
	if e.converted && !u.converted {
		u.converted = true
		vs.conversions++
	}
	vs.units[e.unit] = u
}

func (x *Service) outcome(o outcomeOp) {
	e := x.index[o.recID]
	if e == nil || e.erased || !slices.Contains(e.items, o.product) {
		return // not a recommendation we served, or not a product on it
	}
	ref := &outcomeRef{exp: e, cust: o.cust, click: o.click, ret: o.ret, value: o.value, product: o.product, hasProduct: true}
	if ref.ret && returnTaken(e.outs, ref) == 0 {
		return // nothing attributed here to take back: not worth a log entry
	}
	ref.raw = encodeOutcome(outcomeEntry{recID: o.recID, cust: o.cust, kind: ref.kind(), value: o.value, ts: o.ts, product: o.product})
	x.applyOutcome(e, ref)
	x.pendingOut = append(x.pendingOut, ref)
}

// applyOutcome counts ref against its exposure and variant.
func (x *Service) applyOutcome(e *exposure, ref *outcomeRef) {
	if ref.ret {
		ref.taken = returnTaken(e.outs, ref)
	}
	e.outs = append(e.outs, ref)
	x.mu.Lock()
	defer x.mu.Unlock()
	vs := x.states[e.exp].variants[e.variant]
	if ref.ret {
		old := e.revenue
		e.revenue -= ref.taken
		vs.revSum -= ref.taken
		vs.revSumSq += e.revenue*e.revenue - old*old
		return // the purchase was made: its conversion stays
	}
	if ref.click {
		if !e.clicked {
			e.clicked = true
			vs.clicked++
		}
		return
	}
	old := e.revenue
	e.revenue += ref.value
	vs.revSum += ref.value
	vs.revSumSq += e.revenue*e.revenue - old*old
	if !e.converted {
		e.converted = true
		if u := vs.units[e.unit]; !u.converted {
			u.converted = true
			vs.units[e.unit] = u
			vs.conversions++
		}
	}
}

func (x *Service) writeExposures() error {
	if len(x.pendingExp) == 0 {
		return nil
	}
	live := x.pendingExp[:0]
	for _, e := range x.pendingExp {
		if !e.erased {
			live = append(live, e)
		}
	}
	x.pendingExp = live
	if len(live) == 0 {
		return nil
	}
	// In chunks of at most features.MaxAppendBytes: in cluster mode that
	// is one log message, whose sequences are consecutive even when other
	// nodes append between two chunks (the index keeps each one's).
	for {
		n, size := 0, 0
		for n < len(live) && (n == 0 || size+len(live[n].raw) <= features.MaxAppendBytes) {
			size += len(live[n].raw)
			n++
		}
		if n == len(live) {
			return x.appendExposures(live)
		}
		if err := x.appendExposures(live[:n]); err != nil {
			return err
		}
		live = live[n:]
		x.pendingExp = live
	}
}

func (x *Service) appendExposures(live []*exposure) error {
	entries := make([][]byte, len(live))
	units := make([]string, len(live))
	for i, e := range live {
		entries[i], units[i] = e.raw, e.unit
	}
	// On the unit's subject in cluster mode: erasing the unit purges them.
	seqs, err := appendFor(x.recs, exposureLogKind, units, entries)
	if err != nil {
		x.writeFailed("exposure", len(entries), err)
		// A store that stays down must not take the memory with it: keep
		// the newest few queues' worth for the retry. The dropped ones stay
		// counted in memory until a restart.
		if over := len(x.pendingExp) - 4*x.opts.QueueSize; over > 0 {
			x.pendingExp = append([]*exposure(nil), x.pendingExp[over:]...)
			x.stats.dropped.Add(int64(over))
		}
		return fmt.Errorf("cannot log exposures: %w", err)
	}
	for i, e := range live {
		e.seq = seqs[i]
		e.raw = nil
	}
	x.stats.exposures.Add(int64(len(live)))
	x.pendingExp = nil
	return nil
}

func (x *Service) writeOutcomes() error {
	live := x.pendingOut[:0]
	for _, r := range x.pendingOut {
		if !r.erased && !r.exp.erased {
			live = append(live, r)
		}
	}
	x.pendingOut = live
	if len(live) == 0 {
		return nil
	}
	entries := make([][]byte, len(live))
	for i, r := range live {
		entries[i] = r.raw
	}
	first, err := x.recs.Append(outcomeLogKind, entries)
	if err != nil {
		x.writeFailed("outcome", len(entries), err)
		if over := len(x.pendingOut) - 4*x.opts.QueueSize; over > 0 {
			x.pendingOut = append([]*outcomeRef(nil), x.pendingOut[over:]...)
		}
		return fmt.Errorf("cannot log outcomes: %w", err)
	}
	for i, r := range live {
		r.seq = first + uint64(i)
		r.raw = nil
	}
	x.stats.outcomes.Add(int64(len(live)))
	x.pendingOut = nil
	return nil
}

func (x *Service) writeFailed(kind string, n int, err error) {
	x.stats.writeErrors.Add(1)
	x.log.Error("cannot append to the "+kind+" log; will retry", "entries", n, "err", err)
}

// erase removes the exposures match selects (with their outcomes) and, when
// cust is set, every outcome that customer caused on other units'
// exposures; then it recounts the experiments touched and deletes the log
// entries. deleted names an experiment being deleted: its state goes too.
func (x *Service) erase(match func(*exposure) bool, cust, deleted string) error {
	var expSeqs, outSeqs []uint64
	touched := map[string]bool{}
	for id, e := range x.index {
		if match(e) {
			delete(x.index, id)
			e.erased = true
			touched[e.exp] = true
			if e.seq != 0 {
				expSeqs = append(expSeqs, e.seq)
			}
			for _, r := range e.outs {
				r.erased = true
				if r.seq != 0 {
					outSeqs = append(outSeqs, r.seq)
				}
			}
			continue
		}
		if cust == "" {
			continue
		}
		kept := e.outs[:0]
		for _, r := range e.outs {
			if r.cust != cust {
				kept = append(kept, r)
				continue
			}
			r.erased = true
			touched[e.exp] = true
			if r.seq != 0 {
				outSeqs = append(outSeqs, r.seq)
			}
		}
		clear(e.outs[len(kept):])
		e.outs = kept
	}
	if deleted != "" {
		touched[deleted] = true
	}
	x.recount(touched, deleted)
	var err error
	if len(expSeqs) > 0 {
		if e := x.recs.DeleteEntries(exposureLogKind, expSeqs); e != nil {
			err = fmt.Errorf("cannot delete exposures: %w", e)
		}
	}
	if len(outSeqs) > 0 {
		if e := x.recs.DeleteEntries(outcomeLogKind, outSeqs); e != nil && err == nil {
			err = fmt.Errorf("cannot delete outcomes: %w", e)
		}
	}
	if err != nil {
		x.log.Error("erasure incomplete", "err", err)
	}
	return err
}

// recount rebuilds the counters of the touched experiments from the index:
// undoing an outcome incrementally would need to know whether another one
// still holds a unit's conversion, and erasure is rare enough to pay O(n).
func (x *Service) recount(touched map[string]bool, deleted string) {
	fresh := map[string]*expState{}
	for id := range touched {
		if id != deleted {
			fresh[id] = &expState{variants: map[string]*variantState{}, forcedUnits: map[string]struct{}{}}
		}
	}
	for _, e := range x.index {
		if _, ok := fresh[e.exp]; !ok {
			continue
		}
		e.clicked, e.converted, e.revenue = false, false, 0
		for i, r := range e.outs {
			switch {
			case r.ret:
				r.taken = returnTaken(e.outs[:i], r)
				e.revenue -= r.taken
			case r.click:
				e.clicked = true
			default:
				e.converted = true
				e.revenue += r.value
			}
		}
		countExposure(fresh, e)
	}
	x.mu.Lock()
	for id := range touched {
		if st, ok := fresh[id]; ok && len(st.variants) > 0 {
			x.states[id] = st
		} else {
			delete(x.states, id)
		}
	}
	x.mu.Unlock()
}

// appendFor appends entries, each about units[i], with
// features.Records.AppendFor when recs has it (in cluster mode each unit's
// entries travel on its own subject, which its erasure purges), else with
// Append (test wrappers); it returns each entry's sequence.
func appendFor(recs Records, kind string, units []string, entries [][]byte) ([]uint64, error) {
	if a, ok := recs.(interface {
		AppendFor(kind string, customers []string, entries [][]byte) ([]uint64, error)
	}); ok {
		return a.AppendFor(kind, units, entries)
	}
	first, err := recs.Append(kind, entries)
	if err != nil {
		return nil, err
	}
	seqs := make([]uint64, len(entries))
	for i := range seqs {
		seqs[i] = first + uint64(i)
	}
	return seqs, nil
}
