package offer

import (
	"context"
	"fmt"
	"time"
)

// Reservations in cluster mode: the node's own state is checked first (it
// holds a subset of the cluster's showings, so a refusal there is final
// and costs no round trip), then the shared counters take the unit
// (Options.Limits), then the showing is recorded locally. Unlike reserve,
// no lock is held across the counters' round trip: the shared counter, not
// the local state, is what makes the limit exact here.

// limitsTimeout bounds one call to the shared counters when the request's
// own context has no deadline, and the calls made after a request ended
// (releases, budget given back).
const limitsTimeout = 5 * time.Second

func (s *Service) reserveShared(ctx context.Context, cands []nboCand, cust, rec string, segs []string, channel string, now time.Time, limit int) ([]nboCand, offerLogs, error) {
	var logs offerLogs
	var chosen []nboCand
	nowS := now.Unix()
	for len(chosen) < limit {
		bi := nextCand(cands)
		if bi < 0 {
			break
		}
		c := cands[bi]
		cands[bi].taken = true
		var ok bool
		if ok, logs.resp = s.localRoom(c.o, cust, nowS, logs.resp); !ok {
			continue
		}
		ok, err := s.reserveUnit(ctx, limitUnit(c.o, cust))
		if err != nil {
			// Fail closed: nothing is shown. The units taken for this call
			// go back; expiries closed on the way are still logged (their
			// budget units are freed once they are).
			s.unreserve(ctx, chosen, cust, rec)
			s.appendLogsQuiet(offerLogs{resp: logs.resp})
			return nil, offerLogs{}, fmt.Errorf("%w: %v", ErrLimitsUnavailable, err)
		}
		if !ok {
			continue
		}
		s.recordShown(c.o, cust, rec, segs, nowS, &logs)
		logs.shown = append(logs.shown, encodeOfferLog(nil, &offerLogEntry{kind: offerEntryShown, offer: c.o.id, inc: c.o.st.inc,
			cust: cust, rec: rec, channel: channel, ts: nowS, segs: segs}))
		chosen = append(chosen, c)
	}
	return chosen, logs, nil
}

// localRoom is reserve's check against this node's own state (expiring
// what is due on the way, as reserve does).
func (s *Service) localRoom(o *liveOffer, cust string, nowS int64, resp [][]byte) (bool, [][]byte) {
	if o.rec.MaxPerCustomer > 0 {
		sh := s.shard(cust)
		sh.mu.Lock()
		n := sh.m[cust].get(o.st)
		sh.mu.Unlock()
		if int64(n) >= o.rec.MaxPerCustomer {
			return false, resp
		}
	}
	st := o.st
	st.mu.Lock()
	defer st.mu.Unlock()
	resp = s.expireLocked(o, st, nowS, resp)
	if b := o.rec.Budget; b > 0 && st.accepted.Load()+uint64(len(st.open)) >= uint64(b) {
		return false, resp
	}
	return true, resp
}

// recordShown opens the exposure and counts it against the customer, as
// reserve does once its checks pass.
func (s *Service) recordShown(o *liveOffer, cust, rec string, segs []string, nowS int64, logs *offerLogs) {
	sh := s.shard(cust)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	st := o.st
	st.mu.Lock()
	if len(st.open) >= s.opts.MaxOpen {
		logs.resp = s.evictLocked(o, st, nowS, logs.resp)
	}
	e := &offerExposure{rec: rec, cust: cust, ts: nowS, segs: segs}
	st.open[rec] = e
	st.appendFIFOLocked(e)
	st.shown++
	st.mu.Unlock()
	counts := sh.m[cust]
	counts.add(st, 1)
	sh.m[cust] = counts
}

func limitUnit(o *liveOffer, cust string) LimitUnit {
	return LimitUnit{Offer: o.id, Incarnation: o.st.inc, Customer: cust, MaxPerCustomer: o.rec.MaxPerCustomer, Budget: o.rec.Budget}
}

// reserveUnit asks the shared counters, unless the offer has no limit to
// count.
func (s *Service) reserveUnit(ctx context.Context, u LimitUnit) (bool, error) {
	if u.MaxPerCustomer <= 0 && u.Budget <= 0 {
		return true, nil
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, limitsTimeout)
		defer cancel()
	}
	return s.opts.Limits.Reserve(ctx, u)
}

// releaseShared gives back the shared units of showings that were not made.
// A failure leaves the units taken: the limit is then under-used, never
// passed.
func (s *Service) releaseShared(ctx context.Context, chosen []nboCand, cust string) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), limitsTimeout)
	defer cancel()
	for _, c := range chosen {
		u := limitUnit(c.o, cust)
		if u.MaxPerCustomer <= 0 && u.Budget <= 0 {
			continue
		}
		if err := s.opts.Limits.Release(ctx, u); err != nil {
			s.log.Warn("cannot give back an offer's shared cap or budget unit; it stays taken", "offer", u.Offer, "err", err)
		}
	}
}

// offerIncKey names one incarnation of an offer.
type offerIncKey struct{ offer, inc string }

// freeShared gives the budget units of closed, unaccepted showings back to
// the shared counters, once their answers are logged (commitJobs). resp are
// the logged response entries.
func (s *Service) freeShared(resp [][]byte) {
	freed := map[offerIncKey][]string{}
	set := s.set.Load()
	var le offerLogEntry
	for _, b := range resp {
		if decodeOfferLog(b, &le) != nil || le.resp == offerAccepted {
			continue
		}
		if o := set.byID[le.offer]; o != nil && o.st.inc == le.inc && o.rec.Budget > 0 {
			k := offerIncKey{le.offer, le.inc}
			freed[k] = append(freed[k], le.rec)
		}
	}
	s.freeUnits(freed)
}

// freeUnits calls Limits.Free for each offer incarnation in freed. A
// failure leaves the units taken (the budget under-used, never passed) and
// is logged.
func (s *Service) freeUnits(freed map[offerIncKey][]string) {
	if len(freed) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), limitsTimeout)
	defer cancel()
	for k, recs := range freed {
		if err := s.opts.Limits.Free(ctx, k.offer, k.inc, recs); err != nil {
			s.log.Warn("cannot give an offer's budget units back to the shared counters; they stay taken", "offer", k.offer, "units", len(recs), "err", err)
		}
	}
}

// forgetShared drops an erased customer's shared cap counts and gives back
// the budget units of their open showings (which erasure closes without an
// answer). The cap counts name the customer, so a failure is returned: the
// erasure journal retries it on the next start.
func (s *Service) forgetShared(ext string, freed map[offerIncKey][]string) error {
	ctx, cancel := context.WithTimeout(context.Background(), limitsTimeout)
	defer cancel()
	if err := s.opts.Limits.Forget(ctx, ext); err != nil {
		return fmt.Errorf("cannot erase the customer's shared offer caps: %w", err)
	}
	s.freeUnits(freed)
	return nil
}
