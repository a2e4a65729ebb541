package crm

import (
	"slices"

	"github.com/affinity-rec/affinity/features"
)

// The hooks keep values and membership current. They run in the store's
// writer goroutine, before the write is acknowledged: they fold and queue,
// and evaluate no rule.

// onEvents folds committed events into the customers' values and
// queues the customers they touched for the segment applier. It runs in
// the writer goroutine, so it evaluates no rule.
func (s *Service) onEvents(evs []features.AppliedEvent) {
	c := s
	tt := s.st.Types()
	touched := make([]uint32, 0, 64)
	c.mu.Lock()
	for i := range evs {
		e := &evs[i]
		for int(e.Customer) >= len(c.recs) {
			c.recs = append(c.recs, valueRec{})
		}
		r := &c.recs[e.Customer]
		if len(touched) == 0 || touched[len(touched)-1] != e.Customer {
			touched = append(touched, e.Customer)
		}
		r.events++
		code, ok := tt.Code(e.Event.Type)
		if ok && tt.IsReturn(code) {
			c.foldReturn(tt, r, s.st.HistoryView(e.Customer), &features.Interaction{Product: e.Product,
				Order: features.OrderHash(e.Event.OrderID), TS: uint32(e.Event.Timestamp.Unix()), Value: e.Event.Value})
			continue
		}
		if !ok || !tt.IsPurchase(code) {
			continue
		}
		if !r.bought() {
			c.buyers++
		}
		r.addPurchase(e.Event.Timestamp.Unix(), e.Event.Value, features.OrderHash(e.Event.OrderID))
		c.purchases++
		c.addProductPurchase(e.Product, e.Event.Value)
	}
	buyers := c.buyers
	c.mu.Unlock()
	slices.Sort(touched)
	touched = slices.Compact(touched)
	s.enqueueMembership(touched...)
	// Quintiles are recomputed in the background, not per event; a store
	// that grew a lot since (a first import) asks for it now.
	if b := c.bounds.Load(); b == nil || buyers > 2*b.buyers+10 {
		select {
		case c.kick <- struct{}{}:
		default:
		}
	}
}

func (s *Service) onCustomer(cust uint32) { s.enqueueMembership(cust) }

func (s *Service) onErase(cust uint32, _ string) {
	c := s
	c.mu.Lock()
	if int(cust) < len(c.recs) {
		if c.recs[cust].bought() {
			c.buyers--
		}
		c.recs[cust] = valueRec{}
	}
	c.mu.Unlock()
	s.removeMember(cust)
	// Cached aggregates counted them: drop them so nothing derived from the
	// erased history is served.
	c.ptc.clear()
	c.insights.clear()
}

// knownCustomer reports whether c is a live customer id.
func (s *Service) knownCustomer(c uint32) bool {
	return int(c) < s.st.NumCustomers() && s.st.CustomerName(c) != ""
}
