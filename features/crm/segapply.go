package crm

import (
	"slices"
	"sync"
	"time"

	"github.com/RoaringBitmap/roaring/v2"
	"github.com/expr-lang/expr/vm"

	"github.com/affinity-rec/affinity/features"
)

// Segment membership is evaluated off the ingest path. The store's hooks
// run in the writer goroutine, before a write is acknowledged; they only
// mark the customers a write touched, and a background applier evaluates
// the rules for them and publishes the changed bitmaps. So a slow rule
// slows membership updates, never ingestion. Membership follows a write
// within one applier round: normally well under a millisecond. A round
// costs its customers × segments × rule cost (each rule is bounded by
// RuleCostLimit when defined); after a round longer than a millisecond
// the applier rests as long as the round took (at most a second), so
// under a sustained write load it uses about half a core and membership
// lags by up to two rounds. FlushSegments waits for it.

// applyChunk is how many customers the applier evaluates between
// publications, so a large backlog shows progress and Close is not held up.
const applyChunk = 1024

// segApplier is the queue between the writer's hooks and the applier
// goroutine. The queue is a bitmap of customer ids, so it coalesces: a
// customer written a thousand times while a round runs is evaluated once,
// and it never holds more than one bit per customer. Safe for concurrent
// use; fields under mu.
type segApplier struct {
	mu   sync.Mutex
	cond sync.Cond // signalled when done advances or the applier stops
	// pending are the customers to re-evaluate.
	pending *roaring.Bitmap
	// passDirty collects the customers changed while a full pass runs
	// (nil otherwise): the pass may have read them before the change.
	passDirty *roaring.Bitmap
	// queued counts enqueue calls; done is the value of queued that the
	// applier has fully published.
	queued, done uint64
	stopped      bool
	wake         chan struct{}
}

func (a *segApplier) init() {
	a.cond.L = &a.mu
	a.pending = roaring.New()
	a.wake = make(chan struct{}, 1)
}

// enqueueMembership asks the applier to re-evaluate custs. It does not
// evaluate anything, so the writer's hooks can call it.
func (s *Service) enqueueMembership(custs ...uint32) {
	a := &s.apply
	a.mu.Lock()
	a.pending.AddMany(custs)
	if a.passDirty != nil {
		a.passDirty.AddMany(custs)
	}
	a.queued++
	a.mu.Unlock()
	select {
	case a.wake <- struct{}{}:
	default:
	}
}

// FlushSegments waits until segment membership reflects every write
// acknowledged before the call. Tests call it before reading membership
// right after a write; features.ErrClosed once the store is closing.
func (s *Service) FlushSegments() error {
	a := &s.apply
	a.mu.Lock()
	defer a.mu.Unlock()
	target := a.queued
	for a.done < target && !a.stopped {
		a.cond.Wait()
	}
	if a.done < target {
		return features.ErrClosed
	}
	return nil
}

// SegmentBacklog returns how many customers wait for their segment
// membership to be re-evaluated.
func (s *Service) SegmentBacklog() int {
	a := &s.apply
	a.mu.Lock()
	defer a.mu.Unlock()
	return int(a.pending.GetCardinality())
}

// segApplyLoop is the applier goroutine; it stops on Close.
func (s *Service) segApplyLoop() {
	defer s.wg.Done()
	a := &s.apply
	defer func() {
		a.mu.Lock()
		a.stopped = true
		a.cond.Broadcast()
		a.mu.Unlock()
	}()
	for {
		select {
		case <-s.stop:
			return
		case <-a.wake:
		}
		a.mu.Lock()
		batch, gen := a.pending, a.queued
		a.pending = roaring.New()
		a.mu.Unlock()
		if h := s.beforeApply.Load(); h != nil {
			(*h)()
		}
		start := time.Now()
		custs := batch.ToArray()
		for i := 0; i < len(custs); i += applyChunk {
			select {
			case <-s.stop:
				return
			default:
			}
			s.applyMembership(custs[i:min(i+applyChunk, len(custs))])
		}
		a.mu.Lock()
		a.done = gen
		a.cond.Broadcast()
		a.mu.Unlock()
		// Pace: rest as long as the round took (up to a second), so that
		// under a write load that keeps it busy the applier uses about
		// half a core and leaves the rest to ingestion; the customers
		// written meanwhile coalesce into the next round.
		if d := time.Since(start); d > time.Millisecond {
			select {
			case <-s.stop:
				return
			case <-time.After(min(d, time.Second)):
			}
		}
	}
}

// applyMembership re-evaluates every segment for custs (sorted, distinct)
// and publishes the changed bitmaps. Applier goroutine only: it evaluates
// without locks held, then applies its answers under segMu to whatever
// is published by then, skipping segments deleted or redefined meanwhile
// (their full pass stands, and re-queues the customers it may have missed).
func (s *Service) applyMembership(custs []uint32) {
	set := s.segs.Load()
	if set == nil || len(set.list) == 0 || len(custs) == 0 {
		return
	}
	in := make([]*roaring.Bitmap, len(set.list))
	for i := range in {
		in[i] = roaring.New()
	}
	env := make(map[string]any, len(ruleEnvTemplate))
	var v vm.VM
	now := s.st.Now().Unix()
	for _, id := range custs {
		if !s.knownCustomer(id) {
			continue
		}
		s.fillEnv(env, id, now)
		for i, g := range set.list {
			ok, err := g.rule.matchVM(&v, env)
			if err != nil {
				g.def.logOnce.Do(func() {
					s.log.Warn("segment rule failed for a customer (counted as not a member)", "segment", g.name, "err", err)
				})
			}
			if ok {
				in[i].Add(id)
			}
		}
	}
	c := s
	c.segMu.Lock()
	defer c.segMu.Unlock()
	cur := c.segs.Load()
	changed := make([]*roaring.Bitmap, len(cur.list))
	// Checked again under the lock: an erasure since the evaluation has
	// taken the customer out, and must not be undone.
	known := make([]bool, len(custs))
	for k, id := range custs {
		known[k] = s.knownCustomer(id)
	}
	for i, g := range set.list {
		j, ok := cur.find(g.name)
		if !ok || cur.list[j].def != g.def {
			continue
		}
		bm := cur.list[j].members
		for k, id := range custs {
			want := known[k] && in[i].Contains(id)
			if bm.Contains(id) == want {
				continue
			}
			if changed[j] == nil {
				// Clone before change: readers may hold the published one.
				changed[j] = bm.Clone()
				bm = changed[j]
			}
			if want {
				bm.Add(id)
			} else {
				bm.Remove(id)
			}
		}
	}
	s.publishChanged(cur, changed)
}

// publishChanged publishes set with the changed bitmaps (nil: unchanged).
// The caller holds segMu.
func (s *Service) publishChanged(set *segmentSet, changed []*roaring.Bitmap) {
	var next *segmentSet
	for i, bm := range changed {
		if bm == nil {
			continue
		}
		if next == nil {
			next = &segmentSet{list: slices.Clone(set.list)}
		}
		g := set.list[i]
		next.list[i] = &segment{name: g.name, rule: g.rule, members: bm, def: g.def}
	}
	if next != nil {
		s.segs.Store(next)
	}
}

// removeMember takes an erased customer out of every segment at once (no
// rule to evaluate, so the writer does it: an erased customer must not be
// served as a member). Writer only.
func (s *Service) removeMember(cust uint32) {
	c := s
	c.segMu.Lock()
	set := c.segs.Load()
	if set != nil {
		changed := make([]*roaring.Bitmap, len(set.list))
		for i, g := range set.list {
			if g.members.Contains(cust) {
				changed[i] = g.members.Clone()
				changed[i].Remove(cust)
			}
		}
		s.publishChanged(set, changed)
	}
	c.segMu.Unlock()
	// A full pass running now may have counted them in.
	s.enqueueMembership(cust)
}
