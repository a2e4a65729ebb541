package crm

import (
	"encoding/json"
	"errors"

	"github.com/RoaringBitmap/roaring/v2"

	"github.com/affinity-rec/affinity/features"
)

// In cluster mode a segment may be defined or deleted through another
// node: the store tells the service when it applies the record from the
// log (features.Records.Watch), and the service reloads that segment from
// the stored record, so every node holds the same definitions (and, since
// every node applies the same events and attributes, the same members).

// recordWatcher is the part of features.Records the reload needs; other
// Records implementations (none in cluster mode) simply get no reloads.
type recordWatcher interface {
	Get(kind, id string) ([]byte, error)
	Watch(kind string, fn func(features.Change))
}

// watchSegments registers the reload. It is registered before the service
// builds: a change applied before the build is in what the build reads
// (the build and the apply's commit both run in the store's writer), and
// the reload skips until the build has published a set.
func (s *Service) watchSegments(recs Records) {
	w, ok := recs.(recordWatcher)
	if !ok {
		return
	}
	w.Watch(segmentKind, func(c features.Change) { s.reloadSegment(w, c.ID) })
}

// reloadSegment makes segment name what its stored record says: gone when
// there is none, re-evaluated when its rule differs from the one served
// (the writing node's own change finds it served already).
func (s *Service) reloadSegment(w recordWatcher, name string) {
	s.defMu.Lock()
	defer s.defMu.Unlock()
	set := s.segs.Load()
	if set == nil {
		return // not built yet: the build reads the record
	}
	i, had := set.find(name)
	v, err := w.Get(segmentKind, name)
	if errors.Is(err, features.ErrNotFound) {
		if had {
			s.segMu.Lock()
			s.segs.Store(s.segs.Load().without(name))
			s.segMu.Unlock()
			s.ptc.drop(name)
		}
		return
	}
	if err != nil {
		s.log.Error("cannot read a segment changed in the cluster log", "segment", name, "err", err)
		return
	}
	var rec segmentRecord
	if err := json.Unmarshal(v, &rec); err != nil {
		s.log.Error("segment record from the cluster log unreadable", "segment", name, "err", err)
		return
	}
	r, _, err := CompileStoredRule(rec.Rule)
	if err != nil {
		s.log.Error("segment rule from the cluster log does not compile", "segment", name, "err", err)
		return
	}
	if had && set.list[i].rule.String() == r.String() {
		return
	}
	err = s.fullEval([]*Rule{r}, func(bms []*roaring.Bitmap) {
		bms[0].RunOptimize()
		s.segs.Store(s.segs.Load().with(&segment{name: name, rule: r, members: bms[0], def: &segmentDef{}}))
	})
	if err != nil {
		s.log.Error("cannot evaluate a segment changed in the cluster log", "segment", name, "err", err)
	}
}
