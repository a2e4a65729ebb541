package offer

import (
	"encoding/json"
	"errors"
	"sync"

	"github.com/affinity-rec/affinity/features"
)

// In cluster mode offers are defined, shown and answered through any node.
// Every node applies the same definitions and log entries from the
// cluster log (features.Records.Watch): a definition written through
// another node is reloaded from its record, and shown and response entries
// another node wrote are counted here as the restart's replay counts them
// (rebuild), so every node holds the same offers, the same open exposures
// (an offer shown by one node may be answered through another) and the
// same performance. Entries this node wrote it counted when it wrote them;
// the store does not tell it of those.

// clusterWatch is the service's cluster-mode state.
type clusterWatch struct {
	// mu is held from before the load until the replay is done, and by
	// every reload: a change applied meanwhile waits for the state it
	// changes.
	mu sync.Mutex
	// counted is the last log sequence counted per log: an append told
	// after the replay read it (registration comes before the load) is
	// not counted twice.
	counted map[string]uint64
}

// watcher is the part of features.Records the reloads need.
type watcher interface {
	Get(kind, id string) ([]byte, error)
	Watch(kind string, fn func(features.Change))
}

// watchCluster registers the reloads and holds them until loaded (the
// caller calls s.cw.mu.Unlock once the replay is done). Without a
// cluster log the store never calls them.
func (s *Service) watchCluster() {
	s.cw.counted = map[string]uint64{}
	s.cw.mu.Lock()
	w, ok := s.recs.(watcher)
	if !ok {
		return
	}
	w.Watch(offerKind, func(c features.Change) {
		s.cw.mu.Lock()
		defer s.cw.mu.Unlock()
		s.reloadOffer(w, c.ID)
	})
	for _, log := range []string{offerShownLog, offerResponseLog} {
		w.Watch(log, func(c features.Change) {
			s.cw.mu.Lock()
			defer s.cw.mu.Unlock()
			s.countApplied(log, c)
		})
	}
}

// noteCounted records that the replay counted seq of log.
func (s *Service) noteCounted(log string, seq uint64) {
	if s.cw.counted != nil {
		s.cw.counted[log] = max(s.cw.counted[log], seq)
	}
}

// reloadOffer makes offer id what its record says. A record of the same
// incarnation keeps what the offer learned (as Put does); the writing
// node's own change finds it served already and changes nothing.
func (s *Service) reloadOffer(w watcher, id string) {
	s.defMu.Lock()
	defer s.defMu.Unlock()
	set := s.set.Load()
	old := set.byID[id]
	v, err := w.Get(offerKind, id)
	if errors.Is(err, features.ErrNotFound) {
		if old != nil {
			s.publish(without(set.offers, id))
		}
		return
	}
	if err != nil {
		s.log.Error("cannot read an offer changed in the cluster log", "offer", id, "err", err)
		return
	}
	var rec offerRecord
	if err := json.Unmarshal(v, &rec); err != nil {
		s.log.Error("offer record from the cluster log unreadable", "offer", id, "err", err)
		return
	}
	if old != nil {
		if cur, err := json.Marshal(old.rec); err == nil && string(cur) == string(v) {
			return
		}
	}
	st := newOfferState(rec.Incarnation)
	if old != nil && old.st.inc == rec.Incarnation {
		st = old.st
	}
	lo, err := s.compileOffer(id, rec, st, true)
	if err != nil {
		s.log.Error("offer from the cluster log does not compile here; not served", "offer", id, "err", err)
		s.publish(without(set.offers, id))
		return
	}
	s.publish(append(without(set.offers, id), lo))
}

func without(offers []*liveOffer, id string) []*liveOffer {
	out := make([]*liveOffer, 0, len(offers))
	for _, x := range offers {
		if x.id != id {
			out = append(out, x)
		}
	}
	return out
}

// countApplied counts another node's shown or response entries, with the
// locks the live path takes (customer shard, then offer state).
func (s *Service) countApplied(log string, c features.Change) {
	var le offerLogEntry
	var cands []copyCandidate
	for i, v := range c.Entries {
		seq := c.First + uint64(i)
		if seq <= s.cw.counted[log] {
			continue
		}
		s.cw.counted[log] = seq
		if err := decodeOfferLog(v, &le); err != nil {
			continue
		}
		if le.isCopy {
			cands = append(cands, candidate(seq, &le))
			continue
		}
		s.countEntry(log, &le)
	}
	// Copies of an erased customer's entries count here only if this
	// node never applied the originals (erasecopy.go).
	count, err := s.copiesToCount(log, cands)
	if err != nil {
		s.log.Error("cannot count erased entries' copies; a restart counts them", "err", err)
	}
	for i := range count {
		s.countEntry(log, &count[i].le)
	}
}

// countEntry counts one entry of log if its offer (this incarnation) is
// served.
func (s *Service) countEntry(log string, le *offerLogEntry) {
	o := s.set.Load().byID[le.offer]
	if o == nil || o.st.inc != le.inc {
		return
	}
	if log == offerShownLog && le.kind == offerEntryShown {
		s.countShown(le, o.st)
	} else if log == offerResponseLog && le.kind == offerEntryResponse {
		s.countResponse(le, o.st)
	}
}

func (s *Service) countShown(le *offerLogEntry, st *offerState) {
	if le.cust == "" {
		st.mu.Lock()
		st.shown++
		st.mu.Unlock()
		return
	}
	sh := s.shard(le.cust)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	st.mu.Lock()
	st.shown++
	if le.rec != "" {
		e := &offerExposure{rec: le.rec, cust: le.cust, ts: le.ts, segs: append([]string(nil), le.segs...)}
		st.open[le.rec] = e
		st.appendFIFOLocked(e)
	}
	st.mu.Unlock()
	counts := sh.m[le.cust]
	counts.add(st, 1)
	sh.m[le.cust] = counts
}

func (s *Service) countResponse(le *offerLogEntry, st *offerState) {
	st.mu.Lock()
	defer st.mu.Unlock()
	if le.rec != "" {
		e := st.open[le.rec]
		if e == nil || e.cust != le.cust {
			return // closed here already (this node's own expiry of it)
		}
		e.done = true
		delete(st.open, le.rec)
	}
	st.count(le.resp, le.segs, 1)
}
