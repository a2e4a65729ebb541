package features

// Popularity must follow ingest at once. The model's lists are rebuilt by
// the background refresh (every RefreshInterval), so right after the first
// events into an empty store the published model still had no popularity:
// /v1/popular, a known customer's personal list (topped up with popular
// products) and every "related" fallback came back empty for about a
// second. Model fills the counts in itself when the served model has none
// while the index has events.

// Model returns the current published model. Never nil after Open. When
// the model has no popularity yet although events are applied (the first
// events into an empty store, before the background refresh ran), it
// returns a copy with supports and popularity counted now, and publishes it
// unless a refresh published another model meanwhile. Not in stream-tick
// mode (cluster): there the model changes only at a tick, which comes an
// interval after the first events, and a copy counted when a request came
// would differ between nodes.
func (s *Store) Model() *Model {
	m := s.model.Load()
	if m == nil || len(m.Popular[BasisAny]) > 0 || s.tick.on.Load() {
		return m
	}
	return s.modelWithPopularity(m)
}

// modelWithPopularity is Model's slow path. It counts every history
// (countCustomers), which is cheap here: it runs only while the served
// model has no popularity at all, that is while the store holds only the
// events since it was empty, and once per such model (the copy it
// publishes has popularity).
func (s *Store) modelWithPopularity(m *Model) *Model {
	s.popMu.Lock()
	defer s.popMu.Unlock()
	if cur := s.model.Load(); cur != m {
		if len(cur.Popular[BasisAny]) > 0 {
			return cur
		}
		m = cur
	}
	s.idx.mu.RLock()
	events := s.idx.events
	s.idx.mu.RUnlock()
	if events == 0 {
		return m
	}
	cp := *m
	finishModel(s.idx, &cp, s.prod.len())
	// A refresh that published meanwhile wins: its model is as fresh, and
	// if it too has no popularity the next call counts again.
	s.model.CompareAndSwap(m, &cp)
	return &cp
}
