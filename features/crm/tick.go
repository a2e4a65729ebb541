package crm

import "time"

// Cluster mode (features/clustertick.go): every node must reach the same
// values and memberships at the same stream position, so the work that a
// single node does on its own wall-clock schedule (refreshLoop: quintile
// bounds, the churn model's refit, every segment re-evaluated as recency
// moves, once a minute) runs at stream ticks instead: at the first tick of
// each valueRefreshInterval slot of tick time, in the follower's goroutine,
// while nothing else is applied (and early when the buyers more than
// doubled, as onEvents asks on a single node). The segment applier still
// follows each write in the background: waiting for it at every tick
// would hold the stream's apply for up to a second of its pacing.

// onTick is the store's OnTick hook (features.Hooks).
func (s *Service) onTick(at, prev time.Time, later []time.Time) {
	slot := func(t time.Time) int64 { return t.UnixNano() / int64(valueRefreshInterval) }
	starts := prev.IsZero() || slot(at) != slot(prev)
	laterStarts, p := false, at
	for _, t := range later {
		laterStarts = laterStarts || slot(t) != slot(p)
		p = t
	}
	if starts && !laterStarts || len(later) == 0 && s.boundsStale() {
		if err := s.RefreshCustomerValue(); err != nil {
			s.log.Error("customer value refresh at a stream tick failed", "err", err)
		}
	}
}

// boundsStale reports whether the quintile bounds were never computed or
// the buyers more than doubled since (onEvents' reason to refresh early).
func (s *Service) boundsStale() bool {
	s.mu.RLock()
	buyers := s.buyers
	s.mu.RUnlock()
	b := s.bounds.Load()
	return b == nil || buyers > 2*b.buyers+10
}

// onWallClock reports whether this service refreshes on its own clock
// (single-node mode), not at stream ticks.
func (s *Service) onWallClock() bool {
	exact, _ := s.exactCache()
	return !exact
}

// fitAge is how old the published fit is: by the wall clock on a single
// node, by the store's clock (the stream's) in cluster mode, where every
// node must refit at the same tick.
func (s *Service) fitAge(cur *valueModel, now time.Time) time.Duration {
	if s.onWallClock() {
		return time.Since(cur.fittedAt)
	}
	return now.Sub(cur.asOf)
}
