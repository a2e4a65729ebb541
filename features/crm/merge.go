package crm

// onMerge recomputes customer to's value from their history, which now
// holds from's events too (features/merge.go); from's record went with the
// OnErase the store sent just before. Product revenues do not change: every
// purchase was counted once already. It runs in the writer goroutine.
//
// The fold is build's (service.go): a change to how a history counts must
// be made in both.
func (s *Service) onMerge(_, to uint32) {
	tt := s.st.Types()
	var r valueRec
	h := s.st.HistoryView(to)
	for i := range h {
		in := &h[i]
		r.events++
		if tt.IsPurchase(in.Type) {
			r.addPurchase(int64(in.TS), in.Value, in.Order)
		} else if tt.IsReturn(in.Type) {
			amount, pts := returnAmount(tt, h[:i], in.Product, in.Order, int64(in.TS), in.Value)
			r.addReturn(int64(in.TS), pts, amount)
		}
	}
	s.mu.Lock()
	for int(to) >= len(s.recs) {
		s.recs = append(s.recs, valueRec{})
	}
	if s.recs[to].bought() {
		s.buyers--
	}
	if r.bought() {
		s.buyers++
	}
	s.recs[to] = r
	s.mu.Unlock()
	s.enqueueMembership(to)
	s.ptc.clear()
	s.insights.clear()
}
