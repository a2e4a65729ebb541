package offer

import (
	"context"
	"time"

	"github.com/cespare/xxhash/v2"
)

// offerLogs are log entries to append together.
type offerLogs struct{ shown, resp [][]byte }

// reserve walks the ranked candidates and takes the first limit that the
// customer's caps and the offers' budgets allow, reserving them (unless
// dryRun). Expired and pushed-out exposures it closes on the way are
// returned as response entries to log.
func (s *Service) reserve(ctx context.Context, cands []nboCand, cust, rec string, segs []string, channel string, now time.Time, limit int, dryRun bool) ([]nboCand, offerLogs, error) {
	if s.opts.Limits != nil && !dryRun {
		return s.reserveShared(ctx, cands, cust, rec, segs, channel, now, limit)
	}
	var logs offerLogs
	var chosen []nboCand
	nowS := now.Unix()
	sh := s.shard(cust)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	counts := sh.m[cust]
	// Candidates are taken best first by selection rather than a full sort:
	// usually the first one or two are all that is needed.
	for len(chosen) < limit {
		bi := nextCand(cands)
		if bi < 0 {
			break
		}
		c := cands[bi]
		cands[bi].taken = true
		o := c.o
		if o.rec.MaxPerCustomer > 0 && int64(counts.get(o.st)) >= o.rec.MaxPerCustomer {
			continue
		}
		st := o.st
		st.mu.Lock()
		logs.resp = s.expireLocked(o, st, nowS, logs.resp)
		if b := o.rec.Budget; b > 0 && st.accepted.Load()+uint64(len(st.open)) >= uint64(b) {
			st.mu.Unlock()
			continue
		}
		if dryRun {
			st.mu.Unlock()
			chosen = append(chosen, c)
			continue
		}
		if len(st.open) >= s.opts.MaxOpen {
			logs.resp = s.evictLocked(o, st, nowS, logs.resp)
		}
		e := &offerExposure{rec: rec, cust: cust, ts: nowS, segs: segs}
		st.open[rec] = e
		st.appendFIFOLocked(e)
		st.shown++
		st.mu.Unlock()
		counts.add(st, 1)
		sh.m[cust] = counts
		chosen = append(chosen, c)
		logs.shown = append(logs.shown, encodeOfferLog(nil, &offerLogEntry{kind: offerEntryShown, offer: o.id, inc: st.inc,
			cust: cust, rec: rec, channel: channel, ts: nowS, segs: segs}))
	}
	return chosen, logs, nil
}

// betterCand orders candidates by score, then offer id (a stable order
// for equal scores, e.g. under the greedy policy).
func betterCand(a, b *nboCand) bool {
	if a.score != b.score {
		return a.score > b.score
	}
	return a.o.id < b.o.id
}

// unreserve undoes reserve after the exposures could not be logged.
func (s *Service) unreserve(ctx context.Context, chosen []nboCand, cust, rec string) {
	if s.opts.Limits != nil {
		s.releaseShared(ctx, chosen, cust)
	}
	sh := s.shard(cust)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	counts := sh.m[cust]
	for _, c := range chosen {
		st := c.o.st
		st.mu.Lock()
		if e := st.open[rec]; e != nil && !e.done {
			e.done = true
			delete(st.open, rec)
			st.shown--
		}
		st.mu.Unlock()
		counts.add(st, -1)
	}
	if len(counts) == 0 {
		delete(sh.m, cust)
	} else {
		sh.m[cust] = counts
	}
}

func (s *Service) shard(cust string) *offerCustShard {
	return &s.custs[xxhash.Sum64String(cust)%offerCustShards]
}

// appendFIFOLocked queues e for expiry. Answered exposures stay in the
// queue until they reach its head, so it is compacted whenever it holds
// more answered than open ones: memory follows the open exposures, not
// every exposure of the response window. The caller holds st.mu.
func (st *offerState) appendFIFOLocked(e *offerExposure) {
	if len(st.fifo) >= 1024 && len(st.fifo) > 2*len(st.open) {
		live := make([]*offerExposure, 0, 2*len(st.open)+1)
		for _, x := range st.fifo {
			if !x.done {
				live = append(live, x)
			}
		}
		st.fifo = live
	}
	st.fifo = append(st.fifo, e)
}

// expireLocked closes o's exposures older than the response window as
// ignored and appends their log entries to out. The caller holds st.mu.
func (s *Service) expireLocked(o *liveOffer, st *offerState, nowS int64, out [][]byte) [][]byte {
	win := int64(s.opts.ResponseWindow / time.Second)
	i := 0
	for ; i < len(st.fifo); i++ {
		e := st.fifo[i]
		if e.done {
			continue
		}
		if e.ts+win > nowS {
			break
		}
		out = s.resolveLocked(o, st, e, offerIgnored, offerByExpiry, nowS, out)
	}
	if i > 0 {
		st.fifo = st.fifo[i:]
	}
	return out
}

// evictLocked closes o's oldest open exposure as ignored to make room.
func (s *Service) evictLocked(o *liveOffer, st *offerState, nowS int64, out [][]byte) [][]byte {
	for len(st.fifo) > 0 {
		e := st.fifo[0]
		st.fifo = st.fifo[1:]
		if !e.done {
			return s.resolveLocked(o, st, e, offerIgnored, offerByEviction, nowS, out)
		}
	}
	return out
}

// resolveLocked answers exposure e and appends the log entry to out. The
// caller holds st.mu.
func (s *Service) resolveLocked(o *liveOffer, st *offerState, e *offerExposure, resp offerResp, src offerRespSource, nowS int64, out [][]byte) [][]byte {
	e.done = true
	delete(st.open, e.rec)
	st.count(resp, e.segs, 1)
	return append(out, encodeOfferLog(nil, &offerLogEntry{kind: offerEntryResponse, offer: o.id, inc: st.inc, cust: e.cust,
		rec: e.rec, ts: nowS, segs: e.segs, resp: resp, src: src}))
}

// count adds d (1 or -1) answers of kind resp. The caller holds st.mu.
func (st *offerState) count(resp offerResp, segs []string, d int) {
	add := func(x *uint64) { *x = uint64(int64(*x) + int64(d)) }
	switch resp {
	case offerAccepted:
		st.accepted.Add(uint64(int64(d)))
	case offerDeclined:
		add(&st.declined)
		st.rejected.Add(uint64(int64(d)))
	default:
		add(&st.ignored)
		st.rejected.Add(uint64(int64(d)))
	}
	for _, g := range segs {
		sc := st.segs[g]
		if sc == nil {
			sc = &offerSegCounts{}
			st.segs[g] = sc
			st.hasSegs.Store(true)
		}
		if resp == offerAccepted {
			add(&sc.acc)
		} else {
			add(&sc.rej)
		}
	}
}

// nextCand is the index of the best candidate not yet taken, or -1: both
// reservations take candidates best first by selection rather than a full
// sort, since usually the first one or two are all that is needed.
func nextCand(cands []nboCand) int {
	bi := -1
	for i := range cands {
		if !cands[i].taken && (bi < 0 || betterCand(&cands[i], &cands[bi])) {
			bi = i
		}
	}
	return bi
}
