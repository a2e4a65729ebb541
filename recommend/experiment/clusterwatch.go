package experiment

import (
	"encoding/json"
	"errors"

	"github.com/affinity-rec/affinity/features"
)

// In cluster mode experiments are defined and exposed through any node.
// Every node applies the same definitions and exposure log entries from
// the cluster log: a definition written through another node is reloaded
// from its record (features.Records.Watch), and exposures another node
// logged reach the flusher, in log order with the events, as a hook op
// (features.Records.WatchApplied), which indexes them under the sequences
// the log gave them (the same on every node). This node's own exposures
// take the same way (the flusher only writes them): every node indexes an
// exposure at the same point of the log, so a click is attributed alike
// on every node. Outcomes are not sent
// through the log: every node derives them itself from the events it
// applies (features.Records.LocalLog), so they are counted once per node.

// clusterRecords is the part of features.Records the cluster mode needs.
type clusterRecords interface {
	Get(kind, id string) ([]byte, error)
	Watch(kind string, fn func(features.Change))
	WatchApplied(kind string, fn func(features.Change))
	LocalLog(kind string)
	Clustered() bool
}

// appliedExposures are exposure log entries another node wrote, the
// first at sequence first.
type appliedExposures struct {
	first   uint64
	entries [][]byte
}

// watchCluster registers the reloads. It runs before the logs are read
// (like the hooks): an exposure applied meanwhile is both read and queued,
// and the index drops the second copy.
func (x *Service) watchCluster() {
	w, ok := x.recs.(clusterRecords)
	if !ok || !w.Clustered() {
		return
	}
	x.clustered = true
	w.LocalLog(outcomeLogKind)
	w.Watch(experimentRecordKind, func(c features.Change) { x.reloadExperiment(w, c.ID) })
	w.WatchApplied(exposureLogKind, func(c features.Change) {
		x.hookMu.Lock()
		x.hookOps = append(x.hookOps, hookOp{kind: hookApplied, applied: appliedExposures{first: c.First, entries: c.Entries}})
		x.hookMu.Unlock()
		x.signal()
	})
	// A definition applied between the load and the registration above
	// was told to no one: read them all again.
	ids := map[string]bool{}
	_ = x.recs.List(experimentRecordKind, func(id string, _ []byte) error { ids[id] = true; return nil })
	for id := range *x.exps.Load() {
		ids[id] = true
	}
	for id := range ids {
		x.reloadExperiment(w, id)
	}
}

// addApplied indexes and counts exposures applied from the log (any
// node's), as the restart's replay does (rebuild). Flusher goroutine.
func (x *Service) addApplied(a appliedExposures) {
	exps := *x.exps.Load()
	intern := map[string]string{}
	stored := map[string]bool{}
	for i, v := range a.entries {
		op, forced, cfg, err := decodeExposure(v, intern)
		if err != nil {
			x.log.Warn("skipping a corrupt exposure from the cluster log", "seq", a.first+uint64(i), "err", err)
			continue
		}
		if exps[op.exp] == nil && !x.stored(stored, op.exp) {
			continue // deleted meanwhile; the delete erases its entries
		}
		if _, dup := x.index[op.recID]; dup {
			continue
		}
		e := x.newExposure(op, forced, cfg)
		e.seq = a.first + uint64(i)
		x.addExposure(e)
	}
}

// stored says whether experiment id has a record, remembered in seen. An
// exposure of an experiment this node does not serve yet is indexed when
// its record is there: the definition is applied (it precedes the
// exposure in the log) but its reload runs on the Watch goroutine, which
// may be behind this one; skipping the exposure would lose it on this node
// only. Without a record it was deleted: skipped, as the delete's erasure
// would take it anyway.
func (x *Service) stored(seen map[string]bool, id string) bool {
	ok, done := seen[id]
	if w, cluster := x.recs.(clusterRecords); !done && cluster {
		_, err := w.Get(experimentRecordKind, id)
		ok = err == nil
		seen[id] = ok
	}
	return ok
}

// reloadExperiment makes experiment id what its record says. The writing
// node's own change finds it published already.
func (x *Service) reloadExperiment(w clusterRecords, id string) {
	x.adminMu.Lock()
	defer x.adminMu.Unlock()
	cur := x.lookup(id)
	v, err := w.Get(experimentRecordKind, id)
	if errors.Is(err, features.ErrNotFound) {
		if cur != nil {
			x.publish(id, nil)
			// Its logs are erased by the flusher, not waited for: this may
			// run before the flusher starts (New).
			x.hookMu.Lock()
			x.hookOps = append(x.hookOps, hookOp{kind: hookDeleteExperiment, id: id, done: make(chan error, 1)})
			x.hookMu.Unlock()
			x.signal()
		}
		return
	}
	if err != nil {
		x.log.Error("cannot read an experiment changed in the cluster log", "experiment", id, "err", err)
		return
	}
	var e Experiment
	if err := json.Unmarshal(v, &e); err != nil {
		x.log.Error("experiment record from the cluster log unreadable", "experiment", id, "err", err)
		return
	}
	e.ID = id
	e.normalise()
	if cur != nil {
		a, _ := json.Marshal(cur.def)
		b, _ := json.Marshal(e)
		if string(a) == string(b) {
			return
		}
	}
	x.publish(id, compile(e))
}
