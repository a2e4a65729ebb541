package offer

import (
	"fmt"
	"sync"
	"time"

	"github.com/affinity-rec/affinity/features"
)

// The next-best-offer service's background work: the durable shown and
// response logs (group-written by one goroutine), the purchase and erasure
// hooks, expiry sweeps and the rebuild of the learning state on start.

// The log entries' response codes and sources.
type offerResp uint8

const (
	offerAccepted offerResp = 1
	offerDeclined offerResp = 2
	offerIgnored  offerResp = 3
)

func parseOfferResponse(s string) (offerResp, error) {
	switch s {
	case "accepted":
		return offerAccepted, nil
	case "declined":
		return offerDeclined, nil
	case "ignored":
		return offerIgnored, nil
	}
	return 0, &features.FieldError{Field: "response", Msg: fmt.Sprintf("must be accepted, declined or ignored, not %q", s)}
}

type offerRespSource uint8

const (
	offerByAPI      offerRespSource = 1 // POST /v1/offers/{id}/responses
	offerByPurchase offerRespSource = 2 // a purchase event quoting the recommendation id
	offerByExpiry   offerRespSource = 3 // the response window passed
	offerByEviction offerRespSource = 4 // pushed out by MaxOpen newer exposures
)

// offerLogJob is one group of entries waiting for the log writer.
type offerLogJob struct {
	logs offerLogs
	done chan error
}

// appendLogs makes logs durable, sharing one store write with every other
// call waiting at the same time (group commit).
func (s *Service) appendLogs(l offerLogs) error {
	if len(l.shown) == 0 && len(l.resp) == 0 {
		return nil
	}
	s.runMu.RLock()
	defer s.runMu.RUnlock()
	if s.logDone {
		return features.ErrClosed
	}
	j := &offerLogJob{logs: l, done: make(chan error, 1)}
	s.logq <- j
	return <-j.done
}

// appendLogsQuiet logs entries whose failure the caller cannot undo
// (expiries: a restart closes them again from the exposure log).
func (s *Service) appendLogsQuiet(l offerLogs) {
	if err := s.appendLogs(l); err != nil {
		s.log.Warn("cannot log offer answers; they are recomputed on restart", "err", err)
	}
}

func (s *Service) logLoop() {
	defer s.logWG.Done()
	for {
		var first *offerLogJob
		select {
		case first = <-s.logq:
		case <-s.stopLog:
			for {
				select {
				case j := <-s.logq:
					s.commitJobs([]*offerLogJob{j})
				default:
					return
				}
			}
		}
		batch := []*offerLogJob{first}
	drain:
		for len(batch) < 512 {
			select {
			case j := <-s.logq:
				batch = append(batch, j)
			default:
				break drain
			}
		}
		s.commitJobs(batch)
	}
}

func (s *Service) commitJobs(batch []*offerLogJob) {
	var shown, resp [][]byte
	for _, j := range batch {
		shown = append(shown, j.logs.shown...)
		resp = append(resp, j.logs.resp...)
	}
	var err error
	if len(shown) > 0 {
		if e := s.appendEntries(offerShownLog, shown); e != nil {
			err = fmt.Errorf("cannot log offer exposures: %w", e)
		}
	}
	if err == nil && len(resp) > 0 {
		if e := s.appendEntries(offerResponseLog, resp); e != nil {
			err = fmt.Errorf("cannot log offer responses: %w", e)
		}
	}
	if err == nil && len(resp) > 0 && s.opts.Limits != nil {
		// Before the callers hear back: once an answer is acknowledged,
		// its budget unit is free on every node.
		s.freeShared(resp)
	}
	for _, j := range batch {
		j.done <- err
	}
}

// appendEntries appends log entries. With features.Records.AppendFor (in
// cluster mode) each customer's entries travel on that customer's subject,
// which their erasure purges from the cluster log; the sequences are not
// needed here (a restart replays the log in order).
func (s *Service) appendEntries(log string, entries [][]byte) error {
	a, ok := s.recs.(interface {
		AppendFor(kind string, customers []string, entries [][]byte) ([]uint64, error)
	})
	if !ok {
		_, err := s.recs.Append(log, entries)
		return err
	}
	custs := make([]string, len(entries))
	var le offerLogEntry
	for i, e := range entries {
		if decodeOfferLog(e, &le) == nil {
			custs[i] = le.cust
		}
	}
	_, err := a.AppendFor(log, custs, entries)
	return err
}

// offerWorkQueue hands hook work (purchases, erasures) from the store's writer
// goroutine, which must not wait, to the service's worker.
type offerWorkQueue struct {
	mu    sync.Mutex
	items []offerWorkItem
	wake  chan struct{}
}

type offerWorkItem struct {
	purchases []offerPurchase
	erase     string
	done      chan struct{} // closed when the items before it are applied
}

type offerPurchase struct {
	cust, rec string
	prod      uint32
}

func (q *offerWorkQueue) push(it offerWorkItem) {
	q.mu.Lock()
	q.items = append(q.items, it)
	q.mu.Unlock()
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

func (q *offerWorkQueue) take() []offerWorkItem {
	q.mu.Lock()
	defer q.mu.Unlock()
	its := q.items
	q.items = nil
	return its
}

// onEvents runs in the store's writer goroutine: it only picks out
// purchases that quote a recommendation id and queues them.
func (s *Service) onEvents(evs []features.AppliedEvent) {
	var ps []offerPurchase
	for i := range evs {
		ae := &evs[i]
		if ae.Class == features.ClassBought && ae.Event.RecommendationID != "" {
			ps = append(ps, offerPurchase{cust: ae.Event.CustomerID, rec: ae.Event.RecommendationID, prod: ae.Product})
		}
	}
	if len(ps) > 0 {
		s.work.push(offerWorkItem{purchases: ps})
	}
}

// onErase runs in the store's writer goroutine: it queues the erasure.
func (s *Service) onErase(_ uint32, ext string) {
	s.work.push(offerWorkItem{erase: ext})
}

func (s *Service) workLoop() {
	defer s.workWG.Done()
	sweep := time.NewTicker(s.opts.SweepInterval)
	defer sweep.Stop()
	for {
		select {
		case <-s.work.wake:
			s.runWork()
		case <-sweep.C:
			s.sweep()
		case <-s.stopWork:
			s.runWork()
			return
		}
	}
}

func (s *Service) runWork() {
	for _, it := range s.work.take() {
		if it.done != nil {
			close(it.done)
			continue
		}
		if it.erase != "" {
			if err := s.erase(it.erase); err != nil {
				// The journal keeps the erasure for the next start.
				s.log.Error("cannot erase a customer's offer history", "err", err)
			} else if err := s.recs.Done(offerJournal, it.erase); err != nil {
				s.log.Error("cannot close an offers erasure", "err", err)
			}
			continue
		}
		s.acceptPurchases(it.purchases)
	}
}

// Flush waits until the purchases and erasures the store has reported so far
// are applied: the hooks queue them before Ingest or EraseCustomer return,
// so a caller that needs to read its own write calls Flush after them.
func (s *Service) Flush() {
	if s.checkOpen() != nil {
		return
	}
	done := make(chan struct{})
	s.work.push(offerWorkItem{done: done})
	select {
	case <-done:
	case <-s.stopWork:
		s.workWG.Wait()
	}
}

// acceptPurchases counts purchases that answer an open exposure of an offer
// promoting the product as acceptances.
func (s *Service) acceptPurchases(ps []offerPurchase) {
	set := s.set.Load()
	cat := s.src.Catalog()
	nowS := s.src.Now().Unix()
	win := int64(s.opts.ResponseWindow / time.Second)
	var logs offerLogs
	for _, p := range ps {
		for _, o := range set.offers {
			st := o.st
			st.mu.Lock()
			if e := st.open[p.rec]; e != nil && e.cust == p.cust && e.ts+win > nowS && o.promotes(p.prod, cat) {
				logs.resp = s.resolveLocked(o, st, e, offerAccepted, offerByPurchase, nowS, logs.resp)
			}
			st.mu.Unlock()
		}
	}
	s.appendLogsQuiet(logs)
}

// sweep closes every offer's expired exposures.
func (s *Service) sweep() {
	nowS := s.src.Now().Unix()
	var logs offerLogs
	for _, o := range s.set.Load().offers {
		st := o.st
		st.mu.Lock()
		logs.resp = s.expireLocked(o, st, nowS, logs.resp)
		for len(st.open) > s.opts.MaxOpen {
			logs.resp = s.evictLocked(o, st, nowS, logs.resp)
		}
		st.mu.Unlock()
	}
	s.appendLogsQuiet(logs)
}

// erase removes customer ext from the offer state: their cap counts and open
// exposures go, and their log entries are replaced by anonymous copies (no
// customer, no recommendation id) so that the offers' counts and budgets
// survive a restart while nothing links to the person; in cluster mode
// their copies are logged for the nodes that never applied them.
func (s *Service) erase(ext string) error {
	sh := s.shard(ext)
	sh.mu.Lock()
	delete(sh.m, ext)
	sh.mu.Unlock()
	freed := map[offerIncKey][]string{}
	for _, o := range s.set.Load().offers {
		st := o.st
		st.mu.Lock()
		for rec, e := range st.open {
			if e.cust == ext {
				e.done = true
				delete(st.open, rec)
				if o.rec.Budget > 0 {
					freed[offerIncKey{o.id, st.inc}] = append(freed[offerIncKey{o.id, st.inc}], rec)
				}
			}
		}
		st.mu.Unlock()
	}
	if s.opts.Limits != nil {
		if err := s.forgetShared(ext, freed); err != nil {
			return err
		}
	}
	opened := map[string]bool{}
	for _, kind := range []string{offerShownLog, offerResponseLog} {
		anon, copies, err := s.eraseEntries(kind, ext, opened)
		if err != nil {
			return err
		}
		if len(anon) == 0 {
			continue
		}
		// In place: every node does the same when it applies the erasure.
		// The copies after it are for the nodes that never applied the
		// originals (erasecopy.go).
		if err := s.recs.ReplaceEntries(kind, anon); err != nil {
			return fmt.Errorf("cannot anonymise %s: %w", kind, err)
		}
		if err := s.appendCopies(kind, copies); err != nil {
			return err
		}
	}
	return nil
}

// rebuild replays the logs into the offers' states: counts, open exposures
// and customers' shown counts. Entries of deleted offers (or of an earlier
// incarnation of an id) are skipped.
func (s *Service) rebuild() error {
	set := s.set.Load()
	badShown, err := s.replayOfferLog(set, offerShownLog, offerEntryShown, func(le *offerLogEntry, st *offerState) {
		st.shown++
		if le.cust == "" {
			return
		}
		sh := s.shard(le.cust)
		counts := sh.m[le.cust]
		counts.add(st, 1)
		sh.m[le.cust] = counts
		if le.rec != "" {
			e := &offerExposure{rec: le.rec, cust: le.cust, ts: le.ts, segs: append([]string(nil), le.segs...)}
			st.open[le.rec] = e
			st.fifo = append(st.fifo, e)
		}
	})
	if err != nil {
		return fmt.Errorf("cannot replay offer exposures: %w", err)
	}
	badResp, err := s.replayOfferLog(set, offerResponseLog, offerEntryResponse, func(le *offerLogEntry, st *offerState) {
		if le.rec != "" {
			e := st.open[le.rec]
			if e == nil || e.cust != le.cust {
				return // answered twice cannot happen; a stray entry must not count
			}
			e.done = true
			delete(st.open, le.rec)
		}
		st.count(le.resp, le.segs, 1)
	})
	if err != nil {
		return fmt.Errorf("cannot replay offer responses: %w", err)
	}
	for _, o := range set.offers {
		st := o.st
		live := st.fifo[:0]
		for _, e := range st.fifo {
			if !e.done {
				live = append(live, e)
			}
		}
		st.fifo = live
	}
	if bad := badShown + badResp; bad > 0 {
		s.log.Warn("unreadable offer log entries skipped", "entries", bad)
	}
	return nil
}

// replayOfferLog calls fn with each readable entry of kind in log whose
// offer (this incarnation) still exists in set, and its state, and returns
// how many entries it could not read. Copies of erased entries count after
// the scan, by their rule (erasecopy.go): they open nothing, so their place
// does not matter.
func (s *Service) replayOfferLog(set *offerSet, log string, kind byte, fn func(le *offerLogEntry, st *offerState)) (int, error) {
	bad := 0
	var le offerLogEntry
	var cands []copyCandidate
	err := s.recs.Scan(log, 0, func(seq uint64, v []byte) error {
		s.noteCounted(log, seq)
		if err := decodeOfferLog(v, &le); err != nil || le.kind != kind {
			bad++
			return nil
		}
		if le.isCopy {
			cands = append(cands, candidate(seq, &le))
		} else if o := set.byID[le.offer]; o != nil && o.st.inc == le.inc {
			fn(&le, o.st)
		}
		return nil
	})
	if err != nil {
		return bad, err
	}
	count, err := s.copiesToCount(log, cands)
	for i := range count {
		if o := set.byID[count[i].le.offer]; o != nil && o.st.inc == count[i].le.inc {
			fn(&count[i].le, o.st)
		}
	}
	return bad, err
}
