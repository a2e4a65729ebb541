package api

import "context"

// The customer-value part of the profile: value (RFM, tier, historical,
// current and potential value) and segments.

// profileValue adds the customer's value and segments to a profile reply.
func (s *Server) profileValue(cust uint32, id string, p *profileReply) error {
	cs := s.deps.CRM
	v, ok := cs.CustomerValue(cust)
	if !ok {
		return notFound("unknown customer " + quote(id))
	}
	// The profile hook has no request context; potential value is a
	// bounded in-memory ranking, so there is nothing to cancel.
	pv, err := s.deps.Engine.PotentialValue(context.Background(), id)
	if err != nil {
		return err
	}
	v.PotentialValue = pv
	p.Value = v
	p.Segments = cs.SegmentsOf(cust)
	return nil
}
