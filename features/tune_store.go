package features

import "time"

// tunerState is what the store remembers of its self-tuning, under
// refreshMu; workers is buildWorkers of the refresh.
type tunerState struct {
	tuned *Tuning
	// events is the event count at the last attempt (tuned or not).
	events int
	at     time.Time
	tried  bool
	// loading is set while the store loads: no tuning then.
	loading bool
}

// afterLoad ends the load: with tuning on, the model just loaded or built
// is marked for a dense rebuild, which the background loop runs after
// DenseInterval and which tunes. The caller is load, before the
// background loop starts.
func (st *tunerState) afterLoad(s *Store) {
	st.loading = false
	if s.opts.Neighbours.Tune && st.tuned == nil {
		s.denseStale = true
	}
}

// restore takes the tuning of the model a snapshot kept (nil: none), as if
// it had been made now over events events: a restart serves the same
// answers, and tunes again on the usual schedule. The caller is load.
func (st *tunerState) restore(t *Tuning, events int) {
	if t == nil {
		return
	}
	st.tuned, st.tried, st.events, st.at = t, true, events, time.Now()
}

// maybeTune runs the tuner when it is due: never tried, or the last
// attempt found too little history and the events have doubled since, or
// TuneInterval has passed and the events grew by a tenth. The caller holds
// refreshMu; workers is buildWorkers of the refresh.
func (s *Store) maybeTune(workers int) {
	o := s.opts.Neighbours
	if !o.Tune || s.tuner.loading {
		return
	}
	s.idx.mu.RLock()
	events := s.idx.events
	s.idx.mu.RUnlock()
	st := &s.tuner
	switch {
	case !st.tried:
	case st.tuned == nil && events >= 2*st.events:
	case st.tuned != nil && time.Since(st.at) >= s.opts.TuneInterval && 10*events >= 11*st.events:
	default:
		return
	}
	st.tried, st.events, st.at = true, events, time.Now()
	d := s.opts.TuneDefaults
	if d.HistoryCap < 1 {
		d.HistoryCap = 500
	}
	t := tune(s.idx, BasisAny, s.prod.len(), s.types.Load(), o, o.TuneHoldout, d, workers)
	if t == nil {
		return
	}
	st.tuned = t
	s.saveTuning(t)
	s.opts.Logger.Info("model tuned", "similarity", t.Similarity, "lambda", t.Lambda, "neighbours", t.K,
		"half_life_days", t.HalfLifeDays, "repeat", t.Repeat, "validation_ndcg", t.NDCG,
		"default_validation_ndcg", t.DefaultNDCG, "tried", t.Tried, "seconds", t.Seconds)
}

// apply returns o with the tuned model settings.
func (t *Tuning) apply(o NeighbourOptions) NeighbourOptions {
	switch {
	case t.Similarity == SimEASE && o.Similarity == SimEASE:
		o.Lambda, o.K = t.Lambda, t.K
		if t.MinSupport > 0 {
			o.DenseMinSupport = t.MinSupport
		}
	case o.Similarity == SimEASE:
		o.Fallback, o.K = t.Similarity, t.K
	default:
		o.Similarity, o.K = t.Similarity, t.K
	}
	return o
}
